"""Web Push end to end without the internet: our server, pywebpush, and a push service on loopback
(tests/push_service.py) that checks the VAPID JWT and decrypts what it receives."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from server.auth.models import Role
from server.dossiers import services
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push import keys
from server.push import sender as sender_module
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.notify import notify_dossier
from server.push.sender import BACKOFF_BASE_SECONDS
from server.push.sender import PushSender
from server.push.sender import payload_of
from server.types import utcnow
from tests import processes
from tests import push_service
from tests.drip_server import DripServer
from tests.helpers import consent_to_push
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in


@pytest.fixture
def citizen(app):
    """A citizen with an account who owns a dossier (received, with a code)."""
    user = make_user(Role.CITIZEN, None, "Nguyễn Văn An")
    user.person = Person(full_name="Nguyễn Văn An", personal_id="001089012345")
    dossier = make_dossier(State.RECEIVED, code="000.20.26.H26-261127-0007")
    dossier.owner = dossier.submitter = user.person
    db.session.flush()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=user.id, role=FollowRole.OWNER))
    db.session.commit()
    consent_to_push(user)
    return user, dossier


def subscribe(client, service) -> dict:
    info = service.subscribe()
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.put("/api/v1/push/subscriptions", json=info, headers={"X-CSRFToken": token})
    assert response.status_code in (200, 201), response.get_json()
    return info


def test_the_public_key_is_served_and_kept_out_of_the_repository(app, client):
    path, created = keys.init_keys(app)
    assert created and str(path).startswith(app.instance_path)  # instance/ is git-ignored
    assert path.stat().st_mode & 0o077 == 0
    key = client.get("/api/v1/push/key").get_json()["public_key"]
    assert len(push_service.b64url_decode(key)) == 65 and key == keys.public_key(app)
    assert keys.init_keys(app) == (path, False)


def test_production_needs_a_real_vapid_subject(app):
    app.config["APP_ENV"] = "production"
    for bad in (None, "", "admin@ubnd.vn", "mailto:push@motcua.invalid", "http://ubnd.vn"):
        app.config["VAPID_SUBJECT"] = bad
        with pytest.raises(keys.PushConfigError):
            keys.subject(app)
    app.config["VAPID_SUBJECT"] = "mailto:motcua@hbt.hanoi.gov.vn"
    assert keys.subject(app) == "mailto:motcua@hbt.hanoi.gov.vn"


def test_subscriptions_are_upserted_by_endpoint_and_private_addresses_refused(app, client, citizen):
    user, _ = citizen
    token = sign_in(client, user)
    info = {"endpoint": "https://127.0.0.1/push/x", "keys": push_service.PushService().subscribe()["keys"]}
    refused = client.put("/api/v1/push/subscriptions", json=info, headers={"X-CSRFToken": token})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "endpoint"
    info["endpoint"] = "http://push.example.com/x"
    assert client.put("/api/v1/push/subscriptions", json=info, headers={"X-CSRFToken": token}).status_code == 422
    app.config["PUSH_ALLOW_PRIVATE_ENDPOINTS"] = True
    info["endpoint"] = "http://127.0.0.1:9/push/x"
    first = client.put("/api/v1/push/subscriptions", json=info, headers={"X-CSRFToken": token})
    again = client.put("/api/v1/push/subscriptions", json=info, headers={"X-CSRFToken": token})
    assert (first.status_code, again.status_code) == (201, 200)
    assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 1
    assert client.put("/api/v1/push/subscriptions", json=info).status_code == 400  # no CSRF token
    info["keys"] = {"p256dh": "A" * 87, "auth": "A" * 22}  # the right length, not a point on the curve
    broken = client.put("/api/v1/push/subscriptions", json=info, headers={"X-CSRFToken": token})
    assert broken.status_code == 422 and broken.get_json()["errors"][0]["field"] == "keys.p256dh"


def test_one_unsendable_delivery_fails_alone(app, client, citizen, push):
    """A subscription whose key cannot be used (stored before keys were checked) must not hold up the others."""
    user, dossier = citizen
    db.session.add(PushSubscription(user_id=user.id, endpoint=f"{push.base_url}/push/broken", p256dh="A" * 87,
                                    auth="A" * 22))
    db.session.commit()
    sign_in(client, user)
    subscribe(client, push)
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert PushSender().drain() == 2
    statuses = sorted((d.status.value, d.last_error or "") for d in db.session.scalars(select(PushDelivery)))
    assert statuses[0][0] == "failed" and "cannot be sent" in statuses[0][1] and statuses[1][0] == "sent"
    assert len(push.received) == 1


def test_a_staff_transition_reaches_the_phone_encrypted_and_without_personal_data(app, client, citizen, push):
    user, dossier = citizen
    sign_in(client, user)
    subscribe(client, push)
    staff = demo_user(Role.STAFF)
    services.apply_action(dossier, Action.TRANSFER, staff, ActionRequest(actor_id=staff.id, actor_role="staff"))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(InboxMessage)) == 0  # an internal step: no message

    leader = demo_user(Role.LEADER)
    services.apply_action(dossier, Action.STOP, leader,
                          ActionRequest(actor_id=leader.id, actor_role="leader", reason="Người yêu cầu đã mất"))
    db.session.commit()
    assert PushSender().drain() == 1
    [received] = push.received
    assert received.payload["kind"] == "stopped" and received.payload["code"] == dossier.code
    text = str(received.payload)
    assert "Nguyễn" not in text and "001089012345" not in text and "mất" not in text
    assert received.headers["urgency"] == "high" and received.headers["ttl"] == str(7 * 24 * 3600)
    assert received.headers["topic"] == f"dossier-{dossier.id}"
    assert push.refused == []
    [delivery] = db.session.scalars(select(PushDelivery))
    assert delivery.status is DeliveryStatus.SENT and delivery.sent_at is not None


def test_a_gone_subscription_is_deleted(app, client, citizen, push):
    user, dossier = citizen
    sign_in(client, user)
    gone = subscribe(client, push)
    kept = subscribe(client, push)
    push.gone.add(gone["endpoint"].rsplit("/", 1)[-1])
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert PushSender().drain() == 2
    assert [s.endpoint for s in db.session.scalars(select(PushSubscription))] == [kept["endpoint"]]
    deliveries = {d.status.value: d for d in db.session.scalars(select(PushDelivery))}
    assert sorted(deliveries) == ["expired", "sent"]
    assert "410" in deliveries["expired"].last_error and deliveries["expired"].subscription_id is None


def test_a_busy_push_service_is_retried_after_its_retry_after(app, client, citizen, push):
    user, dossier = citizen
    sign_in(client, user)
    subscribe(client, push)
    push.scripted.append((503, {"Retry-After": "120"}))
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert PushSender().drain() == 1
    delivery = db.session.scalar(select(PushDelivery))
    assert delivery.status is DeliveryStatus.QUEUED and "503" in delivery.last_error
    assert delivery.next_attempt_at - utcnow() >= timedelta(seconds=110)  # Retry-After honoured
    assert PushSender().drain() == 0  # not due yet
    delivery.next_attempt_at = utcnow()
    db.session.commit()
    assert PushSender().drain() == 1
    assert len(push.received) == 1 and delivery.attempts == 2


def test_a_worker_killed_after_the_commit_still_sends_after_restart(app, client, citizen, push):
    user, dossier = citizen
    sign_in(client, user)
    subscribe(client, push)
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    crashed = PushSender()
    assert len(crashed.claim()) == 1  # claimed, then the process died before sending
    assert PushSender().drain() == 0  # its lease still holds: nobody sends it twice meanwhile
    delivery = db.session.scalar(select(PushDelivery))
    delivery.lease_until = utcnow() - timedelta(seconds=1)  # two minutes later
    db.session.commit()
    assert PushSender().drain() == 1
    assert len(push.received) == 1


def test_two_workers_send_a_thousand_notifications_once_each(app, citizen, push):
    user, dossier = citizen
    info = push.subscribe()
    subscription = PushSubscription(user_id=user.id, endpoint=info["endpoint"], p256dh=info["keys"]["p256dh"],
                                    auth=info["keys"]["auth"])
    db.session.add(subscription)
    for _ in range(1000):
        message = InboxMessage(user_id=user.id, dossier_id=dossier.id, kind="received", data={"code": dossier.code})
        message.deliveries.append(PushDelivery(subscription=subscription))
        db.session.add(message)
    db.session.commit()

    def work():
        with app.app_context():
            PushSender().drain(limit=20)
            db.session.remove()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    ids = sorted(r.payload["id"] for r in push.received)
    assert len(ids) == 1000 and len(set(ids)) == 1000
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(PushDelivery.status == DeliveryStatus.SENT)) == 1000


def test_the_payload_stays_small(app, citizen):
    user, dossier = citizen
    [message] = notify_dossier(dossier, "extended", due_at="2026-12-24T17:00:00+07:00")
    delivery = PushDelivery(id=123456, message=message)
    # Both forms (the app's fields and the declarative notification, tests/test_receipts.py) as the worker sends
    # them: well under the 4096 bytes a push service takes, encrypted.
    assert len(json.dumps(payload_of(delivery), separators=(",", ":")).encode()) < 1024


def test_the_inbox_lists_my_messages_and_marks_them_read(app, client, citizen):
    user, dossier = citizen
    notify_dossier(dossier, "supplement_requested")
    other = make_user(Role.CITIZEN, None, "Người khác")
    foreign = InboxMessage(user_id=other.id, dossier_id=dossier.id, kind="received", data={"code": dossier.code})
    db.session.add(foreign)
    db.session.commit()
    token = sign_in(client, user)
    inbox = client.get("/api/v1/push/inbox").get_json()
    assert inbox["unread"] == 1
    [message] = inbox["messages"]
    assert message["title"] == "Cần bổ sung hồ sơ" and dossier.code in message["body"]
    assert client.post(f"/api/v1/push/inbox/{foreign.id}/read", json={},
                       headers={"X-CSRFToken": token}).status_code == 404  # not mine
    assert client.post(f"/api/v1/push/inbox/{message['id']}/read", json={},
                       headers={"X-CSRFToken": token}).status_code == 204
    assert client.get("/api/v1/push/inbox").get_json()["unread"] == 0


def test_staff_see_what_became_of_a_dossiers_notifications(app, client, citizen, push):
    user, dossier = citizen
    citizen_client = app.test_client()
    sign_in(citizen_client, user)
    gone = subscribe(citizen_client, push)
    subscribe(citizen_client, push)
    push.gone.add(gone["endpoint"].rsplit("/", 1)[-1])
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    PushSender().drain()
    sign_in(client, demo_user(Role.STAFF))
    answer = client.get(f"/api/v1/push/dossiers/{dossier.id}").get_json()
    [notification] = answer["notifications"]
    assert notification["kind"] == "result_ready" and answer["sms_avoided"] == 1
    states = sorted((d["status"], d["last_error"] or "") for d in notification["deliveries"])
    assert states[0][0] == "expired" and "410" in states[0][1] and states[1][0] == "sent"
    sign_in(client, user)
    assert client.get(f"/api/v1/push/dossiers/{dossier.id}").status_code == 403  # not for citizens


def test_one_batch_records_each_answer_as_its_own(app, client, citizen, push):
    """201, 410 twice for one subscription, a refused connection and an unusable key, all in one claimed batch."""
    user, dossier = citizen
    sign_in(client, user)
    kept = subscribe(client, push)
    gone = subscribe(client, push)
    push.gone.add(gone["endpoint"].rsplit("/", 1)[-1])
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    db.session.add_all([
        PushSubscription(user_id=user.id, endpoint=f"http://127.0.0.1:{closed_port}/push/x",
                         p256dh=kept["keys"]["p256dh"], auth=kept["keys"]["auth"]),
        PushSubscription(user_id=user.id, endpoint=f"{push.base_url}/push/broken", p256dh="A" * 87, auth="A" * 22),
    ])
    db.session.commit()
    notify_dossier(dossier, "result_ready")
    notify_dossier(dossier, "extended", due_at="2026-12-24T17:00:00+07:00")
    db.session.commit()
    sender = PushSender()
    assert len(sender.claim()) == 8  # one batch
    db.session.execute(update(PushDelivery).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()  # as if that claim's worker had died: the same 8 come back as one batch
    assert sender.drain() == 8

    deliveries = list(db.session.scalars(select(PushDelivery).order_by(PushDelivery.id)))
    by_status = {}
    for delivery in deliveries:
        by_status.setdefault(delivery.status, []).append(delivery)
    assert {status: len(rows) for status, rows in by_status.items()} == {
        DeliveryStatus.SENT: 2, DeliveryStatus.EXPIRED: 2, DeliveryStatus.QUEUED: 2, DeliveryStatus.FAILED: 2}
    assert all(d.sent_at is not None and d.last_error is None for d in by_status[DeliveryStatus.SENT])
    assert all("410" in d.last_error and d.subscription_id is None for d in by_status[DeliveryStatus.EXPIRED])
    assert all("cannot be sent" in d.last_error for d in by_status[DeliveryStatus.FAILED])
    for delivery in by_status[DeliveryStatus.QUEUED]:
        assert delivery.last_error == "network: ConnectionError" and delivery.attempts == 2
        assert delivery.next_attempt_at - utcnow() > timedelta(seconds=BACKOFF_BASE_SECONDS - 5)  # 2nd try: 30-60 s
    assert gone["endpoint"] not in [s.endpoint for s in db.session.scalars(select(PushSubscription))]
    assert sorted(r.payload["kind"] for r in push.received) == ["extended", "result_ready"]
    assert all(r.subscription == kept["endpoint"].rsplit("/", 1)[-1] for r in push.received)
    assert push.refused == []


def test_a_batch_costs_a_few_statements_and_one_vapid_signature(app, citizen, push):
    """No query per message: claiming, reading and recording 40 deliveries is a handful of statements."""
    user, dossier = citizen
    info = push.subscribe()
    subscription = PushSubscription(user_id=user.id, endpoint=info["endpoint"], p256dh=info["keys"]["p256dh"],
                                    auth=info["keys"]["auth"])
    for _ in range(40):
        message = InboxMessage(user_id=user.id, dossier_id=dossier.id, kind="received", data={"code": dossier.code})
        message.deliveries.append(PushDelivery(subscription=subscription))
        db.session.add(message)
    db.session.commit()
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert PushSender().drain() == 40
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # claim (its ids, then their lease), read the deliveries and the consents, record the outcomes (one
    # executemany, then one UPDATE that keeps the receipts that came first), then a claim and a look that find
    # nothing left
    assert len(statements) <= 8, statements
    assert len(push.received) == 40 and push.refused == []
    assert len({r.headers["authorization"] for r in push.received}) == 1


def test_the_vapid_header_is_signed_once_per_push_service_and_renewed_before_it_expires(app, push, monkeypatch):
    sender = PushSender()
    endpoint = f"{push.base_url}/push/s1"
    first = sender._authorization(endpoint)
    assert sender._authorization(f"{push.base_url}/push/s2") is first  # same origin, same token

    def claims(header: dict) -> dict:
        token = header["Authorization"].split("t=", 1)[1].split(",", 1)[0]
        return json.loads(push_service.b64url_decode(token.split(".")[1]))

    now = time.time()
    assert claims(first)["aud"] == push.base_url and now < claims(first)["exp"] <= now + 12 * 3600 + 1
    other = sender._authorization("https://fcm.googleapis.com/fcm/send/abc")
    assert claims(other)["aud"] == "https://fcm.googleapis.com"
    monkeypatch.setattr(sender_module.time, "time", lambda: now + 11 * 3600 + 1)  # less than an hour left
    renewed = sender._authorization(endpoint)
    assert renewed is not first and claims(renewed)["exp"] > claims(first)["exp"]


def test_a_passkey_added_to_a_citizens_account_is_pushed_without_its_name(app, citizen):
    from server.push.notify import notify_passkey_added

    user, _ = citizen
    db.session.add(PushSubscription(user_id=user.id, endpoint="https://push.example/1", p256dh="A" * 87,
                                    auth="B" * 22))
    db.session.commit()
    [message] = notify_passkey_added(user, "Máy lạ của kẻ gian")
    db.session.commit()
    assert message.kind == "passkey_added" and len(message.deliveries) == 1
    sent = payload_of(message.deliveries[0])
    assert sent["kind"] == "passkey_added" and sent["url"] == "/account/passkeys"
    assert "Máy lạ" not in str(sent)


def _one_delivery(client, citizen, push, endpoint=None) -> PushSubscription:
    user, dossier = citizen
    sign_in(client, user)
    info = subscribe(client, push)
    subscription = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == info["endpoint"]))
    if endpoint:
        subscription.endpoint = endpoint.format(name=info["endpoint"].rsplit("/", 1)[-1])
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    return subscription


def test_a_redirecting_push_service_is_not_followed(app, client, citizen, push):
    """A push service that answers 307 to our own loopback is not followed (on main the POST went again)."""
    _one_delivery(client, citizen, push)
    push.scripted.append((307, {"Location": f"{push.base_url}/push/s1"}))
    assert PushSender().drain() == 1
    [delivery] = db.session.scalars(select(PushDelivery))
    assert delivery.status is DeliveryStatus.FAILED, delivery.last_error
    assert "redirects are not followed" in delivery.last_error
    assert push.received == []


def test_a_name_that_resolves_to_loopback_at_send_time_is_refused(app, client, citizen, push, monkeypatch):
    """DNS rebinding: the endpoint's name was public when it was saved, it resolves to 127.0.0.1 at send time."""
    port = push.base_url.rsplit(":", 1)[1]
    _one_delivery(client, citizen, push, endpoint=f"http://push.rebind.example:{port}/push/{{name}}")
    app.config["PUSH_ALLOW_PRIVATE_ENDPOINTS"] = False
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        return real("127.0.0.1" if host == "push.rebind.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    assert PushSender().drain() == 1
    [delivery] = db.session.scalars(select(PushDelivery))
    assert delivery.status is DeliveryStatus.FAILED, delivery.last_error
    assert "non-global" in delivery.last_error
    assert push.received == []


@pytest.mark.parametrize("address, allowed", [
    ("224.0.0.1", False), ("239.255.255.250", False), ("ff02::1", False), ("ff0e::1", False),
    ("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("::ffff:127.0.0.1", False), ("fe80::1%eth0", False), ("8.8.8.8", True), ("2001:4860:4860::8888", True),
])
def test_only_global_unicast_addresses_are_pushed_to(address, allowed):
    from server.push.guard import address_allowed

    assert address_allowed(address) is allowed


def test_a_subscription_on_a_multicast_address_is_refused(app, client, citizen, monkeypatch):
    user, _ = citizen
    sign_in(client, user)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                                                                 ("224.0.0.251", 443))])
    info = push_service.PushService().subscribe()
    info["endpoint"] = "https://push.multicast.example/push/s1"
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.put("/api/v1/push/subscriptions", json=info, headers={"X-CSRFToken": token})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "endpoint"


def test_the_worker_loop_writes_its_heartbeat(app, push, monkeypatch):
    from server.push.models import WorkerHeartbeat

    stop = threading.Event()

    def one_loop(self, limit=None):
        stop.set()  # run_worker checks the event after this loop
        return 0

    monkeypatch.setattr(PushSender, "drain", one_loop)
    before = utcnow()
    sender_module.run_worker(app, stop, poll_seconds=0)
    db.session.expire_all()
    assert db.session.get(WorkerHeartbeat, "push").beat_at >= before - timedelta(seconds=1)


def test_two_push_worker_processes_send_each_notification_once(app, citizen, push):
    """As in production: two `flask push worker` processes (their own connections, claims racing in the database,
    stopped by SIGTERM), already polling when the notifications are queued."""
    user, dossier = citizen
    info = push.subscribe()
    subscription = PushSubscription(user_id=user.id, endpoint=info["endpoint"], p256dh=info["keys"]["p256dh"],
                                    auth=info["keys"]["auth"])
    db.session.add(subscription)
    db.session.commit()
    # Small batches, so that the two workers' claims interleave.
    env = processes.environment(app, APP_ENV="testing", MOTCUA_PUSH_ALLOW_PRIVATE_ENDPOINTS="true",
                                MOTCUA_PUSH_BATCH_SIZE=5)
    command = [str(processes.BIN / "flask"), "push", "worker", "--poll", "0.2"]
    workers = [processes.Process(command, env) for _ in range(2)]
    try:
        for worker in workers:
            worker.wait_for_line("Push worker running")
        total = 200
        for _ in range(total):
            message = InboxMessage(user_id=user.id, dossier_id=dossier.id, kind="received",
                                   data={"code": dossier.code})
            message.deliveries.append(PushDelivery(subscription=subscription))
            db.session.add(message)
        db.session.commit()
        assert push.wait_for(total, timeout=processes.PATIENCE), f"{len(push.received)} of {total} received"
    finally:
        codes = [worker.stop() for worker in workers]
    assert codes == [0, 0], [worker.log for worker in workers]
    ids = [r.payload["id"] for r in push.received]
    assert len(ids) == total and len(set(ids)) == total  # none twice, none missing
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(PushDelivery.status == DeliveryStatus.SENT)) == total


def test_a_claim_takes_no_more_than_its_limit(app, client, citizen, push):
    """On PostgreSQL the claim's SKIP LOCKED subquery, inside the UPDATE, ran again per row and took every due
    delivery whatever the limit: the batch outgrew its lease."""
    user, dossier = citizen
    sign_in(client, user)
    subscribe(client, push)
    for kind in ("received", "result_ready", "extended"):
        notify_dossier(dossier, kind, due_at="2026-12-24T17:00:00+07:00")
    db.session.commit()
    queued = db.session.scalar(select(func.count()).select_from(PushDelivery))
    assert queued >= 3
    sender = PushSender()
    assert len(sender.claim(limit=2)) == 2
    sending = db.session.scalar(select(func.count()).select_from(PushDelivery)
                                .where(PushDelivery.status == DeliveryStatus.SENDING))
    assert sending == 2


def test_a_push_endpoint_that_drips_its_answer_cannot_hold_the_worker(app, client, citizen, push):
    """requests' timeout bounds each read, not the request: an endpoint dripping a byte at a time held the batch (and
    the worker's every other step) forever. Now the batch has a deadline: that row is retried, the other is sent,
    and the request left behind ends (its socket shut down), so the worker's threads are not held either."""
    user, dossier = citizen
    sign_in(client, user)
    kept = subscribe(client, push)
    with DripServer() as drip:
        db.session.add(PushSubscription(user_id=user.id, endpoint=f"{drip.url}/push/x",
                                        p256dh=kept["keys"]["p256dh"], auth=kept["keys"]["auth"]))
        db.session.commit()
        notify_dossier(dossier, "result_ready")
        db.session.commit()
        app.config["PUSH_TIMEOUT_SECONDS"] = 1
        sender = PushSender()
        started = time.monotonic()
        assert sender.drain() == 2
        assert time.monotonic() - started < 8  # the deadline is 2 s (2 requests, 8 at a time); on main, forever
        assert drip.answering.is_set() and drip.hung_up.wait(5)  # the abandoned request was ended, not left
        sender.close()  # returns: no thread of the old pool is still waiting

    deliveries = {d.subscription.endpoint: d for d in db.session.scalars(select(PushDelivery))}
    dripped, sent = deliveries[f"{drip.url}/push/x"], deliveries[kept["endpoint"]]
    assert dripped.status is DeliveryStatus.QUEUED and dripped.last_error == "no complete answer within 2 s"
    assert dripped.attempts == 1 and dripped.lease_until is None and dripped.next_attempt_at > utcnow()
    assert sent.status is DeliveryStatus.SENT and len(push.received) == 1


def test_the_lease_outlasts_the_batchs_deadline(app, client, citizen, push):
    app.config.update(PUSH_TIMEOUT_SECONDS=10, PUSH_CONCURRENCY=8)
    assert sender_module.batch_seconds(50, 8, 10) == 140  # 7 waves of 8 requests, 10 s each to connect and read
    assert sender_module.batch_seconds(3, 8, 10) == 20
    _one_delivery(client, citizen, push)
    sender = PushSender()
    try:
        claimed_at = utcnow()
        assert len(sender.claim(50)) == 1
        delivery = db.session.scalar(select(PushDelivery))
        assert delivery.lease_until - claimed_at >= sender_module.LEASE + timedelta(seconds=140)
    finally:
        sender.close()


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0), ("0", 0.0), ("1e12", 1e12), ("inf", None), ("-inf", None), ("nan", None), ("-5", None),
    ("Wed, 21 Oct 2026 07:28:00 GMT", None), (None, None)])
def test_only_a_finite_retry_after_is_honoured(header, seconds):
    assert sender_module.retry_after_seconds(header) == seconds


def test_a_retry_after_is_capped_at_a_day(app):
    assert sender_module.backoff(1, 1e12) == timedelta(seconds=sender_module.RETRY_AFTER_CAP_SECONDS)
    assert sender_module.backoff(1, float("inf")) <= timedelta(seconds=BACKOFF_BASE_SECONDS)  # not honoured
    assert sender_module.backoff(1, 120) >= timedelta(seconds=120)


@pytest.mark.parametrize("retry_after", ["1e12", "inf"])
def test_a_huge_retry_after_is_a_retry_not_a_lost_batch(app, client, citizen, push, retry_after):
    """An unbounded Retry-After overflowed the next attempt's time inside the record: the batch's outcomes were all
    lost, its rows stayed SENDING and were sent again after the lease."""
    user, dossier = citizen
    sign_in(client, user)
    subscribe(client, push)
    subscribe(client, push)
    push.scripted.append((429, {"Retry-After": retry_after}))
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert PushSender().drain() == 2
    statuses = {d.status: d for d in db.session.scalars(select(PushDelivery))}
    assert sorted(s.value for s in statuses) == ["queued", "sent"]
    wait = statuses[DeliveryStatus.QUEUED].next_attempt_at - utcnow()
    if retry_after == "inf":  # not a wait we can honour: the back-off (15 to 30 s for a first attempt)
        assert wait <= timedelta(seconds=BACKOFF_BASE_SECONDS)
    else:
        assert timedelta(hours=23, minutes=59) < wait <= timedelta(hours=24)


def test_one_row_that_cannot_be_recorded_never_loses_the_others(app, client, citizen, push, monkeypatch):
    user, dossier = citizen
    sign_in(client, user)
    subscribe(client, push)
    subscribe(client, push)
    push.scripted.append((503, {}))
    notify_dossier(dossier, "result_ready")
    db.session.commit()

    def overflowing(attempts, retry_after=None):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(sender_module, "backoff", overflowing)
    assert PushSender().drain() == 2
    statuses = {d.status: d for d in db.session.scalars(select(PushDelivery))}
    assert sorted(s.value for s in statuses) == ["failed", "sent"]
    failed = statuses[DeliveryStatus.FAILED]
    assert failed.last_error == "cannot record: OverflowError: date value out of range" and failed.lease_until is None
