"""The DVCQG worker: posts the queued portal messages to ``PORTAL_URL``, in order per dossier, with retries.

Order: a message is due only when every earlier ``seq`` of its dossier is SENT (:func:`_due_condition`), so a
claim takes at most one message per dossier, the next one becomes due when this one is recorded as sent, and a
FAILED message holds back the later ones of its dossier (never another dossier's) until an operator re-queues it
(:func:`requeue`: ``flask portal retry <id>`` or the button of /staff/portal).

Claims are leases (server/outbox.py: on PostgreSQL ``FOR UPDATE SKIP LOCKED``; on SQLite one conditional UPDATE),
so two workers never post the same message at once. A worker that dies between the POST and the commit of its
outcome leaves the row SENDING; once its lease has run out the next worker posts it again, with the same
``Idempotency-Key`` (``<MaHoSo>-<seq>``). That is what "exactly once" means here: each change is posted at least
once and in order, and a repeat carries the key the portal is assumed to dedupe on ([U], server/portal/messages.py,
which also says why a repeat is harmless if it does not).

Answers: 2xx with ``error_code`` "00" (or another of ``PORTAL_OK_CODES``) is sent; 2xx or 4xx with another code,
and any other 4xx, is FAILED with the HTTP status, the portal's code and the names of our fields its message
mentions, never its words (they may quote a name or an ID number); a 3xx is FAILED (redirects are never followed:
a portal that moved must be configured anew); 408, 429, 5xx, a timeout or a network error go back to the queue with
exponential back-off (``Retry-After`` honoured), FAILED after ``PORTAL_MAX_ATTEMPTS`` attempts.

Without ``PORTAL_URL`` nothing is called: the messages wait in the queue, and the backlog goes out in order once a
portal is configured.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import aliased

from server import outbox
from server.extensions import db
from server.portal import messages
from server.portal.models import PortalMessage
from server.portal.models import PortalStatus
from server.push.guard import push_session
from server.push.sender import answers_within
from server.push.sender import backoff
from server.push.sender import batch_seconds
from server.push.sender import retry_after_seconds
from server.types import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
#: Requests in flight at once: one endpoint, one message per dossier per claim.
CONCURRENCY = 4
#: Answers that mean "try again later": the portal (or a proxy in front of it) is busy or down.
_RETRY_STATUSES = frozenset({408, 425, 429})


def configured() -> bool:
    return bool(current_app.config.get("PORTAL_URL"))


def _due_condition(now):
    earlier = aliased(PortalMessage)
    waits_for_earlier = exists().where(earlier.dossier_id == PortalMessage.dossier_id,
                                       earlier.seq < PortalMessage.seq, earlier.status != PortalStatus.SENT)
    return and_(
        or_(and_(PortalMessage.status == PortalStatus.QUEUED, PortalMessage.next_attempt_at <= now),
            and_(PortalMessage.status == PortalStatus.SENDING, PortalMessage.lease_until < now)),
        ~waits_for_earlier,
    )


@dataclass
class Outgoing:
    message_id: int
    attempts: int
    body: dict
    key: str
    lease_until: object = None  #: the claim's lease: the outcome is recorded only while it is still ours


@dataclass
class Outcome:
    status: PortalStatus
    reason: str | None = None
    retry_after: float | None = None


def _portal_error(status: int, answer: dict | None) -> str:
    code = answer.get(messages.ERROR_CODE) if answer else None
    words = " ".join(str(answer.get(k, "")) for k in ("message", "error_message", "msg")) if answer else ""
    fields = messages.fields_named(words)
    reason = f"portal answered {status}"
    if code is not None:
        reason += f", error_code {str(code)[:20]}"
    if fields:
        reason += f", field {', '.join(fields)}"
    return reason


def outcome_of(status: int, headers: dict, raw: bytes, ok_codes) -> Outcome:
    """What an answer of the portal means for the message (pure: the tests call it too)."""
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = None
    if 200 <= status < 300:
        code = answer.get(messages.ERROR_CODE) if answer else None
        if code is not None and str(code) in ok_codes:
            return Outcome(PortalStatus.SENT)
        if code is None:  # no verdict: it may or may not have been taken; the key makes a repeat harmless
            return Outcome(PortalStatus.QUEUED, f"portal answered {status} without {messages.ERROR_CODE}")
        return Outcome(PortalStatus.FAILED, _portal_error(status, answer))
    if 300 <= status < 400:
        return Outcome(PortalStatus.FAILED, f"portal answered {status}: redirects are not followed (check PORTAL_URL)")
    if status in _RETRY_STATUSES or status >= 500:
        return Outcome(PortalStatus.QUEUED, f"portal answered {status}",
                       retry_after_seconds(headers.get("Retry-After")))
    return Outcome(PortalStatus.FAILED, _portal_error(status, answer))


class PortalSender:
    """Posts claimed portal messages; one per worker thread, with one HTTP session that never follows a redirect.
    The address check of push endpoints is off: ``PORTAL_URL`` is the operator's setting (a provincial integration
    platform may well sit on a private network), not something a user typed."""

    def __init__(self, session: requests.Session | None = None) -> None:
        config = current_app.config
        self.url = config["PORTAL_URL"]
        self.token = config["PORTAL_TOKEN"]
        self.timeout = config["PORTAL_TIMEOUT_SECONDS"]
        self.max_attempts = config["PORTAL_MAX_ATTEMPTS"]
        self.batch_size = config["PORTAL_BATCH_SIZE"]
        self.ok_codes = frozenset(str(code) for code in config["PORTAL_OK_CODES"])
        self.session = session or push_session(CONCURRENCY, allow_private=True)
        self.pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="portal-http")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.session.close()

    def claim(self, limit: int | None = None) -> list[int]:
        limit = limit or self.batch_size
        now = utcnow()
        lease_for = LEASE + timedelta(seconds=batch_seconds(limit, CONCURRENCY, self.timeout))
        return outbox.claim_due(PortalMessage, _due_condition(now), limit, now + lease_for,
                                sending=PortalStatus.SENDING)

    def send_batch(self, ids: list[int]) -> int:
        """Post claimed messages and record the outcomes in one commit; returns how many were handled."""
        rows = db.session.execute(select(PortalMessage.id, PortalMessage.seq, PortalMessage.attempts,
                                         PortalMessage.payload, PortalMessage.lease_until)
                                  .where(PortalMessage.id.in_(ids)).order_by(PortalMessage.id)).all()
        outgoing = [Outgoing(row.id, row.attempts, row.payload, messages.idempotency_key(row.payload, row.seq),
                             row.lease_until) for row in rows]
        deadline = batch_seconds(len(outgoing), CONCURRENCY, self.timeout)
        answered, stragglers = answers_within(self.pool, self._post, outgoing, deadline)
        outcomes = {item.message_id: outcome for item, outcome in answered}
        for item in stragglers:
            outcomes[item.message_id] = Outcome(PortalStatus.QUEUED, f"no complete answer within {deadline:g} s")
        if stragglers:
            # A portal that drips its answer: shut the session's sockets (the waiting threads end), start afresh.
            self.session.abort()
            self.session = push_session(CONCURRENCY, allow_private=True)
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="portal-http")
        self._record(outgoing, outcomes)
        return len(outgoing)

    def _post(self, item: Outgoing) -> Outcome:
        """One request, in a pool thread (no database here)."""
        body = dict(item.body)
        if self.token:
            body[messages.SESSION] = self.token
        try:
            response = self.session.post(self.url, json=body, timeout=(self.timeout, self.timeout),
                                         headers={"Idempotency-Key": item.key, "Accept": "application/json"},
                                         allow_redirects=False)
        except requests.RequestException as error:
            return Outcome(PortalStatus.QUEUED, f"network: {type(error).__name__}")
        return outcome_of(response.status_code, response.headers, response.content, self.ok_codes)

    def _record(self, outgoing: list[Outgoing], outcomes: dict[int, Outcome]) -> None:
        now = utcnow()
        changes = []
        for item in outgoing:
            outcome = outcomes[item.message_id]
            change = {"id": item.message_id, "status": outcome.status, "lease_until": None,
                      "last_error": outcome.reason}
            if outcome.status is PortalStatus.SENT:
                change["sent_at"] = now
            elif outcome.status is PortalStatus.QUEUED:
                if item.attempts >= self.max_attempts:
                    change.update(status=PortalStatus.FAILED,
                                  last_error=f"gave up after {item.attempts} attempts: {outcome.reason}")
                else:
                    change["next_attempt_at"] = now + backoff(item.attempts, outcome.retry_after)
            changes.append((item, change))
        for item, change in changes:
            # Only while the claim is still ours: a worker that stalled past its lease must not put back in the
            # queue (out of order) a message another worker has sent since, nor overwrite what it recorded.
            message_id = change.pop("id")
            written = db.session.execute(
                update(PortalMessage)
                .where(PortalMessage.id == message_id, PortalMessage.status == PortalStatus.SENDING,
                       PortalMessage.lease_until == item.lease_until)
                .values(**change).execution_options(synchronize_session=False))
            if written.rowcount != 1:
                log.warning("portal message %s: lease lost before its outcome was recorded", message_id)
            elif change["last_error"]:
                log.info("portal message %s: %s (%s)", message_id, change["status"].value, change["last_error"])
        db.session.commit()

    def drain(self, limit: int | None = None) -> int:
        """Post everything due now, including what becomes due as earlier messages are sent; returns how many."""
        return outbox.drain(lambda: self.claim(limit), self.send_batch,
                            lambda: db.session.scalar(select(PortalMessage.id).where(_due_condition(utcnow()))
                                                      .limit(1)) is not None)


def send_pending(limit: int | None = None) -> int:
    """Drain the due portal messages (``flask portal send-pending``, tests); nothing without ``PORTAL_URL``."""
    if not configured():
        return 0
    sender = PortalSender()
    try:
        return sender.drain(limit)
    finally:
        sender.close()


def send_one_batch() -> bool:
    """One batch (the push worker's loop). Returns whether it should come back at once: something was handled, so
    the next message of those dossiers may be due now."""
    if not configured():
        return False
    sender = PortalSender()
    try:
        ids = sender.claim()
        if ids:
            sender.send_batch(ids)
        return bool(ids)
    finally:
        sender.close()


def requeue(message: PortalMessage) -> bool:
    """An operator's retry of a FAILED message: due now, its attempts counted afresh (the later messages of its
    dossier follow once it is sent). False when it is not failed. The caller commits."""
    # One conditional UPDATE, not read-then-write: a second click or a worker in between cannot turn a message
    # sent meanwhile back into a queued one.
    written = db.session.execute(
        update(PortalMessage).where(PortalMessage.id == message.id, PortalMessage.status == PortalStatus.FAILED)
        .values(status=PortalStatus.QUEUED, attempts=0, next_attempt_at=utcnow(), lease_until=None)
        .execution_options(synchronize_session=False))
    db.session.expire(message)
    return written.rowcount == 1
