"""GET /api/v1/sealing-key: the public key phones seal finalised dossiers to (also in the day download)."""

from __future__ import annotations

from flask import Blueprint

from server.api.openapi import operation
from server.api.openapi import schema
from server.auth.access import roles_required
from server.extensions import db
from server.sealing import keys

bp = Blueprint("sealing_api", __name__, url_prefix="/api/v1")

SEALING_KEY = schema("SealingKey", {
    "type": "object", "required": ["kid", "alg", "jwk"],
    "description": "The server's current public key for sealing (pwa/lib/seal.js, server/sealing/envelope.py)",
    "properties": {"kid": {"type": "string"}, "alg": {"const": "ECDH-ES+HKDF-SHA256+A256GCM"},
                   "jwk": {"type": "object", "required": ["kty", "crv", "x", "y"]},
                   "created_at": {"type": "string", "format": "date-time"}},
})


@bp.get("/sealing-key")
@roles_required("officer", "staff", "leader")
@operation("The current public key a phone seals finalised dossiers to", tags=["Sync"],
           responses={200: SEALING_KEY})
def sealing_key():
    key = keys.current_key()
    db.session.commit()  # a first key made now is kept
    return keys.public_json(key)
