"""A periodic job's turn among several push workers: the retention purge, the subscription health check.

Each job has a marker row in ``worker_heartbeat`` saying when it last ran. A worker takes the turn with one
conditional UPDATE (the marker is older than the interval), so that of several workers looking at once exactly one
runs the job; the first run inserts the marker.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.push.models import WorkerHeartbeat


def claim_turn(marker: str, every: timedelta, now: datetime) -> bool:
    """Whether this worker runs the job ``marker`` now (its marker then says ``now``, in the caller's transaction);
    when not, the transaction is rolled back."""
    claimed = db.session.execute(update(WorkerHeartbeat).where(
        WorkerHeartbeat.name == marker, WorkerHeartbeat.beat_at <= now - every).values(beat_at=now)).rowcount
    if claimed:
        return True
    if db.session.get(WorkerHeartbeat, marker) is not None:
        db.session.rollback()
        return False
    try:
        with db.session.begin_nested():
            db.session.add(WorkerHeartbeat(name=marker, beat_at=now))
    except IntegrityError:  # another worker's first run at the same moment: theirs will do
        db.session.rollback()
        return False
    return True
