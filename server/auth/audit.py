"""The security audit trail: who did what, when, from where. Never a secret, a token or a key."""

from __future__ import annotations

import logging

from flask import has_request_context
from flask import request

from server.auth.models import AuditEvent
from server.auth.models import User
from server.extensions import db

log = logging.getLogger(__name__)


def audit(action: str, actor: User | None = None, target=None, **data) -> AuditEvent:
    """Record ``action`` (flushes with the caller's transaction).

    :param target: the object acted on (its class name and id are stored), or None.
    :param data: small, non-secret details (role, reason, ...).
    """
    ip = request.remote_addr if has_request_context() else None
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None and actor.id is not None else None,
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(target.id) if target is not None else None,
        ip=ip,
        data=data or None,
    )
    db.session.add(event)
    db.session.flush()
    log.info("audit %s actor=%s target=%s:%s", action, event.actor_id, event.target_type, event.target_id)
    return event
