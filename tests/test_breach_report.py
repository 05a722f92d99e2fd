"""A lost phone (issue 12 point 4): what went to it is recorded, and its revocation gives the administrator a
breach report: the reserved codes no dossier carries, the visits (people) it downloaded, the 72-hour deadline."""

from __future__ import annotations

import uuid
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.auth.models import AuditEvent
from server.auth.models import Device
from server.auth.models import Role
from server.breach.models import VisitDownload
from server.dossiers import codes
from server.dossiers.models import CodeReservation
from server.dossiers.models import HomeServiceReason
from server.dossiers.models import HomeVisit
from server.dossiers.models import VisitStatus
from server.extensions import db
from server.people.models import Person
from server.types import utcnow
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import sign_in
from tests.test_sync_api import captured


def _visit(name: str, officer, status=VisitStatus.SCHEDULED) -> HomeVisit:
    visit = HomeVisit(agency_id=demo_agency().id, officer_id=officer.id,
                      person=Person(full_name=name, phone_e164="+84987654321", personal_id="001045012345"),
                      reason=HomeServiceReason.ELDERLY, status=status, address=f"Nhà của {name}",
                      planned_for=date.today())
    db.session.add(visit)
    db.session.commit()
    return visit


@pytest.fixture
def phone(app):
    """The demo officer signed in on the demo phone: (client, CSRF token, officer, device)."""
    officer = demo_user(Role.OFFICER)
    device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
    client = app.test_client()
    return client, sign_in(client, officer, device), officer, device


@pytest.fixture
def admin(app):
    client = app.test_client()
    return client, sign_in(client, demo_user(Role.ADMIN))


def _revoke(admin, device) -> dict:
    client, token = admin
    response = client.post(f"/api/v1/admin/devices/{device.id}/revoke", headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _expand(ranges: list[dict]) -> set[str]:
    """Every code of the report's ranges, written out (the pattern is the server's)."""
    found = set()
    for r in ranges:
        day = date.fromisoformat(r["day"])
        agency = demo_agency().agency_code
        found |= {codes.format_code(agency, day, n) for n in range(r["first"], r["last"] + 1)}
        assert codes.format_code(agency, day, r["first"]) == r["first_code"]
        assert r["count"] == r["last"] - r["first"] + 1
    return found


def test_revoking_a_phone_lists_exactly_its_unsent_codes_and_the_people_it_downloaded(app, phone, admin):
    client, token, officer, device = phone
    kept = _visit("Nguyễn Thị Hoà", officer)
    moved = _visit("Lê Văn Tám", officer)
    other_officer = make_user(Role.OFFICER, demo_agency(), "Cán bộ khác")
    never_sent = _visit("Phạm Thị Không Tải", other_officer)

    day = client.post("/api/v1/sync/day", json={}, headers={"X-CSRFToken": token})
    assert day.status_code == 200, day.get_json()
    assert {v["id"] for v in day.get_json()["visits"]} == {kept.id, moved.id}
    rows = {r.home_visit_id: r for r in db.session.scalars(select(VisitDownload))}
    assert set(rows) == {kept.id, moved.id} and all(r.drop_sent_at is None for r in rows.values())

    # A block of five codes for a past day: the phone sends dossiers with its 1st and 3rd codes; the 2nd was issued
    # at a door (a later code arrived) and never came; the 4th and 5th may be unused.
    block = client.post("/api/v1/devices/current/code-blocks", json={"days": ["2026-03-09"], "size": 5},
                        headers={"X-CSRFToken": token}).get_json()["blocks"][0]
    agency = demo_agency().agency_code
    sent_codes = {codes.format_code(agency, date(2026, 3, 9), block["first"] + i) for i in (0, 2)}
    for code in sorted(sent_codes):
        response = client.put(f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(code, []),
                              headers={"X-CSRFToken": token})
        assert response.status_code == 201, response.get_json()

    # The desk gives one visit to another officer: the next pull tells the phone to drop it.
    moved.officer_id = other_officer.id
    db.session.commit()
    cursor = day.get_json()["cursor"]
    changes = client.get("/api/v1/sync/changes", query_string={"cursor": cursor})
    assert changes.status_code == 200 and moved.id not in changes.get_json()["open_visit_ids"]

    before = utcnow()
    revoked = _revoke(admin, device)
    after = utcnow()
    due = datetime.fromisoformat(revoked["breach_report"]["notification_due_at"])
    revoked_at = datetime.fromisoformat(revoked["revoked_at"])
    assert before <= revoked_at <= after and due == revoked_at + timedelta(hours=72)
    assert revoked["breach_report"]["hours"] == 72

    admin_client, _ = admin
    response = admin_client.get(f"/api/v1/admin/devices/{device.id}/breach-report")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert "no-store" in response.headers["Cache-Control"]
    assert datetime.fromisoformat(report["notification_due_at"]) == revoked_at + timedelta(hours=72)

    # Exactly the reserved codes that no dossier carries: every block of the phone, minus the two that arrived.
    reserved = set()
    for b in db.session.scalars(select(CodeReservation).where(CodeReservation.device_id == device.id)):
        reserved |= {codes.format_code(agency, b.day, n) for n in range(b.first_number, b.last_number + 1)}
    assert _expand(report["unsynced_codes"]["ranges"]) == reserved - sent_codes
    assert report["unsynced_codes"]["count"] == len(reserved) - 2
    march = [r for r in report["unsynced_codes"]["ranges"] if r["day"] == "2026-03-09"]
    assert [(r["first"] - block["first"], r["last"] - block["first"], r["issued"]) for r in march] == [
        (1, 1, True), (3, 4, False)]
    assert not any(r["after_revocation"] for r in march)

    # The visits it downloaded, with names; the one handed over is marked as told to drop, still listed.
    visits = {v["visit_id"]: v for v in report["visits"]}
    assert set(visits) == {kept.id, moved.id} and never_sent.id not in visits
    assert visits[kept.id]["person"]["full_name"] == "Nguyễn Thị Hoà" and visits[kept.id]["drop_sent_at"] is None
    assert visits[moved.id]["drop_sent_at"] is not None
    assert report["people_count"] == 2 and "personal_id" in report["visit_data"]

    [viewed] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "breach_report_viewed"))
    assert viewed.actor_id == demo_user(Role.ADMIN).id and viewed.target_id == str(device.id)
    assert viewed.data["format"] == "json" and viewed.data["people"] == 2

    # The printable page says the same, and its view is audited too.
    page = admin_client.get(f"/admin/devices/{device.id}/breach-report")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nguyễn Thị Hoà" in html and "Lê Văn Tám" in html
    assert "Phạm Thị Không Tải" not in html and "72 giờ" in html and "91/2025/QH15" in html
    assert march[0]["first_code"] in html
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "breach_report_viewed",
                                                      AuditEvent.id != viewed.id)).data["format"] == "html"
    download = admin_client.get(f"/api/v1/admin/devices/{device.id}/breach-report?download=1")
    assert "attachment" in download.headers["Content-Disposition"]


def test_the_deadline_hours_are_a_setting(app, phone, admin):
    app.config["BREACH_NOTIFICATION_HOURS"] = 48
    revoked = _revoke(admin, phone[3])
    due = datetime.fromisoformat(revoked["breach_report"]["notification_due_at"])
    assert due - datetime.fromisoformat(revoked["revoked_at"]) == timedelta(hours=48)
    listed = admin[0].get("/api/v1/admin/devices").get_json()["devices"]
    [mine] = [d for d in listed if d["id"] == str(phone[3].id)]
    assert mine["breach_report"]["url"] == f"/admin/devices/{phone[3].id}/breach-report"


def test_a_revoked_phone_still_erases_at_its_next_contact(app, phone, admin):
    client, _, _, device = phone
    _revoke(admin, device)
    response = client.get("/api/v1/session")
    assert response.status_code == 401 and response.get_json()["wipe_local_data"] is True


def test_only_an_administrator_sees_a_breach_report(app, phone, admin):
    device = phone[3]
    _revoke(admin, device)
    url = f"/api/v1/admin/devices/{device.id}/breach-report"
    assert app.test_client().get(url).status_code == 401
    for role in (Role.OFFICER, Role.STAFF, Role.LEADER, Role.CITIZEN):
        client = app.test_client()
        sign_in(client, demo_user(role))
        response = client.get(url)
        assert response.status_code == 403 and response.mimetype == "application/problem+json", role
        assert client.get(f"/admin/devices/{device.id}/breach-report").status_code == 403, role
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "breach_report_viewed")) is None


@pytest.mark.parametrize("device_id, status", [
    ("00000000-0000-0000-0000-000000000000", 404), ("not-a-uuid", 404), ("%00", 404), ("'; DROP TABLE device--", 404),
    ("1" * 300, 404),
])
def test_hostile_device_ids_get_a_problem_document(app, admin, device_id, status):
    client, _ = admin
    response = client.get(f"/api/v1/admin/devices/{device_id}/breach-report")
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:motcua:problem:not-found"
    assert client.get(f"/admin/devices/{device_id}/breach-report").status_code == status


def test_a_device_in_use_has_no_breach_report(app, phone, admin):
    response = admin[0].get(f"/api/v1/admin/devices/{phone[3].id}/breach-report")
    assert response.status_code == 409 and response.get_json()["type"] == "urn:motcua:problem:device-not-revoked"


def test_a_phone_that_never_downloaded_anything_has_an_empty_report(app, admin):
    officer = make_user(Role.OFFICER, demo_agency(), "Cán bộ mới")
    device = Device(user_id=officer.id, name="Máy mới")
    db.session.add(device)
    db.session.commit()
    _revoke(admin, device)
    report = admin[0].get(f"/api/v1/admin/devices/{device.id}/breach-report").get_json()
    assert report["unsynced_codes"] == {"count": 0, "ranges": []} and report["visits"] == []
    page = admin[0].get(f"/admin/devices/{device.id}/breach-report").get_data(as_text=True)
    assert "Máy chưa tải về lượt đến nhà nào." in page
