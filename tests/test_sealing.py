"""Sealed dossiers (issue 12 point 1): the server opens them by key id, rotation keeps older keys, retirement and
tampering are clear 4xx problems, photos are checked by SHA-256 after opening, replays are stored once."""

from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy import func
from sqlalchemy import select

from server.dossiers.models import Dossier
from server.dossiers.models import DossierEvent
from server.extensions import db
from server.sealing import keys
from server.sealing.envelope import SEALED_MEDIA_TYPE
from server.sealing.models import SealingKey
from server.storage import backend
from server.types import utcnow
from tests.sealing_support import b64url
from tests.sealing_support import seal
from tests.test_sync_api import captured
from tests.test_sync_api import jpeg
from tests.test_sync_api import officer_client
from tests.test_sync_api import put
from tests.test_sync_api import reserve


def current_key(client) -> dict:
    response = client.get("/api/v1/sealing-key")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def upload_sealed(client, token, key: dict, data: bytes, sha256: str | None = None):
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    envelope = seal(key, data, f"photo:{sha256}")
    return sha256, put(client, token, f"/api/v1/attachments/{sha256}", data=envelope, content_type=SEALED_MEDIA_TYPE)


def sealed_body(key: dict, client_uuid, payload: dict) -> dict:
    envelope = seal(key, json.dumps(payload).encode(), f"dossier:{client_uuid}")
    return {"sealed": b64url(envelope), "device_now": utcnow().isoformat()}


def problem_type(response) -> str:
    assert response.mimetype == "application/problem+json", response.data[:200]
    return response.get_json()["type"].removeprefix("urn:motcua:problem:")


def test_the_key_comes_with_the_day_and_from_its_endpoint(app):
    client, token = officer_client(app)
    day = client.post("/api/v1/sync/day", json={}, headers={"X-CSRFToken": token}).get_json()
    key = current_key(client)
    assert day["sealing_key"] == key
    assert key["jwk"]["crv"] == "P-256" and set(key["jwk"]) == {"kty", "crv", "x", "y"}  # nothing private
    assert key["alg"] == "ECDH-ES+HKDF-SHA256+A256GCM"
    assert app.test_client().get("/api/v1/sealing-key").status_code == 401


def test_a_sealed_dossier_and_its_photos_are_opened_stored_once_and_replayed(app):
    client, token = officer_client(app)
    key = current_key(client)
    block = reserve(client, token)
    photos = [jpeg(), jpeg(colour=(10, 20, 30))]
    hashes = []
    for data in photos:
        sha256, response = upload_sealed(client, token, key, data)
        assert response.status_code == 201, response.get_json()
        assert backend().read(sha256) == data  # stored opened, byte for byte
        hashes.append(sha256)
    client_uuid = uuid.uuid4()
    payload = captured(block["first_code"], hashes)
    body = sealed_body(key, client_uuid, payload)
    first = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=body)
    assert first.status_code == 201, first.get_json()
    stored = db.session.scalar(select(Dossier))
    assert stored.owner.full_name == "Trần Văn Phúc" and stored.code == block["first_code"]
    # The very same envelopes again (the answer was lost): the same answer, nothing stored twice.
    assert upload_sealed(client, token, key, photos[0])[1].status_code == 200
    replay = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=body)
    assert replay.status_code == 200 and replay.get_json() == first.get_json()
    # Sealed again (new ephemeral key, same content): still the same dossier.
    again = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=sealed_body(key, client_uuid, payload))
    assert again.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 1
    assert db.session.scalar(select(func.count()).select_from(DossierEvent)) == 1
    # Other content under the same UUID is still a conflict, sealed or not.
    other = put(client, token, f"/api/v1/dossiers/{client_uuid}",
                json=sealed_body(key, client_uuid, dict(payload, summary="khác")))
    assert other.status_code == 409


def test_after_a_rotation_the_older_key_is_accepted_while_kept_and_refused_once_retired(app):
    client, token = officer_client(app)
    old = current_key(client)
    newer = keys.create_key()
    db.session.commit()
    assert current_key(client)["kid"] == newer.kid != old["kid"]
    block = reserve(client, token, size=2)
    # A phone that sealed before the rotation: accepted.
    sha256, response = upload_sealed(client, token, old, jpeg())
    assert response.status_code == 201
    first = uuid.uuid4()
    accepted = put(client, token, f"/api/v1/dossiers/{first}",
                   json=sealed_body(old, first, captured(block["first_code"], [sha256])))
    assert accepted.status_code == 201, accepted.get_json()
    # Retired: refused with a problem that says so (the phone quarantines it with this reason), never a 500.
    keys.retire(old["kid"])
    db.session.commit()
    assert db.session.get(SealingKey, old["kid"]).private_pem is None
    second = uuid.uuid4()
    refused = put(client, token, f"/api/v1/dossiers/{second}",
                  json=sealed_body(old, second, captured(block["last_code"], [sha256])))
    assert refused.status_code == 422 and problem_type(refused) == "sealing-key-retired"
    assert old["kid"] in refused.get_json()["detail"]
    photo = upload_sealed(client, token, old, jpeg(colour=(1, 2, 3)))[1]
    assert photo.status_code == 422 and problem_type(photo) == "sealing-key-retired"
    english = client.put(f"/api/v1/dossiers/{second}", json=sealed_body(old, second, captured(None, [])),
                         headers={"X-CSRFToken": token, "Accept-Language": "en"})
    assert english.get_json()["title"] == "Sealed data cannot be opened"
    # An unknown key id.
    stranger = dict(old, kid="20991231-deadbeef")
    unknown = put(client, token, f"/api/v1/dossiers/{second}", json=sealed_body(stranger, second, captured(None, [])))
    assert unknown.status_code == 422 and problem_type(unknown) == "sealing-key-unknown"
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 1


def test_tampered_truncated_or_misplaced_envelopes_are_422(app):
    client, token = officer_client(app)
    key = current_key(client)
    client_uuid = uuid.uuid4()
    envelope = seal(key, json.dumps(captured(None, [])).encode(), f"dossier:{client_uuid}")
    flipped = bytearray(envelope)
    flipped[-20] ^= 1
    kid_changed = bytearray(envelope)
    kid_changed[5 + len(key["kid"]) + 10] ^= 1  # a byte of the ephemeral key: off the curve, or another secret
    for bad in (bytes(flipped), envelope[:-1], envelope[:30], b"", b"MCS1", bytes(kid_changed)):
        response = put(client, token, f"/api/v1/dossiers/{client_uuid}", json={"sealed": b64url(bad) or "A"})
        assert response.status_code == 422 and problem_type(response) == "sealed-unreadable", bad[:8]
    # Sealed for another dossier: its context does not match.
    elsewhere = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json={"sealed": b64url(envelope)})
    assert elsewhere.status_code == 422 and problem_type(elsewhere) == "sealed-unreadable"
    # Opened, but not a dossier: the same 400 a clear body gets.
    junk = seal(key, b'{"owner": 1}', f"dossier:{client_uuid}")
    assert put(client, token, f"/api/v1/dossiers/{client_uuid}", json={"sealed": b64url(junk)}).status_code == 400
    # A photo: altered, or opened bytes that do not match the hash it is sent under.
    data = jpeg()
    sha256 = hashlib.sha256(data).hexdigest()
    photo = bytearray(seal(key, data, f"photo:{sha256}"))
    photo[-1] ^= 1
    altered = put(client, token, f"/api/v1/attachments/{sha256}", data=bytes(photo), content_type=SEALED_MEDIA_TYPE)
    assert altered.status_code == 422 and problem_type(altered) == "sealed-unreadable"
    other = jpeg(colour=(9, 9, 9))
    mismatch = put(client, token, f"/api/v1/attachments/{sha256}", data=seal(key, other, f"photo:{sha256}"),
                   content_type=SEALED_MEDIA_TYPE)
    assert mismatch.status_code == 422 and mismatch.get_json()["errors"][0]["code"] == "hash_mismatch"
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 0


def test_flask_sealing_rotate_list_and_retire(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["sealing", "rotate"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["sealing", "rotate"])
    kids = [key.kid for key in keys.kept_keys()]
    assert len(kids) == 2 and kids[0] in second.output and kids[1] in first.output
    listed = runner.invoke(args=["sealing", "list"]).output
    assert f"{kids[0]}" in listed and "current" in listed and "kept" in listed
    assert runner.invoke(args=["sealing", "retire", kids[1]]).exit_code == 0
    assert [key.kid for key in keys.kept_keys()] == [kids[0]]
    assert "retired" in runner.invoke(args=["sealing", "list"]).output
    missing = runner.invoke(args=["sealing", "retire", "nope"])
    assert missing.exit_code != 0 and "No sealing key nope" in missing.output
