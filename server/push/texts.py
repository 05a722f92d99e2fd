"""The words of each notification kind, in the reader's language (the inbox; the service worker keeps its own
copy in pwa/sw/push.js because it must show a notification with no server at hand)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from server.web.formats import day_text


def of(kind: str, data: dict) -> tuple[str, str]:
    code = data.get("code") or ""
    texts = {
        "received": (_("Hồ sơ đã được tiếp nhận"), _("Hồ sơ %(code)s đã được tiếp nhận.", code=code)),
        "supplement_requested": (_("Cần bổ sung hồ sơ"), _("Hồ sơ %(code)s cần bổ sung giấy tờ.", code=code)),
        "extended": (_("Hồ sơ được gia hạn"),
                     _("Hồ sơ %(code)s được gia hạn. Xin lỗi vì sự chậm trễ.", code=code)),
        "result_ready": (_("Đã có kết quả"), _("Hồ sơ %(code)s đã có kết quả.", code=code)),
        "returned": (_("Đã trả kết quả"), _("Kết quả của hồ sơ %(code)s đã được trả.", code=code)),
        "refused": (_("Hồ sơ không được tiếp nhận"), _("Hồ sơ %(code)s không được tiếp nhận.", code=code)),
        "stopped": (_("Hồ sơ dừng giải quyết"), _("Hồ sơ %(code)s dừng giải quyết.", code=code)),
        "visit_scheduled": (_("Lịch tiếp nhận tại nhà"), _visit_text(data)),
        "visit_cancelled": (_("Hủy lịch đến nhà"),
                            _("Lịch cán bộ đến nhà đã được hủy. Lý do: %(reason)s", reason=data["reason"])
                            if data.get("reason") else _("Lịch cán bộ đến nhà đã được hủy.")),
        "passkey_added": (_("Đã thêm khóa truy cập"),
                          _("Khóa truy cập «%(name)s» vừa được thêm vào tài khoản của bạn. Nếu không phải bạn, "
                            "hãy báo ngay cho Bộ phận Một cửa.", name=data.get("passkey_name") or "")),
        "channel_test": (_("Gửi thử thông báo"),
                         _("Đây là tin thử của Một Cửa Tại Nhà: kênh này báo được cho bạn.")),
    }
    return texts.get(kind, (_("Một Cửa Tại Nhà"), _("Hồ sơ %(code)s có thông tin mới.", code=code)))


def _visit_text(data: dict) -> str:
    """Who comes and when: "Cán bộ Lê Thị Hoa, Công chức Tư pháp – Hộ tịch, sẽ đến nhà lúc 09:00 ngày 15/12/2026..."."""
    name = data.get("officer_name")
    if not name or not data.get("planned_for"):
        return _("Cán bộ sẽ đến nhà để tiếp nhận hồ sơ.")
    try:
        day = day_text(date.fromisoformat(data["planned_for"]))
    except (TypeError, ValueError):
        return _("Cán bộ sẽ đến nhà để tiếp nhận hồ sơ.")
    time, position = data.get("planned_time"), data.get("officer_position")
    if position and time:
        return _("Cán bộ %(name)s, %(position)s, sẽ đến nhà lúc %(time)s ngày %(day)s để tiếp nhận hồ sơ.",
                 name=name, position=position, time=time, day=day)
    if position:
        return _("Cán bộ %(name)s, %(position)s, sẽ đến nhà ngày %(day)s để tiếp nhận hồ sơ.",
                 name=name, position=position, day=day)
    if time:
        return _("Cán bộ %(name)s sẽ đến nhà lúc %(time)s ngày %(day)s để tiếp nhận hồ sơ.",
                 name=name, time=time, day=day)
    return _("Cán bộ %(name)s sẽ đến nhà ngày %(day)s để tiếp nhận hồ sơ.", name=name, day=day)


def link_of(data: dict) -> str | None:
    """Where a notification leads in the app: the dossier (a follower is sent on to its page), or the visits."""
    if data.get("code"):
        return f"/follow/{data['code']}"
    if data.get("visit_id"):
        return "/my/visits"
    if data.get("link") in ("/account/passkeys", "/account/channels"):
        return data["link"]
    return None


def safe_of(kind: str, data: dict, lang: str = "vi") -> tuple[str, str]:
    """The words of a notification that leaves our servers (a push payload's declarative part, a ZNS or SMS text):
    only the kind and the dossier code, never the officer's name, a reason typed at the desk or a passkey's name.
    In ``lang`` whatever the request's language (the subscription's, or Vietnamese for ZNS and SMS)."""
    from flask_babel import force_locale

    with force_locale(lang if lang in ("vi", "en") else "vi"):
        if kind == "passkey_added":
            return _("Đã thêm khóa truy cập"), _("Tài khoản của bạn có khóa truy cập mới. Nếu không phải bạn, hãy "
                                                  "báo ngay cho Bộ phận Một cửa.")
        return of(kind, {"code": data.get("code") or ""})
