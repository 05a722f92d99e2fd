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
from server.people.identity import check_personal_id
from server.people.identity import check_phone


@dataclass
class PersonFields:
    """Normalised values and what the checks found."""

    personal_id: str | None = None
    phone_e164: str | None = None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)


def check_person_fields(
    personal_id: str | None, phone: str | None, date_of_birth: date | None = None, gender: str | None = None
) -> PersonFields:
    """Check the optional personal ID and phone of a person; blank values are allowed and left out."""
    result = PersonFields()
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


class PersonForm(FlaskForm):
    """Name, personal ID, date of birth, phone and address of a dossier owner or submitter."""

    full_name = StringField("Họ và tên", validators=[DataRequired(), Length(max=200)])
    personal_id = StringField("Số định danh cá nhân", validators=[Optional(), validate_personal_id])
    date_of_birth = DateField("Ngày sinh", validators=[Optional()])
    phone = StringField("Số điện thoại", validators=[Optional(), validate_phone])
    address = StringField("Địa chỉ", validators=[Optional(), Length(max=500)])
