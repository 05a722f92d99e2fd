"""Subscription health (stale subscriptions retired, a launch brings them back), the citizen's page of what reaches
them with "Gửi thử thông báo", and the desk's followers without a working channel and paper consents."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import AuditEvent
from server.auth.models import ConsentRecord
from server.auth.models import Role
from server.channels.models import ChannelDelivery
from server.consent.purposes import Channel
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push import health
from server.push import sender as sender_module
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.models import WorkerHeartbeat
from server.push.sender import PushSender
from server.reference.models import Agency
from server.types import utcnow
from server.web.formats import day_text
from tests.helpers import consent_to_push
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Mobile Safari/537.36")


@pytest.fixture
def citizen(app):
    user = make_user(Role.CITIZEN, None, "Nguyễn Văn An")
    user.person = Person(full_name="Nguyễn Văn An", phone_e164="+84912345678")
    db.session.commit()
    return user


def _subscribe(client, push, user_agent: str = ANDROID_CHROME) -> PushSubscription:
    info = push.subscribe()
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.put("/api/v1/push/subscriptions", json=info, headers={"X-CSRFToken": token,
                                                                           "User-Agent": user_agent})
    assert response.status_code in (200, 201), response.get_json()
    return db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == info["endpoint"]))


def _sent_push(subscription: PushSubscription, sent_at, shown_at=None) -> PushDelivery:
    message = InboxMessage(user_id=subscription.user_id, kind="received", data={"code": "X"}, created_at=sent_at)
    delivery = PushDelivery(subscription=subscription, status=DeliveryStatus.SHOWN if shown_at else DeliveryStatus.SENT,
                            sent_at=sent_at, shown_at=shown_at, created_at=sent_at, attempts=1)
    message.deliveries.append(delivery)
    db.session.add(message)
    db.session.commit()
    return delivery


# --- subscription health -------------------------------------------------------------------------------------------

def test_a_subscription_not_seen_for_sixty_days_is_retired_and_the_next_launch_brings_it_back(app, client, citizen,
                                                                                             push):
    sign_in(client, citizen)
    subscription = _subscribe(client, push)
    seen = subscription.last_seen_at
    waiting = InboxMessage(user_id=citizen.id, kind="received", data={"code": "X"})
    waiting.deliveries.append(PushDelivery(subscription=subscription, next_attempt_at=seen + timedelta(days=90)))
    db.session.add(waiting)
    db.session.commit()

    assert health.retire_stale(seen + timedelta(days=59)) == {"not_seen": 0, "not_shown": 0}
    assert health.retire_stale(seen + timedelta(days=61)) == {"not_seen": 1, "not_shown": 0}
    db.session.commit()
    db.session.expire_all()
    assert subscription.retired_at == seen + timedelta(days=61) and subscription.retired_reason == "not_seen"
    # What waited for it goes nowhere now: expired, so that the ladder's next rung is due.
    [delivery] = waiting.deliveries
    assert delivery.status is DeliveryStatus.EXPIRED and "retired" in delivery.last_error
    assert health.retire_stale(seen + timedelta(days=62)) == {"not_seen": 0, "not_shown": 0}  # once

    again = _subscribe_same(client, subscription)
    assert again.retired_at is None and again.retired_reason is None and again.last_seen_at > seen


def _subscribe_same(client, subscription: PushSubscription) -> PushSubscription:
    """The app's launch: the same endpoint PUT again (upserted)."""
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.put("/api/v1/push/subscriptions", headers={"X-CSRFToken": token}, json={
        "endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}})
    assert response.status_code == 200 and response.get_json()["created"] is False
    db.session.expire_all()
    return db.session.get(PushSubscription, subscription.id)


def test_three_pushes_that_never_showed_retire_a_subscription_after_the_grace_period(app, client, citizen, push):
    sign_in(client, citizen)
    subscription = _subscribe(client, push)
    start = subscription.last_seen_at + timedelta(minutes=1)
    for hours in (0, 1):
        _sent_push(subscription, start + timedelta(hours=hours))
    assert health.retire_stale(start + timedelta(days=5))["not_shown"] == 0  # only two so far
    _sent_push(subscription, start + timedelta(hours=2))
    # The third is still within the grace period: its receipt may be waiting in the phone's outbox.
    assert health.retire_stale(start + timedelta(hours=2 + 23))["not_shown"] == 0
    assert health.retire_stale(start + timedelta(hours=2 + 25))["not_shown"] == 1
    db.session.commit()
    db.session.expire_all()
    assert subscription.retired_reason == "not_shown"


def test_a_push_shown_keeps_a_subscription_alive(app, client, citizen, push):
    sign_in(client, citizen)
    subscription = _subscribe(client, push)
    start = subscription.last_seen_at + timedelta(minutes=1)
    # One of the last three showed.
    _sent_push(subscription, start, shown_at=start + timedelta(seconds=5))
    for hours in (1, 2):
        _sent_push(subscription, start + timedelta(hours=hours))
    assert health.retire_stale(start + timedelta(days=3))["not_shown"] == 0
    # Three unshown, but a later push (within the grace period) showed: something was shown since.
    for hours in (3, 4, 5):
        _sent_push(subscription, start + timedelta(hours=hours))
    later = start + timedelta(hours=40)
    _sent_push(subscription, later, shown_at=later + timedelta(seconds=3))
    assert health.retire_stale(later + timedelta(hours=1))["not_shown"] == 0
    # Without that receipt it would have been retired.
    db.session.execute(PushDelivery.__table__.update().where(PushDelivery.sent_at == later).values(shown_at=None))
    db.session.commit()
    assert health.retire_stale(later + timedelta(hours=1))["not_shown"] == 1


def test_a_launch_after_the_unshown_pushes_gives_the_subscription_a_fresh_start(app, client, citizen, push):
    sign_in(client, citizen)
    subscription = _subscribe(client, push)
    start = subscription.last_seen_at - timedelta(days=3)  # three pushes before the app was last opened
    for hours in (0, 1, 2):
        _sent_push(subscription, start + timedelta(hours=hours))
    assert health.retire_stale(utcnow() + timedelta(days=2))["not_shown"] == 0


def test_the_health_check_runs_at_most_every_interval_and_from_the_worker_loop(app, client, citizen, push,
                                                                                monkeypatch):
    app.config["PUSH_HEALTH_INTERVAL_MINUTES"] = 60
    now = utcnow()
    assert health.check_if_due(now) == {"not_seen": 0, "not_shown": 0}
    assert health.check_if_due(now + timedelta(minutes=30)) is None
    assert health.check_if_due(now + timedelta(minutes=61)) is not None

    sign_in(client, citizen)
    subscription = _subscribe(client, push)
    subscription.last_seen_at = utcnow() - timedelta(days=61)
    db.session.execute(WorkerHeartbeat.__table__.update().values(beat_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    stop = threading.Event()

    def one_loop(self, limit=None):
        stop.set()
        return 0

    monkeypatch.setattr(PushSender, "drain", one_loop)
    sender_module.run_worker(app, stop, poll_seconds=0)
    db.session.expire_all()
    assert db.session.get(PushSubscription, subscription.id).retired_reason == "not_seen"


# --- the citizen's channels page -----------------------------------------------------------------------------------

def _page(client) -> str:
    response = client.get("/account/channels")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_without_app_or_phone_consent_only_the_inbox_reaches_me(app, client, citizen):
    sign_in(client, citizen)
    page = _page(client)
    assert "Hộp thư trong ứng dụng" in page and "Chưa có kênh nào ngoài hộp thư" in page
    assert "Bộ phận Một cửa để đăng ký nhận tin qua Zalo" in page and "Gửi thử thông báo</button>" not in page


def test_the_page_lists_each_device_and_the_numbers_consented_to(app, client, citizen, push):
    app.config.update(SMS_API_URL="http://127.0.0.1:9/sms")
    sign_in(client, citizen)
    consent_to_push(citizen, "dossier_updates")
    working = _subscribe(client, push)
    retired = _subscribe(client, push, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 "
                                       "(KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1")
    retired.retired_at, retired.retired_reason = utcnow(), "not_shown"
    db.session.add(ConsentRecord(user_id=citizen.id, person_id=citizen.person_id, purpose="dossier_updates",
                                 channel=Channel.SMS, address="+84912345678", text_version="2026-12-03",
                                 method="citizen_app"))
    db.session.commit()
    page = _page(client)
    assert "Chrome — Android" in page and "Safari — iPhone" in page
    assert f"lần cuối mở ứng dụng: {day_text(working.last_seen_at)}" in page  # dd/mm/yyyy
    assert page.count('data-state="working"') == 1 and page.count('data-state="retired"') == 1
    assert "không hoạt động" in page and "3 thông báo gần nhất không hiện lên máy" in page
    assert "Tin nhắn SMS đến số 0912 345 678" in page
    assert page.count("Gửi thử thông báo</button>") == 2 and "Chưa có kênh nào ngoài hộp thư" not in page


def test_a_test_notification_goes_to_every_working_device_now_and_its_state_shows(app, client, citizen, push):
    token = sign_in(client, citizen)
    consent_to_push(citizen, "account_security")  # any consent on push allows a test there
    working = _subscribe(client, push)
    retired = _subscribe(client, push)
    retired.retired_at, retired.retired_reason = utcnow(), "not_seen"
    db.session.commit()

    response = client.post("/account/channels/push/test", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/channels#channel-push")
    [message] = db.session.scalars(select(InboxMessage).where(InboxMessage.kind == "channel_test"))
    assert message.user_id == citizen.id and message.data == {"link": "/account/channels", "channel": "push"}
    assert [(d.subscription_id, d.step, d.status) for d in message.deliveries] == [
        (working.id, 0, DeliveryStatus.QUEUED)]
    assert "đang chờ gửi" in _page(client)

    assert PushSender().drain() == 1
    [received] = push.received
    assert received.payload["kind"] == "channel_test" and received.payload["url"] == "/account/channels"
    assert "Nguyễn" not in str(received.payload)
    assert "đã gửi đi, chưa thấy hiện lên máy" in _page(client)


def test_a_test_by_sms_goes_to_the_number_consented_to(app, client, citizen):
    app.config.update(SMS_API_URL="http://127.0.0.1:9/sms", QUIET_HOURS="00:00-23:59")
    token = sign_in(client, citizen)
    db.session.add(ConsentRecord(user_id=citizen.id, person_id=citizen.person_id, purpose="dossier_updates",
                                 channel=Channel.SMS, address="+84987654321", text_version="2026-12-03"))
    db.session.commit()
    before = utcnow()
    assert client.post("/account/channels/sms/test", data={"csrf_token": token}).status_code == 302
    [delivery] = db.session.scalars(select(ChannelDelivery))
    assert (delivery.channel, delivery.phone_e164, delivery.step, delivery.status) == (
        Channel.SMS, "+84987654321", 0, DeliveryStatus.QUEUED)
    assert before <= delivery.next_attempt_at <= utcnow()
    # The user asked and waits: quiet hours do not hold it (an urgent kind for the ladder's gate).
    from server.channels.ladder import quiet_until
    assert quiet_until(utcnow(), "channel_test") is None and quiet_until(utcnow(), "received") is not None


def test_a_zalo_test_needs_the_approved_test_template(app, client, citizen):
    app.config.update(ZNS_ACCESS_TOKEN="token", ZNS_TEMPLATES={"result_ready": "301"})
    token = sign_in(client, citizen)
    db.session.add(ConsentRecord(user_id=citizen.id, person_id=citizen.person_id, purpose="dossier_updates",
                                 channel=Channel.ZALO, address="+84912345678", text_version="2026-12-03"))
    db.session.commit()
    page = _page(client)
    assert "Zalo đến số 0912 345 678" in page and 'id="test-zalo-button"' not in page
    assert client.post("/account/channels/zalo/test", data={"csrf_token": token}).status_code == 422
    app.config["ZNS_TEMPLATES"] = {"result_ready": "301", "channel_test": "302"}
    assert 'id="test-zalo-button"' in _page(client)
    assert client.post("/account/channels/zalo/test", data={"csrf_token": token}).status_code == 302
    [delivery] = db.session.scalars(select(ChannelDelivery))
    assert (delivery.channel, delivery.phone_e164) == (Channel.ZALO, "+84912345678")
    assert "đang chờ gửi" in _page(client)


def test_tests_are_limited_per_hour_and_need_a_working_channel_and_the_csrf_token(app, client, citizen, push):
    token = sign_in(client, citizen)
    refused = client.post("/account/channels/push/test", data={"csrf_token": token})
    assert refused.status_code == 422 and "chưa báo được cho bạn" in refused.get_data(as_text=True)
    # A consent on push without a device, or a device without a consent, is no working channel either.
    _subscribe(client, push)
    assert client.post("/account/channels/push/test", data={"csrf_token": token}).status_code == 422
    consent_to_push(citizen)
    assert client.post("/account/channels/push/test", data={}).status_code == 400  # no CSRF token
    for _ in range(3):
        assert client.post("/account/channels/push/test", data={"csrf_token": token}).status_code == 302
    limited = client.post("/account/channels/push/test", data={"csrf_token": token})
    assert limited.status_code == 429
    assert "Bạn đã gửi thử 3 lần trong một giờ qua" in limited.get_data(as_text=True)
    assert db.session.query(InboxMessage).filter_by(kind="channel_test").count() == 3
    assert client.post("/account/channels/pigeon/test", data={"csrf_token": token}).status_code == 404


def test_parallel_tests_stay_within_the_hourly_limit(app, citizen):
    """Ten taps at once (each its own request and database session): the count of the last hour's tests and the new
    one are one step, so three go out, not ten."""
    app.config.update(SMS_API_URL="http://127.0.0.1:9/sms")
    db.session.add(ConsentRecord(user_id=citizen.id, person_id=citizen.person_id, purpose="dossier_updates",
                                 channel=Channel.SMS, address="+84912345678", text_version="2026-12-03"))
    db.session.commit()
    citizen_id, statuses, start = citizen.id, [], threading.Barrier(10)

    def tap():
        with app.app_context():
            own = app.test_client()
            token = sign_in(own, db.session.get(type(citizen), citizen_id))
            start.wait()
            statuses.append(own.post("/account/channels/sms/test", data={"csrf_token": token}).status_code)
            db.session.remove()

    taps = [threading.Thread(target=tap) for _ in range(10)]
    for thread in taps:
        thread.start()
    for thread in taps:
        thread.join()
    assert sorted(statuses) == [302] * 3 + [429] * 7, statuses
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ChannelDelivery)) == 3


def test_the_test_button_is_rate_limited_per_client_address(app, client, citizen, push):
    app.config.update(CHANNEL_TEST_RATE_LIMIT="2 per minute")
    token = sign_in(client, citizen)
    statuses = [client.post("/account/channels/push/test", data={"csrf_token": token}).status_code
                for _ in range(3)]
    assert statuses == [422, 422, 429]  # no working channel, then the address's limit before any database work


def test_a_test_is_sent_only_where_a_consent_is_in_force(app, citizen):
    from server.consent import services as consent

    assert consent.consenting([citizen.id], Channel.PUSH) == set()
    consent_to_push(citizen, "account_security")
    assert consent.consenting([citizen.id], Channel.PUSH) == {(citizen.id, "account_security"),
                                                             (citizen.id, "channel_test")}
    assert consent.consenting([citizen.id], Channel.ZALO) == set()


# --- the desk: followers no channel reaches, consents on paper -------------------------------------------------

@pytest.fixture
def dossier(app):
    found = make_dossier(State.RECEIVED, code="000.20.26.H26-261207-0101")
    found.owner.phone_e164 = "+84913000111"
    found.submitter = Person(full_name="Lê Văn Cường", phone_e164="+842437654321")  # a landline
    db.session.commit()
    return found


def _desk(client, dossier) -> str:
    response = client.get(f"/staff/dossiers/{dossier.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _unreached(page: str) -> str:
    """The list of followers to call (or the sentence saying there is none)."""
    return re.search(r'id="unreached">.*?</(ul|p)>', page, re.S).group(0)


def test_the_desk_sees_the_followers_no_channel_reaches_with_their_phone(app, client, dossier, push):
    relative = make_user(Role.CITIZEN, None, "Phạm Thị Dung")
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=relative.id, role=FollowRole.FOLLOWER))
    db.session.commit()
    sign_in(client, demo_user(Role.STAFF))
    page = _desk(client, dossier)
    assert "Người theo dõi chưa có kênh liên lạc" in page
    listed = _unreached(page)
    assert "Trần Thị Bình" in listed and 'href="tel:+84913000111"' in listed and "0913 000 111" in listed
    assert "Lê Văn Cường" in listed and "024 3765 4321" in listed  # a landline: the desk can still call it
    assert "Phạm Thị Dung" in listed and "không có số điện thoại" in listed

    # The relative turns push on (consent and a live subscription): reached.
    consent_to_push(relative)
    db.session.add(PushSubscription(user_id=relative.id, endpoint="https://push.example/r", p256dh="A" * 87,
                                    auth="A" * 22))
    db.session.commit()
    assert "Phạm Thị Dung" not in _unreached(_desk(client, dossier))
    # Retired, it no longer counts.
    db.session.execute(PushSubscription.__table__.update().values(retired_at=utcnow(), retired_reason="not_seen"))
    db.session.commit()
    assert "Phạm Thị Dung" in _unreached(_desk(client, dossier))


def test_the_desk_records_a_paper_consent_for_the_owner_without_an_account(app, client, dossier):
    app.config.update(SMS_API_URL="http://127.0.0.1:9/sms")
    staff = demo_user(Role.STAFF)
    token = sign_in(client, staff)
    page = _desk(client, dossier)
    assert 'id="pc-owner-phone" name="phone" maxlength="20" autocomplete="off" value="0913 000 111"' in page
    # The submitter's landline is not offered: it receives no Zalo or SMS.
    assert 'id="pc-submitter-phone" name="phone" maxlength="20" autocomplete="off" value=""' in page
    url = f"/staff/dossiers/{dossier.id}/person-consent"
    form = {"csrf_token": token, "action": "give", "person": "owner", "channel": "sms", "phone": "0913 000 111",
            "paper_signed": "yes"}
    response = client.post(url, data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith("#reach")
    [record] = db.session.scalars(select(ConsentRecord))
    assert (record.user_id, record.person_id, record.purpose, record.channel, record.address, record.method) == (
        None, dossier.owner_id, "dossier_updates", Channel.SMS, "+84913000111", "desk_paper")
    given = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "consent_given"))
    assert given.actor_id == staff.id and given.data["person_id"] == dossier.owner_id
    assert "+8491" not in str(given.data)  # the number stays in the consent, not in the audit trail
    page = _desk(client, dossier)
    assert "Trần Thị Bình" not in _unreached(page) and 'id="desk-consents"' in page
    assert client.post(url, data=form).status_code == 302  # the same paper twice: one consent
    assert db.session.query(ConsentRecord).count() == 1

    # Withdrawn at the desk: it ends now, and what waits for that number is withheld.
    waiting = InboxMessage(person_id=dossier.owner_id, kind="result_ready", data={"code": dossier.code})
    db.session.add(ChannelDelivery(message=waiting, channel=Channel.SMS, phone_e164="+84913000111"))
    db.session.commit()
    response = client.post(url, data={"csrf_token": token, "action": "withdraw", "person": "owner",
                                      "channel": "sms"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ConsentRecord, record.id).withdrawn_at is not None
    assert db.session.scalar(select(ChannelDelivery.status)) is DeliveryStatus.WITHHELD
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "consent_withdrawn")).data["stopped"] == 1
    assert "Trần Thị Bình" in _unreached(_desk(client, dossier))


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"phone": "024 3765 4321"}, "phone", "Cần số di động Việt Nam"),
    ({"phone": "0123 456 7890"}, "phone", "đã được chuyển sang 10 số"),
    ({"phone": ""}, "phone", "Vui lòng nhập số điện thoại."),
    ({"paper_signed": ""}, "paper_signed", "cần ký vào giấy thông báo"),
    ({"channel": "push"}, "channel", "Chọn Zalo hoặc tin nhắn SMS."),
    ({"person": "stranger"}, "person", "Chọn chủ hồ sơ hoặc người nộp hồ sơ chưa có tài khoản."),
])
def test_a_paper_consent_with_a_mistake_is_refused_with_a_clear_message(app, client, dossier, changes, field,
                                                                        message):
    token = sign_in(client, demo_user(Role.STAFF))
    form = {"csrf_token": token, "action": "give", "person": "owner", "channel": "zalo", "phone": "0913000111",
            "paper_signed": "yes", **changes}
    response = client.post(f"/staff/dossiers/{dossier.id}/person-consent", data=form)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.query(ConsentRecord).count() == 0


def test_only_the_desk_of_the_dossiers_ward_records_a_consent_and_only_for_a_person_without_account(
        app, client, dossier):
    url = f"/staff/dossiers/{dossier.id}/person-consent"
    form = {"action": "give", "person": "owner", "channel": "zalo", "phone": "0913000111", "paper_signed": "yes"}
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    token = sign_in(client, make_user(Role.STAFF, other_ward, "Cán bộ phường khác"))
    assert client.post(url, data={**form, "csrf_token": token}).status_code == 404
    token = sign_in(client, make_user(Role.CITIZEN, None, "Người dân"))
    assert client.post(url, data={**form, "csrf_token": token}).status_code == 403
    token = sign_in(client, demo_user(Role.STAFF))
    assert client.post(url, data=form).status_code == 400  # no CSRF token
    # The owner has an account of their own: they choose their channels in the app.
    owner_account = make_user(Role.CITIZEN, None, "Trần Thị Bình")
    owner_account.person_id = dossier.owner_id
    db.session.commit()
    refused = client.post(url, data={**form, "csrf_token": token})
    assert refused.status_code == 422 and "chưa có tài khoản" in refused.get_data(as_text=True)
    assert db.session.query(ConsentRecord).count() == 0
