"""The one place where forms and the JSON API turn identity checks into field errors.

Both call :func:`check_person_fields`; API views turn its result into a problem document with
:func:`server.errors.field_error`, pages into their form's messages (each finding's ``message(locale)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from server.people.identity import Finding
from server.people.identity import check_date_of_birth
from server.people.identity import check_full_name
from server.people.identity import check_personal_id
from server.people.identity import check_phone


@dataclass
class PersonFields:
    """Normalised values and what the checks found."""

    personal_id: str | None = None
    full_name: str | None = None
    phone_e164: str | None = None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)


_NOT_GIVEN = object()


def check_person_fields(
    personal_id: str | None, phone: str | None, date_of_birth: date | None = None, gender: str | None = None,
    *, full_name=_NOT_GIVEN,
) -> PersonFields:
    """Check a person's fields: the full name when given (required then), the optional personal ID and phone (blank
    values are allowed and left out) and the date of birth (not in the future)."""
    result = PersonFields()
    if full_name is not _NOT_GIVEN:
        name = check_full_name(full_name)
        result.full_name = name.value
        result.errors += name.errors
    result.errors += check_date_of_birth(date_of_birth)
    if personal_id and personal_id.strip():
        checked = check_personal_id(personal_id, date_of_birth=date_of_birth, gender=gender)
        result.personal_id = checked.value if checked.ok else None
        result.errors += checked.errors
        result.warnings += checked.warnings
    if phone and phone.strip():
        checked = check_phone(phone)
        result.phone_e164 = checked.e164 if checked.ok else None
        result.errors += checked.errors
        result.warnings += checked.warnings
    return result
