"""Passkey ceremonies, invitations, recovery, sessions, devices and audit, through the JSON API.

A software authenticator (tests/softauthn.py) plays the phone; the browser journeys are in tests/browser/.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.auth import services
from server.auth.models import AuditEvent
from server.auth.models import AuthChallenge
from server.auth.models import ConsentRecord
from server.auth.models import Device
from server.auth.models import Invitation
from server.auth.models import PasskeyCredential
from server.auth.models import Role
from server.auth.models import User
from server.extensions import db
from server.people.models import Person
from server.types import utcnow
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import sign_in
from tests.softauthn import SoftAuthenticator


def write(client, method, url, payload=None):
    token = client.get("/api/v1/csrf-token").get_json()["csrf_token"]
    return client.open(url, method=method, json=payload if payload is not None else {}, headers={"X-CSRFToken": token})


def register(client, authenticator, payload, **extra):
    options = write(client, "POST", "/api/v1/auth/register/options", payload)
    assert options.status_code == 200, options.get_json()
    credential = authenticator.create(options.get_json()["publicKey"])
    return write(client, "POST", "/api/v1/auth/register/verify", {"credential": credential, **extra})


def login(client, authenticator, passkey=None):
    options = write(client, "POST", "/api/v1/auth/login/options")
    assert options.status_code == 200, options.get_json()
    credential = authenticator.get(options.get_json()["publicKey"], passkey)
    return write(client, "POST", "/api/v1/auth/login/verify", {"credential": credential})


def invite(role=Role.OFFICER, name="Lê Thị Hoa"):
    invitation, token = services.create_invitation(role, demo_agency(), name, demo_user(Role.ADMIN))
    db.session.commit()
    return invitation, token


def session_of(client):
    return client.get("/api/v1/session")


CITIZEN = {"full_name": "Phạm Văn Dũng", "phone": "0912 345 679", "personal_id": None, "consent": True,
           "consent_version": "2026-11-22"}


# --- ceremonies ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["  ", "\u200b\u200b", "Lê\u202eThị Hoa"])
def test_an_invitee_name_must_be_a_visible_name(client, name):
    with pytest.raises(services.AccountError) as refused:
        invite(name=name)
    assert refused.value.status == 422


def test_an_invitee_name_is_kept_in_nfc(client):
    invitation, _ = invite(name="Le\u0302  Thi\u0323 Hoa")
    assert invitation.display_name == "Lê Thị Hoa"


def test_options_ask_for_discoverable_credentials_and_user_verification(client):
    _, token = invite()
    creation = write(client, "POST", "/api/v1/auth/register/options", {"invitation_token": token}).get_json()
    selection = creation["publicKey"]["authenticatorSelection"]
    assert selection["residentKey"] == "required" and selection["userVerification"] == "required"
    request = write(client, "POST", "/api/v1/auth/login/options").get_json()["publicKey"]
    assert request["userVerification"] == "required"
    assert request.get("allowCredentials", []) == []  # no user name needed


def test_officer_redeems_invitation_then_signs_in_on_the_same_phone(app, client):
    invitation, token = invite()
    phone = SoftAuthenticator()
    response = register(client, phone, {"invitation_token": token}, device_name="Điện thoại Hoa")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["role"] == "officer"
    me = session_of(client).get_json()
    assert me["ward"]["agency_code"] == demo_agency().agency_code and me["device"]["name"] == "Điện thoại Hoa"
    user = db.session.get(User, me["user"]["id"])
    assert user.display_name == "Lê Thị Hoa" and user.agency_id == demo_agency().id
    db.session.refresh(invitation)
    assert invitation.redeemed_by_id == user.id
    # The link is single-use.
    again = write(client, "POST", "/api/v1/auth/register/options", {"invitation_token": token})
    assert again.status_code == 410

    assert write(client, "POST", "/api/v1/auth/logout").status_code == 204
    assert session_of(client).status_code == 401
    response = login(client, phone)
    assert response.status_code == 200, response.get_json()
    passkey = db.session.scalar(select(PasskeyCredential).where(PasskeyCredential.user_id == user.id))
    db.session.refresh(passkey)
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    # Same phone (device cookie): still one device.
    assert len(db.session.scalars(select(Device).where(Device.user_id == user.id)).all()) == 1


def test_expired_or_unknown_invitation(client):
    invitation, token = invite()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert write(client, "POST", "/api/v1/auth/register/options", {"invitation_token": token}).status_code == 410
    response = write(client, "POST", "/api/v1/auth/register/options", {"invitation_token": "x" * 43})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/invitations/{'x' * 43}").status_code == 404


def test_invitation_info_before_redeeming(client):
    _, token = invite(Role.STAFF, "Ngô Văn Bình")
    info = client.get(f"/api/v1/invitations/{token}").get_json()
    assert info["role"] == "staff" and info["display_name"] == "Ngô Văn Bình"
    assert info["ward"]["agency_code"] == demo_agency().agency_code


def test_challenge_is_single_use_and_expires(app, client):
    _, token = invite()
    phone = SoftAuthenticator()
    assert register(client, phone, {"invitation_token": token}).status_code == 201
    write(client, "POST", "/api/v1/auth/logout")
    options = write(client, "POST", "/api/v1/auth/login/options").get_json()["publicKey"]
    credential = phone.get(options)
    assert write(client, "POST", "/api/v1/auth/login/verify", {"credential": credential}).status_code == 200
    write(client, "POST", "/api/v1/auth/logout")
    replay = write(client, "POST", "/api/v1/auth/login/verify", {"credential": credential})
    assert replay.status_code == 400 and replay.get_json()["type"] == "urn:motcua:problem:challenge-invalid"

    options = write(client, "POST", "/api/v1/auth/login/options").get_json()["publicKey"]
    for challenge in db.session.scalars(select(AuthChallenge)):
        challenge.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    late = write(client, "POST", "/api/v1/auth/login/verify", {"credential": phone.get(options)})
    assert late.status_code == 400


def test_user_verification_is_required(client):
    _, token = invite()
    no_pin = SoftAuthenticator(user_verified=False)
    response = register(client, no_pin, {"invitation_token": token})
    assert response.status_code == 400
    assert db.session.scalar(select(PasskeyCredential.id)) is None


def test_cloned_authenticator_is_refused(client):
    _, token = invite()
    phone = SoftAuthenticator()
    register(client, phone, {"invitation_token": token})
    for _ in range(3):
        write(client, "POST", "/api/v1/auth/logout")
        assert login(client, phone).status_code == 200
    write(client, "POST", "/api/v1/auth/logout")
    clone = SoftAuthenticator(passkeys=[copy.copy(phone.passkeys[0])])
    clone.passkeys[0].sign_count = 1  # the copy was taken after the first sign-in
    response = login(client, clone)
    assert response.status_code == 401
    assert response.get_json()["type"] == "urn:motcua:problem:sign-in-failed"
    assert session_of(client).status_code == 401
    failed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sign_in_failed"))
    assert failed is not None and "sign count" in failed.data["reason"]


# --- citizens ------------------------------------------------------------------------------------------------

def test_citizen_registers_with_consent_and_signs_in(client):
    phone = SoftAuthenticator()
    response = register(client, phone, {"citizen": dict(CITIZEN, personal_id="001085012346")})
    assert response.status_code == 201, response.get_json()
    user = db.session.get(User, response.get_json()["user"]["id"])
    assert user.role is Role.CITIZEN and user.agency_id is None
    assert (user.person.phone_e164, user.person.personal_id) == ("+84912345679", "001085012346")
    consent = db.session.scalar(select(ConsentRecord).where(ConsentRecord.user_id == user.id))
    assert consent.text_version == "2026-11-22" and consent.purpose == "data_processing"
    write(client, "POST", "/api/v1/auth/logout")
    assert login(client, phone).status_code == 200
    assert session_of(client).get_json()["role"] == "citizen"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"personal_id": "003085012345"}, 422, "citizen.personal_id"),
        ({"phone": "01691234567"}, 422, "citizen.phone"),
        ({"consent_version": "2020-01-01"}, 422, "citizen.consent_version"),
        ({"consent": False}, 400, "citizen.consent"),
        ({"full_name": ""}, 400, "citizen.full_name"),
        ({"full_name": "\u200b\u2060"}, 422, "citizen.full_name"),
        ({"full_name": "   "}, 422, "citizen.full_name"),
        ({"full_name": "\u202enA năV nễyugN"}, 422, "citizen.full_name"),
    ],
)
def test_citizen_form_errors_store_nothing(client, change, status, field):
    users_before = db.session.scalar(select(db.func.count()).select_from(User))
    response = write(client, "POST", "/api/v1/auth/register/options", {"citizen": dict(CITIZEN, **change)})
    assert response.status_code == status, response.get_json()
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert db.session.scalar(select(db.func.count()).select_from(User)) == users_before


def test_recovery_link_from_the_desk(client):
    from server.dossiers.models import DossierFollower
    from server.dossiers.models import FollowRole
    from server.dossiers.workflow import State
    from server.push.models import InboxMessage
    from server.reference.models import Agency
    from tests.helpers import make_dossier
    from tests.helpers import make_user

    phone = SoftAuthenticator()
    user_id = register(client, phone, {"citizen": CITIZEN}).get_json()["user"]["id"]
    write(client, "POST", "/api/v1/auth/logout")
    # A ward recovers only the citizens it has dossiers for.
    sign_in(client, demo_user(Role.STAFF))
    refused = write(client, "POST", f"/api/v1/users/{user_id}/recovery-link")
    assert refused.status_code == 403 and refused.get_json()["type"].endswith("recovery-not-in-ward")
    dossier = make_dossier(State.RECEIVED)
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=user_id, role=FollowRole.OWNER))
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    sign_in(client, make_user(Role.STAFF, other_ward, "Công chức phường khác"))
    assert write(client, "POST", f"/api/v1/users/{user_id}/recovery-link").status_code == 403
    sign_in(client, demo_user(Role.STAFF))
    link = write(client, "POST", f"/api/v1/users/{user_id}/recovery-link")
    assert link.status_code == 201
    token = link.get_json()["link"].rsplit("/", 1)[1]
    write(client, "POST", "/api/v1/auth/logout")
    assert db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == user_id)) is None
    new_phone = SoftAuthenticator()
    response = register(client, new_phone, {"recovery_token": token}, passkey_name="Máy mới")
    assert response.status_code == 201 and response.get_json()["user"]["id"] == user_id
    # The citizen is told (inbox, and push to every subscription: see tests/test_push.py).
    told = db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == user_id))
    assert told.kind == "passkey_added" and told.data["passkey_name"] == "Máy mới"
    write(client, "POST", "/api/v1/auth/logout")
    assert login(client, new_phone).status_code == 200
    # Staff may not recover another staff account; only an administrator can.
    sign_in(client, demo_user(Role.STAFF))
    assert write(client, "POST", f"/api/v1/users/{demo_user(Role.LEADER).id}/recovery-link").status_code == 403


# --- several passkeys ----------------------------------------------------------------------------------------

def test_several_passkeys_named_and_revoked(client):
    phone, laptop = SoftAuthenticator(), SoftAuthenticator()
    register(client, phone, {"citizen": CITIZEN}, passkey_name="Điện thoại")
    assert register(client, laptop, {}, passkey_name="Máy tính").status_code == 201
    listed = client.get("/api/v1/me/passkeys").get_json()["passkeys"]
    assert [p["name"] for p in listed] == ["Điện thoại", "Máy tính"]
    inbox = client.get("/api/v1/push/inbox").get_json()["messages"]  # the added one is told, not the first
    assert [m["kind"] for m in inbox] == ["passkey_added"] and "Máy tính" in inbox[0]["body"]
    renamed = write(client, "PATCH", f"/api/v1/me/passkeys/{listed[1]['id']}", {"name": "Máy tính ở nhà"})
    assert renamed.get_json()["name"] == "Máy tính ở nhà"
    assert write(client, "DELETE", f"/api/v1/me/passkeys/{listed[1]['id']}").status_code == 204
    last = write(client, "DELETE", f"/api/v1/me/passkeys/{listed[0]['id']}")
    assert last.status_code == 409
    write(client, "POST", "/api/v1/auth/logout")
    assert login(client, laptop).status_code == 401  # revoked
    assert login(client, phone).status_code == 200


# --- sessions and devices ------------------------------------------------------------------------------------

def _age_session(client, key, delta):
    with client.session_transaction() as session:
        session[key] = int((utcnow() - delta).timestamp())


def test_staff_session_ends_after_12_hours(client):
    sign_in(client, demo_user(Role.STAFF))
    _age_session(client, "auth_at", timedelta(hours=11))
    assert session_of(client).status_code == 200
    _age_session(client, "auth_at", timedelta(hours=12, minutes=1))
    response = session_of(client)
    assert response.status_code == 401 and response.get_json()["session_expired"] is True


def test_officer_on_a_registered_phone_slides_14_days(client):
    _, token = invite()
    register(client, SoftAuthenticator(), {"invitation_token": token})
    _age_session(client, "seen_at", timedelta(days=13))
    _age_session(client, "auth_at", timedelta(days=40))
    assert session_of(client).status_code == 200  # slid forward
    _age_session(client, "seen_at", timedelta(days=14, minutes=1))
    assert session_of(client).status_code == 401


def test_revoked_device_loses_its_session_and_is_told_to_wipe(app, client):
    _, token = invite()
    phone = SoftAuthenticator()
    register(client, phone, {"invitation_token": token})
    device_id = session_of(client).get_json()["device"]["id"]
    admin = app.test_client()
    sign_in(admin, demo_user(Role.ADMIN))
    revoked = write(admin, "POST", f"/api/v1/admin/devices/{device_id}/revoke")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    response = session_of(client)
    assert response.status_code == 401 and response.get_json()["wipe_local_data"] is True
    # The session is gone now, yet the phone's next request (its worker, another tab) is told to wipe too.
    again = session_of(client)
    assert again.status_code == 401 and again.get_json()["wipe_local_data"] is True
    # Its passkey went with it: the lost phone cannot sign in again.
    assert login(client, phone).status_code == 401


def test_sign_out_everywhere(app, client):
    _, token = invite()
    phone = SoftAuthenticator()
    register(client, phone, {"invitation_token": token})
    other = app.test_client()
    other.set_cookie("motcua_device", client.get_cookie("motcua_device").value)
    assert login(other, phone).status_code == 200
    assert write(client, "POST", "/api/v1/auth/logout-everywhere").status_code == 204
    assert session_of(other).status_code == 401
    assert session_of(client).status_code == 401


def test_role_change_ends_sessions_and_is_audited(app, client):
    staff = demo_user(Role.STAFF)
    sign_in(client, staff)
    admin = app.test_client()
    sign_in(admin, demo_user(Role.ADMIN))
    response = write(admin, "PATCH", f"/api/v1/admin/users/{staff.id}", {"role": "leader"})
    assert response.status_code == 200 and response.get_json()["role"] == "leader"
    assert session_of(client).status_code == 401
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "role_changed"))
    assert event.data == {"old": "staff", "new": "leader"} and event.ip == "127.0.0.1"


def test_admin_invites_through_the_api(client):
    sign_in(client, demo_user(Role.ADMIN))
    response = write(client, "POST", "/api/v1/admin/invitations",
                     {"role": "officer", "agency_code": demo_agency().agency_code, "display_name": "Trịnh Văn Em"})
    assert response.status_code == 201
    link = response.get_json()["link"]
    assert link.startswith("http://localhost/invite/")
    token = link.rsplit("/", 1)[1]
    stored = db.session.scalar(select(Invitation).where(Invitation.display_name == "Trịnh Văn Em"))
    assert stored.token_hash != token and token not in str(stored.__dict__)  # only the hash is kept
    assert write(client, "POST", "/api/v1/admin/invitations",
                 {"role": "officer", "display_name": "Không phường"}).status_code == 422
    listed = client.get("/api/v1/admin/invitations").get_json()["invitations"]
    assert "link" not in listed[0]
    assert write(client, "DELETE", f"/api/v1/admin/invitations/{stored.id}").status_code == 204
    client.post("/api/v1/auth/logout")
    assert client.get(f"/api/v1/invitations/{token}").status_code == 410


def test_audit_trail_has_no_secrets(client):
    _, token = invite()
    phone = SoftAuthenticator()
    register(client, phone, {"invitation_token": token})
    write(client, "POST", "/api/v1/auth/logout")
    login(client, phone)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    for expected in ("invitation_created", "registered", "invitation_redeemed", "device_registered",
                     "passkey_registered", "signed_in", "signed_out"):
        assert expected in actions
    dump = " ".join(str(e.data) for e in db.session.scalars(select(AuditEvent)))
    assert token not in dump and "challenge" not in dump


# --- abuse limits and CSRF -----------------------------------------------------------------------------------

def test_ceremonies_are_rate_limited(app, client):
    app.config["AUTH_RATE_LIMIT"] = "3 per minute"
    statuses = [write(client, "POST", "/api/v1/auth/login/options").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = write(client, "POST", "/api/v1/auth/login/options")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert body["type"] == "urn:motcua:problem:too-many-requests" and body["title"] == "Quá nhiều yêu cầu"


def test_invitation_lookup_is_rate_limited(app, client):
    app.config["LOOKUP_RATE_LIMIT"] = "2 per minute"
    statuses = [client.get(f"/api/v1/invitations/{'y' * 43}").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


def test_ceremony_without_csrf_token_is_refused(client):
    response = client.post("/api/v1/auth/login/options", json={})
    assert response.status_code == 400 and response.get_json()["type"] == "urn:motcua:problem:csrf"


def test_people_page_data_is_admin_only(client):
    sign_in(client, demo_user(Role.STAFF))
    assert client.get("/api/v1/admin/users").status_code == 403
    sign_in(client, demo_user(Role.ADMIN))
    users = client.get("/api/v1/admin/users").get_json()["users"]
    assert {u["role"] for u in users} == {r.value for r in Role}
    assert all(u["passkey_count"] == 0 for u in users)


def test_person_records_are_created_only_on_success(client):
    before = db.session.scalar(select(db.func.count()).select_from(Person))
    options = write(client, "POST", "/api/v1/auth/register/options", {"citizen": CITIZEN})
    assert options.status_code == 200
    assert db.session.scalar(select(db.func.count()).select_from(Person)) == before


def test_requests_do_not_rewrite_an_anonymous_session(client):
    """Cookie sessions have no server copy: a request that rewrote the cookie of an anonymous visitor could write
    back an older value and drop a pending passkey challenge (seen when the service worker precaches the app
    during a ceremony). Only the requests that change the session may send it."""
    assert client.get("/api/v1/csrf-token").status_code == 200  # the session now holds a token, nothing else
    for path in ("/offline", "/pwa/app/api.js", "/sign-in", "/api/v1/calendar?from=2026-01-01&to=2026-01-31"):
        with client.get(path) as response:
            assert "session=" not in response.headers.get("Set-Cookie", ""), path


def test_a_lost_session_cookie_does_not_lose_the_challenge(app, client):
    """Between options and verification another response may overwrite the cookie session; the pending challenge
    is found by the value the authenticator signed, so the ceremony still completes (once)."""
    _, token = invite()
    options = write(client, "POST", "/api/v1/auth/register/options", {"invitation_token": token}).get_json()
    credential = SoftAuthenticator().create(options["publicKey"])
    other_cookies = app.test_client()  # as if the cookie had been written back without the pending challenge
    response = write(other_cookies, "POST", "/api/v1/auth/register/verify", {"credential": credential})
    assert response.status_code == 201, response.get_json()
    again = write(client, "POST", "/api/v1/auth/register/verify", {"credential": credential})
    assert again.status_code == 400


# --- where each role lands ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, home", [
    (Role.OFFICER, "/app"), (Role.STAFF, "/staff/queue"), (Role.LEADER, "/leader"),
    (Role.CITIZEN, "/my/dossiers"), (Role.ADMIN, "/admin/people"),
])
def test_each_role_lands_where_its_work_is(client, role, home):
    """After enrolment, after signing in again, and at ``/`` while signed in: the role's own page, which it may open."""
    phone = SoftAuthenticator()
    if role is Role.CITIZEN:
        start = {"citizen": CITIZEN}
    else:
        _, token = services.create_invitation(role, demo_agency() if role.ward_scoped else None, "Lê Thị Hoa",
                                              demo_user(Role.ADMIN))
        db.session.commit()
        start = {"invitation_token": token}
    enrolled = register(client, phone, start)
    assert enrolled.status_code == 201, enrolled.get_json()
    assert enrolled.get_json()["role"] == role.value and enrolled.get_json()["redirect"] == home
    assert client.get(home).status_code == 200
    landing = client.get("/")
    assert landing.status_code == 302 and landing.headers["Location"] == home

    write(client, "POST", "/api/v1/auth/logout")
    assert client.get("/").status_code == 200  # a visitor still gets the landing page
    signed_in = login(client, phone)
    assert signed_in.status_code == 200 and signed_in.get_json()["redirect"] == home



def test_a_recovery_link_says_whether_it_is_the_accounts_first_passkey(client):
    """Demo accounts and ``flask users enrol`` enrol with a recovery link: the page titles it by this answer."""
    user = demo_user(Role.STAFF)
    _, token = services.create_recovery_link(user, None)
    db.session.commit()
    assert client.get(f"/api/v1/recovery/{token}").get_json()["first_passkey"] is True
    db.session.add(PasskeyCredential(user_id=user.id, credential_id=b"lost", public_key=b"-", name="Cũ",
                                     revoked_at=utcnow()))
    db.session.commit()
    assert client.get(f"/api/v1/recovery/{token}").get_json()["first_passkey"] is False  # even if all are revoked
    _, invitation = invite()
    assert "first_passkey" not in client.get(f"/api/v1/invitations/{invitation}").get_json()
