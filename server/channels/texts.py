"""The text of an SMS, and what it costs in segments.

Brand-name SMS in Viet Nam is sent without diacritics: GSM 03.38 takes 160 characters in one message and 153 per
part of a longer one, while any Vietnamese letter with a mark would switch the whole message to UCS-2 (70, then
67) and double its price. So the text is the notification's push-safe words (server/push/texts.py: the dossier
code and the kind, nothing else), folded to plain letters, after the app's name.
"""

from __future__ import annotations

import math
import unicodedata

from server.push.texts import safe_of

APP_NAME = "Mot Cua Tai Nha"
#: GSM 03.38's basic set (the characters that cost one septet), enough to tell whether a text stays in GSM-7.
_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
            "¿abcdefghijklmnopqrstuvwxyzäöñüà")


def plain(text: str) -> str:
    """Vietnamese without its marks: "Hồ sơ đã có kết quả" → "Ho so da co ket qua" (case kept)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def sms_text(kind: str, data: dict) -> str:
    """What the SMS says: "Mot Cua Tai Nha: Ho so 0123-260101-0001 da co ket qua."."""
    _title, body = safe_of(kind, data, "vi")
    return f"{APP_NAME}: {plain(body)}"


def segments(text: str) -> int:
    """How many SMS a text is billed as (GSM-7: 160, then 153 per part; UCS-2: 70, then 67)."""
    if all(c in _GSM7 for c in text):
        single, part = 160, 153
    else:
        single, part = 70, 67
    return 1 if len(text) <= single else math.ceil(len(text) / part)
