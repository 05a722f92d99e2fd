"""/follow/<code>: what the QR code on the receipt opens. Nothing shows without the owner's last four digits."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime

import pytest

from server.dossiers.workflow import State
from server.extensions import db
from tests.helpers import make_dossier

CODE = "000.20.26.H26-261127-0042"
NOT_FOUND = "Không tìm thấy hồ sơ với mã và 4 chữ số này"


@pytest.fixture
def dossier(app):
    dossier = make_dossier(State.RECEIVED, code=CODE, due_at=datetime(2026, 12, 11, 3, 0, tzinfo=UTC))
    dossier.owner.personal_id = "001089012345"
    db.session.commit()
    return dossier


def _token(client, code=CODE) -> str:
    page = client.get(f"/follow/{code}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _look_up(client, digits, code=CODE):
    return client.post(f"/follow/{code}", data={"digits": digits, "csrf_token": _token(client, code)})


def test_the_page_asks_for_the_digits_and_shows_nothing_else(client, dossier):
    response = client.get(f"/follow/{CODE}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert CODE in page and 'name="digits"' in page
    assert "hưu trí" not in page and "trợ cấp xã hội" not in page and "Đã tiếp nhận" not in page


def test_the_right_digits_show_status_and_due_date_without_personal_data(client, dossier):
    response = _look_up(client, "2345")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Đã tiếp nhận" in page
    assert dossier.procedure_version.procedure.name_vi in page
    assert "10:00 11/12/2026" in page  # due date in Viet Nam time
    assert "Trần Thị Bình" not in page and "001089012345" not in page


def test_wrong_digits_and_an_unknown_code_get_the_same_answer(client, dossier):
    wrong = _look_up(client, "9999")
    unknown = _look_up(client, "2345", code="000.20.26.H26-261127-0099")
    assert wrong.status_code == unknown.status_code == 404
    assert NOT_FOUND in wrong.get_data(as_text=True) and NOT_FOUND in unknown.get_data(as_text=True)
    assert "Đã tiếp nhận" not in wrong.get_data(as_text=True)


def test_malformed_digits_are_refused_with_a_message(client, dossier):
    response = _look_up(client, "12a")
    assert response.status_code == 422
    assert "đúng 4 chữ số" in response.get_data(as_text=True)


def test_the_look_up_needs_the_csrf_token(client, dossier):
    assert client.post(f"/follow/{CODE}", data={"digits": "2345"}).status_code == 400


def test_the_look_up_is_rate_limited(app, client, dossier):
    app.config["LOOKUP_RATE_LIMIT"] = "3 per minute"
    statuses = [_look_up(client, "9999").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_the_phone_stands_in_when_the_owner_has_no_personal_id(client, dossier):
    dossier.owner.personal_id = None
    dossier.owner.phone_e164 = "+84912345678"
    db.session.commit()
    assert _look_up(client, "5678").status_code == 200
