"""Claiming rows of a transactional outbox (push deliveries, ZNS and SMS deliveries, forms to render) as leases.

A worker takes due rows in two statements: the ids first (on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so two
workers never take the same row and neither waits for the other), then one conditional UPDATE that marks them
``SENDING`` until ``lease_until`` and counts the attempt. The due condition is asked again in the UPDATE: on SQLite,
which has no row locks, it is what keeps a second worker from taking rows the first one claimed a moment before.
A worker that dies after the claim leaves rows whose lease expires; the due condition takes them again.

The ids are read in their own statement, not as a subquery of the UPDATE: PostgreSQL may run such a subquery
again for each row it updates, each run skipping the rows just locked and finding further ones, so that one claim
took every due row whatever the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update

from server.extensions import db
from server.push.models import DeliveryStatus


def claim_due(model, due_condition, limit: int, lease_until: datetime, order_by=None,
              sending=DeliveryStatus.SENDING) -> list[int]:
    """Lease up to ``limit`` rows of ``model`` matching ``due_condition`` until ``lease_until``; returns their ids
    (sorted) after committing the claim. ``model`` needs ``id``, ``status``, ``lease_until`` and ``attempts``;
    ``sending`` is the leased status of its own enum (the DVCQG outbox has its own)."""
    due = select(model.id).where(due_condition).order_by(order_by if order_by is not None else model.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due))
    if not ids:
        db.session.commit()
        return []
    claim = (update(model)
             .where(model.id.in_(ids), due_condition)
             .values(status=sending, lease_until=lease_until, attempts=model.attempts + 1)
             .returning(model.id)
             .execution_options(synchronize_session=False))
    ids = sorted(db.session.scalars(claim))
    db.session.commit()
    return ids


def drain(claim: Callable[[], list[int]], send_batch: Callable[[list[int]], int],
          any_due: Callable[[], bool]) -> int:
    """Claim and send batches until nothing is due; returns how many rows were handled. On PostgreSQL rows another
    worker is claiming are skipped, not waited for: the loop goes on while ``any_due()`` says rows are still due,
    instead of stopping with work left."""
    handled = 0
    while True:
        ids = claim()
        if not ids:
            if not any_due():
                return handled
            time.sleep(0.01)
            continue
        handled += send_batch(ids)
