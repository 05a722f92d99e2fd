"""The stored search text of a dossier: what the desk types to find it, folded so that diacritics and case do not
matter ("tran thi binh" finds "Trần Thị Bình", "0912345678" and "+84912345678" find the same phone).

Pure functions, no database: :mod:`server.dossiers.models` keeps ``Dossier.search_text`` up to date with them
before every flush, and the queue (:mod:`server.backoffice.queue`) folds what was typed the same way.
"""

from __future__ import annotations

import re
import unicodedata

#: Between the parts of the text, so that a phrase typed by the desk never matches across two names. Folding what
#: was typed collapses spaces and never produces this character.
SEPARATOR = " | "

#: "0912 345 678", "0912.345.678", "+84 912 345 678": nine to twelve digits once spaces and dots are dropped.
_PHONE_LIKE = re.compile(r"\+?\d{9,12}")


def fold(text: str | None) -> str:
    """Lower case without diacritics, spaces collapsed: "  Trần  Thị Đào " → "tran thi dao".

    NFD splits "ầ" into "a" and its marks, which are dropped; "đ" is a letter of its own (it does not decompose)
    and is mapped to "d" by hand.
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


def national_phone_digits(e164: str | None) -> str:
    """+84912345678 → 0912345678, the form people type; other numbers keep their digits."""
    if not e164:
        return ""
    if e164.startswith("+84"):
        return "0" + e164[3:]
    return e164.lstrip("+")


def search_text_of(code: str | None, provisional_code: str | None, people: list[tuple[str | None, str | None]]) -> str:
    """The stored text: folded codes, then each person's folded name and phone (national form).

    :param people: (full name, E.164 phone) of the owner and of the submitter (once when they are the same).
    """
    parts = [fold(code), fold(provisional_code)]
    for name, phone in people:
        parts += [fold(name), national_phone_digits(phone)]
    return SEPARATOR.join(part for part in parts if part)


def search_needle(typed: str) -> str:
    """What to look for in the stored text: the folded phrase, or the national form of a typed phone number."""
    compact = re.sub(r"[\s.]", "", typed)
    if _PHONE_LIKE.fullmatch(compact):
        digits = compact.lstrip("+")
        if digits.startswith("84") and len(digits) == 11:
            return "0" + digits[2:]
        return digits
    return fold(typed)
