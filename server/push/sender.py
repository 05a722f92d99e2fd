"""The push worker: claims due deliveries, sends them with pywebpush, records what happened.

Claims are leases: a claimed row says until when it belongs to this worker. A worker that dies after claiming
(or after the transaction that queued the message, before any send) leaves rows whose lease expires, and the next
worker sends them. On PostgreSQL rows are claimed with ``FOR UPDATE SKIP LOCKED``, so several workers never take
the same row; on SQLite each row is claimed by a conditional UPDATE, which only one writer can win.

Push service answers (RFC 8030, PLATFORM.md): 201 sent; 404/410 the subscription is gone (deleted, the delivery
expires); 413 too large (failed); 429 and 5xx and network errors retry with exponential back-off and jitter,
honouring ``Retry-After``; 400/401/403 mean our VAPID set-up is wrong (failed, with the reason). A delivery older
than ``PUSH_MAX_AGE_HOURS`` is given up.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import datetime
from datetime import timedelta

import requests
from flask import current_app
from pywebpush import WebPushException
from pywebpush import webpush
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from server.extensions import db
from server.push import keys
from server.push.models import DeliveryStatus
from server.push.models import PushDelivery
from server.push.notify import KINDS
from server.types import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600


def payload_of(delivery: PushDelivery) -> dict:
    """What travels to the phone: the kind, the dossier code and a link. No name, no ID number, ~100 bytes."""
    message = delivery.message
    code = message.data.get("code")
    payload = {"kind": message.kind, "code": code, "url": f"/follow/{code}" if code else "/", "id": message.id,
               "lang": delivery.subscription.lang if delivery.subscription else "vi"}
    if message.data.get("due_at"):
        payload["due_at"] = message.data["due_at"]
    return payload


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    seconds = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    seconds *= 0.5 + random.random() / 2
    if retry_after:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=seconds)


def _retry_after(error: WebPushException) -> float | None:
    """Seconds the push service asked us to wait (``Retry-After`` as a number of seconds), if it said."""
    value = getattr(error, "retry_after", None)
    if value is None and error.response is not None:
        value = error.response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: the back-off applies


def _due_condition(now: datetime):
    return or_(
        and_(PushDelivery.status == DeliveryStatus.QUEUED, PushDelivery.next_attempt_at <= now),
        and_(PushDelivery.status == DeliveryStatus.SENDING, PushDelivery.lease_until < now),
    )


class PushSender:
    """Sends deliveries; one per worker thread (it keeps one HTTP session with its connections)."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self.session = session or requests.Session()
        # Read and checked once per worker, not per message (the key file and the subject do not change under it).
        self.vapid = keys.vapid()
        self.subject = keys.subject()

    def claim(self, limit: int = 20) -> list[int]:
        now = utcnow()
        # The lease must outlast the whole batch even if every push service answers at the timeout, or another
        # worker would take rows this one has yet to send.
        lease_for = LEASE + timedelta(seconds=limit * current_app.config["PUSH_TIMEOUT_SECONDS"])
        lease = {"status": DeliveryStatus.SENDING, "lease_until": now + lease_for,
                 "attempts": PushDelivery.attempts + 1}
        query = select(PushDelivery.id).where(_due_condition(now)).order_by(PushDelivery.id).limit(limit)
        if db.engine.dialect.name == "postgresql":
            ids = list(db.session.scalars(query.with_for_update(skip_locked=True)))
            if ids:
                db.session.execute(update(PushDelivery).where(PushDelivery.id.in_(ids)).values(**lease))
            db.session.commit()
            return ids
        claimed = []
        for delivery_id in db.session.scalars(query).all():
            result = db.session.execute(update(PushDelivery).where(
                PushDelivery.id == delivery_id, _due_condition(now)).values(**lease))
            if result.rowcount == 1:
                claimed.append(delivery_id)
            db.session.commit()
        return claimed

    def send(self, delivery_id: int) -> DeliveryStatus:
        delivery = db.session.get(PushDelivery, delivery_id)
        config = current_app.config
        if delivery.subscription is None:
            return self._finish(delivery, DeliveryStatus.EXPIRED, "the subscription was deleted")
        if utcnow() - delivery.created_at > timedelta(hours=config["PUSH_MAX_AGE_HOURS"]):
            return self._finish(delivery, DeliveryStatus.FAILED,
                                f"gave up after {config['PUSH_MAX_AGE_HOURS']} h ({delivery.attempts} attempts)")
        kind = KINDS[delivery.message.kind]
        data = json.dumps(payload_of(delivery), separators=(",", ":"))
        try:
            webpush(delivery.subscription.info(), data, vapid_private_key=self.vapid,
                    vapid_claims={"sub": self.subject},  # a new dict each time: pywebpush adds to it
                    ttl=kind.ttl_seconds, timeout=config["PUSH_TIMEOUT_SECONDS"],
                    headers={"Urgency": kind.urgency, "Topic": f"dossier-{delivery.message.dossier_id or 0}"},
                    requests_session=self.session)
        except WebPushException as error:
            return self._refused(delivery, error)
        except requests.RequestException as error:
            return self._retry(delivery, f"network: {type(error).__name__}")
        except Exception as error:  # a broken subscription key, say: fail this one, never the rest of the batch
            log.warning("push delivery %s cannot be sent: %r", delivery.id, error)
            return self._finish(delivery, DeliveryStatus.FAILED, f"cannot be sent: {type(error).__name__}: {error}")
        delivery.sent_at = utcnow()
        return self._finish(delivery, DeliveryStatus.SENT, None)

    def _refused(self, delivery: PushDelivery, error: WebPushException) -> DeliveryStatus:
        status = error.response.status_code if error.response is not None else None
        if status in (404, 410):
            subscription = delivery.subscription
            delivery.subscription = None
            db.session.delete(subscription)
            return self._finish(delivery, DeliveryStatus.EXPIRED,
                                f"push service answered {status}: subscription deleted")
        if status == 429 or (status is not None and status >= 500):
            return self._retry(delivery, f"push service answered {status}", _retry_after(error))
        if status == 413:
            return self._finish(delivery, DeliveryStatus.FAILED, "push service answered 413: payload too large")
        return self._finish(delivery, DeliveryStatus.FAILED, f"push service refused ({status}): check VAPID set-up")

    def _retry(self, delivery: PushDelivery, reason: str, retry_after: float | None = None) -> DeliveryStatus:
        delivery.status = DeliveryStatus.QUEUED
        delivery.lease_until = None
        delivery.next_attempt_at = utcnow() + backoff(delivery.attempts, retry_after)
        delivery.last_error = reason
        db.session.commit()
        return DeliveryStatus.QUEUED

    def _finish(self, delivery: PushDelivery, status: DeliveryStatus, reason: str | None) -> DeliveryStatus:
        delivery.status = status
        delivery.lease_until = None
        delivery.last_error = reason
        db.session.commit()
        if reason:
            log.info("push delivery %s: %s (%s)", delivery.id, status.value, reason)
        return status

    def drain(self, limit: int = 20) -> int:
        """Send everything due now; returns how many deliveries were handled."""
        handled = 0
        while True:
            ids = self.claim(limit)
            if not ids:
                # On SQLite, workers look at the same first rows: one that lost them all to another worker goes
                # on while rows are still due, instead of stopping with work left.
                if db.session.scalar(select(PushDelivery.id).where(_due_condition(utcnow())).limit(1)) is None:
                    return handled
                time.sleep(0.01)
                continue
            for delivery_id in ids:
                self.send(delivery_id)
                handled += 1


def run_worker(app, stop: threading.Event, poll_seconds: float = 2.0) -> None:
    """The worker loop (``flask push worker``, or a thread of the embedded app)."""
    with app.app_context():
        sender = PushSender()
        while not stop.is_set():
            try:
                sender.drain()
            except Exception:  # a bad row or a database hiccup must not kill the worker
                log.exception("push worker: drain failed")
                db.session.rollback()
            finally:
                db.session.remove()
            stop.wait(poll_seconds)
