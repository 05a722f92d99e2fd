"""User accounts and officers' devices.

Nobody has a password: passkeys arrive with the authentication issue. A user has exactly one role and, for ward
roles, the agency (ward one-stop desk) that scopes what they may see and do.
"""

from __future__ import annotations

import enum
import secrets
import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.consent.purposes import Channel
from server.enums import enum_type
from server.extensions import db
from server.people.models import Person
from server.reference.models import Agency
from server.types import UtcDateTime
from server.types import utcnow


class Role(enum.Enum):
    """What a user is to the one-stop desk."""

    CITIZEN = "citizen"  #: follows their own dossiers
    OFFICER = "officer"  #: ward justice officer receiving dossiers at home
    STAFF = "staff"  #: one-stop desk staff processing dossiers
    LEADER = "leader"  #: approves results (Chủ tịch / Phó Chủ tịch)
    ADMIN = "admin"  #: keeps the catalogue, calendar, people and devices

    @property
    def ward_scoped(self) -> bool:
        """Officers, staff and leaders act only within their ward."""
        return self in (Role.OFFICER, Role.STAFF, Role.LEADER)


class User(UserMixin, db.Model):
    """An account."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role NOT IN ('officer', 'staff', 'leader') OR agency_id IS NOT NULL", name="ward_roles_have_ward"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    display_name: Mapped[str] = mapped_column(String(200))
    #: Chức vụ, for staff: citizens are told who will come ("Công chức Tư pháp – Hộ tịch").
    position: Mapped[str | None] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    #: The account's own record of its person (for a citizen: what they declared at registration). It links the
    #: account to no dossier: only DossierFollower rows do (receipt claim, owner's invitation, desk ID check).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    #: Set when one-stop staff checked the citizen's ID card (who, when, how: "chip_read" or "card_sighted");
    #: until then the account's identity is shown as unverified.
    identity_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    identity_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    identity_verified_method: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The WebAuthn user handle: random, so that an authenticator never learns our database ids.
    webauthn_user_id: Mapped[bytes | None] = mapped_column(
        LargeBinary(64), unique=True, default=lambda: secrets.token_bytes(32)
    )
    # Part of the session identity: bumping it signs the user out everywhere at once.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    agency: Mapped[Agency | None] = relationship()
    person: Mapped[Person | None] = relationship()
    passkeys: Mapped[list[PasskeyCredential]] = relationship(
        back_populates="user", order_by="PasskeyCredential.id", primaryjoin="and_(User.id == "
        "PasskeyCredential.user_id, PasskeyCredential.revoked_at.is_(None))", viewonly=True
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot hold a session
        return self.active

    def get_id(self) -> str:
        """Flask-Login's session identity: the id and the session version ("12.3")."""
        return f"{self.id}.{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class Device(db.Model):
    """An officer's phone. Reserved code blocks are bound to it; revoking it ends its sessions."""

    __tablename__ = "device"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    user_agent: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A revoked device loses its sessions at once and is told to wipe its local data at its next contact.
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class PasskeyCredential(db.Model):
    """A WebAuthn credential (passkey) of a user. Revoked credentials are kept for the audit trail."""

    __tablename__ = "passkey_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(default=0)
    transports: Mapped[list | None] = mapped_column(JSON)
    aaguid: Mapped[str | None] = mapped_column(String(36))
    backed_up: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(120))
    # The officer's phone the passkey was created on: revoking the phone revokes its passkeys too.
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class InvitationKind(enum.Enum):
    INVITATION = "invitation"  #: an administrator invites a new officer, staff member, leader or administrator
    RECOVERY = "recovery"  #: the desk helps a user who lost every passkey


class Invitation(db.Model):
    """A single-use, expiring link that registers a first passkey. Only the token's hash is stored."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InvitationKind] = mapped_column(enum_type(InvitationKind, "invitation_kind"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role | None] = mapped_column(enum_type(Role, "invitation_role"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    display_name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  #: recovery: whose account
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    agency: Mapped[Agency | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class AuthChallenge(db.Model):
    """A WebAuthn challenge: single-use and expiring, kept on the server so a replayed cookie cannot reuse it."""

    __tablename__ = "auth_challenge"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    purpose: Mapped[str] = mapped_column(String(16))  #: "register" or "login"
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    context: Mapped[dict | None] = mapped_column(JSON)  #: what the ceremony will create (invitation, citizen form)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ConsentRecord(db.Model):
    """A data subject's consent, with the exact version of the notice they were shown (PDPL 91/2025).

    One row per consent given: ``recorded_at`` is when, ``withdrawn_at`` when it ended. Giving it again after a
    withdrawal adds a row, so the rows of a user are the history. Notification consents name a purpose and a
    channel (server/consent/purposes.py); the account-creation notice ("data_processing") has no channel. At
    most one consent per user, purpose and channel is in force at a time (a partial unique index).
    """

    __tablename__ = "consent_record"
    __table_args__ = (
        Index("uq_consent_record_in_force", "user_id", "purpose", "channel", unique=True,
              sqlite_where=text("withdrawn_at IS NULL AND channel IS NOT NULL"),
              postgresql_where=text("withdrawn_at IS NULL AND channel IS NOT NULL")),
        # A person without an account (consent recorded at the desk, on paper): one in force per purpose and channel.
        Index("uq_consent_record_person_in_force", "person_id", "purpose", "channel", unique=True,
              sqlite_where=text("user_id IS NULL AND withdrawn_at IS NULL AND channel IS NOT NULL"),
              postgresql_where=text("user_id IS NULL AND withdrawn_at IS NULL AND channel IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    purpose: Mapped[str] = mapped_column(String(40))
    channel: Mapped[Channel | None] = mapped_column(enum_type(Channel, "consent_channel"))
    text_version: Mapped[str] = mapped_column(String(40))
    #: How it was given: "registration", "citizen_app", or "before_consent_records" (migration 0015: a push
    #: subscription made before consents were recorded per purpose).
    method: Mapped[str | None] = mapped_column(String(32))
    #: The phone number (E.164) a Zalo or SMS consent was given for; push needs none (the subscription is the
    #: address). The number consented to is the number written to, never one found elsewhere.
    address: Mapped[str | None] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(default=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEvent(db.Model):
    """Security-relevant actions: sign-ins, registrations, invitations, revocations, role changes. No secrets.

    Append-only and hash-chained: write it only through :func:`server.auth.audit.audit`."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    data: Mapped[dict | None] = mapped_column(JSON)
    #: the hash chain (server/access_log/chain.py): the previous entry's hash and this entry's own
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
