"""Identity checks as forms and the API use them (the checks themselves are in test_identity.py)."""

from __future__ import annotations

from server.people.forms import check_person_fields


def test_check_person_fields_normalises_and_collects(app):
    ok = check_person_fields("001 085 012 345", "+84 912 345 678")
    assert (ok.personal_id, ok.phone_e164, ok.errors) == ("001085012345", "+84912345678", [])
    bad = check_person_fields("003085012345", "01691234567")
    assert bad.personal_id is None and bad.phone_e164 is None
    assert [f.code for f in bad.errors] == ["personal_id.place", "phone.legacy_mobile"]
    blank = check_person_fields("", None)
    assert blank.errors == [] and blank.personal_id is None


def test_check_person_fields_checks_the_name_and_the_date_of_birth(app):
    from datetime import date

    ok = check_person_fields(None, None, date(1950, 1, 1), full_name="Nguye\u0302\u0303n  Văn An")
    assert (ok.full_name, ok.errors) == ("Nguyễn Văn An", [])
    bad = check_person_fields(None, None, date(2999, 1, 1), full_name="\u200b")
    assert bad.full_name is None
    assert [f.code for f in bad.errors] == ["full_name.invisible_characters", "date_of_birth.future"]
    assert check_person_fields(None, None).full_name is None  # no name given: none checked


def test_the_findings_messages_follow_the_language(app):
    bad = check_person_fields("12345", "0912345678")
    message = bad.errors[0]
    assert "12" in message.message("vi") and "số" in message.message("vi")
    assert "digits" in message.message("en")
    assert bad.phone_e164 == "+84912345678"
