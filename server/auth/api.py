"""Passkey ceremonies, the session, and the signed-in user's own passkeys and devices (JSON)."""

from __future__ import annotations

import secrets
import uuid

from flask import Blueprint
from flask import after_this_request
from flask import current_app
from flask import g
from flask import request
from flask import url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from server.api.openapi import body
from server.api.openapi import operation
from server.api.openapi import schema
from server.auth import passkeys
from server.auth import services
from server.auth.access import home_for
from server.auth.access import public
from server.auth.access import roles_required
from server.auth.audit import audit
from server.auth.models import ConsentRecord
from server.auth.models import Device
from server.auth.models import InvitationKind
from server.auth.models import PasskeyCredential
from server.auth.models import Role
from server.auth.models import User
from server.auth.sessions import DEVICE_COOKIE
from server.auth.sessions import current_device
from server.auth.sessions import end_session
from server.auth.sessions import start_session
from server.citizen import claims
from server.dossiers.models import DossierClaim
from server.errors import ApiProblem
from server.errors import field_error
from server.errors import locale_code
from server.extensions import db
from server.extensions import limiter
from server.people.forms import check_person_fields
from server.people.models import Person
from server.push.notify import notify_passkey_added
from server.types import utcnow

bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")

TAGS = ["Accounts"]


def _auth_limit() -> str:
    return current_app.config["AUTH_RATE_LIMIT"]


def _lookup_limit() -> str:
    return current_app.config["LOOKUP_RATE_LIMIT"]


def account_problem(error: services.AccountError) -> ApiProblem:
    """The problem document of a refused account operation."""
    slug = error.code.replace("_", "-")
    titles = {401: ("Đăng nhập không thành công", "Sign-in failed"), 404: ("Không tìm thấy", "Not found"),
              409: ("Xung đột", "Conflict"), 410: ("Không còn hiệu lực", "Gone")}
    title = titles.get(error.status, ("Yêu cầu không hợp lệ", "Request refused"))
    return ApiProblem(error.status, slug, title, (error.vi, error.en))


# --- schemas -------------------------------------------------------------------------------------------------

PUBLIC_KEY_OPTIONS = schema("PublicKeyOptions", {
    "type": "object", "required": ["publicKey"],
    "properties": {"publicKey": {"type": "object", "description": "webauthn.options_to_json output"}},
})
CREDENTIAL = schema("PublicKeyCredentialJSON", {
    "type": "object", "required": ["id", "type", "response"],
    "description": "The browser's credential.toJSON()",
    "properties": {"id": {"type": "string"}, "rawId": {"type": "string"}, "type": {"const": "public-key"},
                   "response": {"type": "object"}},
})
USER_REF = schema("UserRef", {"type": "object", "required": ["id", "name"],
                              "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})
WARD = schema("Ward", {"type": ["object", "null"], "required": ["agency_code", "name", "legal_name", "place"],
                       "properties": {"agency_code": {"type": "string"}, "name": {"type": "string"},
                                      "legal_name": {"type": "string"}, "place": {"type": "string"}}})
ROLE = schema("Role", {"type": "string", "enum": [r.value for r in Role]})
SIGNED_IN = schema("SignedIn", {
    "type": "object", "required": ["user", "role", "redirect"],
    "properties": {"user": USER_REF, "role": ROLE, "redirect": {"type": "string"}},
})
CITIZEN_FORM = schema("CitizenRegistration", {
    "type": "object", "required": ["full_name", "phone", "consent", "consent_version"], "additionalProperties": False,
    "properties": {
        "full_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "phone": {"type": "string", "minLength": 1, "maxLength": 30},
        "personal_id": {"type": ["string", "null"], "maxLength": 20},
        "consent": {"const": True, "description": "Explicit consent to the data-processing notice (never preset)"},
        "consent_version": {"type": "string", "maxLength": 40},
    },
})
REGISTER_OPTIONS_BODY = schema("RegisterOptionsRequest", {
    "description": "Exactly one way in: an invitation, a recovery link, a citizen's form, or nothing when signed in "
                   "(adding another passkey).",
    "oneOf": [
        {"type": "object", "required": ["invitation_token"], "additionalProperties": False,
         "properties": {"invitation_token": {"type": "string", "minLength": 10, "maxLength": 200}}},
        {"type": "object", "required": ["recovery_token"], "additionalProperties": False,
         "properties": {"recovery_token": {"type": "string", "minLength": 10, "maxLength": 200}}},
        {"type": "object", "required": ["citizen"], "additionalProperties": False,
         "properties": {"citizen": CITIZEN_FORM,
                        "claim_token": {"type": "string", "maxLength": 64,
                                        "description": "the token of a receipt's QR code or of an invitation: "
                                                       "the new account follows that dossier"}}},
        {"type": "object", "maxProperties": 0},
    ],
})
REGISTER_VERIFY_BODY = schema("RegisterVerifyRequest", {
    "type": "object", "required": ["credential"], "additionalProperties": False,
    "properties": {"credential": CREDENTIAL, "passkey_name": {"type": "string", "maxLength": 120},
                   "device_name": {"type": "string", "maxLength": 120}},
})
LOGIN_VERIFY_BODY = schema("LoginVerifyRequest", {
    "type": "object", "required": ["credential"], "additionalProperties": False,
    "properties": {"credential": CREDENTIAL, "device_name": {"type": "string", "maxLength": 120}},
})
EMPTY = schema("Empty", {"type": "object", "maxProperties": 0})
SESSION = schema("Session", {
    "type": "object", "required": ["user", "role", "ward", "csrf_token", "device"],
    "properties": {"user": USER_REF, "role": ROLE, "ward": WARD, "csrf_token": {"type": "string"},
                   "device": {"type": ["object", "null"]},
                   "device_policy": {"type": "object", "properties": {
                       "lock_after_seconds": {"type": "integer", "minimum": 1},
                       "pin_tries": {"type": "integer", "minimum": 1},
                       "rp_id": {"type": ["string", "null"]}}}},
})
CSRF = schema("CsrfToken", {"type": "object", "required": ["csrf_token"],
                            "properties": {"csrf_token": {"type": "string"}}})
PASSKEY = schema("Passkey", {
    "type": "object", "required": ["id", "name", "created_at", "last_used_at"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                   "created_at": {"type": "string", "format": "date-time"},
                   "last_used_at": {"type": ["string", "null"], "format": "date-time"}},
})
PASSKEY_LIST = schema("PasskeyList", {"type": "object", "required": ["passkeys"],
                                      "properties": {"passkeys": {"type": "array", "items": PASSKEY}}})
PASSKEY_RENAME = schema("PasskeyRename", {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 120}},
})
DEVICE = schema("Device", {
    "type": "object", "required": ["id", "name", "registered_at", "last_seen_at", "revoked_at"],
    "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
                   "user_agent": {"type": ["string", "null"]}, "user": USER_REF,
                   "browser": {"type": "string", "description": "the browser and system in words"},
                   "registered_at": {"type": "string"}, "last_seen_at": {"type": ["string", "null"]},
                   "revoked_at": {"type": ["string", "null"]}, "current": {"type": "boolean"},
                   "breach_report": {"type": "object", "description": "administrators, a revoked device: the "
                                     "notification deadline (BREACH_NOTIFICATION_HOURS after the revocation) and "
                                     "the report's page", "properties": {
                                         "notification_due_at": {"type": "string", "format": "date-time"},
                                         "hours": {"type": "integer"}, "url": {"type": "string"}}}},
})
DEVICE_LIST = schema("DeviceList", {"type": "object", "required": ["devices"],
                                    "properties": {"devices": {"type": "array", "items": DEVICE}}})
LINK_INFO = schema("LinkInfo", {
    "type": "object", "required": ["display_name", "expires_at"],
    "properties": {"role": ROLE, "ward": WARD, "display_name": {"type": "string"},
                   "expires_at": {"type": "string", "format": "date-time"},
                   "first_passkey": {"type": "boolean", "description": "recovery links: the account never had a "
                                     "passkey, so this is its first enrolment rather than a recovery"}},
})


# --- helpers -------------------------------------------------------------------------------------------------

def iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def ward_json(agency) -> dict | None:
    """The ward in the visitor's language (``name``), and as its documents write it whatever the language: the legal
    name and the place they are dated at (the officer's phone prints the receipt, Mẫu 01, in Vietnamese)."""
    if agency is None:
        return None
    return {"agency_code": agency.agency_code, "name": agency.name_vi if locale_code() == "vi" else agency.name_en,
            "legal_name": agency.name_vi, "place": agency.place_name}


def passkey_json(passkey: PasskeyCredential) -> dict:
    return {"id": passkey.id, "name": passkey.name, "created_at": iso(passkey.created_at),
            "last_used_at": iso(passkey.last_used_at)}


def device_json(device: Device, current: Device | None = None) -> dict:
    return {"id": str(device.id), "name": device.name, "user_agent": device.user_agent,
            "browser": services.user_agent_words(device.user_agent),
            "user": {"id": device.user.id, "name": device.user.display_name},
            "registered_at": iso(device.registered_at), "last_seen_at": iso(device.last_seen_at),
            "revoked_at": iso(device.revoked_at), "current": current is not None and current.id == device.id}


def signed_in_json(user: User) -> dict:
    return {"user": {"id": user.id, "name": user.display_name}, "role": user.role.value, "redirect": home_for(user)}


def _officer_device(user: User, name: str | None) -> Device | None:
    """The officer's phone: the one this browser already registered, or a new one (remembered in a cookie)."""
    if user.role is not Role.OFFICER:
        return None
    remembered = request.cookies.get(DEVICE_COOKIE)
    device = None
    if remembered:
        device = db.session.scalar(select(Device).where(Device.user_id == user.id, Device.revoked_at.is_(None),
                                                        Device.id == _uuid_or_none(remembered)))
    if device is None:
        device = services.register_device(user, name, request.user_agent.string)
        device_id = str(device.id)
        secure = current_app.config["SESSION_COOKIE_SECURE"]

        @after_this_request
        def _remember(response):
            response.set_cookie(DEVICE_COOKIE, device_id, max_age=5 * 365 * 24 * 3600, httponly=True,
                                samesite="Lax", secure=secure)
            return response

    device.last_seen_at = utcnow()
    return device


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- session -------------------------------------------------------------------------------------------------

@bp.get("/csrf-token")
@public
@operation("A CSRF token for the next writes of this browser", tags=TAGS, responses={200: CSRF})
def csrf_token():
    """Pages and the service worker fetch a fresh token right before writing; tokens are never stored."""
    return {"csrf_token": generate_csrf()}


@bp.get("/session")
@roles_required("authenticated")
@operation("The signed-in user, role, ward and a fresh CSRF token (401 when signed out)", tags=TAGS,
           responses={200: SESSION})
def session_info():
    """The offline client calls this right before each flush instead of storing a token with queued requests:
    a stored token would have expired by the time a day's dossiers are sent."""
    user = current_user
    device = current_device()
    return {
        "user": {"id": user.id, "name": user.display_name},
        "role": user.role.value,
        "ward": ward_json(user.agency),
        "csrf_token": generate_csrf(),
        "device": {"id": str(device.id), "name": device.name} if device else None,
        # What the phone's vault follows (pwa/app/vault-screens.js); rp_id lets the PRF assertion name the same
        # relying party as the sign-in when the server's RP id is a parent domain.
        "device_policy": {"lock_after_seconds": int(current_app.config["VAULT_LOCK_AFTER_SECONDS"]),
                          "pin_tries": int(current_app.config["VAULT_PIN_TRIES"]),
                          "rp_id": current_app.config.get("WEBAUTHN_RP_ID")},
    }


@bp.post("/auth/logout")
@public
@operation("Sign out of this browser", tags=TAGS, request_body=EMPTY, responses={204: None})
def logout():
    body()
    if current_user.is_authenticated:
        audit("signed_out", current_user, current_user)
        db.session.commit()
    end_session()
    return "", 204


@bp.post("/auth/logout-everywhere")
@roles_required("authenticated")
@operation("Sign out of every browser and device", tags=TAGS, request_body=EMPTY, responses={204: None})
def logout_everywhere():
    body()
    services.sign_out_everywhere(current_user)
    db.session.commit()
    end_session()
    return "", 204


# --- registration --------------------------------------------------------------------------------------------

@bp.post("/auth/register/options")
@public
@limiter.limit(_auth_limit)
@operation("Start creating a passkey (invitation, recovery, citizen sign-up, or another passkey)", tags=TAGS,
           request_body=REGISTER_OPTIONS_BODY, responses={200: PUBLIC_KEY_OPTIONS})
def register_options():
    data = body()
    try:
        if "invitation_token" in data:
            invitation = services.find_link(data["invitation_token"], InvitationKind.INVITATION)
            handle = secrets.token_bytes(32)
            context = {"kind": "invitation", "invitation_id": invitation.id, "handle": handle.hex()}
            options = passkeys.registration_options(handle, invitation.display_name, invitation.display_name, [],
                                                    None, context)
        elif "recovery_token" in data:
            invitation = services.find_link(data["recovery_token"], InvitationKind.RECOVERY)
            options = _options_for_existing(invitation.user, {"kind": "recovery", "invitation_id": invitation.id})
        elif "citizen" in data:
            claim = _claim_or_problem(data["claim_token"]) if data.get("claim_token") else None
            form = _checked_citizen(data["citizen"])
            handle = secrets.token_bytes(32)
            context = {"kind": "citizen", "form": form, "handle": handle.hex()}
            if claim is not None:
                context["claim_token"] = data["claim_token"]
            options = passkeys.registration_options(handle, form["full_name"], form["full_name"], [], None, context)
        else:
            if not current_user.is_authenticated:
                raise ApiProblem(401, "unauthenticated", ("Cần đăng nhập", "Sign-in required"))
            options = _options_for_existing(current_user, {"kind": "add"})
    except services.AccountError as error:
        raise account_problem(error) from None
    db.session.commit()
    return {"publicKey": options}


def _options_for_existing(user: User, context: dict) -> dict:
    if user.webauthn_user_id is None:
        user.webauthn_user_id = secrets.token_bytes(32)
    existing = [p.credential_id for p in user.passkeys]
    return passkeys.registration_options(user.webauthn_user_id, user.display_name, user.display_name, existing,
                                         user.id, context)


def _claim_or_problem(token: str) -> DossierClaim:
    try:
        return claims.find(token)
    except claims.ClaimError as error:
        raise _claim_problem(error) from None


def _claim_problem(error: claims.ClaimError) -> ApiProblem:
    return ApiProblem(409 if error.code == "used" else 422, f"claim-{error.code}",
                      ("Không dùng được mã theo dõi", "The claim code cannot be used"), (error.vi, error.en),
                      errors=[field_error("claim_token", error.code, error.vi, error.en)])


def _checked_citizen(form: dict) -> dict:
    """Validate the citizen's form with the shared identity checks (422 with field errors)."""
    errors = []
    checked = check_person_fields(form.get("personal_id"), form["phone"], full_name=form["full_name"])
    for finding in checked.errors:
        errors.append(field_error(f"citizen.{finding.field}", finding.code, finding.vi, finding.en))
    if form["consent_version"] != current_app.config["CONSENT_TEXT_VERSION"]:
        errors.append(field_error("citizen.consent_version", "outdated",
                                  "Thông báo xử lý dữ liệu đã thay đổi; vui lòng tải lại trang và đọc lại.",
                                  "The data-processing notice changed; reload the page and read it again."))
    if errors:
        raise ApiProblem(422, "invalid-person", ("Thông tin chưa đúng", "Invalid details"),
                         ("Vui lòng sửa các trường được đánh dấu.", "Please correct the marked fields."), errors=errors)
    return {"full_name": checked.full_name, "phone_e164": checked.phone_e164,
            "personal_id": checked.personal_id, "consent_version": form["consent_version"]}


@bp.post("/auth/register/verify")
@public
@limiter.limit(_auth_limit)
@operation("Finish creating a passkey; the user is signed in", tags=TAGS, request_body=REGISTER_VERIFY_BODY,
           responses={201: SIGNED_IN})
def register_verify():
    data = body()
    try:
        verified, challenge = passkeys.verify_registration(data["credential"])
        context = challenge.context or {}
        user = _user_for_registration(context, challenge.user_id)
        device = _officer_device(user, data.get("device_name"))
        passkey = PasskeyCredential(
            user_id=user.id, credential_id=verified.credential_id, public_key=verified.credential_public_key,
            sign_count=verified.sign_count, aaguid=str(verified.aaguid) if verified.aaguid else None,
            backed_up=bool(verified.credential_backed_up),
            transports=(data["credential"].get("response") or {}).get("transports"),
            name=(data.get("passkey_name") or "").strip()[:120] or _default_passkey_name(),
            device_id=device.id if device else None, last_used_at=utcnow(),
        )
        db.session.add(passkey)
        db.session.flush()
        audit("passkey_registered", user, passkey, via=context.get("kind"))
        if user.role is Role.CITIZEN and context.get("kind") in ("add", "recovery"):
            notify_passkey_added(user, passkey.name)  # inbox and push: a passkey nobody asked for gets noticed
    except services.AccountError as error:
        db.session.commit()  # the challenge stays used
        raise account_problem(error) from None
    except claims.ClaimError as error:  # the token was spent or expired between the two steps
        db.session.rollback()
        raise _claim_problem(error) from None
    start_session(user, device)
    db.session.commit()
    answer = signed_in_json(user)
    if g.get("claimed") is not None:
        answer["redirect"] = url_for("citizen.dossier", dossier_id=g.claimed.dossier_id, claimed=1)
    return answer, 201


def _user_for_registration(context: dict, user_id: int | None) -> User:
    kind = context.get("kind")
    if kind == "invitation":
        invitation = db.session.get(services.Invitation, context["invitation_id"])
        services.find_link_still_valid(invitation)
        user = User(role=invitation.role, display_name=invitation.display_name, agency_id=invitation.agency_id,
                    webauthn_user_id=bytes.fromhex(context["handle"]))
        db.session.add(user)
        db.session.flush()
        services.redeem(invitation, user)
        audit("registered", user, user, role=user.role.value, via="invitation")
        return user
    if kind == "recovery":
        invitation = db.session.get(services.Invitation, context["invitation_id"])
        services.find_link_still_valid(invitation)
        user = invitation.user
        services.redeem(invitation, user)
        return user
    if kind == "citizen":
        form = context["form"]
        # The account's own record of what the citizen declared: whether or not the ID is on record elsewhere
        # (asking would be an oracle), it links nothing; a claim, an invitation or the desk's ID check does.
        person = Person(full_name=form["full_name"], phone_e164=form["phone_e164"],
                        personal_id=form["personal_id"])
        user = User(role=Role.CITIZEN, display_name=form["full_name"], person=person,
                    webauthn_user_id=bytes.fromhex(context["handle"]))
        db.session.add(user)
        db.session.flush()
        db.session.add(ConsentRecord(user_id=user.id, person_id=person.id, purpose="data_processing",
                                     text_version=form["consent_version"], method="registration"))
        audit("registered", user, user, role="citizen", via="claim" if context.get("claim_token") else "self",
              consent_version=form["consent_version"])
        if context.get("claim_token"):
            # In the same transaction as the account: either both exist afterwards, or neither.
            g.claimed = claims.redeem(context["claim_token"], user)
        return user
    if kind == "add" and current_user.is_authenticated and current_user.id == user_id:
        return current_user._get_current_object()
    raise services.AccountError(400, "registration_context", "Phiên đăng ký không hợp lệ; vui lòng bắt đầu lại.",
                                "This registration is no longer valid; please start again.")


def _default_passkey_name() -> str:
    return f"Khóa truy cập – {services.device_label(request.user_agent.string)} {utcnow().date().isoformat()}"


# --- sign-in -------------------------------------------------------------------------------------------------

@bp.post("/auth/login/options")
@public
@limiter.limit(_auth_limit)
@operation("Start signing in with a passkey (no user name: discoverable credentials)", tags=TAGS,
           request_body=EMPTY, responses={200: PUBLIC_KEY_OPTIONS})
def login_options():
    body()
    options = passkeys.authentication_options()
    db.session.commit()
    return {"publicKey": options}


@bp.post("/auth/login/verify")
@public
@limiter.limit(_auth_limit)
@operation("Finish signing in with a passkey", tags=TAGS, request_body=LOGIN_VERIFY_BODY,
           responses={200: SIGNED_IN})
def login_verify():
    data = body()
    try:
        passkey = passkeys.verify_authentication(data["credential"])
    except services.AccountError as error:
        refused = getattr(error, "passkey", None)
        audit("sign_in_failed", refused.user if refused else None, refused, reason=getattr(error, "reason", error.code))
        db.session.commit()
        raise account_problem(error) from None
    user = passkey.user
    device = _officer_device(user, data.get("device_name"))
    start_session(user, device)
    db.session.commit()
    return signed_in_json(user)


# --- links ---------------------------------------------------------------------------------------------------

@bp.get("/invitations/<token>")
@public
@limiter.limit(_lookup_limit)
@operation("What an invitation link is for (before redeeming it)", tags=TAGS, responses={200: LINK_INFO})
def invitation_info(token: str):
    return _link_info(token, InvitationKind.INVITATION)


@bp.get("/recovery/<token>")
@public
@limiter.limit(_lookup_limit)
@operation("What a recovery link is for", tags=TAGS, responses={200: LINK_INFO})
def recovery_info(token: str):
    return _link_info(token, InvitationKind.RECOVERY)


def _link_info(token: str, kind: InvitationKind) -> dict:
    try:
        invitation = services.find_link(token, kind)
    except services.AccountError as error:
        raise account_problem(error) from None
    info = {"role": invitation.role.value if invitation.role else None, "ward": ward_json(invitation.agency),
            "display_name": invitation.display_name, "expires_at": iso(invitation.expires_at)}
    if kind is InvitationKind.RECOVERY:
        # Revoked passkeys count: an account whose every passkey was revoked is being recovered.
        info["first_passkey"] = db.session.scalar(
            select(PasskeyCredential.id).where(PasskeyCredential.user_id == invitation.user_id).limit(1)) is None
    return info


# --- my passkeys and devices ---------------------------------------------------------------------------------

@bp.get("/me/passkeys")
@roles_required("authenticated")
@operation("My passkeys", tags=TAGS, responses={200: PASSKEY_LIST})
def my_passkeys():
    return {"passkeys": [passkey_json(p) for p in current_user.passkeys]}


def _my_passkey(passkey_id: int) -> PasskeyCredential:
    passkey = db.session.get(PasskeyCredential, passkey_id)
    if passkey is None or passkey.user_id != current_user.id or passkey.revoked_at is not None:
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Không có khóa truy cập này.", "No such passkey."))
    return passkey


@bp.patch("/me/passkeys/<int:passkey_id>")
@roles_required("authenticated")
@operation("Rename one of my passkeys", tags=TAGS, request_body=PASSKEY_RENAME, responses={200: PASSKEY})
def rename_passkey(passkey_id: int):
    data = body()
    passkey = _my_passkey(passkey_id)
    passkey.name = data["name"].strip() or passkey.name
    db.session.commit()
    return passkey_json(passkey)


@bp.delete("/me/passkeys/<int:passkey_id>")
@roles_required("authenticated")
@operation("Revoke one of my passkeys (not the last one)", tags=TAGS, responses={204: None})
def revoke_my_passkey(passkey_id: int):
    passkey = _my_passkey(passkey_id)
    try:
        services.revoke_passkey(passkey, current_user)
    except services.AccountError as error:
        raise account_problem(error) from None
    db.session.commit()
    return "", 204


@bp.get("/me/devices")
@roles_required("authenticated")
@operation("My devices", tags=TAGS, responses={200: DEVICE_LIST})
def my_devices():
    current = current_device()
    devices = db.session.scalars(select(Device).where(Device.user_id == current_user.id)
                                 .order_by(Device.registered_at.desc()))
    return {"devices": [device_json(d, current) for d in devices]}

