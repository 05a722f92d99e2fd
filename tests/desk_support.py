"""Dossiers for the desk's tests, made as in production: an officer's phone syncs them through the sync API."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from server.auth.models import Device
from server.auth.models import Role
from server.auth.models import User
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.extensions import db
from server.types import utcnow
from tests.helpers import demo_user
from tests.helpers import procedure
from tests.helpers import sign_in

PROCEDURE_KEY = "tro-cap-xa-hoi-hang-thang"


def photo(seed: int = 0, size=(640, 480)) -> bytes:
    """A small JPEG whose bytes differ with ``seed``."""
    out = io.BytesIO()
    Image.new("RGB", size, (120 + seed % 100, 90, 60)).save(out, "JPEG", quality=80)
    return out.getvalue()


def officer_client(app):
    """A test client signed in as the demo officer on the demo phone; returns (client, csrf token)."""
    officer = demo_user(Role.OFFICER)
    device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
    client = app.test_client()
    return client, sign_in(client, officer, device)


def upload(client, token, data: bytes) -> str:
    """Send a photo as the phone does (PUT under its SHA-256); returns the hash."""
    digest = hashlib.sha256(data).hexdigest()
    uploaded = client.put(f"/api/v1/attachments/{digest}", data=data, content_type="application/octet-stream",
                          headers={"X-CSRFToken": token})
    assert uploaded.status_code in (200, 201), uploaded.get_json()
    return digest


def synced_dossier(app, seed: int = 0, clock_ahead: timedelta = timedelta(0), printed_due=None,
                   follower: str | None = "Nguyễn Thị Lan") -> tuple[Dossier, bytes]:
    """A dossier received at a home "now" and synced by the demo officer's phone, with one photographed paper.

    No reserved code: the phone gave a provisional one, so the server issues the official code and raises a
    flag. ``clock_ahead`` and ``printed_due`` raise the other two flags. ``follower`` names a citizen account
    following the dossier, so that each step queues a notification.
    """
    client, token = officer_client(app)
    picture = photo(seed)
    digest = upload(client, token, picture)
    now = to_local(utcnow()).replace(microsecond=0)
    version = procedure(PROCEDURE_KEY).versions[-1]
    documents = []
    for required in version.required_documents:
        if required.mandatory:
            documents.append({"required_document_code": required.code, "name": required.name_vi,
                              "sha256": None if documents else digest, "sighted_original": True})
    body = {
        "procedure_key": PROCEDURE_KEY,
        "received_at": now.isoformat(),
        "device_now": (now + clock_ahead).isoformat(),
        "code": None,
        "provisional_code": f"TAM-{seed:04d}-{uuid.uuid4().hex[:6]}",
        "due_at": printed_due.isoformat() if printed_due else None,
        "reception_mode": "home_visit",
        "owner": {"full_name": "Trần Văn Phúc", "personal_id": "001045012345", "phone": "0912345678",
                  "address": "Ngõ 5 phố Huế"},
        "submitter": {"full_name": "Trần Thị Mai", "phone": "0987654321"},
        "documents": documents,
        "citizen_requested_receipt": False,
    }
    response = client.put(f"/api/v1/dossiers/{uuid.uuid4()}", json=body, headers={"X-CSRFToken": token})
    assert response.status_code in (200, 201), response.get_json()
    dossier = db.session.get(Dossier, response.get_json()["id"])
    if follower:
        citizen = User(role=Role.CITIZEN, display_name=follower)
        db.session.add(citizen)
        db.session.flush()
        db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
        db.session.commit()
    return dossier, picture
