"""The push worker: claims due deliveries in batches, sends them with pywebpush, records what happened.

A batch costs the database four statements whatever its size: one UPDATE claims up to ``PUSH_BATCH_SIZE`` rows
(and says which), one SELECT reads their messages and subscriptions, one reads which of their recipients consent to
push for the message's purpose (server/consent: no consent, no send), and one executemany records every outcome
(then one UPDATE keeps a receipt that beat it: see ``_record``), each phase in one commit. The channel ladder
(server/channels/ladder.py) is asked about each claimed row from the columns that SELECT read: a later rung is
skipped once the follower was reached, anything non-urgent waits out the quiet hours; and when a rung ends without
reaching anyone, the next rung is brought forward in the same commit (a few statements more, only for a batch with
such failures). In between, the batch's HTTP requests go out ``PUSH_CONCURRENCY`` at a time over one keep-alive
``requests.Session``, so a worker spends its time encrypting rather than waiting for push services.

Claims are leases: a claimed row says until when it belongs to this worker. A worker that dies after claiming
(or after the transaction that queued the message, before any send) leaves rows whose lease expires, and the next
worker sends them. On PostgreSQL the claiming UPDATE picks its rows with ``FOR UPDATE SKIP LOCKED``, so several
workers never take the same row; on SQLite it is one conditional UPDATE, and SQLite runs one writer at a time, so
the second worker's UPDATE sees the first one's claims and takes the next rows.

Push service answers (RFC 8030, PLATFORM.md): 201 sent; 404/410 the subscription is gone (deleted, the delivery
expires); 413 too large (failed); 429 and 5xx and network errors retry with exponential back-off and jitter,
honouring ``Retry-After``; 400/401/403 mean our VAPID set-up is wrong (failed, with the reason). A delivery older
than ``PUSH_MAX_AGE_HOURS`` is given up.

Between looks at the outbox, the same loop renders the PDFs of newly issued forms (server/forms/rendering.py) and
runs the retention purge when it is due (server/privacy/retention.py), each in its own transactions.

A batch has a wall-clock deadline (:func:`batch_seconds`, within the lease): requests' ``timeout`` bounds each
socket read, not a whole request, and a push endpoint is any public https URL a citizen registers, so one that
drips its answer a byte at a time must not hold the worker. The rows without a complete answer by then go back to the
queue with back-off ("no complete answer within N s"), the others are recorded as usual, and the HTTP session is
aborted (server/push/guard.py: its sockets shut down, so the threads still waiting end at once) and replaced, with
the thread pool, so that the worker goes on to its other steps.

The VAPID ``Authorization`` header depends only on the push service's origin (the JWT's ``aud``), so it is signed
once per origin and reused until an hour before its 12-hour expiry, not signed for every message.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from flask import current_app
from pywebpush import WebPusher
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server.calendar.workdays import to_local
from server.channels import ladder
from server.consent import services as consent
from server.consent.purposes import Channel
from server.consent.purposes import purpose_of
from server.extensions import db
from server.push import keys
from server.push import texts
from server.push.guard import ForbiddenAddress
from server.push.guard import push_session
from server.push.models import FINAL_FAILURES
from server.push.models import HANDED_OVER_REASON
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.models import WorkerHeartbeat
from server.push.notify import KINDS
from server.push.receipts import status_literal
from server.push.receipts import token_for
from server.types import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
#: The longest ``Retry-After`` honoured (both senders): a day. Longer than that and the message is mostly past its
#: use (it is given up after PUSH_MAX_AGE_HOURS / CHANNELS_MAX_AGE_HOURS, 72 h by default), yet the retry still comes
#: before that, so the row ends with its own reason; and ZNS asks to wait until the next morning when its day's quota
#: is spent (providers/zns.py), which a day covers. An unbounded one (1e12 s) would overflow the next attempt's time.
RETRY_AFTER_CAP_SECONDS = 24 * 3600
#: How long a signed VAPID JWT is valid (RFC 8292 allows up to 24 h; pywebpush uses 12 h too).
VAPID_TOKEN_SECONDS = 12 * 3600
#: A token is signed anew when less than this is left, so that no request travels with one about to expire.
VAPID_RENEW_BEFORE_SECONDS = 3600


def topic_of(dossier_id: int | None, data: dict) -> str:
    """The RFC 8030 Topic: a newer message on the same dossier (or visit) replaces an older one still unseen."""
    if dossier_id is not None:
        return f"dossier-{dossier_id}"
    return f"visit-{data['visit_id']}" if data.get("visit_id") else "motcua"


#: The declarative Web Push marker (W3C Push API, "declarative push message"): the member ``web_push`` must be 8030.
DECLARATIVE_WEB_PUSH = 8030


def base_url() -> str:
    """The public address the server is reached at (``BASE_URL``), for links that leave a request's context (the
    worker has no request to read a host from). The same default as ``flask users`` (server/auth/cli.py)."""
    url = current_app.config.get("BASE_URL") or f"http://localhost:{os.environ.get('PORT', '5000')}"
    return url.rstrip("/")


def payload(message_id: int, kind: str, data: dict, lang: str | None, delivery_id: int | None = None) -> dict:
    """What travels to the phone: the kind, the dossier code and a link, a receipt token, and the same notification
    in the declarative form. No name, no ID number; well under a kilobyte.

    Two forms in one JSON object, each reader taking its own members:

    - the app's fields (``kind``, ``code``, ``url``, ``id``, ``lang``, ``due_at``) and ``receipt``
      (server/push/receipts.py), read by our service worker (pwa/sw/push.js), which words the notification itself
      from its own table for payloads without the declarative part;
    - the declarative Web Push form, as WebKit's "Meet Declarative Web Push" (Safari 18.4) and the W3C Push API's
      declarative push message define it, checked against the spec's parser steps (w3c/push-api PR #385, merged):
      the top-level ``web_push`` must be exactly the integer 8030; ``notification`` is a map whose ``title``
      (a string) is required and whose ``navigate`` must parse as a URL (the parser fails without one; it is
      parsed against the scope, so it is sent absolute, on ``BASE_URL``); the other members are the Notifications
      API's options (``body``, ``lang``, ``tag``, ``silent``...). Members the parser does not know (our own) are
      ignored by it. ``mutable: true`` (top level) asks Safari to still run the worker's ``push`` event with
      the proposed notification, so that the worker can show it and send the "shown" receipt; if the worker
      does not run or fails, Safari shows the declarative notification itself.

    The declarative title and body are the push-safe words (texts.safe_of): the kind and the code only, in the
    subscription's language, never the officer's name or a reason typed at the desk."""
    lang = lang if lang in ("vi", "en") else "vi"
    code = data.get("code")
    url = texts.link_of(data) or "/"
    content = {"kind": kind, "code": code, "url": url, "id": message_id, "lang": lang}
    if data.get("due_at"):
        content["due_at"] = data["due_at"]
    if delivery_id is not None:
        content["receipt"] = token_for(delivery_id)
    title, body = texts.safe_of(kind, data, lang)
    content["web_push"] = DECLARATIVE_WEB_PUSH
    content["notification"] = {"title": title, "body": body, "navigate": base_url() + url, "lang": lang,
                               # One notification per dossier: a newer message replaces the older one unseen.
                               "tag": f"dossier-{code}" if code else "motcua", "silent": False}
    content["mutable"] = True
    return content


def payload_of(delivery: PushDelivery) -> dict:
    """The payload of a delivery object (the worker itself reads the same columns in one query per batch)."""
    message = delivery.message
    return payload(message.id, message.kind, message.data,
                   delivery.subscription.lang if delivery.subscription else None, delivery.id)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """The wait before the next attempt: exponential with jitter, at least what the service asked, at most
    ``RETRY_AFTER_CAP_SECONDS`` of that (a wait that is not a finite number of seconds is not honoured)."""
    seconds = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    seconds *= 0.5 + random.random() / 2
    if retry_after and math.isfinite(retry_after):
        seconds = max(seconds, min(retry_after, RETRY_AFTER_CAP_SECONDS))
    return timedelta(seconds=seconds)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as a number of seconds, if it is one we can wait: finite and not negative ("inf", "nan" and
    "-5" are no answer, the back-off applies); :func:`backoff` caps it. Shared by the ZNS and SMS providers."""
    try:
        seconds = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: the back-off applies
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _retry_after(response: requests.Response) -> float | None:
    """Seconds the push service asked us to wait (``Retry-After`` as a number of seconds), if it said."""
    return retry_after_seconds(response.headers.get("Retry-After"))


def batch_seconds(size: int, concurrency: int, timeout: float) -> float:
    """How long a batch of ``size`` requests may take, ``concurrency`` at a time: two ``timeout`` per wave, one to
    connect and one to read (what requests' timeout allows a request that does not drip, so that such a request still
    ends with its own error, a ReadTimeout say). It is the batch's deadline, and what the claim's lease adds to
    ``LEASE``, so that the lease outlasts the batch."""
    return max(1, math.ceil(size / concurrency)) * 2 * timeout


def answers_within(pool: ThreadPoolExecutor, send, items: list, seconds: float) -> tuple[list, list]:
    """``send`` each item in ``pool``; returns the (item, answer) pairs that came within ``seconds`` of wall-clock
    time, and the items that did not (those not started yet are cancelled: they are never sent)."""
    futures = {pool.submit(send, item): item for item in items}
    done, pending = wait(futures, timeout=seconds)
    for future in pending:
        future.cancel()
    answered = [(futures[future], future.result()) for future in futures if future in done]
    return answered, [futures[future] for future in futures if future not in done]


def _due_condition(now: datetime):
    return or_(
        and_(PushDelivery.status == DeliveryStatus.QUEUED, PushDelivery.next_attempt_at <= now),
        and_(PushDelivery.status == DeliveryStatus.SENDING, PushDelivery.lease_until < now),
    )


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Outgoing:
    """One claimed delivery and everything its request needs, prepared by the worker thread."""

    delivery_id: int
    attempts: int
    subscription_id: int | None
    message_id: int | None = None
    subscription_info: dict | None = None
    data: str = ""
    headers: dict | None = None
    ttl: int = 0


@dataclass
class Outcome:
    """What became of one delivery: its new status, why (None when sent), and what the status update needs."""

    status: DeliveryStatus
    reason: str | None = None
    retry_after: float | None = None
    subscription_gone: bool = False
    #: Quiet hours (server/channels/ladder.py): back to the queue until then, the claim's attempt not counted.
    held_until: datetime | None = None


def _outcome_of(response: requests.Response) -> Outcome:
    status = response.status_code
    if status <= 202:
        return Outcome(DeliveryStatus.SENT)
    if 300 <= status < 400:
        return Outcome(DeliveryStatus.FAILED, f"push service answered {status}: redirects are not followed")
    if status in (404, 410):
        return Outcome(DeliveryStatus.EXPIRED, f"push service answered {status}: subscription deleted",
                       subscription_gone=True)
    if status == 429 or status >= 500:
        return Outcome(DeliveryStatus.QUEUED, f"push service answered {status}", _retry_after(response))
    if status == 413:
        return Outcome(DeliveryStatus.FAILED, "push service answered 413: payload too large")
    return Outcome(DeliveryStatus.FAILED, f"push service refused ({status}): check VAPID set-up")


class PushSender:
    """Sends deliveries; one per worker thread. It keeps one HTTP session (keep-alive connections, up to
    ``PUSH_CONCURRENCY`` of them per push service) and a small thread pool that sends a batch's requests."""

    def __init__(self, session: requests.Session | None = None) -> None:
        config = current_app.config
        self.batch_size = config["PUSH_BATCH_SIZE"]
        self.concurrency = config["PUSH_CONCURRENCY"]
        self.timeout = config["PUSH_TIMEOUT_SECONDS"]
        self.max_age = timedelta(hours=config["PUSH_MAX_AGE_HOURS"])
        # One pooled connection per request in flight; the default pool of 10 would open and drop extra ones.
        # Never a redirect followed, and (unless PUSH_ALLOW_PRIVATE_ENDPOINTS) never a connection kept to a
        # non-global address, whatever the name resolves to at send time (server/push/guard.py).
        self._new_session = lambda: push_session(max(10, self.concurrency), config["PUSH_ALLOW_PRIVATE_ENDPOINTS"])
        self.session = session or self._new_session()
        self.pool = self._new_pool()
        # Read and checked once per worker, not per message (the key file and the subject do not change under it).
        self.vapid = keys.vapid()
        self.subject = keys.subject()
        self._authorizations: dict[str, tuple[dict, float]] = {}  # origin -> (header, when to sign it anew)

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="push-http")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.session.close()

    def _abandon_stragglers(self) -> None:
        """Requests outlived the batch's deadline: abort their session (its sockets shut down, so their threads end
        with a network error, server/push/guard.py), and go on with a new session and a new pool, never waiting for
        the old threads."""
        getattr(self.session, "abort", self.session.close)()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session = self._new_session()
        self.pool = self._new_pool()

    def claim(self, limit: int | None = None) -> list[int]:
        """Lease up to ``limit`` due deliveries to this worker in one statement; returns their ids."""
        limit = limit or self.batch_size
        now = utcnow()
        # The lease must outlast the whole batch even if every push service answers at the timeout (requests go
        # out ``concurrency`` at a time), or another worker would take rows this one has yet to send.
        lease_for = LEASE + timedelta(seconds=batch_seconds(limit, self.concurrency, self.timeout))
        due = select(PushDelivery.id).where(_due_condition(now)).order_by(PushDelivery.id).limit(limit)
        if db.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        # The ids first, in their own statement (on PostgreSQL it locks them for this transaction): as a subquery of
        # the UPDATE, PostgreSQL may run it again for each row it updates, each run skipping the rows just claimed
        # and finding further ones, so that one claim took every due delivery whatever the limit (and leased them for
        # a batch of ``limit``).
        ids = list(db.session.scalars(due))
        if not ids:
            db.session.commit()
            return []
        # The due condition again on the rows themselves: on SQLite it is what makes the claim conditional.
        claim = (update(PushDelivery)
                 .where(PushDelivery.id.in_(ids), _due_condition(now))
                 .values(status=DeliveryStatus.SENDING, lease_until=now + lease_for,
                         attempts=PushDelivery.attempts + 1)
                 .returning(PushDelivery.id)
                 .execution_options(synchronize_session=False))
        ids = sorted(db.session.scalars(claim))
        db.session.commit()
        return ids

    def send_batch(self, ids: list[int]) -> int:
        """Send claimed deliveries and record the outcomes in one commit; returns how many were handled. The
        requests get :func:`batch_seconds` of wall-clock time in all; a row without a complete answer by then is
        retried later (it may or may not have reached the push service: the Topic replaces a duplicate unseen)."""
        outgoing, outcomes = self._prepare(ids)
        ready = [item for item in outgoing if item.delivery_id not in outcomes]
        deadline = batch_seconds(len(ready), self.concurrency, self.timeout)
        answered, stragglers = answers_within(self.pool, self._post, ready, deadline)
        for item, outcome in answered:
            outcomes[item.delivery_id] = outcome
        for item in stragglers:
            outcomes[item.delivery_id] = Outcome(DeliveryStatus.QUEUED, f"no complete answer within {deadline:g} s")
        if stragglers:
            log.warning("push: %d requests without a complete answer within %g s", len(stragglers), deadline)
            self._abandon_stragglers()
        self._record(outgoing, outcomes)
        return len(outgoing)

    def _prepare(self, ids: list[int]) -> tuple[list[Outgoing], dict[int, Outcome]]:
        """The batch's rows in one query, turned into requests; the outcomes of those that need none."""
        rows = db.session.execute(
            select(PushDelivery.id, PushDelivery.attempts, PushDelivery.created_at, PushDelivery.subscription_id,
                   PushDelivery.step, InboxMessage.reached_at, InboxMessage.reached_channel,
                   InboxMessage.id.label("message_id"), InboxMessage.user_id, InboxMessage.kind, InboxMessage.data,
                   InboxMessage.dossier_id, PushSubscription.endpoint, PushSubscription.p256dh,
                   PushSubscription.auth, PushSubscription.lang, PushSubscription.user_id.label("subscriber_id"))
            .join(InboxMessage, PushDelivery.message_id == InboxMessage.id)
            # An outer join: a deleted subscription leaves a row without one (SQLite does not null the key).
            .outerjoin(PushSubscription, PushDelivery.subscription_id == PushSubscription.id)
            .where(PushDelivery.id.in_(ids)).order_by(PushDelivery.id)).all()
        # Consent is asked again here, after the claim, whatever it was when the message was queued: a citizen
        # who withdrew it in between gets nothing (server/consent/services.py).
        allowed = consent.consenting({row.user_id for row in rows}, Channel.PUSH)
        now = utcnow()
        outgoing, outcomes = [], {}
        for row in rows:
            item = Outgoing(row.id, row.attempts, row.subscription_id, row.message_id)
            outgoing.append(item)
            if row.endpoint is None:
                outcomes[row.id] = Outcome(DeliveryStatus.EXPIRED, "the subscription was deleted")
                continue
            if row.subscriber_id != row.user_id:  # the phone changed hands since: not for its new owner
                outcomes[row.id] = Outcome(DeliveryStatus.EXPIRED, HANDED_OVER_REASON)
                continue
            purpose = purpose_of(row.kind)
            if (row.user_id, purpose) not in allowed:
                outcomes[row.id] = Outcome(DeliveryStatus.WITHHELD, f"no consent in force for {purpose} on push")
                continue
            # The ladder asks again at claim time: a retry that backed off into the night waits for the morning,
            # and a later rung is not needed once another channel reached the follower.
            verdict, until = ladder.gate(now, row.kind, row.step, row.reached_at)
            if verdict is ladder.Verdict.SKIP:
                outcomes[row.id] = Outcome(DeliveryStatus.SKIPPED,
                                           f"reached on {row.reached_channel} before this rung")
                continue
            if verdict is ladder.Verdict.HOLD:
                outcomes[row.id] = Outcome(DeliveryStatus.QUEUED, f"quiet hours until {to_local(until):%H:%M}",
                                           held_until=until)
                continue
            if now - row.created_at > self.max_age:
                hours = current_app.config["PUSH_MAX_AGE_HOURS"]
                outcomes[row.id] = Outcome(DeliveryStatus.FAILED, f"gave up after {hours} h ({row.attempts} attempts)")
                continue
            try:
                kind = KINDS[row.kind]
                item.subscription_info = {"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}}
                item.data = json.dumps(payload(row.message_id, row.kind, row.data, row.lang, row.id),
                                       separators=(",", ":"))
                item.ttl = kind.ttl_seconds
                item.headers = {"Urgency": kind.urgency, "Topic": topic_of(row.dossier_id, row.data),
                                **self._authorization(row.endpoint)}
            except Exception as error:  # an unknown kind, say: fail this one, never the rest of the batch
                outcomes[row.id] = self._unsendable(item, error)
        return outgoing, outcomes

    def _authorization(self, endpoint: str) -> dict:
        """The VAPID header for the endpoint's push service, signed once per origin and reused until near expiry."""
        origin = _origin(endpoint)
        header, renew_at = self._authorizations.get(origin, (None, 0.0))
        now = time.time()
        if header is None or now >= renew_at:
            expires = int(now) + VAPID_TOKEN_SECONDS
            header = self.vapid.sign({"sub": self.subject, "aud": origin, "exp": expires})
            self._authorizations[origin] = (header, expires - VAPID_RENEW_BEFORE_SECONDS)
        return header

    def _post(self, item: Outgoing) -> Outcome:
        """Encrypt and send one request (in a pool thread: no database here, only the item and the session)."""
        try:
            response = WebPusher(item.subscription_info, requests_session=self.session).send(
                item.data, item.headers, ttl=item.ttl, timeout=self.timeout)
        except ForbiddenAddress as error:
            return Outcome(DeliveryStatus.FAILED, f"refused: {error}")
        except requests.RequestException as error:
            return Outcome(DeliveryStatus.QUEUED, f"network: {type(error).__name__}")
        except Exception as error:  # a broken subscription key, say: fail this one, never the rest of the batch
            return self._unsendable(item, error)
        return _outcome_of(response)

    @staticmethod
    def _unsendable(item: Outgoing, error: Exception) -> Outcome:
        log.warning("push delivery %s cannot be sent: %r", item.delivery_id, error)
        return Outcome(DeliveryStatus.FAILED, f"cannot be sent: {type(error).__name__}: {error}")

    def _record(self, outgoing: list[Outgoing], outcomes: dict[int, Outcome]) -> None:
        """Every outcome of the batch in one executemany, gone subscriptions deleted, one commit."""
        now = utcnow()
        changes, gone, exhausted = [], set(), set()
        for item in outgoing:
            outcome = outcomes[item.delivery_id]
            change = {"id": item.delivery_id, "status": outcome.status, "lease_until": None,
                      "last_error": outcome.reason}
            try:
                if outcome.status is DeliveryStatus.SENT:
                    change["sent_at"] = now
                elif outcome.held_until is not None:
                    change["next_attempt_at"] = outcome.held_until
                    change["attempts"] = item.attempts - 1  # held, not tried
                elif outcome.status is DeliveryStatus.QUEUED:
                    change["next_attempt_at"] = now + backoff(item.attempts, outcome.retry_after)
            except Exception as error:  # one row's outcome must never lose the batch's others (sent again after
                # the lease, if they stayed SENDING): this one fails with the reason
                log.warning("push delivery %s: cannot record %r", item.delivery_id, error)
                outcome = Outcome(DeliveryStatus.FAILED, f"cannot record: {type(error).__name__}: {error}")
                change = {"id": item.delivery_id, "status": outcome.status, "lease_until": None,
                          "last_error": outcome.reason}
            if outcome.status in FINAL_FAILURES and item.message_id is not None:
                exhausted.add(item.message_id)
            if outcome.subscription_gone:
                change["subscription_id"] = None
                gone.add(item.subscription_id)
            changes.append(change)
            if outcome.reason:
                log.info("push delivery %s: %s (%s)", item.delivery_id, outcome.status.value, outcome.reason)
        if changes:
            # ORM bulk UPDATE by primary key: rows with the same keys go out as one executemany.
            db.session.execute(update(PushDelivery), changes)
            # A receipt may have come in while the request was out (a push service on a fast path delivers at
            # once, and the worker's "shown" can beat this commit): such a row stays shown or opened, whatever
            # the push service's answer said (server/push/receipts.py sets the times, never reset here).
            db.session.execute(
                update(PushDelivery)
                .where(PushDelivery.id.in_([change["id"] for change in changes]), PushDelivery.shown_at.is_not(None))
                .values(status=case((PushDelivery.opened_at.is_not(None), status_literal(DeliveryStatus.OPENED)),
                                    else_=status_literal(DeliveryStatus.SHOWN)), lease_until=None)
                .execution_options(synchronize_session=False))
        if gone:
            db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
        # A rung that ended without reaching the follower (every subscription gone, say) brings the next one forward,
        # in this commit: nobody waits hours for a receipt that will never come.
        ladder.escalate_if_exhausted(exhausted, now)
        db.session.commit()

    def drain(self, limit: int | None = None) -> int:
        """Send everything due now, ``limit`` (default ``PUSH_BATCH_SIZE``) at a time; returns how many were
        handled."""
        handled = 0
        while True:
            ids = self.claim(limit)
            if not ids:
                # On PostgreSQL, rows another worker is claiming right now are skipped, not waited for: go on while
                # rows are still due, instead of stopping with work left.
                if db.session.scalar(select(PushDelivery.id).where(_due_condition(utcnow())).limit(1)) is None:
                    return handled
                time.sleep(0.01)
                continue
            handled += self.send_batch(ids)


HEARTBEAT_NAME = "push"


def beat(name: str = HEARTBEAT_NAME) -> None:
    """Record that this worker is alive (one row per kind of worker, shared by every process: /healthz reads it)."""
    now = utcnow()
    updated = db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.name == name).values(beat_at=now))
    if updated.rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(WorkerHeartbeat(name=name, beat_at=now))
        except IntegrityError:  # another worker wrote the first beat at the same moment: theirs will do
            pass
    db.session.commit()


def _own_transaction(what: str, job, failed=None):
    """Run a step of the loop in its own transaction, so that a failure there never holds up notifications;
    returns what the job returned, or ``failed`` when it raised."""
    try:
        return job()
    except Exception:
        log.exception("push worker: %s failed", what)
        db.session.rollback()
        return failed
    finally:
        db.session.remove()


def _retention_step() -> None:
    """The retention purge, at most every RETENTION_PURGE_INTERVAL_HOURS (server/privacy/retention.py)."""
    from server.privacy import retention

    _own_transaction("retention purge", lambda: retention.purge_if_due(utcnow()))


def _render_step() -> bool:
    """One batch of the PDFs of newly issued forms (server/forms/rendering.py), in their own transactions, so that a
    failure there never holds up notifications; one batch only, so that a backlog never keeps the loop from sending
    and beating for long. Returns whether the batch was full (more may wait: the loop comes back at once)."""
    from server.forms import rendering

    def one_batch() -> bool:
        claimed, _ = rendering.render_batch()
        return claimed >= current_app.config["FORMS_RENDER_BATCH_SIZE"]

    return _own_transaction("rendering issued forms", one_batch, failed=False)


def _channels_step() -> bool:
    """One batch of the ZNS and SMS deliveries (server/channels/sender.py), in its own transactions, so that a
    failure there never holds up push; returns whether the batch was full (the loop comes back at once)."""
    from server.channels.sender import send_one_batch

    return _own_transaction("sending ZNS/SMS", send_one_batch, failed=False)


def _portal_step() -> bool:
    """One batch of the messages owed to the national portal (server/portal/sender.py), in its own transactions, so
    that a failure there never holds up notifications; nothing without PORTAL_URL. Returns whether to come back at
    once (a message sent may make its dossier's next one due)."""
    from server.portal.sender import send_one_batch

    return _own_transaction("sending to the national portal", send_one_batch, failed=False)


def _health_step() -> None:
    """Retire the subscriptions that reach nobody, at most every PUSH_HEALTH_INTERVAL_MINUTES
    (server/push/health.py)."""
    from server.push import health

    _own_transaction("subscription health", lambda: health.check_if_due(utcnow()))


def run_worker(app, stop: threading.Event, poll_seconds: float = 2.0) -> None:
    """The worker loop (``flask push worker``, or a thread of the embedded app)."""
    with app.app_context():
        sender = PushSender()
        try:
            while not stop.is_set():
                try:
                    beat()
                    sender.drain()
                except Exception:  # a bad row or a database hiccup must not kill the worker
                    log.exception("push worker: drain failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
                more_forms = _render_step()
                more_channels = _channels_step()
                more_portal = _portal_step()
                _retention_step()
                _health_step()
                stop.wait(0 if more_forms or more_channels or more_portal else poll_seconds)
        finally:
            sender.close()
