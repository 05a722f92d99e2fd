"""Who looked at whom (issue 12, point 8): every view of a person's data on the desk is in the access log, the
leaders and administrators read it, and the audit trail and the access log are hash chains that
``flask audit verify`` walks."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from server.access_log import chain
from server.access_log.models import AccessEvent
from server.access_log.models import LogChain
from server.access_log.record import KINDS
from server.access_log.views import KIND_LABELS
from server.auth.audit import audit
from server.auth.models import AuditEvent
from server.auth.models import Role
from server.auth.models import User
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.extensions import db
from server.people.models import Person
from server.reference.models import Agency
from tests.conftest import ON_POSTGRES
from tests.desk_support import synced_dossier
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import sign_in


def _rows(**where) -> list[AccessEvent]:
    db.session.expire_all()
    query = select(AccessEvent).order_by(AccessEvent.id)
    for name, value in where.items():
        query = query.where(getattr(AccessEvent, name) == value)
    return list(db.session.scalars(query))


def _client_as(app, user: User):
    client = app.test_client()
    sign_in(client, user)
    return client


def _verify(runner):
    return runner.invoke(args=["audit", "verify"])


# --- what is recorded ----------------------------------------------------------------------------------------------

def test_the_dossier_page_records_who_saw_its_owner_and_submitter(app):
    dossier, _picture = synced_dossier(app)
    staff = demo_user(Role.STAFF)
    page = _client_as(app, staff).get(f"/staff/dossiers/{dossier.id}")
    assert page.status_code == 200
    rows = _rows(kind="dossier_page")
    assert {r.person_id for r in rows} == {dossier.owner_id, dossier.submitter_id}
    for row in rows:
        assert (row.user_id, row.role, row.object_type, row.object_id) == (staff.id, "staff", "Dossier",
                                                                            str(dossier.id))
        assert (row.dossier_id, row.agency_id, row.ip) == (dossier.id, dossier.agency_id, "127.0.0.1")
        assert row.at is not None and len(row.entry_hash) == 64
    # ids only: nothing a person could be recognised by is copied into the log
    owner = db.session.get(Person, dossier.owner_id)
    for row in rows:
        stored = " ".join(str(getattr(row, c)) for c in AccessEvent.__table__.columns.keys())
        for personal in (owner.full_name, owner.personal_id, owner.phone_e164, owner.address):
            assert personal not in stored


def test_a_photo_and_the_forms_are_recorded_with_the_dossier_as_the_reason(app):
    dossier, picture = synced_dossier(app)
    digest = hashlib.sha256(picture).hexdigest()
    leader = demo_user(Role.LEADER)
    client = _client_as(app, leader)
    shown = client.get(f"/staff/attachments/{digest}")
    shown.close()
    assert shown.status_code == 200
    assert client.get(f"/staff/dossiers/{dossier.id}/forms").status_code == 200
    assert client.get(f"/staff/dossiers/{dossier.id}/forms/control_sheet.pdf").status_code == 200
    photo_rows = _rows(kind="photo")
    assert {(r.object_type, r.object_id, r.person_id, r.dossier_id, r.role) for r in photo_rows} == {
        ("Attachment", digest, dossier.owner_id, dossier.id, "leader"),
        ("Attachment", digest, dossier.submitter_id, dossier.id, "leader")}
    assert {r.person_id for r in _rows(kind="form_list")} == {dossier.owner_id, dossier.submitter_id}
    pdf_rows = _rows(kind="pdf")
    assert {(r.object_type, r.object_id) for r in pdf_rows} == {("ControlSheet", str(dossier.id))}
    # a photo of another ward is neither shown nor recorded
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    other = make_user(Role.STAFF, other_ward, "Công chức phường khác")
    before = len(_rows())
    assert _client_as(app, other).get(f"/staff/attachments/{digest}").status_code == 404
    assert len(_rows()) == before


def test_the_owner_seeing_who_follows_their_dossier_is_recorded(app):
    dossier, _picture = synced_dossier(app)
    owner = db.session.scalar(select(User).join(DossierFollower, DossierFollower.user_id == User.id)
                              .where(DossierFollower.dossier_id == dossier.id))
    relative_person = Person(full_name="Trần Văn Nam")
    relative = User(role=Role.CITIZEN, display_name="Trần Văn Nam", person=relative_person)
    db.session.add(relative)
    db.session.flush()
    follow = DossierFollower(dossier_id=dossier.id, user_id=relative.id, role=FollowRole.FOLLOWER)
    db.session.add(follow)
    db.session.commit()
    page = _client_as(app, owner).get(f"/my/dossiers/{dossier.id}")
    assert page.status_code == 200 and "Trần Văn Nam" in page.get_data(as_text=True)
    rows = _rows(kind="follower_list")
    assert [(r.user_id, r.role, r.object_type, r.object_id, r.person_id, r.dossier_id) for r in rows] == [
        (owner.id, "citizen", "DossierFollower", str(follow.id), relative_person.id, dossier.id)]
    # the relative sees no follower list: nothing recorded for them
    _client_as(app, relative).get(f"/my/dossiers/{dossier.id}")
    assert len(_rows(kind="follower_list")) == 1


def test_an_administrator_seeing_accounts_is_recorded(app):
    admin = demo_user(Role.ADMIN)
    citizen_person = Person(full_name="Lê Thị Hoa")
    citizen = User(role=Role.CITIZEN, display_name="Lê Thị Hoa", person=citizen_person)
    db.session.add(citizen)
    db.session.commit()
    client = _client_as(app, admin)
    assert client.get(f"/admin/users/{citizen.id}").status_code == 200
    assert client.get("/api/v1/admin/users").status_code == 200
    [page_row] = _rows(kind="account_page")
    assert (page_row.user_id, page_row.object_type, page_row.object_id, page_row.person_id) == (
        admin.id, "User", str(citizen.id), citizen_person.id)
    [list_row] = _rows(kind="account_list")
    assert (list_row.user_id, list_row.role, list_row.person_id) == (admin.id, "admin", None)


# --- reading the access log ----------------------------------------------------------------------------------------

def test_a_leader_reads_their_wards_log_with_filters_and_the_reading_is_recorded(app):
    dossier, _picture = synced_dossier(app)
    staff, leader, admin = demo_user(Role.STAFF), demo_user(Role.LEADER), demo_user(Role.ADMIN)
    _client_as(app, staff).get(f"/staff/dossiers/{dossier.id}")
    # an administrator's view of a citizen's account (of no ward) is not the leader's to read
    citizen = make_user(Role.CITIZEN, None, "Lê Thị Hoa")
    _client_as(app, admin).get(f"/admin/users/{citizen.id}")
    [outside] = _rows(kind="account_page")
    client = _client_as(app, leader)
    page = client.get(f"/access-log?person={dossier.owner_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<tr data-id=") == 2  # the staff's view of the owner, and this reading about them
    assert staff.display_name in html
    assert "Trần Văn Phúc" not in html  # the log shows ids, not the person's name
    [reading] = _rows(kind="access_log")
    assert (reading.user_id, reading.role, reading.person_id, reading.agency_id) == (
        leader.id, "leader", dossier.owner_id, demo_agency().id)
    by_user = client.get(f"/access-log?user={staff.id}").get_data(as_text=True)
    assert by_user.count("<tr data-id=") == 2  # owner and submitter
    everything = client.get("/access-log").get_data(as_text=True)
    assert f'<tr data-id="{outside.id}"' not in everything
    assert everything.count("<tr data-id=") == len(_rows(agency_id=demo_agency().id))  # this reading included
    admin_page = _client_as(app, admin).get("/access-log?kind=account_page").get_data(as_text=True)
    assert f'<tr data-id="{outside.id}"' in admin_page and admin_page.count("<tr data-id=") == 1


def test_only_leaders_and_administrators_read_the_log(app):
    for role in (Role.STAFF, Role.OFFICER, Role.CITIZEN):
        user = demo_user(role) or make_user(role, None)
        assert _client_as(app, user).get("/access-log").status_code == 403, role
    assert app.test_client().get("/access-log").status_code == 302  # anonymous: to the sign-in page


@pytest.mark.parametrize("query", [
    "person=abc", "person=-1", "person=0", "person=99999999999999999999999", "person=%EF%BC%91%EF%BC%92",
    "person=1e3", "person=%00", "user=1%20OR%201=1", "user=2147483648", "kind=x%27%20OR%201=1", "kind=%00",
    "page=0", "page=10001", "page=" + "9" * 5000, "person=1&user=x&kind=nope",
])
def test_hostile_filters_are_a_problem_document_not_a_500(app, query):
    response = _client_as(app, demo_user(Role.LEADER)).get(f"/access-log?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert problem["type"] == "urn:motcua:problem:invalid-filter" and problem["status"] == 422
    assert problem["errors"] and all(e["vi"] and e["en"] for e in problem["errors"])
    assert _rows(kind="access_log") == []  # a refused reading shows nothing


def test_every_kind_has_a_label():
    assert set(KIND_LABELS) == set(KINDS)


# --- the hash chains -----------------------------------------------------------------------------------------------

def test_verify_says_ok_with_the_counts(app, runner):
    audit("test_event", demo_user(Role.ADMIN), None, reason="một lý do")  # the old call still works
    db.session.commit()
    dossier, _picture = synced_dossier(app)
    _client_as(app, demo_user(Role.STAFF)).get(f"/staff/dossiers/{dossier.id}")
    result = _verify(runner)
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"OK (audit_event: {audits} entries, access_event: 2 entries)"


def test_an_altered_audit_row_is_reported(app, runner):
    first = audit("role_changed", demo_user(Role.ADMIN), demo_user(Role.STAFF), role=["staff", "leader"])
    audit("user_deactivated", demo_user(Role.ADMIN), demo_user(Role.STAFF))
    db.session.commit()
    stored = first.entry_hash
    db.session.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(data={"role": ["staff", "admin"]}))
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"audit_event id={first.id}: entry_hash expected " in result.output
    assert f"found {stored}" in result.output


def test_an_altered_access_row_is_reported_even_with_its_hash_recomputed(app, runner):
    dossier, _picture = synced_dossier(app)
    _client_as(app, demo_user(Role.STAFF)).get(f"/staff/dossiers/{dossier.id}")
    first, second = _rows()
    original = first.entry_hash
    # someone who knows the scheme rewrites the first row and its own hash: the next link no longer holds
    forged = {c: getattr(first, c) for c in chain.ACCESS.fields} | {"user_id": demo_user(Role.LEADER).id}
    db.session.execute(update(AccessEvent).where(AccessEvent.id == first.id).values(
        user_id=forged["user_id"], entry_hash=chain.entry_hash(chain.ACCESS, forged, first.prev_hash)))
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"access_event id={second.id}: prev_hash expected " in result.output
    assert f"prev_hash expected {chain.entry_hash(chain.ACCESS, forged, first.prev_hash)}, found {original}" \
        in result.output


def test_a_deleted_row_is_reported_in_the_middle_and_at_the_end(app, runner):
    events = [audit(f"event_{n}", None) for n in range(3)]
    db.session.commit()
    middle, last = events[1], events[2]
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == middle.id))
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"audit_event id={last.id}: prev_hash expected {events[0].entry_hash}, found {middle.entry_hash}" \
        in result.output
    # put the middle back as it was, and remove the newest entry instead: the chain's head says what is missing
    db.session.add(AuditEvent(**{c: getattr(middle, c) for c in AuditEvent.__table__.columns.keys()}))
    db.session.commit()
    assert _verify(runner).exit_code == 0
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == last.id))
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"audit_event (chain head): last entry expected id {last.id} {last.entry_hash}" in result.output


def test_the_migration_chains_the_rows_that_were_there(app, runner):
    from flask_migrate import downgrade
    from flask_migrate import upgrade

    audit("before_the_chains", demo_user(Role.ADMIN), demo_user(Role.STAFF), role="staff")
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    db.session.remove()
    downgrade(revision="0014")
    # a row written before the chains existed (no hashes yet), with non-ASCII details
    db.session.execute(text("INSERT INTO audit_event (at, action, data) VALUES (:at, 'legacy', :data)"),
                       {"at": datetime(2026, 1, 2, 3, 4, 5, 678901), "data": '{"tên": "Đức"}'})
    db.session.commit()
    db.session.remove()
    upgrade()
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert f"audit_event: {before + 1} entries" in result.output


def test_two_writers_never_take_the_same_previous_hash(app, runner):
    """Many threads append to both chains at once, each in its own session and transaction; the chains stay whole.
    (On PostgreSQL the head row's lock serialises them; on SQLite the database's write lock.)"""
    writers, per_writer = 8, 5
    start = threading.Barrier(writers)
    failures = []

    def write(n: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=60)
                for i in range(per_writer):
                    audit(f"concurrent_{n}_{i}", None)
                    db.session.commit()
                    chain.append(chain.ACCESS, AccessEvent(kind="access_log", prev_hash="", entry_hash=""))
                    db.session.commit()
            except Exception as error:  # reported below, with the thread that failed
                failures.append((n, repr(error)))
            finally:
                db.session.remove()

    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert f"audit_event: {before + writers * per_writer} entries" in result.output
    assert f"access_event: {writers * per_writer} entries" in result.output
    head = db.session.get(LogChain, "access_event")
    assert head.entries == writers * per_writer


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks between two connections need PostgreSQL")
def test_the_second_writer_waits_for_the_first_to_commit(app):
    """While one transaction holds the audit chain's head, another's append waits, then links to its entry."""
    first_appended, second_done = threading.Event(), threading.Event()
    seen = {}

    def second() -> None:
        with app.app_context():
            first_appended.wait(timeout=60)
            event = audit("second", None)
            seen["prev"] = event.prev_hash
            db.session.commit()
            db.session.remove()
            second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    first = audit("first", None)
    first_appended.set()
    deadline = time.monotonic() + 60
    while not db.session.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):  # live, not a snapshot
        assert time.monotonic() < deadline, "the second writer never waited for the head's lock"
        time.sleep(0.01)  # polling interval; the wait itself ends on the event
    assert not second_done.is_set()
    db.session.commit()
    thread.join(timeout=60)
    assert seen["prev"] == first.entry_hash


def test_the_page_and_its_problems_speak_english_too(app):
    client = _client_as(app, demo_user(Role.ADMIN))
    client.get("/language/en?next=/")
    page = client.get("/access-log").get_data(as_text=True)
    assert "Personal data access log" in page and "Kind of view" in page
    problem = client.get("/access-log?person=abc").get_json()
    assert problem["title"] == "Invalid filter" and problem["errors"][0]["message"].startswith("The person's id")
