"""The one place where forms and the JSON API turn identity checks into field errors.

Both call :func:`check_person_fields`; the WTForms validators below wrap it for server-rendered forms, and API views
turn its result into a problem document with :func:`server.errors.field_error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from server.errors import locale_code
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


def _wtforms_validator(check):
    def validate(form, form_field) -> None:
        if not form_field.data:
            return
        errors = check(form_field.data).errors
        if errors:
            raise ValidationError(errors[0].message(locale_code()))

    return validate


validate_personal_id = _wtforms_validator(check_personal_id)
validate_phone = _wtforms_validator(check_phone)
validate_full_name = _wtforms_validator(check_full_name)


def validate_date_of_birth(form, form_field) -> None:
    errors = check_date_of_birth(form_field.data)
    if errors:
        raise ValidationError(errors[0].message(locale_code()))


class PersonForm(FlaskForm):
    """Name, personal ID, date of birth, phone and address of a dossier owner or submitter."""

    full_name = StringField("Họ và tên", validators=[DataRequired(), validate_full_name])
    personal_id = StringField("Số định danh cá nhân", validators=[Optional(), validate_personal_id])
    date_of_birth = DateField("Ngày sinh", validators=[Optional(), validate_date_of_birth])
    phone = StringField("Số điện thoại", validators=[Optional(), validate_phone])
    address = StringField("Địa chỉ", validators=[Optional(), Length(max=500)])
