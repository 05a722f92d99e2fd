"""The channel ladder: which channels a kind of message tries, in which order, how long each waits for a receipt
before the next one is tried, and the quiet hours.

A policy is data (setting ``NOTIFY_LADDERS``): for each kind, a list of rungs ``[channel, seconds]``, where the
seconds are how long to wait for a "shown" receipt before the next rung is due. For example the result of a
dossier: Web Push, then Zalo ZNS 2 hours later if no push was shown, then SMS 22 hours after that. The rungs a
follower cannot use (no app subscription, no consent on that channel, no phone number, a channel not configured)
are left out of *their* ladder, so the elderly owner with a basic phone is written to by ZNS or SMS at once.

Every rung is written in the event's transaction as delivery rows with the time they fall due
(:func:`plan`); the workers claim them when due and ask :func:`gate` whether to send, to hold them (quiet hours)
or to skip them (the follower was reached already). No timer lives in a process: a worker that dies loses nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from server.calendar.workdays import to_local
from server.channels.models import ChannelDelivery
from server.consent.purposes import Channel
from server.extensions import db
from server.push.models import FINAL_FAILURES
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery


@dataclass(frozen=True)
class Rung:
    channel: Channel
    #: How long to wait for a receipt ("shown") from this rung before the next rung is due.
    wait: timedelta


@dataclass(frozen=True)
class PlannedRung:
    channel: Channel
    step: int  #: its index in the follower's own ladder (0 is due at once)
    due_at: datetime


class Verdict(enum.Enum):
    SEND = "send"
    HOLD = "hold"  #: quiet hours: back to the queue until the morning, no attempt counted
    SKIP = "skip"  #: the follower was reached by an earlier rung: this one is not needed


def ladder_for(kind: str) -> tuple[Rung, ...]:
    """The rungs configured for ``kind`` (or for ``"default"``), in order."""
    ladders = current_app.config["NOTIFY_LADDERS"]
    rungs = ladders.get(kind, ladders["default"])
    return tuple(Rung(Channel(channel), timedelta(seconds=int(seconds))) for channel, seconds in rungs)


def is_urgent(kind: str) -> bool:
    """Urgent kinds go out in the quiet hours too (a passkey nobody asked for, a visit cancelled for tomorrow)."""
    return kind in current_app.config["NOTIFY_URGENT_KINDS"]


def enabled_channels(kind: str | None = None) -> frozenset[Channel]:
    """The channels this server sends on (for ``kind``): push always (its keys are checked at start in
    production), ZNS only when it is configured and (for a kind) the kind has an approved template, SMS only when
    its gateway is configured. No provider is called unless configured."""
    config = current_app.config
    channels = {Channel.PUSH}
    templates = config.get("ZNS_TEMPLATES") or {}
    if config.get("ZNS_ACCESS_TOKEN") and config.get("ZNS_API_URL") and (kind is None or templates.get(kind)):
        channels.add(Channel.ZALO)
    if config.get("SMS_API_URL"):
        channels.add(Channel.SMS)
    return frozenset(channels)


def plan(kind: str, usable: set[Channel] | frozenset[Channel], now: datetime) -> list[PlannedRung]:
    """The follower's ladder: the configured rungs they can use, each due when the waits of the rungs before it in
    *their* ladder have passed (the first at once). A channel appears once (the first rung naming it)."""
    planned, due, seen = [], now, set()
    for rung in ladder_for(kind):
        if rung.channel not in usable or rung.channel in seen:
            continue
        seen.add(rung.channel)
        planned.append(PlannedRung(rung.channel, len(planned), due))
        due = due + rung.wait
    return planned


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, kind: str) -> datetime | None:
    """The end of the quiet hours (local time, ``QUIET_HOURS``, default 21:00 to 07:00) if ``now`` falls in them and
    ``kind`` is not urgent; None when the message may go now."""
    window = current_app.config.get("QUIET_HOURS")
    if not window or is_urgent(kind):
        return None
    start, end = (_clock(part) for part in window.split("-"))
    local = to_local(now)
    moment = local.time()
    in_window = (start <= moment or moment < end) if start > end else (start <= moment < end)
    if not in_window:
        return None
    morning = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning


def gate(now: datetime, kind: str, step: int, reached_at: datetime | None) -> tuple[Verdict, datetime | None]:
    """What a worker does with a claimed delivery of rung ``step``: skip a later rung once the follower was reached,
    hold anything non-urgent in the quiet hours, send otherwise. The first rung is never skipped (every device of
    the follower gets the push)."""
    if step > 0 and reached_at is not None:
        return Verdict.SKIP, None
    until = quiet_until(now, kind)
    if until is not None:
        return Verdict.HOLD, until
    return Verdict.SEND, None


def mark_reached(message_id: int, channel: Channel, at: datetime) -> bool:
    """Record the first receipt of a message (shown or opened, on any channel); later receipts keep the first.
    One conditional UPDATE, safe when two receipts race. Returns whether this one was the first. The caller
    commits."""
    result = db.session.execute(
        update(InboxMessage).where(InboxMessage.id == message_id, InboxMessage.reached_at.is_(None))
        .values(reached_at=at, reached_channel=channel.value).execution_options(synchronize_session=False))
    return result.rowcount == 1


def escalate_if_exhausted(message_ids: Iterable[int], now: datetime) -> int:
    """Bring the next rung forward to ``now`` for each message whose earlier rungs all ended without reaching the
    follower (failed, expired, withheld, skipped): nobody waits two hours for a "shown" receipt that a subscription
    already gone, a phone without Zalo or a refused template will never send. Call it after recording outcomes, in
    the same transaction; returns how many deliveries were brought forward."""
    ids = set(message_ids)
    if not ids:
        return 0
    rows = [(row.message_id, row.step, row.status, row.next_attempt_at, table, row.attempts)
            for table in (PushDelivery, ChannelDelivery)
            for row in db.session.execute(select(table.message_id, table.step, table.status, table.next_attempt_at,
                                                 table.attempts)
                                          .where(table.message_id.in_(ids)))]
    reached = set(db.session.scalars(select(InboxMessage.id).where(InboxMessage.id.in_(ids),
                                                                   InboxMessage.reached_at.is_not(None))))
    moved = 0
    for message_id in ids - reached:
        mine = [row for row in rows if row[0] == message_id]
        for step in sorted({row[1] for row in mine}):
            at_step = [row for row in mine if row[1] == step]
            if all(row[2] in FINAL_FAILURES for row in at_step):
                continue  # this rung is over: look at the next one
            # Only rows never tried: a rung already under way keeps its retries' back-off (a 503 is not a reason
            # to hammer the push service again at once).
            for table in {row[4] for row in at_step
                          if row[2] is DeliveryStatus.QUEUED and row[3] > now and row[5] == 0}:
                result = db.session.execute(
                    update(table).where(table.message_id == message_id, table.step == step,
                                        table.status == DeliveryStatus.QUEUED, table.next_attempt_at > now,
                                        table.attempts == 0)
                    .values(next_attempt_at=now).execution_options(synchronize_session=False))
                moved += result.rowcount
            break  # the first rung still alive: it is due now (or is being tried); later ones wait for it
    return moved
