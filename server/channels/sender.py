"""The ZNS and SMS worker: claims due channel deliveries in batches, asks the ladder and the consents again, sends
them through their provider (server/channels/providers), records what happened.

Like the push worker (server/push/sender.py), a batch costs the database a fixed number of statements whatever its
size: the claim (server/outbox.py: the ids, then one conditional UPDATE leasing them), one SELECT of the rows with
their messages, one of the consents in force for them, and one executemany of every outcome, with the escalation
of the messages whose rung just failed (:func:`server.channels.ladder.escalate_if_exhausted`) in the same commit.
The requests go out ``PROVIDER_CONCURRENCY`` at a time over each provider's keep-alive session.

After the claim, each delivery is asked, in this order:

1. the ladder (:func:`server.channels.ladder.gate`): a later rung whose follower was reached meanwhile is
   SKIPPED; a non-urgent message in the quiet hours goes back to the queue until the morning, the attempt not
   counted;
2. the consent: one in force for the message's purpose on that channel, for that very number, from the message's
   user or (a follower without an account) person; otherwise WITHHELD;
3. its age: older than ``CHANNELS_MAX_AGE_HOURS``, FAILED.

Then the provider's answer: accepted → SENT (the provider's message id, when, and the cost at the configured
price); retry (a timeout, a 5xx, a rate limit) → QUEUED with back-off, keeping the same ``tracking_id`` (the SMS
gateway drops a second request with the same RequestId; ZNS documents no such dedupe, see providers/zns.py);
failed (no Zalo for the number, a template not approved, an invalid number, the day's quota spent) → FAILED with
the reason, and the next rung is due at once.

The requests of a batch get a wall-clock deadline in all (:func:`server.push.sender.batch_seconds`, within the
lease), as in the push worker: a provider that drips its answer must not hold the worker. A row without a complete
answer by then is retried later with the same tracking id (it may have gone: the SMS gateway drops the second one),
and the providers' sessions are aborted (their sockets shut down, the threads still waiting end) and replaced, with
the pool.

A worker that dies after the claim leaves leased rows; when the lease runs out the next worker sends them, with the
same tracking id.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from server.auth.models import ConsentRecord
from server.channels import ladder
from server.channels.models import ChannelDelivery
from server.channels.providers.base import OutboundMessage
from server.channels.providers.base import Provider
from server.channels.providers.base import ProviderResult
from server.channels.providers.base import Result
from server.channels.providers.base import provider_for
from server.consent.purposes import Channel
from server.consent.purposes import purpose_of
from server.extensions import db
from server.outbox import claim_due
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.sender import answers_within
from server.push.sender import backoff
from server.push.sender import batch_seconds
from server.types import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
PROVIDER_CHANNELS = (Channel.ZALO, Channel.SMS)


def _due_condition(now):
    return or_(
        and_(ChannelDelivery.status == DeliveryStatus.QUEUED, ChannelDelivery.next_attempt_at <= now),
        and_(ChannelDelivery.status == DeliveryStatus.SENDING, ChannelDelivery.lease_until < now),
    )


@dataclass
class Outgoing:
    """One claimed delivery, and the request body its provider prepared (None when it is not sent)."""

    delivery_id: int
    message_id: int
    attempts: int
    channel: Channel
    body: dict | None = None


@dataclass
class Outcome:
    status: DeliveryStatus
    reason: str | None = None
    until: object = None  #: HOLD: back in the queue until then, the attempt not counted
    result: ProviderResult | None = None


def _consents(rows) -> set[tuple]:
    """The consents in force on ZNS and SMS for the batch's accounts, and for its persons without one (their own,
    ``user_id`` NULL), in one query, as ("user"|"person", id, purpose, channel, address) keys."""
    user_ids = {row.user_id for row in rows if row.user_id is not None}
    person_ids = {row.person_id for row in rows if row.person_id is not None}
    if not user_ids and not person_ids:
        return set()
    whose = []
    if user_ids:
        whose.append(ConsentRecord.user_id.in_(user_ids))
    if person_ids:  # a follower without an account: their own consent, recorded at the desk (no user)
        whose.append(and_(ConsentRecord.user_id.is_(None), ConsentRecord.person_id.in_(person_ids)))
    found = db.session.execute(
        select(ConsentRecord.user_id, ConsentRecord.person_id, ConsentRecord.purpose, ConsentRecord.channel,
               ConsentRecord.address)
        .where(or_(*whose), ConsentRecord.channel.in_(PROVIDER_CHANNELS), ConsentRecord.granted.is_(True),
               ConsentRecord.withdrawn_at.is_(None)))
    keys = set()
    for record in found:
        if record.user_id is not None:
            keys.add(("user", record.user_id, record.purpose, record.channel, record.address))
        else:
            keys.add(("person", record.person_id, record.purpose, record.channel, record.address))
    return keys


def _consented(row, consents: set[tuple]) -> bool:
    purpose = purpose_of(row.kind)
    if purpose is None:
        return False
    return (("user", row.user_id, purpose, row.channel, row.phone_e164) in consents
            or ("person", row.person_id, purpose, row.channel, row.phone_e164) in consents)


class ProviderSender:
    """Sends ZNS and SMS deliveries; one per worker thread. ``providers`` defaults to the configured ones."""

    def __init__(self, providers: dict[Channel, Provider] | None = None) -> None:
        config = current_app.config
        self.app = current_app._get_current_object()
        self.batch_size = config["CHANNELS_BATCH_SIZE"]
        self.concurrency = config["PROVIDER_CONCURRENCY"]
        self.timeout = config["PROVIDER_TIMEOUT_SECONDS"]
        self.max_age = timedelta(hours=config["CHANNELS_MAX_AGE_HOURS"])
        if providers is None:
            providers = {channel: provider for channel in PROVIDER_CHANNELS
                         if (provider := provider_for(channel)) is not None}
        self.providers = providers
        self.pool = self._new_pool()

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="channels-http")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for provider in self.providers.values():
            provider.close()

    def _abandon_stragglers(self) -> None:
        """Requests outlived the batch's deadline: each provider aborts its session (the threads waiting on it end
        with a network error) and takes a new one; a new pool, never waiting for the old threads."""
        for provider in self.providers.values():
            renew = getattr(provider, "renew_session", None)
            if renew is not None:
                renew()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()

    def claim(self, limit: int | None = None) -> list[int]:
        """Lease up to ``limit`` due deliveries to this worker; returns their ids."""
        limit = limit or self.batch_size
        now = utcnow()
        # The lease outlasts the batch even if every request runs into the timeout (``concurrency`` at a time).
        lease_for = LEASE + timedelta(seconds=batch_seconds(limit, self.concurrency, self.timeout))
        return claim_due(ChannelDelivery, _due_condition(now), limit, now + lease_for)

    def send_batch(self, ids: list[int]) -> int:
        """Send claimed deliveries and record the outcomes in one commit; returns how many were handled. The
        requests get :func:`batch_seconds` of wall-clock time in all; a row without a complete answer by then is
        retried later, with the same tracking id."""
        outgoing, outcomes = self._prepare(ids)
        ready = [item for item in outgoing if item.delivery_id not in outcomes]
        deadline = batch_seconds(len(ready), self.concurrency, self.timeout)
        answered, stragglers = answers_within(self.pool, self._deliver, ready, deadline)
        for item, result in answered:
            outcomes[item.delivery_id] = _outcome_of(result)
        for item in stragglers:
            outcomes[item.delivery_id] = Outcome(DeliveryStatus.QUEUED, f"no complete answer within {deadline:g} s")
        if stragglers:
            log.warning("channels: %d requests without a complete answer within %g s", len(stragglers), deadline)
            self._abandon_stragglers()
        self._record(outgoing, outcomes)
        return len(outgoing)

    def _prepare(self, ids: list[int]) -> tuple[list[Outgoing], dict[int, Outcome]]:
        rows = db.session.execute(
            select(ChannelDelivery.id, ChannelDelivery.attempts, ChannelDelivery.created_at, ChannelDelivery.channel,
                   ChannelDelivery.phone_e164, ChannelDelivery.step, ChannelDelivery.tracking_id,
                   ChannelDelivery.shown_at, InboxMessage.id.label("message_id"), InboxMessage.user_id,
                   InboxMessage.person_id, InboxMessage.kind, InboxMessage.data, InboxMessage.reached_at)
            .join(InboxMessage, ChannelDelivery.message_id == InboxMessage.id)
            .where(ChannelDelivery.id.in_(ids)).order_by(ChannelDelivery.id)).all()
        consents = _consents(rows)
        now = utcnow()
        outgoing, outcomes = [], {}
        for row in rows:
            item = Outgoing(row.id, row.message_id, row.attempts, row.channel)
            outgoing.append(item)
            if row.shown_at is not None:
                # The provider reported it delivered while our request was still out, and then our side saw no
                # answer (a timeout: a retry). It reached the phone: sending it again would show it twice.
                outcomes[row.id] = Outcome(DeliveryStatus.SHOWN, None)
                continue
            verdict, until = ladder.gate(now, row.kind, row.step, row.reached_at)
            if verdict is ladder.Verdict.SKIP:
                outcomes[row.id] = Outcome(DeliveryStatus.SKIPPED, "the follower was reached by an earlier rung")
                continue
            if verdict is ladder.Verdict.HOLD:
                outcomes[row.id] = Outcome(DeliveryStatus.QUEUED, "quiet hours", until=until)
                continue
            # Consent is asked again now, whatever it was when the message was queued, for this very number.
            if not _consented(row, consents):
                outcomes[row.id] = Outcome(DeliveryStatus.WITHHELD,
                                           f"no consent in force on {row.channel.value} for this number")
                continue
            if now - row.created_at > self.max_age:
                hours = current_app.config["CHANNELS_MAX_AGE_HOURS"]
                outcomes[row.id] = Outcome(DeliveryStatus.FAILED, f"gave up after {hours} h ({row.attempts} attempts)")
                continue
            provider = self.providers.get(row.channel)
            if provider is None:  # queued while it was configured, no longer so: nothing is called
                outcomes[row.id] = Outcome(DeliveryStatus.FAILED, f"{row.channel.value} is not configured")
                continue
            try:
                item.body = provider.prepare(OutboundMessage(row.tracking_id, row.phone_e164, row.kind,
                                                             (row.data or {}).get("code")))
            except Exception as error:  # an unknown kind, say: fail this one, never the rest of the batch
                log.warning("channel delivery %s cannot be prepared: %r", row.id, error)
                outcomes[row.id] = Outcome(DeliveryStatus.FAILED, f"cannot be sent: {type(error).__name__}")
        return outgoing, outcomes

    def _deliver(self, item: Outgoing) -> ProviderResult:
        """One request, in a pool thread (no database here, only the prepared body and the provider's session)."""
        try:
            return self.providers[item.channel].deliver(item.body)
        except Exception as error:  # a bug in an adapter must not lose the batch's other outcomes
            log.warning("channel delivery %s: provider raised %r", item.delivery_id, error)
            return ProviderResult(Result.RETRY, reason=f"provider raised {type(error).__name__}")

    def _record(self, outgoing: list[Outgoing], outcomes: dict[int, Outcome]) -> None:
        """Every outcome in one executemany, the next rung brought forward where this one failed, one commit."""
        now = utcnow()
        changes, failed_messages, sent = [], set(), []
        for item in outgoing:
            outcome = outcomes[item.delivery_id]
            change = {"id": item.delivery_id, "status": outcome.status, "lease_until": None,
                      "last_error": outcome.reason}
            result = outcome.result
            try:
                if outcome.status is DeliveryStatus.SENT:
                    change.update(sent_at=now, provider=self.providers[item.channel].name,
                                  provider_message_id=result.provider_message_id, cost_vnd=result.cost_vnd)
                elif outcome.status is DeliveryStatus.QUEUED and outcome.until is not None:
                    change.update(next_attempt_at=outcome.until, attempts=max(0, item.attempts - 1))
                elif outcome.status is DeliveryStatus.QUEUED:
                    change["next_attempt_at"] = now + backoff(item.attempts, result.retry_after if result else None)
            except Exception as error:  # one row's outcome must never lose the batch's others (they would stay
                # SENDING, be claimed again after the lease and sent, and paid, twice): this one fails with the reason
                log.warning("channel delivery %s: cannot record %r", item.delivery_id, error)
                outcome = Outcome(DeliveryStatus.FAILED, f"cannot record: {type(error).__name__}: {error}")
                change = {"id": item.delivery_id, "status": outcome.status, "lease_until": None,
                          "last_error": outcome.reason}
            if outcome.status is DeliveryStatus.SENT:
                sent.append(item.delivery_id)
            elif outcome.status in (DeliveryStatus.FAILED, DeliveryStatus.WITHHELD):
                failed_messages.add(item.message_id)
            changes.append(change)
            if outcome.reason and outcome.until is None:
                log.info("channel delivery %s: %s (%s)", item.delivery_id, outcome.status.value, outcome.reason)
        if changes:
            db.session.execute(update(ChannelDelivery), changes)
        if sent:
            # A delivery callback that came before this record (a fast phone) left shown_at on a SENDING row.
            db.session.execute(update(ChannelDelivery)
                               .where(ChannelDelivery.id.in_(sent), ChannelDelivery.shown_at.is_not(None))
                               .values(status=DeliveryStatus.SHOWN).execution_options(synchronize_session=False))
        ladder.escalate_if_exhausted(failed_messages, now)
        db.session.commit()

    def drain(self, limit: int | None = None) -> int:
        """Send everything due now, ``limit`` (default ``CHANNELS_BATCH_SIZE``) at a time; returns how many."""
        handled = 0
        while True:
            ids = self.claim(limit)
            if not ids:
                # On PostgreSQL rows another worker is claiming are skipped, not waited for: go on while some are due.
                if db.session.scalar(select(ChannelDelivery.id).where(_due_condition(utcnow())).limit(1)) is None:
                    return handled
                time.sleep(0.01)
                continue
            handled += self.send_batch(ids)


def _outcome_of(result: ProviderResult) -> Outcome:
    if result.outcome is Result.ACCEPTED:
        return Outcome(DeliveryStatus.SENT, result.reason, result=result)
    if result.outcome is Result.RETRY:
        return Outcome(DeliveryStatus.QUEUED, result.reason, result=result)
    return Outcome(DeliveryStatus.FAILED, result.reason, result=result)


def send_pending(limit: int | None = None) -> int:
    """Drain the due ZNS and SMS deliveries once (the worker loop's step, ``flask channels send-pending``, tests)."""
    sender = ProviderSender()
    try:
        return sender.drain(limit)
    finally:
        sender.close()


def send_one_batch() -> bool:
    """One batch only (the push worker's loop: a backlog never keeps it from sending push and beating for long).
    Returns whether the batch was full (more may wait). With no provider configured nothing is called: a row of a
    channel no longer configured fails with the reason, and the ladder goes on to the next rung."""
    sender = ProviderSender()
    try:
        ids = sender.claim()
        if ids:
            sender.send_batch(ids)
        return len(ids) >= sender.batch_size
    finally:
        sender.close()
