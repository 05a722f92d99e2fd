"""What reaching the followers cost, per month and ward: messages by channel and outcome, how fast a result reached
its followers, the money spent on ZNS and SMS, and the SMS cost avoided.

**Why the SMS cost avoided is honest.** Without the app, a ward that wants every follower to hear about every
event sends one SMS per follower per event. That is what the inbox holds: one :class:`InboxMessage` per follower
per event (home-visit notices included, whatever reached them). So the baseline is every inbox message priced as
the SMS it would have been, at ``SMS_PRICE_VND`` per billed segment of :func:`server.channels.texts.sms_text` (the
text an SMS of the ladder carries, so the baseline and the real SMS are the same text), and from it we subtract
every đồng actually paid to ZNS and SMS providers (``ChannelDelivery.cost_vnd``, written when a provider accepted a
message at the configured price). What is left is money not spent.

What it does not claim: that the saved messages all reached someone. A push that was never shown, or a message that
stayed in the inbox because the follower has no working channel, would still have cost one SMS, and the SMS might
have been read; so the "reached within 1 hour / 24 hours" shares are shown beside it, and only receipts count as
reached (``InboxMessage.reached_at``: a "shown" or "opened" receipt, or a provider's delivery callback), never a
push service's acceptance. Nor does it price what is not billed per message (the Zalo Official Account, the
servers), nor the desk's phone calls for the followers nothing reached (DOMAIN.md §11 case 22).

Everything is counted by the database in one statement (a UNION ALL over the messages in range: the messages by
kind, the push deliveries, the ZNS/SMS deliveries), the same on SQLite and PostgreSQL. Python prices the SMS
baseline from the few (month, ward, kind, code length) groups: the text depends only on the kind and the dossier
code (server/push/texts.safe_of keeps nothing else), and a code is written in ASCII letters, digits, dots and
hyphens (server/dossiers/codes.format_code: one GSM-7 septet each), so its length alone fixes the number of
segments, and the text is priced with a code of that length.

Without an index on ``inbox_message.created_at`` each call reads the whole inbox table, however short the range.

The ward of a message is its dossier's agency, or for a home-visit notice (no dossier; ``data["visit_id"]``) the
visit's agency. Account messages (a passkey added) belong to no ward: they are counted under "no ward", and only
when every ward is asked for. The month is Viet Nam's calendar month of the message's creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta

from flask import current_app
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from server.channels.models import ChannelDelivery
from server.channels.texts import segments
from server.channels.texts import sms_text
from server.dossiers.models import Dossier
from server.dossiers.models import HomeVisit
from server.extensions import db
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.stats.service import Rate
from server.stats.service import local_midnight

CHANNELS = ("push", "zalo", "sms")
#: The outcomes shown, in the order of a delivery's life. A delivery being sent right now ("sending", a worker's
#: claim) is counted as queued: nobody has accepted it yet.
STATUSES = ("queued", "sent", "shown", "opened", "failed", "expired", "withheld", "skipped")
_STATUS_SHOWN_AS = {"sending": "queued"}
RESULT_KIND = "result_ready"
HOUR, DAY = 3600, 24 * 3600


class whole_seconds_between(FunctionElement):  # noqa: N801 - an SQL function, named as SQL names them
    """``later - earlier`` in whole seconds (each instant truncated to its second), on SQLite and PostgreSQL."""

    type = Integer()
    name = "whole_seconds_between"
    inherit_cache = True


@compiles(whole_seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER))"


@compiles(whole_seconds_between, "postgresql")
def _seconds_postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(FLOOR(EXTRACT(EPOCH FROM {later})) - FLOOR(EXTRACT(EPOCH FROM {earlier})))"


def _empty_deliveries() -> dict[str, dict[str, int]]:
    return {channel: dict.fromkeys(STATUSES, 0) for channel in CHANNELS}


@dataclass
class CostLine:
    """One month of one ward (``agency_id`` None: messages of no ward; or a total when ``month`` is None)."""

    month: date | None
    agency_id: int | None
    messages: int = 0  #: inbox messages: one per follower per event
    deliveries: dict[str, dict[str, int]] = field(default_factory=_empty_deliveries)  #: channel -> status -> count
    results: int = 0  #: "result_ready" messages
    results_within_hour: int = 0  #: of them, reached within 1 hour of the message
    results_within_day: int = 0  #: of them, reached within 24 hours
    spent_zns_vnd: int = 0
    spent_sms_vnd: int = 0
    sms_segments: int = 0  #: SMS segments every message sent by SMS alone would have taken
    sms_alone_vnd: int = 0  #: what those would have cost at SMS_PRICE_VND

    @property
    def within_hour(self) -> Rate:
        return Rate(self.results_within_hour, self.results)

    @property
    def within_day(self) -> Rate:
        return Rate(self.results_within_day, self.results)

    @property
    def spent_vnd(self) -> int:
        return self.spent_zns_vnd + self.spent_sms_vnd

    @property
    def sms_cost_avoided_vnd(self) -> int:
        """What SMS alone would have cost for every message, minus what was spent on ZNS and SMS."""
        return self.sms_alone_vnd - self.spent_vnd

    def add(self, other: CostLine) -> None:
        for name in ("messages", "results", "results_within_hour", "results_within_day", "spent_zns_vnd",
                     "spent_sms_vnd", "sms_segments", "sms_alone_vnd"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for channel, counts in other.deliveries.items():
            for status, count in counts.items():
                self.deliveries[channel][status] += count


def month_starts(start: date, end: date) -> list[date]:
    """The first day of every month that ``start``..``end`` touches."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _statement(start: date, end: date, agency_ids: list[int] | None):
    months = month_starts(start, end)
    start_at, end_at = local_midnight(start), local_midnight(end + timedelta(days=1))
    created = InboxMessage.created_at
    # The month's index by comparing with the local month boundaries: no time-zone arithmetic in SQL.
    month_index = (case(*((created < local_midnight(following), index) for index, following in enumerate(months[1:])),
                        else_=len(months) - 1) if len(months) > 1 else literal_column("0", Integer))
    ward = func.coalesce(Dossier.agency_id, HomeVisit.agency_id)
    # The JSON of a message is read only for the few without a dossier (reading it costs more than the rest of the
    # scan); a dossier message's code is its dossier's, set once at reception (server/dossiers/services.py) and
    # the one its data holds. A message sent before its dossier had a code is priced with the code: no text
    # reaches a second segment with any code a dossier can hold (tests/test_reach_costs.py), so the price is the
    # same.
    visit_id = case((InboxMessage.dossier_id.is_(None), InboxMessage.data["visit_id"].as_integer()))
    scoped = (select(InboxMessage.id.label("message_id"), month_index.label("month"), ward.label("ward"),
                     InboxMessage.kind.label("kind"), func.length(Dossier.code).label("code_length"),
                     whole_seconds_between(InboxMessage.reached_at, created).label("reach_seconds"))
              .select_from(InboxMessage)
              .outerjoin(Dossier, Dossier.id == InboxMessage.dossier_id)
              .outerjoin(HomeVisit, HomeVisit.id == visit_id)
              .where(created >= start_at, created < end_at))
    if agency_ids is not None:
        scoped = scoped.where(ward.in_(agency_ids))
    scoped = scoped.cte("scoped")

    no_text, no_number, zero = cast(null(), String), cast(null(), Integer), literal_column("0", Integer)
    # Columns: channel (NULL for the inbox rows), month, ward, kind, code length, status, count, reached within an
    # hour, within a day, money spent.
    inbox = (select(no_text, scoped.c.month, scoped.c.ward, scoped.c.kind, scoped.c.code_length, no_text,
                    func.count(), func.count(case((scoped.c.reach_seconds <= HOUR, 1))),
                    func.count(case((scoped.c.reach_seconds <= DAY, 1))), zero)
             .group_by(scoped.c.month, scoped.c.ward, scoped.c.kind, scoped.c.code_length))
    push = (select(literal_column("'push'", String), scoped.c.month, scoped.c.ward, no_text, no_number,
                   cast(PushDelivery.status, String), func.count(), zero, zero, zero)
            .join(PushDelivery, PushDelivery.message_id == scoped.c.message_id)
            .group_by(scoped.c.month, scoped.c.ward, PushDelivery.status))
    providers = (select(cast(ChannelDelivery.channel, String), scoped.c.month, scoped.c.ward, no_text, no_number,
                        cast(ChannelDelivery.status, String), func.count(), zero, zero,
                        func.coalesce(func.sum(ChannelDelivery.cost_vnd), 0))
                 .join(ChannelDelivery, ChannelDelivery.message_id == scoped.c.message_id)
                 .group_by(scoped.c.month, scoped.c.ward, ChannelDelivery.channel, ChannelDelivery.status))
    return months, union_all(inbox, push, providers)


#: The kind of a citizen's own test message (server/channels/reach.py).
TEST_KIND = "channel_test"


def monthly(start: date, end: date, agency_ids: list[int] | None = None) -> list[CostLine]:
    """The figures per (month, ward) for the messages created on Viet Nam's dates ``start``..``end`` (inclusive),
    by month, then ward id (no ward last). With ``agency_ids`` every month of every ward asked for has its line,
    zero or not; with None (every ward) only the wards that had messages, and "no ward" for account messages."""
    months, statement = _statement(start, end, agency_ids)
    price = current_app.config["SMS_PRICE_VND"]
    lines: dict[tuple[int, int | None], CostLine] = {}
    if agency_ids is not None:
        for index, month in enumerate(months):
            for agency_id in sorted(set(agency_ids)):
                lines[(index, agency_id)] = CostLine(month, agency_id)
    for channel, index, ward, kind, code_length, status, count, within_hour, within_day, cost in (
            db.session.execute(statement)):
        line = lines.setdefault((index, ward), CostLine(months[index], ward))
        if channel is None:
            if kind == TEST_KIND:
                # A test the citizen asked for ("Gửi thử thông báo") replaces no SMS: not in the baseline (what it
                # cost on ZNS or SMS is still spent, in the line of its month).
                continue
            line.messages += count
            parts = segments(sms_text(kind, {"code": "0" * (code_length or 0)})) * count
            line.sms_segments += parts
            line.sms_alone_vnd += parts * price
            if kind == RESULT_KIND:
                line.results += count
                line.results_within_hour += within_hour
                line.results_within_day += within_day
            continue
        line.deliveries[channel][_STATUS_SHOWN_AS.get(status, status)] += count
        if channel == "zalo":
            line.spent_zns_vnd += cost
        elif channel == "sms":
            line.spent_sms_vnd += cost
    return [lines[key] for key in sorted(lines, key=lambda key: (key[0], key[1] is None, key[1] or 0))]


def total(lines: list[CostLine]) -> CostLine:
    """The lines added up (month and ward None)."""
    summed = CostLine(None, None)
    for line in lines:
        summed.add(line)
    return summed
