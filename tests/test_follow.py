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
    assert "10:00, 11/12/2026" in page  # due date in Viet Nam time, as a clerk writes it (issue 11 point 8)
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


# --- per-code lock-out, whatever the address (issue 10 point 7) -----------------------------------------------

def _from(client, address: str, digits: str, code=CODE):
    token = _token(client, code)
    return client.post(f"/follow/{code}", data={"digits": digits, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def _guard(code=CODE):
    from server.dossiers.models import FollowLookupGuard

    db.session.expire_all()
    return db.session.get(FollowLookupGuard, code)


def test_wrong_answers_lock_the_code_from_every_address_with_a_growing_back_off(app, client, dossier):
    app.config["FOLLOW_MAX_FAILURES"] = 3
    app.config["FOLLOW_LOCK_SECONDS"] = 600
    statuses = [_from(client, f"198.51.100.{n}", "9999").status_code for n in range(3)]
    assert statuses == [404, 404, 429]  # the third wrong answer locks the code
    locked = _from(client, "203.0.113.7", "2345")  # a new address with the right digits: still locked
    assert locked.status_code == 429 and "Đã tiếp nhận" not in locked.get_data(as_text=True)
    assert "Đã nhập sai quá nhiều lần" in locked.get_data(as_text=True)
    assert 0 < int(locked.headers["Retry-After"]) <= 600
    guard = _guard()
    first_lock = (guard.locked_until - guard.last_failure_at).total_seconds()
    assert guard.failures == 3 and abs(first_lock - 600) < 5

    # The lock-out ends (moved to the past: no waiting); the next wrong answer locks for twice as long.
    guard.locked_until = guard.last_failure_at
    db.session.commit()
    assert _from(client, "203.0.113.8", "9999").status_code == 429
    guard = _guard()
    assert guard.failures == 4 and abs((guard.locked_until - guard.last_failure_at).total_seconds() - 1200) < 5

    # After the lock, the right digits work and start the count again.
    guard.locked_until = guard.last_failure_at
    db.session.commit()
    assert _from(client, "203.0.113.9", "2345").status_code == 200
    assert _guard() is None


def test_an_unknown_code_is_locked_the_same_way(app, client, dossier):
    app.config["FOLLOW_MAX_FAILURES"] = 2
    unknown = "000.20.26.H26-261127-0099"
    assert [_from(client, f"198.51.100.{n}", "2345", unknown).status_code for n in range(3)] == [404, 429, 429]
    assert [_from(client, f"198.51.100.{n}", "9999").status_code for n in range(3)] == [404, 429, 429]
