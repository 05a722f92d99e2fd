"""Hostile but schema-valid sync requests (issue 10, points 2, 3 and 8): always a 4xx with a field error, never 500."""

from __future__ import annotations

import hashlib
import threading
import uuid

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import Device
from server.auth.models import Role
from server.dossiers.models import AttachmentUpload
from server.dossiers.models import CodeReservation
from server.dossiers.models import Dossier
from server.extensions import db
from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.conftest import ON_POSTGRES
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import sign_in
from tests.test_sync_api import captured
from tests.test_sync_api import jpeg
from tests.test_sync_api import officer_client
from tests.test_sync_api import put
from tests.test_sync_api import reserve
from tests.test_sync_api import upload


def other_agency():
    from server.reference.models import Agency

    ward = db.session.scalar(select(Agency).where(Agency.agency_code == "000.20.27.H26"))
    if ward is None:
        ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
        db.session.add(ward)
        db.session.commit()
    return ward


def other_agency_visit():
    from server.dossiers.models import HomeServiceReason
    from server.dossiers.models import HomeVisit
    from server.people.models import Person

    visit = HomeVisit(agency_id=other_agency().id, person=Person(full_name="Người phường khác"),
                      address="Phường khác", reason=HomeServiceReason.ELDERLY)
    db.session.add(visit)
    db.session.commit()
    return visit


def _fields(response):
    return {(e["field"], e["code"]) for e in response.get_json().get("errors", [])}


def _send(app, **change):
    client, token = officer_client(app)
    block = reserve(client, token)
    photo, _ = upload(client, token, jpeg())
    body = captured(block["first_code"], [photo], **change)
    return client, token, put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body)


def test_same_photo_on_two_documents_is_a_field_error(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    photo, _ = upload(client, token, jpeg())
    body = captured(block["first_code"], [photo])
    body["documents"].append({"name": "Bản sao", "sha256": photo, "sighted_original": False})
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body)
    assert response.status_code == 422, response.get_json()
    assert (f"documents.{len(body['documents']) - 1}.sha256", "duplicate") in _fields(response)


def test_lower_case_t_and_z_are_rfc3339(app):
    _, _, response = _send(app, received_at="2026-03-09t02:30:00z", device_now="2026-03-09t02:31:00z")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["received_at"].startswith("2026-03-09T09:30:00")


@pytest.mark.parametrize("field", ["received_at", "due_at", "device_now"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59-07:00",
                                   "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_years_near_1_and_9999_are_refused(app, field, value):
    _, _, response = _send(app, **{field: value})
    # schema-valid (RFC 3339), so not a 400: a field error the officer can act on
    assert response.status_code == 422, response.get_json()
    assert (field, "out_of_range") in _fields(response)


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_extreme_date_of_birth_is_not_a_500(app, value):
    owner = {"full_name": "Trần Văn Phúc", "date_of_birth": value}
    _, _, response = _send(app, owner=owner)
    assert response.status_code in (201, 400, 422), response.get_json()


def test_date_time_format_is_checked_without_the_test_extras():
    from server.api.openapi import FORMATS

    assert not FORMATS.conforms("2026-03-09 garbage", "date-time")
    assert not FORMATS.conforms("2026-02-30T10:00:00Z", "date-time")
    assert FORMATS.conforms("2026-03-09t10:00:00.5z", "date-time")


@pytest.mark.parametrize("text", ["Trần\ud800Phúc", "Trần\x00Phúc"])
def test_lone_surrogate_and_nul_are_422(app, text):
    client, token = officer_client(app)
    block = reserve(client, token)
    body = captured(block["first_code"], [], summary=text)
    body["owner"]["address"] = text
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body)
    assert response.status_code == 422, response.get_json()
    assert {"summary", "owner.address"} <= {f for f, _ in _fields(response)}
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 0


@pytest.mark.parametrize("visit_id", [987654, 2**31, 2**63, 10**20, -1, 0])
def test_unknown_home_visit_is_a_field_error(app, visit_id):
    _, _, response = _send(app, home_visit_id=visit_id)
    assert response.status_code == 422, response.get_json()
    assert ("home_visit_id", "unknown") in _fields(response)


def test_home_visit_of_another_ward_is_refused(app):
    from server.dossiers.models import HomeVisit
    visit = other_agency_visit()
    assert isinstance(visit, HomeVisit)
    _, _, response = _send(app, home_visit_id=visit.id)
    assert response.status_code == 422
    assert ("home_visit_id", "unknown") in _fields(response)


def test_provisional_code_already_used_is_a_field_error(app):
    client, token = officer_client(app)
    photo, _ = upload(client, token, jpeg())
    first = captured(None, [photo], provisional_code="TAM-0001")
    assert put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=first).status_code == 201
    second = captured(None, [photo], provisional_code="TAM-0001")
    second["owner"]["full_name"] = "Người khác"
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=second)
    assert response.status_code == 422, response.get_json()
    assert ("provisional_code", "taken") in _fields(response)


def test_received_at_in_the_future_is_flagged_not_refused(app):
    from datetime import timedelta

    from server.types import utcnow

    client, token = officer_client(app)
    photo, _ = upload(client, token, jpeg())
    later = (utcnow() + timedelta(days=3)).isoformat()
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(None, [photo], received_at=later))
    assert response.status_code == 201, response.get_json()
    assert any("received_in_future_seconds" in f["detail"] for f in response.get_json()["flags"])


# --- attachment ownership (point 2) --------------------------------------------------------------------------

def _other_ward_officer(app):
    colleague = make_user(Role.OFFICER, other_agency(), "Cán bộ phường khác")
    phone = Device(user_id=colleague.id, name="Máy phường khác")
    db.session.add(phone)
    db.session.commit()
    client = app.test_client()
    return client, sign_in(client, colleague, phone)


def test_a_photo_of_another_ward_cannot_be_cited(app):
    client, token = officer_client(app)
    photo, _ = upload(client, token, jpeg(colour=(10, 20, 30)))
    other, other_token = _other_ward_officer(app)
    body = captured(None, [photo])
    response = put(other, other_token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body)
    assert response.status_code == 422, response.get_json()
    errors = {e["field"]: e for e in response.get_json()["errors"]}
    assert errors["documents.0.sha256"]["code"] == "not_yours"
    unknown = put(other, other_token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(None, ["b" * 64]))
    assert unknown.get_json()["errors"][0]["en"] == errors["documents.0.sha256"]["en"]  # nothing leaks
    # With no dossier of its own citing the photo, the other ward's desk cannot download it either; the ward that
    # uploaded it can, once its dossier cites it.
    desk_b = app.test_client()
    sign_in(desk_b, make_user(Role.STAFF, other_agency(), "Một cửa phường khác"))
    assert desk_b.get(f"/staff/attachments/{photo}").status_code == 404
    assert put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(None, [photo])).status_code == 201
    desk_a = app.test_client()
    sign_in(desk_a, make_user(Role.STAFF, demo_user(Role.OFFICER).agency, "Một cửa phường này"))
    served = desk_a.get(f"/staff/attachments/{photo}")
    assert served.status_code == 200 and served.data.startswith(b"\xff\xd8")
    served.close()
    assert desk_b.get(f"/staff/attachments/{photo}").status_code == 404


def test_a_photo_of_a_colleague_of_the_same_ward_may_be_cited(app):
    client, token = officer_client(app)
    colleague = make_user(Role.OFFICER, demo_user(Role.OFFICER).agency, "Cán bộ cùng phường")
    phone = Device(user_id=colleague.id, name="Máy cùng phường")
    db.session.add(phone)
    db.session.commit()
    other = app.test_client()
    other_token = sign_in(other, colleague, phone)
    photo, _ = upload(other, other_token, jpeg(colour=(40, 50, 60)))
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(None, [photo]))
    assert response.status_code == 201, response.get_json()


def test_upload_again_proves_possession(app):
    client, token = officer_client(app)
    data = jpeg(colour=(70, 80, 90))
    photo, _ = upload(client, token, data)
    other, other_token = _other_ward_officer(app)
    again = other.put(f"/api/v1/attachments/{photo}", data=data, content_type="application/octet-stream",
                      headers={"X-CSRFToken": other_token})
    assert again.status_code == 200
    response = put(other, other_token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(None, [photo]))
    assert response.status_code == 201, response.get_json()


# --- concurrency on PostgreSQL -------------------------------------------------------------------------------

def _threads(app, count, action):
    """Run ``action(client, csrf_token)`` in ``count`` threads at once, each with its own signed-in client.

    The clients sign in one after the other first: a sign-in holds the test's connection while its request takes
    another, so twenty of them at once could empty the pool and wait on each other. A thread that fails before
    the start breaks the barrier, and every wait is bounded, so a bug is a failure, never a hung suite."""
    officer = demo_user(Role.OFFICER)
    device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
    clients = []
    for _ in range(count):
        client = app.test_client()
        clients.append((client, sign_in(client, officer, device)))
    db.session.remove()  # give the test's connection back: the pool must serve every request at once
    results, errors, barrier = [], [], threading.Barrier(count, timeout=SLOW_MACHINE_TIMEOUT_S)

    def worker(client, token):
        try:
            barrier.wait()
            results.append(action(client, token))
        except BaseException as error:  # reported below, in the test's thread
            barrier.abort()
            errors.append(error)

    threads = [threading.Thread(target=worker, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=2 * SLOW_MACHINE_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a request did not finish"
    if errors:
        raise errors[0]
    return results


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrency is measured on PostgreSQL (DATABASE_URL)")
def test_concurrent_uploads_of_one_new_photo(app):
    data = jpeg(colour=(1, 2, 3))
    statuses = _threads(app, 6, lambda c, t: upload(c, t, data)[1].status_code)
    assert set(statuses) <= {200, 201} and 201 in statuses, statuses  # stored at least once, never an error
    holders = db.session.scalar(select(func.count()).select_from(AttachmentUpload).where(
        AttachmentUpload.sha256 == hashlib.sha256(data).hexdigest()))
    assert holders == 1, holders  # one officer on one phone holds it once, however many uploads raced


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrency is measured on PostgreSQL (DATABASE_URL)")
def test_twenty_concurrent_code_block_requests_reserve_one_block_per_day(app):
    def ask(client, token):
        return client.post("/api/v1/devices/current/code-blocks", json={"days": ["2026-03-09"], "size": 10},
                           headers={"X-CSRFToken": token}).status_code

    statuses = _threads(app, 20, ask)
    assert statuses == [200] * 20
    assert db.session.scalar(select(func.count()).select_from(CodeReservation)) == 1


# --- integer path ids beyond the database range --------------------------------------------------------------

def test_huge_integer_path_ids_are_404(app):
    routes = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert routes
    admin = demo_user(Role.ADMIN)
    client = app.test_client()
    sign_in(client, admin)
    for rule in routes:
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", "99999999999999999999").replace(f"<{name}>", "x")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            assert response.status_code < 500, (method, url, response.status_code)
            if method == "GET":
                assert response.status_code in (302, 401, 403, 404), (url, response.status_code)
