"""The real cost (issue 14 point 6): messages by channel and outcome, the share of results that reached their
followers within 1 and 24 hours, the money spent on ZNS and SMS, and the SMS cost avoided, per month and ward.

Rows are written directly (no worker runs), with times across two Vietnamese months and two wards, a home-visit
notice, an account message of no ward and a dossier code long enough to take two SMS segments.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.channels import costs
from server.channels.models import ChannelDelivery
from server.channels.texts import segments
from server.channels.texts import sms_text
from server.consent.purposes import Channel
from server.dossiers.models import Dossier
from server.dossiers.models import HomeServiceReason
from server.dossiers.models import HomeVisit
from server.dossiers.models import Person
from server.dossiers.workflow import State
from server.extensions import db
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.notify import KINDS
from server.reference.models import Agency
from server.stats.service import local_midnight
from server.types import utcnow
from server.web.formats import money_text
from server.web.formats import number_text
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import sign_in

CODE_A = "000.20.26.H26-261001-0001"
#: No real code is this long (Dossier.code holds 64 characters): a result about it would take two SMS segments.
LONG_CODE = "B" * 140
CODE_B = "000.20.27.H26-261101-0001"
OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
S = DeliveryStatus


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_sms_segments_of_each_kind_and_at_the_limits():
    # GSM-7: 160 characters in one SMS, then 153 per part; UCS-2 (a Vietnamese mark): 70, then 67.
    assert [segments("a" * n) for n in (1, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert [segments("ồ" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert segments("Mot Cua Tai Nha: Ho so " + LONG_CODE + " da co ket qua.") == 2


def test_every_kind_with_a_real_code_is_one_plain_sms(app):
    # No kind's text takes two segments, even with the longest code a dossier can hold, and folding keeps each in
    # GSM-7 (else a single SMS would hold only 70 characters).
    longest = Dossier.code.type.length * "0"
    for kind in KINDS:
        text = sms_text(kind, {"code": longest})
        assert segments(text) == 1 and len(text) <= 160 and segments(text + "x" * (160 - len(text))) == 1, kind
    assert sms_text("result_ready", {"code": LONG_CODE}) == f"Mot Cua Tai Nha: Ho so {LONG_CODE} da co ket qua."


def test_money_and_numbers_in_the_clerks_format(app):
    assert number_text(1234567) == "1.234.567" and number_text(0) == "0" and number_text(-1100) == "-1.100"
    with force_locale("vi"):
        assert money_text(4800) == "4.800 đ"
    with force_locale("en"):
        assert money_text(1234567) == "1.234.567 VND"


@pytest.fixture
def wards(app):
    """Ward A (the demo ward) and ward B, with messages in October and November 2026 (Viet Nam's months)."""
    app.config["SMS_PRICE_VND"] = 800
    ward_a = demo_agency()
    ward_b = Agency(agency_code="000.20.27.H26", name_vi="Phường Hai", name_en="Ward Two")
    db.session.add(ward_b)
    citizen = User(role=Role.CITIZEN, display_name="Nguyễn Thị Lan")
    db.session.add(citizen)
    db.session.commit()
    dossier_a = make_dossier(State.RECEIVED, code=CODE_A)
    dossier_b = make_dossier(State.RECEIVED, code=CODE_B)
    dossier_b.agency = ward_b
    visit = HomeVisit(agency_id=ward_a.id, person=Person(full_name="Lê Văn Tư"), address="Số 3 ngõ Chợ",
                      reason=HomeServiceReason.ELDERLY)
    db.session.add(visit)
    db.session.commit()

    def message(kind, created_at, reached_after=None, dossier=dossier_a, data=None, push=(), channels=()):
        row = InboxMessage(user_id=citizen.id, dossier_id=dossier.id if dossier else None, kind=kind,
                           data=data if data is not None else {"code": dossier.code}, created_at=created_at,
                           reached_at=created_at + reached_after if reached_after is not None else None)
        db.session.add(row)
        db.session.flush()
        for status in push:
            db.session.add(PushDelivery(message_id=row.id, status=status))
        for channel, status, cost in channels:
            db.session.add(ChannelDelivery(message_id=row.id, channel=channel, phone_e164="+84912345678",
                                           status=status, cost_vnd=cost))
        return row

    # Ward A, October: four results (reached after 30 min, exactly 1 h, 5 h, never) and two other messages, the
    # last at 23:59 on 31 October in Viet Nam (16:59 UTC).
    oct_10 = utc(2026, 10, 10, 2)  # 09:00 in Viet Nam
    message("result_ready", oct_10, timedelta(minutes=30), push=[S.SHOWN])
    message("result_ready", oct_10, timedelta(hours=1), push=[S.OPENED])
    message("result_ready", oct_10, timedelta(hours=5), push=[S.SENT], channels=[(Channel.ZALO, S.SHOWN, 300)])
    message("result_ready", oct_10, push=[S.SENT], channels=[(Channel.ZALO, S.FAILED, 0), (Channel.SMS, S.SENT, 800)])
    message("received", utc(2026, 10, 5, 3), push=[S.EXPIRED])
    message("received", utc(2026, 10, 31, 16, 59))
    # Ward A, November: at 00:30 on 1 November in Viet Nam (still 31 October in UTC), two pushes not yet accepted,
    # and a home-visit notice (no dossier) whose SMS had no consent and whose ZNS was not needed.
    message("extended", utc(2026, 10, 31, 17, 30), push=[S.QUEUED, S.SENDING])
    message("visit_scheduled", utc(2026, 11, 15, 1), dossier=None, data={"visit_id": visit.id},
            channels=[(Channel.SMS, S.WITHHELD, 0), (Channel.ZALO, S.SKIPPED, 0)])
    # Ward B, November: a result reached after 25 hours by SMS, and a message reached at once that is not a result
    # (not in the shares).
    message("result_ready", utc(2026, 11, 20, 4), timedelta(hours=25), dossier=dossier_b,
            channels=[(Channel.SMS, S.SHOWN, 800)])
    message("received", utc(2026, 11, 2, 4), timedelta(minutes=1), dossier=dossier_b, push=[S.SHOWN])
    # No ward: a passkey added to the account, in November.
    message("passkey_added", utc(2026, 11, 3, 4), dossier=None, data={"link": "/account/passkeys"})
    # Outside October-November: 00:00 on 1 December in Viet Nam.
    message("result_ready", utc(2026, 11, 30, 17), timedelta(minutes=1), channels=[(Channel.SMS, S.SENT, 800)])
    db.session.commit()
    return ward_a.id, ward_b.id


def _figures(line: costs.CostLine) -> dict:
    nonzero = {f"{channel}/{status}": count for channel, counts in line.deliveries.items()
               for status, count in counts.items() if count}
    return {"messages": line.messages, "results": line.results, "hour": line.results_within_hour,
            "day": line.results_within_day, "zns": line.spent_zns_vnd, "sms": line.spent_sms_vnd,
            "segments": line.sms_segments, "alone": line.sms_alone_vnd, "avoided": line.sms_cost_avoided_vnd,
            "deliveries": nonzero}


OCT_A = {"messages": 6, "results": 4, "hour": 2, "day": 3, "zns": 300, "sms": 800, "segments": 6, "alone": 4800,
         "avoided": 3700, "deliveries": {"push/shown": 1, "push/opened": 1, "push/sent": 2, "push/expired": 1,
                                         "zalo/shown": 1, "zalo/failed": 1, "sms/sent": 1}}
NOV_A = {"messages": 2, "results": 0, "hour": 0, "day": 0, "zns": 0, "sms": 0, "segments": 2, "alone": 1600,
         "avoided": 1600, "deliveries": {"push/queued": 2, "sms/withheld": 1, "zalo/skipped": 1}}
NOV_B = {"messages": 2, "results": 1, "hour": 0, "day": 0, "zns": 0, "sms": 800, "segments": 2, "alone": 1600,
         "avoided": 800, "deliveries": {"sms/shown": 1, "push/shown": 1}}
NOTHING = {"messages": 0, "results": 0, "hour": 0, "day": 0, "zns": 0, "sms": 0, "segments": 0, "alone": 0,
           "avoided": 0, "deliveries": {}}
NO_WARD_NOV = {**NOTHING, "messages": 1, "segments": 1, "alone": 800, "avoided": 800}


def test_figures_per_month_and_ward(wards):
    ward_a, ward_b = wards
    lines = costs.monthly(date(2026, 10, 1), date(2026, 11, 30), [ward_b, ward_a])
    assert [(line.month, line.agency_id) for line in lines] == [(OCT, ward_a), (OCT, ward_b), (NOV, ward_a),
                                                                (NOV, ward_b)]
    assert [_figures(line) for line in lines] == [OCT_A, NOTHING, NOV_A, NOV_B]
    assert lines[0].within_hour.percent(1) == "50,0%" and lines[0].within_day.percent(1) == "75,0%"
    assert lines[2].within_hour.percent(1) == "—"  # no result in November in ward A: nothing to divide

    # Every ward: only the wards with messages, and the account message under "no ward", last.
    everything = costs.monthly(date(2026, 10, 1), date(2026, 11, 30), None)
    assert [(line.month, line.agency_id) for line in everything] == [(OCT, ward_a), (NOV, ward_a), (NOV, ward_b),
                                                                     (NOV, None)]
    assert [_figures(line) for line in everything] == [OCT_A, NOV_A, NOV_B, NO_WARD_NOV]
    summed = costs.total(everything)
    assert (summed.messages, summed.sms_alone_vnd, summed.spent_vnd, summed.sms_cost_avoided_vnd) == (
        11, 8800, 1900, 6900)

    # One ward: the other's messages and the account message are not counted.
    assert [_figures(line) for line in costs.monthly(date(2026, 10, 1), date(2026, 11, 30), [ward_b])] == [
        NOTHING, NOV_B]


def test_a_citizens_test_message_is_spent_but_replaces_no_sms(wards):
    """"Gửi thử thông báo" by SMS costs what it costs, and no SMS would have gone without it: spent, not in what
    SMS alone would have cost."""
    citizen = db.session.scalar(select(User).where(User.display_name == "Nguyễn Thị Lan"))
    test = InboxMessage(user_id=citizen.id, kind="channel_test", data={"link": "/account/channels"},
                        created_at=utc(2026, 11, 4, 4))
    db.session.add(test)
    db.session.flush()
    db.session.add(ChannelDelivery(message_id=test.id, channel=Channel.SMS, phone_e164="+84912345678",
                                   status=S.SENT, cost_vnd=800))
    db.session.commit()
    everything = costs.monthly(date(2026, 11, 1), date(2026, 11, 30), None)
    no_ward = everything[-1]
    assert no_ward.agency_id is None
    assert _figures(no_ward) == {**NO_WARD_NOV, "sms": 800, "avoided": 0, "deliveries": {"sms/sent": 1}}


def test_a_range_within_months_counts_only_its_days(wards):
    ward_a, _ward_b = wards
    # 10 October (09:00, the four results) to 1 November (00:30, "extended"): not the 5 October message, nor the
    # home visit of 15 November.
    october, november = costs.monthly(date(2026, 10, 10), date(2026, 11, 1), [ward_a])
    assert (october.month, october.messages, october.sms_alone_vnd) == (OCT, 5, 4000)
    assert october.deliveries["push"]["expired"] == 0
    assert (november.month, november.messages, november.deliveries["push"]["queued"]) == (NOV, 1, 2)
    # December alone: the message at 00:00 on its first day.
    (december,) = costs.monthly(date(2026, 12, 1), date(2026, 12, 31), [ward_a])
    assert (december.messages, december.results, december.results_within_hour, december.spent_sms_vnd) == (1, 1, 1, 800)


def test_a_text_of_two_segments_costs_two_sms(wards, monkeypatch):
    # No kind takes two segments today (above): were a result's text longer, each result would cost two SMS.
    ward_a, _ward_b = wards
    texts = costs.sms_text
    monkeypatch.setattr(costs, "sms_text", lambda kind, data: texts(kind, data) + (" " * 160 if kind ==
                                                                                    "result_ready" else ""))
    (october,) = costs.monthly(date(2026, 10, 1), date(2026, 10, 31), [ward_a])
    assert (october.sms_segments, october.sms_alone_vnd, october.sms_cost_avoided_vnd) == (10, 8000, 6900)


def test_the_price_is_the_setting(app, wards):
    ward_a, _ward_b = wards
    app.config["SMS_PRICE_VND"] = 1200
    (october,) = costs.monthly(date(2026, 10, 1), date(2026, 10, 31), [ward_a])
    assert (october.sms_alone_vnd, october.sms_cost_avoided_vnd) == (6 * 1200, 6 * 1200 - 1100)


def test_the_statistics_page_shows_them_per_month(app, client, wards):
    sign_in(client, demo_user(Role.STAFF))
    page = client.get("/staff/stats?period=custom&start=2026-10-01&end=2026-11-30").get_data(as_text=True)
    ward_a, ward_b = wards
    row = _row(page, f"stats-cost-2026-10-{ward_a}")
    assert '"messages">6<' in row and '"avoided"><strong>3.700 đ<' in row and "4.800 đ" in row
    assert "50,0%" in row and "(2/4)" in row and "75,0%" in row and '"spent-zns">300 đ<' in row
    assert f"Tháng 10/2026 · {demo_agency().name_vi}" in row
    november = _row(page, f"stats-cost-2026-11-{ward_a}")
    assert '"messages">2<' in november and '"avoided"><strong>1.600 đ<' in november
    push = _row(page, f"stats-push-2026-10-{ward_a}")
    assert 'data-status="sent">2<' in push and 'data-status="opened">1<' in push
    assert 'data-status="queued">2<' in _row(page, f"stats-push-2026-11-{ward_a}")
    assert f"stats-sms-2026-11-{ward_a}" in page and f"stats-zalo-2026-11-{ward_a}" in page
    # The ward's own figures only: not ward B's SMS, nor the account message.
    assert '"spent-sms">0 đ<' in november and f"stats-cost-2026-11-{ward_b}" not in page
    assert "stats-cost-2026-11-none" not in page
    assert 'id="figure-notifications">8<' in page and 'id="figure-sms-cost">5.300 đ<' in page
    client.set_cookie(app.config["LANGUAGE_COOKIE"], "en")
    english = client.get("/staff/stats?period=month&year=2026&month=10").get_data(as_text=True)
    assert "3.700 VND" in english and "Ward Two" not in english
    assert f"Month 10/2026 · {escape(demo_agency().name_en)}" in english


def test_the_dashboard_shows_this_month_and_last_month(app, client):
    app.config["SMS_PRICE_VND"] = 800
    citizen = User(role=Role.CITIZEN, display_name="Nguyễn Thị Lan")
    db.session.add(citizen)
    db.session.commit()
    dossier = make_dossier(State.RECEIVED, code=CODE_A)
    now = utcnow()
    this_month = _local_today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    # This month: a result reached within a second by SMS (800 đ spent); last month: two messages.
    created = max(now - timedelta(seconds=1), local_midnight(this_month))
    result = InboxMessage(user_id=citizen.id, dossier_id=dossier.id, kind="result_ready", data={"code": CODE_A},
                          created_at=created, reached_at=now)
    db.session.add(result)
    for day in (3, 4):
        db.session.add(InboxMessage(user_id=citizen.id, dossier_id=dossier.id, kind="received",
                                    data={"code": CODE_A}, created_at=local_midnight(last_month.replace(day=day))))
    db.session.flush()
    db.session.add(ChannelDelivery(message_id=result.id, channel=Channel.SMS, phone_e164="+84912345678",
                                   status=S.SHOWN, cost_vnd=800))
    db.session.commit()
    sign_in(client, demo_user(Role.STAFF))
    page = client.get("/staff").get_data(as_text=True)
    assert 'id="figure-messages">1<' in page and 'id="figure-sms-cost">0 đ<' in page  # 800 avoided, 800 spent
    assert 'id="figure-spent">800 đ<' in page and "100,0%" in page
    ward = demo_agency().id
    last = _row(page, f"dashboard-cost-{last_month:%Y-%m}-{ward}")
    assert '"messages">2<' in last and '"avoided"><strong>1.600 đ<' in last
    assert 'data-status="shown">1<' in _row(page, f"dashboard-sms-{this_month:%Y-%m}-{ward}")


def _local_today() -> date:
    from server.calendar.workdays import to_local

    return to_local(utcnow()).date()


def _row(page: str, row_id: str) -> str:
    start = page.index(f'id="{row_id}"')
    return page[start:page.index("</tr>", start)]
