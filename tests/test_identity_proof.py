"""Issue 10 point 1: a person's identity is proven before it links anything.

A self-declared personal ID links an account to no dossier; capture keeps what the officer typed (a new person
record per dossier), a difference with the same ward's records is a flag, another ward's records are never looked
at; the desk links an account as owner only after checking the ID card (who, when, how).
"""

from __future__ import annotations

import io
import re
import uuid

from pypdf import PdfReader
from sqlalchemy import select

from server.auth.audit import AuditEvent
from server.auth.models import Device
from server.auth.models import Role
from server.auth.models import User
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFlag
from server.dossiers.models import DossierFollower
from server.dossiers.models import FlagKind
from server.dossiers.models import FollowRole
from server.extensions import db
from server.people.models import Person
from server.push.models import InboxMessage
from server.reference.models import Agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import render_forms
from tests.helpers import sign_in
from tests.softauthn import SoftAuthenticator
from tests.test_auth_api import CITIZEN
from tests.test_auth_api import register
from tests.test_sync_api import captured
from tests.test_sync_api import officer_client
from tests.test_sync_api import put
from tests.test_sync_api import reserve

OWNER_ID = "001045012345"  # the owner's ID in tests.test_sync_api.captured
SQUATTER = dict(CITIZEN, full_name="Kẻ Mạo Danh", phone="0912000111", personal_id=OWNER_ID)


def _sync(client, csrf, code, **changes) -> Dossier:
    response = put(client, csrf, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(code, [], **changes))
    assert response.status_code == 201, response.get_json()
    return db.session.get(Dossier, response.get_json()["id"])


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _ward_b(app):
    """An officer (with a phone) and a desk clerk of another ward."""
    ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(ward)
    db.session.commit()
    officer = make_user(Role.OFFICER, ward, "Cán bộ phường B")
    phone = Device(user_id=officer.id, name="Máy phường B")
    db.session.add(phone)
    db.session.commit()
    client = app.test_client()
    return client, sign_in(client, officer, phone), make_user(Role.STAFF, ward, "Công chức phường B")


def test_a_citizen_registering_first_with_someone_elses_id_gets_nothing_from_a_later_capture(app, client):
    registered = register(client, SoftAuthenticator(), {"citizen": SQUATTER})
    assert registered.status_code == 201, registered.get_json()
    squatter = db.session.get(User, registered.get_json()["user"]["id"])
    assert squatter.identity_verified_at is None
    assert 'data-identity="unverified"' in client.get("/my/dossiers").get_data(as_text=True)

    officer, csrf = officer_client(app)
    block = reserve(officer, csrf)
    dossier = _sync(officer, csrf, block["first_code"], citizen_requested_receipt=True)
    # The dossier keeps the officer's record of its owner, not the account's.
    assert dossier.owner_id != squatter.person_id
    assert (dossier.owner.full_name, dossier.owner.phone_e164) == ("Trần Văn Phúc", "+84912345678")
    assert (squatter.person.full_name, squatter.person.phone_e164) == ("Kẻ Mạo Danh", "+84912000111")

    # The squatter sees nothing and is told nothing.
    assert dossier.code not in client.get("/my/dossiers").get_data(as_text=True)
    assert client.get(f"/api/v1/dossiers/{dossier.id}").status_code == 404
    assert client.get(f"/my/dossiers/{dossier.id}").status_code == 404
    staff = app.test_client()
    sign_in(staff, demo_user(Role.STAFF))
    assert db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == squatter.id)) is None

    # The desk's page and the receipt (Mẫu 01, the content its PDF is drawn from) show the officer's data.
    page = staff.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Trần Văn Phúc" in page and "Kẻ Mạo Danh" not in page and "0912000111" not in page
    assert "Chưa có tài khoản nào theo dõi hồ sơ này." in page
    receipt = staff.get(f"/staff/dossiers/{dossier.id}/forms/receipt")
    assert receipt.status_code == 200
    assert "Trần Văn Phúc" in receipt.get_data(as_text=True)
    assert "Kẻ Mạo Danh" not in receipt.get_data(as_text=True)
    render_forms()  # the receipt's PDF, as the worker renders it after the sync
    pdf = staff.get(f"/staff/dossiers/{dossier.id}/forms/receipt.pdf")
    assert pdf.status_code == 200
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert "Trần Văn Phúc" in text and "Kẻ Mạo Danh" not in text


def test_capture_never_reuses_a_known_record_and_flags_a_difference_in_the_same_ward(app):
    officer, csrf = officer_client(app)
    block = reserve(officer, csrf)
    first = _sync(officer, csrf, block["first_code"])
    second = _sync(officer, csrf, block["first_code"][:-4] + str(int(block["first_code"][-4:]) + 1).zfill(4),
                   owner={"full_name": "Trần Văn Phú", "personal_id": OWNER_ID, "phone": "0911111111",
                          "date_of_birth": "1945-01-01"})
    assert second.owner_id != first.owner_id
    assert (first.owner.full_name, first.owner.phone_e164) == ("Trần Văn Phúc", "+84912345678")
    assert (second.owner.full_name, second.owner.phone_e164) == ("Trần Văn Phú", "+84911111111")
    flag = db.session.scalar(select(DossierFlag).where(DossierFlag.dossier_id == second.id,
                                                       DossierFlag.kind == FlagKind.PERSON_MISMATCH))
    assert flag.detail == {"role": "owner", "fields": ["date_of_birth", "full_name"],
                           "other_dossiers": [{"dossier_id": first.id, "code": first.code}]}
    assert not [f for f in first.flags if f.kind is FlagKind.PERSON_MISMATCH]
    staff = app.test_client()
    sign_in(staff, demo_user(Role.STAFF))
    page = staff.get(f"/staff/dossiers/{second.id}").get_data(as_text=True)
    assert 'data-flag="person_mismatch"' in page and first.code in page and "họ tên" in page
    # The same spelling (spacing, case) differs from nothing in the first record.
    third = _sync(officer, csrf, block["first_code"][:-4] + str(int(block["first_code"][-4:]) + 2).zfill(4),
                  owner={"full_name": " trần  văn phúc ", "personal_id": OWNER_ID, "phone": "0912345678"})
    compared = [o["dossier_id"] for f in third.flags if f.kind is FlagKind.PERSON_MISMATCH
                for o in f.detail["other_dossiers"]]
    assert compared == [second.id]


def test_another_ward_typing_the_same_id_learns_nothing_of_what_ward_a_stored(app):
    officer, csrf = officer_client(app)
    ward_a = _sync(officer, csrf, reserve(officer, csrf)["first_code"])
    client_b, csrf_b, staff_b = _ward_b(app)
    ward_b = _sync(client_b, csrf_b, reserve(client_b, csrf_b)["first_code"],
                   owner={"full_name": "Người Khác Hẳn", "personal_id": OWNER_ID, "phone": "0900000001"})
    assert ward_b.agency_id != ward_a.agency_id and ward_b.owner_id != ward_a.owner_id
    assert ward_b.owner.full_name == "Người Khác Hẳn" and ward_a.owner.full_name == "Trần Văn Phúc"
    assert ward_b.flags == [] or all(f.kind is not FlagKind.PERSON_MISMATCH for f in ward_b.flags)
    desk_b = app.test_client()
    sign_in(desk_b, staff_b)
    page = desk_b.get(f"/staff/dossiers/{ward_b.id}").get_data(as_text=True)
    assert "Người Khác Hẳn" in page
    assert "Trần Văn Phúc" not in page and "Ngõ 5 phố Huế" not in page and ward_a.code not in page
    assert desk_b.get(f"/staff/dossiers/{ward_a.id}").status_code == 404
    # Ward B's answer to the sync says nothing of ward A either.
    body = captured(reserve(client_b, csrf_b)["first_code"][:-4] + "0002", [], owner={
        "full_name": "Người Khác Hẳn", "personal_id": OWNER_ID})
    answer = put(client_b, csrf_b, f"/api/v1/dossiers/{uuid.uuid4()}", json=body).get_data(as_text=True)
    assert "Trần Văn Phúc" not in answer and ward_a.code not in answer


def _link(staff, dossier, **form):
    page = staff.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    return staff.post(f"/staff/dossiers/{dossier.id}/owner-account", data={"csrf_token": _csrf(page), **form})


def test_the_desk_links_the_owner_account_only_after_checking_the_id_card(app, client):
    owner = dict(CITIZEN, full_name="Trần Văn Phúc", phone="0912345678", personal_id=OWNER_ID)
    account = db.session.get(User, register(client, SoftAuthenticator(), {"citizen": owner})
                             .get_json()["user"]["id"])
    other = db.session.get(User, register(app.test_client(), SoftAuthenticator(),
                                          {"citizen": dict(CITIZEN, phone="0912000222")}).get_json()["user"]["id"])
    officer, csrf = officer_client(app)
    dossier = _sync(officer, csrf, reserve(officer, csrf)["first_code"])
    clerk = demo_user(Role.STAFF)
    staff = app.test_client()
    sign_in(staff, clerk)
    good = {"account_id": str(account.id), "card_personal_id": OWNER_ID, "method": "chip_read", "confirmed": "yes"}
    for change, field in (({"card_personal_id": "001045099999"}, "oa-card"),
                          ({"account_id": str(other.id)}, "oa-account"),  # declared another ID
                          ({"account_id": "999999"}, "oa-account"),
                          ({"account_id": str(clerk.id)}, "oa-account"),  # not a citizen
                          ({"method": "phoned"}, "oa-method"),
                          ({"confirmed": ""}, "oa-confirmed")):
        refused = _link(staff, dossier, **dict(good, **change))
        assert refused.status_code == 422 and f'id="{field}-error"' in refused.get_data(as_text=True), change
    assert db.session.scalar(select(DossierFollower).where(DossierFollower.dossier_id == dossier.id)) is None
    assert client.get(f"/api/v1/dossiers/{dossier.id}").status_code == 404

    # Another ward's desk cannot link anything to this dossier.
    _, _, staff_b = _ward_b(app)
    desk_b = app.test_client()
    token_b = sign_in(desk_b, staff_b)
    assert desk_b.post(f"/staff/dossiers/{dossier.id}/owner-account",
                       data={"csrf_token": token_b, **good}).status_code == 404

    linked = _link(staff, dossier, **good)
    assert linked.status_code == 302
    db.session.refresh(account)
    follower = db.session.scalar(select(DossierFollower).where(DossierFollower.dossier_id == dossier.id))
    assert (follower.user_id, follower.role, follower.granted_by_id) == (account.id, FollowRole.OWNER, clerk.id)
    assert account.identity_verified_at is not None
    assert (account.identity_verified_by_id, account.identity_verified_method) == (clerk.id, "chip_read")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "identity_checked"))
    assert (event.actor_id, event.target_id, event.data) == (
        clerk.id, str(account.id), {"dossier_id": dossier.id, "method": "chip_read"})
    # The dossier keeps its own people; the account now sees it and shows as verified.
    assert dossier.owner_id != account.person_id
    assert client.get(f"/api/v1/dossiers/{dossier.id}").status_code == 200
    assert 'data-identity="verified"' in client.get("/my/dossiers").get_data(as_text=True)
    assert 'data-identity="verified"' in staff.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    assert db.session.scalar(select(Person.id).where(Person.id == dossier.owner_id)) is not None


def test_owner_and_submitter_with_one_id_but_different_people_are_flagged(app):
    """The owner's ID typed again in the submitter's field is a PERSON_MISMATCH on the submitter; the same person
    recorded twice (same name and date of birth) is not."""
    officer, csrf = officer_client(app)
    block = reserve(officer, csrf)
    typo = _sync(officer, csrf, block["first_code"],
                 submitter={"full_name": "Trần Thị Mai", "personal_id": OWNER_ID, "phone": "0987654321"})
    flags = [f.detail for f in typo.flags if f.kind is FlagKind.PERSON_MISMATCH]
    assert flags == [{"role": "submitter", "fields": ["full_name"], "same_dossier": True}]
    staff = app.test_client()
    sign_in(staff, demo_user(Role.STAFF))
    page = staff.get(f"/staff/dossiers/{typo.id}").get_data(as_text=True)
    assert "cùng số định danh với chủ hồ sơ" in page and "họ tên" in page

    twice = _sync(officer, csrf, block["first_code"][:-4] + str(int(block["first_code"][-4:]) + 1).zfill(4),
                  submitter={"full_name": "Trần Văn Phúc", "personal_id": OWNER_ID, "phone": "0912345678"})
    assert not [f for f in twice.flags if f.kind is FlagKind.PERSON_MISMATCH and f.detail.get("same_dossier")]
