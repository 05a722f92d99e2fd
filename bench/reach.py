"""Reach: a result announced to 10,000 followers through the whole ladder (run: .venv/bin/python bench/reach.py).

What it measures, in one run, with figures and no assertion on time:
1. The followers, a realistic mix (``--followers``, default 10,000; round robin over the groups, so the shares are
   exact): 60 % have the app and their push is SHOWN; 15 % have the app but their push is accepted and never
   shown, and consented to Zalo and SMS with their number (the ladder escalates to ZNS after the push rung's wait;
   the SMS rung after it must be skipped, the ZNS having reached them); 15 % have no app and a
   Zalo consent with their number; 10 % an SMS consent only. Each follows one of ``--dossiers`` dossiers (100
   followers each by default), and every dossier's result is announced (``notify_dossier(dossier,
   "result_ready")``, one commit per dossier, as one transition each): that is the fan-out, timed.
2. A push service on loopback in its own process (bench/push_fanout.py's, with one subscription per follower with
   the app). For a subscription that shows, it decrypts the push (VAPID checked) and posts the "shown" receipt with
   the payload's ``receipt`` token to the app's ``POST /api/v1/push/receipts``, as our service worker does
   (pwa/sw/receipts.js); the others are answered 201 and kept.
3. The fake ZNS and SMS gateways (tests/fake_zns.py, tests/fake_sms.py) on loopback with ``--latency-ms`` (50) per
   request; for every message they accept they post its delivery callback to our hooks (``POST /hooks/zns``,
   signed as Zalo signs; eSMS's report, a GET to ``/hooks/sms/<token>``), as soon as they have answered.
4. The app served by waitress in its own process, on the same database (receipts and callbacks are real HTTP);
   ``--workers`` threads (3) each run the push worker's loop (``server.push.sender.run_worker``, as ``flask push
   worker``: ``PushSender().drain()`` and one batch of the ZNS/SMS sender, server/channels/sender.py, per turn),
   polling every 0.2 s instead of 2 s when idle.
5. The ladder's waits compressed for the run: ``NOTIFY_LADDERS`` result_ready = push, ZNS 3 s later, SMS 300 s after
   that (``--push-wait``, ``--zns-wait``), and ``QUIET_HOURS`` empty; the receipt and hook rate limits raised
   (every receipt comes from 127.0.0.1). The run ends when every follower is reached or has exhausted their ladder
   and nothing is left queued (``--timeout`` otherwise).

Printed: the fan-out's time, the time until the last follower was reached and until the outbox was settled, the
messages per second on each channel, how many were reached by each channel and how fast (p50, p95, from their
message's creation), the money spent (``ChannelDelivery.cost_vnd``) against every message sent by SMS alone
(``SMS_PRICE_VND`` per segment of server/channels/texts.sms_text, as server/channels/costs.py prices it), and per
1,000 results. The exit status is 1 if a check fails: every follower reached or exhausted; exactly the expected
deliveries per channel and follower; no SMS sent to someone reached earlier; the push service, the fakes and the
hooks received exactly the expected requests, none twice.

``--database-url postgresql://...`` runs it on PostgreSQL. WARNING: that database is wiped (``DROP SCHEMA public
CASCADE``) and migrated afresh, as bench/push_fanout.py does; never point it at a database you want to keep.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself, for push_fanout

from push_fanout import LeanPushService  # noqa: E402 (after the path is set)
from push_fanout import ServiceClient  # noqa: E402
from push_fanout import default_root  # noqa: E402
from push_fanout import make_app  # noqa: E402
from push_fanout import start_service  # noqa: E402

#: (group, share in twentieths): round robin over 20 slots gives exact shares.
GROUPS = (("push shown", 12), ("push never shown, then ZNS", 3), ("ZNS only", 3), ("SMS only", 2))
SHOWN, NEVER_SHOWN, ZNS_ONLY, SMS_ONLY = (name for name, _ in GROUPS)
#: The channel each group is expected to be reached by.
EXPECTED_REACH = {SHOWN: "push", NEVER_SHOWN: "zalo", ZNS_ONLY: "zalo", SMS_ONLY: "sms"}
SLOTS = [name for name, share in GROUPS for _ in range(share)]
SMS_TOKEN = "bench-sms-callback-token-0123456789abcdef"


def group_of(index: int) -> str:
    return SLOTS[index % len(SLOTS)]


def phone_of(index: int) -> str:
    """A distinct Mobifone-range mobile number per follower (one number is written to once per event)."""
    return f"090{index:07d}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


# --- the push service: shows (and reports) some pushes, as phones do ----------------------------------------------

class PhonesPushService(LeanPushService):
    """push_fanout's service (``sample_every`` 1: it asks :meth:`problem` of every request before answering), where
    the phones of the showing subscriptions are behind: each such push is handed to a phone thread that decrypts it
    (VAPID checked) and posts its "shown" receipt, after the service has answered 201. The others are kept, and
    checked with everything at the end (``checking``)."""

    def __init__(self) -> None:
        super().__init__(sample_every=1)
        self.showing: set[str] = set()
        self.checking = False
        self.app_url = ""
        self.receipts = Counter()  # HTTP status of each receipt posted (or the exception's name)
        self.shows = 0  # pushes handed to the phones: idle when each has its receipt or its problem
        self.local = threading.local()
        self.phones = ThreadPoolExecutor(max_workers=8, thread_name_prefix="phone")

    def problem(self, name: str, authorization: str, body: bytes):
        if self.checking:
            return super().problem(name, authorization, body)
        if name in self.showing:
            with self.lock:
                self.shows += 1
            self.phones.submit(self.show, name, authorization, body)
        return None, None  # while the clock runs the service itself checks nothing: the phones do

    def show(self, name: str, authorization: str, body: bytes) -> None:
        import requests

        problem, payload = super().problem(name, authorization, body)
        if problem:
            with self.lock:
                self.spot_problems.append(problem)
            return
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        try:
            answer = self.local.session.post(f"{self.app_url}/api/v1/push/receipts", timeout=30,
                                             json={"receipt": payload["receipt"], "event": "shown",
                                                   "at": int(time.time() * 1000)})
            outcome = answer.status_code
        except Exception as error:  # counted and reported by the benchmark's checks
            outcome = type(error).__name__
        with self.lock:
            self.receipts[outcome] += 1

    def idle(self) -> bool:
        with self.lock:
            return sum(self.receipts.values()) + len(self.spot_problems) >= self.shows


def push_service_process(root: str, conn) -> None:
    """The push service's process: serves, and answers the benchmark's commands on ``conn``."""
    sys.path.insert(0, root)
    service = PhonesPushService()
    server = start_service(service)
    conn.send(service.base_url)
    while True:
        command, argument = conn.recv()
        if command == "subscribe":  # (count, whether they show)
            infos = service.subscribe(argument[0])
            if argument[1]:
                service.showing.update(info["endpoint"].rsplit("/", 1)[-1] for info in infos)
            conn.send(infos)
        elif command == "app":
            service.app_url = argument
            conn.send(None)
        elif command == "check":
            # Every push decrypted and its VAPID verified (again, for the shown ones), as each phone would.
            service.checking = True
            checked = service.check()
            with service.lock:
                checked["receipts"] = dict(service.receipts)
            conn.send(checked)
        elif command == "idle":
            conn.send(service.idle())
        elif command == "stop":
            service.phones.shutdown(wait=True)
            server.shutdown()
            server.server_close()
            conn.send(None)
            return


class Remote(ServiceClient):
    """The benchmark's handle on a process of its own (the push service, the app's web server): push_fanout's,
    for any target, with the child's URL as the first word it sends."""

    def __init__(self, target, *args) -> None:  # not super's: another target, the same protocol
        context = multiprocessing.get_context("spawn")  # a clean child: no threads, locks or connections inherited
        self.conn, child = context.Pipe()
        self.process = context.Process(target=target, args=(*args, child), daemon=True)
        self.process.start()
        child.close()  # the child's end is the child's: if it dies, recv() raises EOFError instead of waiting
        self.url = self.conn.recv()


# --- the app's web server (its own process) -----------------------------------------------------------------------

def wait_for_sqlite_locks(engine) -> None:
    """Two processes and a dozen threads write to one SQLite file: a writer waits up to 30 s for the lock (the
    driver's default is 5 s), and the file is in WAL mode, so that a worker reading its batch while its requests
    are out (an open read transaction) does not hold up every receipt's commit, as it does with the default
    rollback journal. Production runs PostgreSQL; this only keeps SQLite's locking from being the whole figure."""
    from sqlalchemy import event

    engine.dispose()
    event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout = 30000"))
    with engine.connect() as connection:  # the mode is the file's: set once, before anyone else opens it
        connection.exec_driver_sql("PRAGMA journal_mode = WAL")


def web_process(root: str, config: dict, threads: int, conn) -> None:
    """waitress serving the app on the benchmark's database, until told to stop."""
    sys.path.insert(0, root)
    import logging

    import waitress

    # waitress warns at each request that waits for a thread ("Task queue depth"): expected under this load.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    from server import create_app
    from server.extensions import db

    app = create_app(config)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from sqlalchemy import event

        with app.app_context():  # the file is in WAL mode already (the benchmark's process set it)
            event.listen(db.engine, "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout = 30000"))
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads, backlog=256,
                                    connection_limit=512)
    conn.send(f"http://127.0.0.1:{server.effective_port}")
    threading.Thread(target=server.run, name="waitress", daemon=True).start()
    while True:
        command, _ = conn.recv()
        if command == "stop":
            server.close()
            conn.send(None)
            return


# --- the fake providers, delivering ---------------------------------------------------------------------------------

def delivering(fake_class):
    """A fake provider that, for every message it accepts, posts the delivery callback to our hook (from a pool
    of its own, as soon as its answer is computed: the callback may even beat the worker's record of the send)."""

    class Delivering(fake_class):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self.hook_url = ""
            self.callbacks = Counter()  # the hook's HTTP status per callback (or the exception's name)
            self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"{fake_class.__name__}-callback")

        def answer(self, path, headers, raw):
            status, answer = super().answer(path, headers, raw)
            if status == 200 and (answer.get("error") == 0 or answer.get("CodeResult") == "100"):
                self.pool.submit(self._callback, answer)
            return status, answer

        def _callback(self, answer: dict) -> None:
            try:
                outcome = self.fire(answer).status_code
            except Exception as error:  # counted and reported by the checks
                outcome = type(error).__name__
            with self.lock:
                self.callbacks[outcome] += 1

        def idle(self) -> bool:
            with self.lock:
                return sum(self.callbacks.values()) == len(self.sent)

    return Delivering


def make_fakes(latency: float):
    from tests.fake_sms import FakeSms
    from tests.fake_zns import FakeZns

    class Zns(delivering(FakeZns)):
        def fire(self, answer):
            msg_id = answer["data"]["msg_id"]
            with self.lock:
                tracking = next(m["tracking_id"] for m in reversed(self.sent) if m["msg_id"] == msg_id)
            return self.fire_delivered(self.hook_url, msg_id, tracking_id=tracking)

    class Sms(delivering(FakeSms)):
        def fire(self, answer):
            return self.fire_report(answer["SMSID"])

    return Zns(latency=latency).start(), Sms(latency=latency).start()


# --- the followers ------------------------------------------------------------------------------------------------

def add_followers(count: int, per_dossier: int, service: Remote) -> tuple[list[int], dict[int, str]]:
    """The dossiers and their followers with their consents and subscriptions; returns (dossier ids,
    {user id: group})."""
    from sqlalchemy import insert

    from server.auth.models import ConsentRecord
    from server.auth.models import Role
    from server.auth.models import User
    from server.consent.purposes import PURPOSES
    from server.consent.purposes import Channel
    from server.consent.purposes import purpose_of
    from server.consent.services import checked_address
    from server.dossiers.models import DossierFollower
    from server.dossiers.models import FollowRole
    from server.dossiers.workflow import State
    from server.extensions import db
    from server.push.models import PushSubscription
    from server.types import utcnow
    from tests.helpers import make_dossier

    purpose = purpose_of("result_ready")
    version = PURPOSES[purpose].text_version
    dossiers = [make_dossier(State.RESOLVED, code=f"000.20.26.H26-261207-{n + 1:04d}").id
                for n in range(max(1, -(-count // per_dossier)))]
    users = [User(role=Role.CITIZEN, display_name=f"Người theo dõi {i + 1}") for i in range(count)]
    db.session.add_all(users)
    db.session.flush()
    groups = {user.id: group_of(i) for i, user in enumerate(users)}
    now = utcnow()
    db.session.execute(insert(DossierFollower), [
        {"dossier_id": dossiers[i % len(dossiers)], "user_id": user.id, "role": FollowRole.FOLLOWER}
        for i, user in enumerate(users)])
    consents = []
    for i, user in enumerate(users):
        group = groups[user.id]
        channels = {SHOWN: [Channel.PUSH], NEVER_SHOWN: [Channel.PUSH, Channel.ZALO, Channel.SMS],
                    ZNS_ONLY: [Channel.ZALO], SMS_ONLY: [Channel.SMS]}[group]
        consents += [{"user_id": user.id, "purpose": purpose, "channel": channel, "text_version": version,
                      "method": "citizen_app", "address": checked_address(channel, phone_of(i)), "granted": True,
                      "recorded_at": now} for channel in channels]
    db.session.execute(insert(ConsentRecord), consents)
    for group, shows in ((SHOWN, True), (NEVER_SHOWN, False)):
        members = [user_id for user_id, of in groups.items() if of == group]
        infos = service.call("subscribe", (len(members), shows))
        db.session.execute(insert(PushSubscription), [
            {"user_id": user_id, "endpoint": info["endpoint"], "p256dh": info["keys"]["p256dh"],
             "auth": info["keys"]["auth"], "user_agent": "bench"}
            for user_id, info in zip(members, infos, strict=True)])
    db.session.commit()
    return dossiers, groups


def fan_out(dossier_ids: list[int]) -> float:
    """Every dossier's result announced, one transaction each; returns the seconds it took."""
    from server.dossiers.models import Dossier
    from server.extensions import db
    from server.push.notify import notify_dossier

    started = time.perf_counter()
    for dossier_id in dossier_ids:
        notify_dossier(db.session.get(Dossier, dossier_id), "result_ready")
        db.session.commit()
        db.session.expunge_all()
    return time.perf_counter() - started


# --- the run --------------------------------------------------------------------------------------------------------

def open_rows() -> int:
    """Deliveries still queued or being sent, on every channel."""
    from sqlalchemy import func
    from sqlalchemy import select

    from server.channels.models import ChannelDelivery
    from server.extensions import db
    from server.push.models import DeliveryStatus
    from server.push.models import PushDelivery

    waiting = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
    return sum(db.session.scalar(select(func.count()).select_from(table).where(table.status.in_(waiting)))
               for table in (PushDelivery, ChannelDelivery))


def reached_count() -> int:
    from sqlalchemy import func
    from sqlalchemy import select

    from server.extensions import db
    from server.push.models import InboxMessage

    return db.session.scalar(select(func.count()).where(InboxMessage.reached_at.is_not(None)))


def wait_until_settled(count: int, fakes, service: Remote, timeout: float) -> tuple[bool, float]:
    """Until every follower is reached or nothing more can happen (no delivery waiting, no callback or receipt in
    flight, no new reach for 5 s). Returns (settled, seconds waited)."""
    from server.extensions import db

    started = time.perf_counter()
    last, last_change = -1, started
    while time.perf_counter() - started < timeout:
        db.session.rollback()  # a fresh snapshot
        reached, waiting = reached_count(), open_rows()
        if reached != last:
            last, last_change = reached, time.perf_counter()
        quiet = all(fake.idle() for fake in fakes) and service.call("idle")
        if waiting == 0 and quiet and (reached == count or time.perf_counter() - last_change > 5):
            return True, time.perf_counter() - started
        time.sleep(0.25)  # a poll of the database, not a wait for an outcome
    return False, time.perf_counter() - started


def start_workers(app, count: int) -> tuple[threading.Event, list[threading.Thread], list[str]]:
    """``count`` threads running the push worker's loop, as ``flask push worker`` runs it."""
    from server.push.sender import run_worker

    stop, errors = threading.Event(), []

    def work() -> None:
        try:
            run_worker(app, stop, poll_seconds=0.2)
        except Exception:  # reported and counted as a failed run
            errors.append(traceback.format_exc(limit=3))

    threads = [threading.Thread(target=work, name=f"push-worker-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    return stop, threads, errors


# --- the figures and the checks -------------------------------------------------------------------------------------

def collect(groups: dict[int, str]) -> dict:
    """What the database holds after the run, per follower and channel."""
    from sqlalchemy import select

    from server.channels.models import ChannelDelivery
    from server.extensions import db
    from server.push.models import InboxMessage
    from server.push.models import PushDelivery

    db.session.rollback()
    messages = {row.id: row for row in db.session.execute(
        select(InboxMessage.id, InboxMessage.user_id, InboxMessage.kind, InboxMessage.data, InboxMessage.created_at,
               InboxMessage.reached_at, InboxMessage.reached_channel))}
    deliveries = [("push", row.message_id, row.status.value, row.sent_at, None, None) for row in db.session.execute(
        select(PushDelivery.message_id, PushDelivery.status, PushDelivery.sent_at))]
    deliveries += [(row.channel.value, row.message_id, row.status.value, row.sent_at, row.cost_vnd, row.phone_e164)
                   for row in db.session.execute(
                       select(ChannelDelivery.channel, ChannelDelivery.message_id, ChannelDelivery.status,
                              ChannelDelivery.sent_at, ChannelDelivery.cost_vnd, ChannelDelivery.phone_e164))]
    return {"messages": messages, "deliveries": deliveries, "groups": groups}


#: The deliveries each group must end with: {channel: status}.
EXPECTED_DELIVERIES = {
    SHOWN: {"push": "shown"},
    NEVER_SHOWN: {"push": "sent", "zalo": "shown", "sms": "skipped"},
    ZNS_ONLY: {"zalo": "shown"},
    SMS_ONLY: {"sms": "shown"},
}


def verify(state: dict, count: int, zns, sms, pushed: dict, worker_errors: list[str], settled: bool) -> list[str]:
    """Why the run is wrong (empty when right)."""
    messages, deliveries, groups = state["messages"], state["deliveries"], state["groups"]
    wrong = [f"worker error: {error.strip().splitlines()[-1]}" for error in worker_errors]
    if not settled:
        wrong.append("the run did not settle before --timeout")
    if len(messages) != count or {m.user_id for m in messages.values()} != set(groups):
        wrong.append(f"{len(messages)} inbox messages for {len({m.user_id for m in messages.values()})} "
                     f"followers, expected one each for {count}")
    by_message: dict[int, list] = {}
    for delivery in deliveries:
        by_message.setdefault(delivery[1], []).append(delivery)
    off_plan, unreached, wrong_channel, late_sms, example = Counter(), Counter(), Counter(), 0, {}
    for message in messages.values():
        group = groups.get(message.user_id)
        mine = by_message.get(message.id, [])
        if sorted(d[0] for d in mine) != sorted(EXPECTED_DELIVERIES[group]) or \
                {d[0]: d[2] for d in mine} != EXPECTED_DELIVERIES[group]:
            off_plan[group] += 1
            example.setdefault(group, {d[0]: d[2] for d in mine})
        if message.reached_at is None:
            unreached[group] += 1
        elif message.reached_channel != EXPECTED_REACH[group]:
            wrong_channel[group] += 1
        for channel, _, _, sent_at, _, _ in mine:
            if channel == "sms" and sent_at is not None and message.reached_at is not None and \
                    message.reached_channel != "sms":
                late_sms += 1  # an SMS went out to someone another channel had reached
    for group, number in off_plan.items():
        wrong.append(f"{group}: {number} followers whose deliveries are not {EXPECTED_DELIVERIES[group]} (one has "
                     f"{example[group]})")
    for group, number in unreached.items():
        wrong.append(f"{group}: {number} followers neither reached nor expected to exhaust their ladder")
    for group, number in wrong_channel.items():
        wrong.append(f"{group}: {number} followers reached by another channel than {EXPECTED_REACH[group]}")
    if late_sms:
        wrong.append(f"{late_sms} SMS sent to followers reached earlier")
    expected = Counter(groups.values())
    zns_phones = [m["phone"] for m in zns.sent]
    sms_phones = [m["Phone"] for m in sms.sent]
    if len(zns_phones) != expected[NEVER_SHOWN] + expected[ZNS_ONLY] or len(set(zns_phones)) != len(zns_phones) \
            or zns.duplicates or len(zns.requests) != len(zns.sent):
        wrong.append(f"the ZNS fake got {len(zns.requests)} requests, sent {len(zns.sent)} to "
                     f"{len(set(zns_phones))} numbers ({zns.duplicates} duplicates), expected "
                     f"{expected[NEVER_SHOWN] + expected[ZNS_ONLY]}")
    if len(sms_phones) != expected[SMS_ONLY] or len(set(sms_phones)) != len(sms_phones) or sms.duplicates \
            or len(sms.requests) != len(sms.sent):
        wrong.append(f"the SMS fake got {len(sms.requests)} requests, sent {len(sms.sent)} to {len(set(sms_phones))} "
                     f"numbers ({sms.duplicates} duplicates), expected {expected[SMS_ONLY]}")
    for fake, name in ((zns, "ZNS"), (sms, "SMS")):
        if dict(fake.callbacks) != {200: len(fake.sent)}:
            wrong.append(f"the {name} hook answered {dict(fake.callbacks)} to {len(fake.sent)} callbacks")
    app_users = expected[SHOWN] + expected[NEVER_SHOWN]
    ids = pushed["ids"]
    if pushed["requests"] != app_users or len(set(ids)) != len(ids) or pushed["problems"] or pushed["spot_problems"]:
        wrong.append(f"the push service got {pushed['requests']} requests for {len(set(ids))} messages "
                     f"(invalid: {pushed['problems'] or pushed['spot_problems'][:1]}), expected {app_users}")
    if pushed["receipts"] != {204: expected[SHOWN]}:
        wrong.append(f"receipts answered {pushed['receipts']}, expected {expected[SHOWN]} times 204")
    return wrong


def report(state: dict, started_at, fanout: float, settle: float, app, args) -> None:
    from server.channels.texts import segments
    from server.channels.texts import sms_text

    messages, deliveries = state["messages"], state["deliveries"]
    count = len(messages)
    print()
    print(f"fan-out: {count:,} messages (with their rungs) written in {fanout:.2f} s ({count / fanout:,.0f} msg/s), "
          f"{len(set(m.data.get('code') for m in messages.values()))} dossiers, one transaction each")
    reached = [m for m in messages.values() if m.reached_at is not None]
    if reached:
        last = max(m.reached_at for m in reached)
        print(f"every follower reached or exhausted {(last - started_at).total_seconds():.2f} s after the fan-out "
              f"began ({len(reached):,} reached, {count - len(reached):,} not); outbox settled (nothing queued, "
              f"callbacks answered) after {settle:.2f} s")
    print()
    print("Times from the message's creation (the fan-out's commit): \"accepted\" when the push service or provider "
          "took it, \"reached\" when the receipt or delivery callback says it was shown.")
    print("channel | accepted | per second, first→last | accepted p50 | reached | reach p50 | reach p95 | by status")
    print("--------+----------+------------------------+--------------+---------+-----------+-----------+----------")
    for channel in ("push", "zalo", "sms"):
        mine = [d for d in deliveries if d[0] == channel]
        sent = sorted(d[3] for d in mine if d[3] is not None)
        span = (sent[-1] - sent[0]).total_seconds() if len(sent) > 1 else 0
        rate = f"{len(sent) / span:,.0f}" if span else "-"
        accepted = [(d[3] - messages[d[1]].created_at).total_seconds() for d in mine if d[3] is not None]
        delays = [(m.reached_at - m.created_at).total_seconds() for m in reached if m.reached_channel == channel]
        statuses = ", ".join(f"{status} {n:,}" for status, n in sorted(Counter(d[2] for d in mine).items()))
        print(f"{channel:7} | {len(sent):8,} | {rate:>22} | {percentile(accepted, .5):11.2f}s | {len(delays):7,} | "
              f"{percentile(delays, .5):8.2f}s | {percentile(delays, .95):8.2f}s | {statuses}")
    spent = sum(d[4] or 0 for d in deliveries)
    price = int(app.config["SMS_PRICE_VND"])
    alone = sum(price * segments(sms_text(m.kind, {"code": m.data.get("code")})) for m in messages.values())
    by_channel = Counter()
    for channel, _, _, _, cost, _ in deliveries:
        by_channel[channel] += cost or 0
    print()
    print(f"money spent on the ladder: {spent:,} VND (ZNS {by_channel['zalo']:,} at {app.config['ZNS_PRICE_VND']} "
          f"each, SMS {by_channel['sms']:,} at {price} a segment; push free)")
    print(f"SMS alone for every message: {alone:,} VND ({price} VND a segment of the result's SMS text)")
    print(f"per 1,000 results: {spent * 1000 / count:,.0f} VND on the ladder vs {alone * 1000 / count:,.0f} VND by "
          f"SMS alone ({1 - spent / alone:.0%} saved)")


def ladder_config(args) -> dict:
    return {"default": [["push", args.push_wait], ["zalo", args.zns_wait], ["sms", 0]],
            "result_ready": [["push", args.push_wait], ["zalo", args.zns_wait], ["sms", 0]],
            "passkey_added": [["push", 0]]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=10_000, help="followers told of a result (default 10000)")
    parser.add_argument("--dossiers-of", type=int, default=100, metavar="N",
                        help="followers per dossier: one dossier's result per N followers (default 100)")
    parser.add_argument("--latency-ms", type=float, default=50, help="the fake ZNS and SMS gateways' latency (50)")
    parser.add_argument("--push-wait", type=int, default=3, help="seconds the push rung waits for a receipt (3)")
    parser.add_argument("--zns-wait", type=int, default=300,
                        help="seconds the ZNS rung waits before SMS (300: longer than the ZNS backlog of a 10,000 run "
                             "on a busy 2-core machine, else the SMS rung falls due before the ZNS callback and goes "
                             "out; the run then lasts until those SMS rungs come due and are skipped)")
    parser.add_argument("--workers", type=int, default=3, help="push worker threads (run_worker) (default 3)")
    parser.add_argument("--web-threads", type=int, default=8, help="waitress threads serving the app (default 8)")
    parser.add_argument("--push-batch", type=int, help="PUSH_BATCH_SIZE (default: the app's, 50)")
    parser.add_argument("--push-concurrency", type=int, help="PUSH_CONCURRENCY (default: the app's, 8)")
    # The providers' 50 ms is waiting, not work: more requests in flight and larger batches (one batch a turn of
    # run_worker) keep ZNS and SMS from trailing push by a minute; the app's 50 and 8 give ~45 msg/s here.
    parser.add_argument("--channels-batch", type=int, default=100, help="CHANNELS_BATCH_SIZE (default 100)")
    parser.add_argument("--provider-concurrency", type=int, default=32, help="PROVIDER_CONCURRENCY (default 32)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before the run is declared stuck (900)")
    parser.add_argument("--database-url", metavar="URL",
                        help="run on this PostgreSQL database instead of a throw-away SQLite file. IT IS WIPED: "
                             "DROP SCHEMA public CASCADE, then the migrations and the demo seed.")
    parser.add_argument("--root", type=Path, default=default_root(),
                        help="the repository (default: the parent of bench/, else the current directory)")
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be a postgresql:// URL (SQLite is the default)")
    if args.followers < len(SLOTS):
        parser.error(f"--followers must be at least {len(SLOTS)} (one round of the mix)")
    root = args.root.resolve()
    if not (root / "server" / "__init__.py").is_file():
        parser.error(f"{root} is not the repository (no server/ package): run from its root or pass --root")
    sys.path.insert(0, str(root))

    from server.extensions import db
    from server.types import utcnow

    zns, sms = make_fakes(args.latency_ms / 1000)
    service = Remote(push_service_process, str(root))
    web = None
    tmp = tempfile.TemporaryDirectory(prefix="reach-")
    stop, threads, worker_errors = None, [], []
    try:
        app = make_app(tmp.name, args.database_url)
        settings = {
            "NOTIFY_LADDERS": ladder_config(args), "QUIET_HOURS": "",
            "ZNS_API_URL": zns.send_url, "ZNS_ACCESS_TOKEN": zns.token, "ZNS_TEMPLATES": {"result_ready": "tpl-result"},
            "ZNS_APP_ID": zns.app_id, "ZNS_OA_SECRET_KEY": zns.secret,
            "SMS_API_URL": sms.send_url, "SMS_API_KEY": sms.api_key, "SMS_SECRET_KEY": sms.secret_key,
            "SMS_BRANDNAME": "MOTCUA", "SMS_CALLBACK_TOKEN": SMS_TOKEN, "PROVIDERS_ALLOW_PRIVATE_URLS": True,
            # Every receipt and callback comes from 127.0.0.1: the per-address limits would refuse most of them.
            "PUSH_RECEIPT_RATE_LIMIT": "1000000 per minute", "HOOKS_RATE_LIMIT": "1000000 per minute",
        }
        for setting, option in (("PUSH_BATCH_SIZE", args.push_batch), ("CHANNELS_BATCH_SIZE", args.channels_batch),
                                ("PUSH_CONCURRENCY", args.push_concurrency),
                                ("PROVIDER_CONCURRENCY", args.provider_concurrency)):
            if option:
                settings[setting] = option
        app.config.update(settings)
        web_config = {"APP_ENV": "testing", "SECRET_KEY": "bench", "INSTANCE_PATH": tmp.name,
                      "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                      "PUSH_ALLOW_PRIVATE_ENDPOINTS": True, **settings}
        with app.app_context():
            if not args.database_url:
                wait_for_sqlite_locks(db.engine)
            dossier_ids, groups = add_followers(args.followers, args.dossiers_of, service)
            web = Remote(web_process, str(root), web_config, args.web_threads)
            app.config["SMS_CALLBACK_BASE_URL"] = web.url
            service.call("app", web.url)
            zns.hook_url = f"{web.url}/hooks/zns"
            where = "PostgreSQL (wiped and migrated)" if args.database_url else f"SQLite ({tmp.name}/bench.sqlite3)"
            mix = ", ".join(f"{n:,} {group}" for group, n in Counter(groups.values()).items())
            print(f"Reach: {args.followers:,} followers of {len(dossier_ids)} dossiers told of a result "
                  f"(\"result_ready\"): {mix}")
            print(f"database: {where}; CPUs: {os.cpu_count()}; web: waitress, {args.web_threads} threads, own "
                  f"process; push service: loopback, own process; fake ZNS and SMS: {args.latency_ms:.0f} ms latency, "
                  f"callbacks to our hooks")
            print(f"ladder compressed for the run: NOTIFY_LADDERS result_ready = push, ZNS {args.push_wait} s later, "
                  f"SMS {args.zns_wait} s after that; QUIET_HOURS empty; receipt and hook rate limits raised")
            print(f"workers: {args.workers} threads of run_worker (push drain + one ZNS/SMS batch a turn, idle poll "
                  f"0.2 s); batches of {app.config['PUSH_BATCH_SIZE']} push / {app.config['CHANNELS_BATCH_SIZE']} "
                  f"ZNS-SMS, {app.config['PUSH_CONCURRENCY']} push / {app.config['PROVIDER_CONCURRENCY']} provider "
                  f"requests in flight per worker")
            stop, threads, worker_errors = start_workers(app, args.workers)
            started_at = utcnow()
            fanout = fan_out(dossier_ids)
            settled, waited = wait_until_settled(args.followers, (zns, sms), service, args.timeout)
            settle = (utcnow() - started_at).total_seconds()
            stop.set()
            for thread in threads:
                thread.join()
            pushed = service.call("check")
            state = collect(groups)
            report(state, started_at, fanout, settle, app, args)
            problems = verify(state, args.followers, zns, sms, pushed, worker_errors, settled)
            db.session.remove()
            db.engine.dispose()
    finally:
        if stop is not None:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        for remote in (web, service):
            if remote is not None:
                remote.stop()
        for fake in (zns, sms):
            fake.pool.shutdown(wait=False, cancel_futures=True)
            fake.stop()
        tmp.cleanup()

    if problems:
        print("\nFAILED:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"\nChecks: all {args.followers:,} followers reached by their expected channel; exactly the expected "
          f"deliveries per channel and follower; no SMS to anyone reached earlier; the push service "
          f"({pushed['requests']:,} pushes, VAPID and body checked), the ZNS fake ({len(zns.sent):,}) and the SMS "
          f"fake ({len(sms.sent):,}) received exactly the expected messages, once each, and every receipt and "
          f"callback was taken")
    return 0


if __name__ == "__main__":
    sys.exit(main())
