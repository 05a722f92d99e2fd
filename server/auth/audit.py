"""The security audit trail: who did what, when, from where. Never a secret, a token or a key.

Each event is appended to the audit hash chain (server/access_log/chain.py), so ``flask audit verify`` sees a row
changed or removed afterwards.
"""

from __future__ import annotations

import logging

from flask import has_request_context
from flask import request

from server.access_log import chain
from server.auth.models import AuditEvent
from server.auth.models import User
from server.types import utcnow

log = logging.getLogger(__name__)


def audit(action: str, actor: User | None = None, target=None, **data) -> AuditEvent:
    """Record ``action`` (flushes with the caller's transaction).

    The audit chain's head stays locked until the caller commits or rolls back: commit soon after.

    :param target: the object acted on (its class name and id are stored), or None.
    :param data: small, non-secret details (role, reason, ...).
    """
    ip = request.remote_addr if has_request_context() else None
    event = AuditEvent(
        at=utcnow(),
        action=action,
        actor_id=actor.id if actor is not None and actor.id is not None else None,
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(target.id) if target is not None else None,
        ip=ip,
        data=data or None,
    )
    chain.append(chain.AUDIT, event)
    log.info("audit %s actor=%s target=%s:%s", action, event.actor_id, event.target_type, event.target_id)
    return event
