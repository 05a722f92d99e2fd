"""WebAuthn ceremonies around py_webauthn: options out, verification in, challenges kept on the server.

Passkeys are discoverable (resident) credentials with user verification required, so signing in needs no user
name and the phone's PIN or biometrics is always checked. A sign count that does not increase means a cloned
authenticator and is refused (py_webauthn raises; both counters 0 is allowed for synced passkeys).
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask import request
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from webauthn import generate_authentication_options
from webauthn import generate_registration_options
from webauthn import options_to_json
from webauthn import verify_authentication_response
from webauthn import verify_registration_response
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import InvalidAuthenticationResponse
from webauthn.helpers.exceptions import InvalidRegistrationResponse
from webauthn.helpers.structs import AuthenticatorSelectionCriteria
from webauthn.helpers.structs import PublicKeyCredentialDescriptor
from webauthn.helpers.structs import ResidentKeyRequirement
from webauthn.helpers.structs import UserVerificationRequirement

from server.auth.models import AuthChallenge
from server.auth.models import PasskeyCredential
from server.auth.services import AccountError
from server.extensions import db
from server.types import utcnow

log = logging.getLogger(__name__)

RP_NAME = "Một Cửa Tại Nhà"


def rp_id() -> str:
    """The relying party id: configured, else the host the browser used."""
    return current_app.config.get("WEBAUTHN_RP_ID") or urlsplit(request.host_url).hostname


def expected_origins() -> list[str]:
    return current_app.config.get("WEBAUTHN_ORIGINS") or [request.host_url.rstrip("/")]


def _timeout_ms() -> int:
    return current_app.config["WEBAUTHN_TIMEOUT_SECONDS"] * 1000


def _store_challenge(purpose: str, challenge: bytes, user_id: int | None, context: dict | None) -> None:
    # Expired challenges are useless; sweep them while we are here, so the table stays small.
    db.session.execute(delete(AuthChallenge).where(AuthChallenge.expires_at < utcnow() - timedelta(hours=1)))
    db.session.add(AuthChallenge(
        purpose=purpose, challenge=challenge, user_id=user_id, context=context,
        expires_at=utcnow() + timedelta(seconds=current_app.config["WEBAUTHN_TIMEOUT_SECONDS"]),
    ))
    db.session.flush()


def _challenge_of(credential: dict) -> bytes | None:
    """The challenge the browser signed, read from the credential's clientDataJSON (None if unreadable)."""
    try:
        client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
        return base64url_to_bytes(client_data["challenge"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _consume_challenge(purpose: str, credential: dict) -> AuthChallenge:
    """Take the pending challenge this credential answers, once. A second use, a late one or another purpose is
    refused.

    The challenge is found by its value (32 random bytes), not through the cookie session: with cookie sessions a
    concurrent request (the service worker precaching the app) can write back an older cookie, and a challenge
    kept only there would be lost between options and verification.
    """
    value = _challenge_of(credential)
    used = None
    if value is not None:
        used = db.session.execute(
            update(AuthChallenge)
            .where(AuthChallenge.challenge == value, AuthChallenge.purpose == purpose,
                   AuthChallenge.used_at.is_(None), AuthChallenge.expires_at > utcnow())
            .values(used_at=utcnow())
        )
    if used is None or used.rowcount != 1:
        raise AccountError(400, "challenge_invalid", "Phiên xác thực đã hết hạn hoặc đã dùng; vui lòng thử lại.",
                           "The sign-in attempt expired or was already used; please try again.")
    return db.session.scalar(select(AuthChallenge).where(AuthChallenge.challenge == value))


def registration_options(user_handle: bytes, user_name: str, display_name: str, exclude: list[bytes],
                         user_id: int | None, context: dict) -> dict:
    """Creation options for a new discoverable passkey; the challenge is remembered for :func:`verify_registration`."""
    challenge = secrets.token_bytes(32)
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=RP_NAME, user_id=user_handle, user_name=user_name, user_display_name=display_name,
        challenge=challenge, timeout=_timeout_ms(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in exclude],
    )
    _store_challenge("register", challenge, user_id, context)
    return json.loads(options_to_json(options))


def verify_registration(credential: dict):
    """Check the browser's ``credential.toJSON()`` against the pending challenge.

    :returns: (py_webauthn's VerifiedRegistration, the consumed challenge with its context).
    :raises AccountError: expired or reused challenge, or an invalid response.
    """
    challenge = _consume_challenge("register", credential)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge.challenge, expected_rp_id=rp_id(),
            expected_origin=expected_origins(), require_user_verification=True,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as error:
        raise AccountError(400, "registration_failed", "Không tạo được khóa truy cập: phản hồi không hợp lệ.",
                           f"The passkey could not be created: {error}") from None
    if db.session.scalar(select(PasskeyCredential.id).where(
            PasskeyCredential.credential_id == verified.credential_id)) is not None:
        raise AccountError(409, "passkey_exists", "Khóa truy cập này đã được đăng ký.",
                           "This passkey is already registered.")
    return verified, challenge


def authentication_options() -> dict:
    """Request options for a discoverable credential: no allow-list, the phone offers its own passkeys."""
    challenge = secrets.token_bytes(32)
    options = generate_authentication_options(
        rp_id=rp_id(), challenge=challenge, timeout=_timeout_ms(),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _store_challenge("login", challenge, None, None)
    return json.loads(options_to_json(options))


def verify_authentication(credential: dict) -> PasskeyCredential:
    """Check an assertion; on success store the new sign count and return the passkey.

    :raises AccountError: 401 for an unknown or revoked passkey, a bad signature, a missing user verification
        or a sign count that went back (a cloned authenticator).
    """
    challenge = _consume_challenge("login", credential)
    failed = AccountError(
        401, "sign_in_failed", "Đăng nhập không thành công: khóa truy cập không hợp lệ hoặc đã bị thu hồi.",
        "Sign-in failed: the passkey is unknown, revoked or invalid.",
    )
    try:
        raw_id = base64url_to_bytes(credential.get("rawId") or credential["id"])
    except (KeyError, ValueError, TypeError, AttributeError):
        raise failed from None
    passkey = db.session.scalar(select(PasskeyCredential).where(
        PasskeyCredential.credential_id == raw_id, PasskeyCredential.revoked_at.is_(None)))
    if passkey is None or not passkey.user.active:
        raise failed
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge.challenge, expected_rp_id=rp_id(),
            expected_origin=expected_origins(), credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count, require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as error:
        # The reason (bad signature, sign count gone back: a cloned authenticator) is for the log and the
        # audit trail, not for the caller.
        log.warning("sign-in refused for passkey %s: %s", passkey.id, error)
        failed.passkey = passkey
        failed.reason = str(error)
        raise failed from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return passkey
