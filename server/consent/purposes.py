"""What a citizen may consent to: each purpose, the notification kinds it covers, and the channels it uses.

The processing of a dossier itself (receipt, handling, returning the result, the ward's records) needs no
consent: a state agency processes those data to perform a duty the law gives it (PDPL 91/2025/QH15 and Decree
356/2025: processing under a legal obligation). What goes beyond it, such as telling the citizen about their
dossiers on their phone, is a separate purpose with its own explicit consent, per channel, never preset
(DOMAIN.md §8.2). This module is the one place that says which purpose a notification serves: a kind with no
purpose is never sent.

A purpose's notice is versioned here, next to its words: change ``text_version`` whenever the Vietnamese text
changes, and a consent given to an older text stays recorded with the version the citizen actually saw.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


class Channel(enum.Enum):
    """How a message reaches the citizen. Which of them this server sends on depends on its configuration
    (server/channels/ladder.py ``enabled_channels``): push always, Zalo and SMS once their providers are set."""

    PUSH = "push"  #: Web Push to the installed app (server/push)
    ZALO = "zalo"  #: Zalo ZNS (DOMAIN.md §7.3, server/channels)
    SMS = "sms"  #: a brand-name SMS gateway (server/channels)


@dataclass(frozen=True)
class Purpose:
    key: str
    title: object  #: lazily translated
    notice: object  #: the text the citizen consents to, lazily translated
    text_version: str
    kinds: frozenset[str]
    channels: tuple[Channel, ...]


#: What the account-creation notice covers (recorded at registration, server/auth/api.py): the account itself.
#: It is not a notification purpose and is withdrawn by closing the account, at the desk.
ACCOUNT_PURPOSE = "data_processing"

PURPOSES: dict[str, Purpose] = {p.key: p for p in (
    Purpose(
        key="dossier_updates",
        title=_l("Tin về hồ sơ và lịch đến nhà"),
        notice=_l("Khi hồ sơ có kết quả, cần bổ sung hoặc có thay đổi, điện thoại sẽ báo ngay, miễn phí, thay cho "
                  "tin nhắn SMS. Thông báo chỉ ghi mã hồ sơ, không ghi họ tên."),
        text_version="2026-12-03",
        kinds=frozenset({"received", "supplement_requested", "extended", "result_ready", "returned", "refused",
                         "stopped", "visit_scheduled", "visit_cancelled"}),
        channels=(Channel.PUSH, Channel.ZALO, Channel.SMS),
    ),
    Purpose(
        key="account_security",
        title=_l("Cảnh báo an toàn tài khoản"),
        notice=_l("Khi có khóa truy cập mới được thêm vào tài khoản của bạn, điện thoại sẽ báo ngay, để bạn phát "
                  "hiện kịp nếu không phải bạn thêm. Thông báo không ghi họ tên."),
        text_version="2026-12-03",
        kinds=frozenset({"passkey_added"}),
        channels=(Channel.PUSH,),
    ),
)}

#: The purpose of "Gửi thử thông báo" (kind "channel_test"): not a purpose one consents to, but covered by any
#: consent in force on the channel tested. A citizen who agreed to hear about their dossiers on Zalo may check that
#: Zalo reaches them; one who agreed to nothing on a channel gets no test there either. The rule lives in one place,
#: server/consent/services.py :func:`consenting` (which every sender asks).
CHANNEL_TEST_PURPOSE = "channel_test"

_PURPOSE_OF_KIND = {kind: purpose.key for purpose in PURPOSES.values() for kind in purpose.kinds}
_PURPOSE_OF_KIND["channel_test"] = CHANNEL_TEST_PURPOSE


def purpose_of(kind: str) -> str | None:
    """The purpose a notification kind serves, or None (then it is never sent on any channel)."""
    return _PURPOSE_OF_KIND.get(kind)


def channel_words() -> dict[str, object]:
    """Each channel's name on the pages."""
    return {Channel.PUSH.value: _l("Thông báo trên điện thoại (ứng dụng)"), Channel.ZALO.value: _l("Zalo"),
            Channel.SMS.value: _l("Tin nhắn SMS")}
