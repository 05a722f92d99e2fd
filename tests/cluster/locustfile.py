"""The cluster's load, for locust (run by tests/cluster/harness.py as its own process, never imported by pytest).

Phones sync as the officer's app does (pwa/lib/outbox-flush.classic.js): GET /api/v1/session (probe and CSRF
token), then for each dossier its photos (PUT /api/v1/attachments/{sha256}, the JPEG bytes) and the dossier (PUT
/api/v1/dossiers/{uuid}, the JSON body with ``device_now``), one request at a time, ``X-CSRFToken`` on writes. A
request that fails (no answer, 5xx, 429) is sent again after a capped, jittered back-off, as the outbox does; a 400
``csrf`` takes a fresh token once. Citizens read their dossiers (their pages and the API). The desk (a leader)
stops each citizen's dossier, which queues a push notification to the citizen.

The plan (CLUSTER_PLAN, JSON written by the harness) gives the proxy's address, the session cookies and the photos;
what happened is written to CLUSTER_RESULT when the run ends. ``mode`` "count": each phone syncs
``dossiers_per_phone`` dossiers and the run ends when every phone and the desk are done; "duration": phones sync
dossier after dossier until --run-time ends (the benchmark).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import time
import uuid

import gevent
from locust import HttpUser
from locust import between
from locust import constant
from locust import events
from locust import task
from locust.exception import StopUser

PLAN = json.loads(open(os.environ["CLUSTER_PLAN"]).read())
VN = dt.timezone(dt.timedelta(hours=7))
RETRY_CAP_SECONDS = 4.0
MAX_ATTEMPTS = 40  # a phone keeps its dossier and tries again later; this only bounds a broken run

PHOTOS = PLAN["photos"]
_photo_bytes: dict[str, bytes] = {}
_photo_numbers = itertools.count()
_dossier_numbers = itertools.count()
_phone_numbers = itertools.count()
_citizen_numbers = itertools.count()

# What happened, written at the end: per dossier uuid, the photos it cites, the statuses of every attempt.
RESULT = {"dossiers": {}, "photos": {}, "put_ms": [], "put_ok_at": [], "reads": {"ok": 0, "failed": {}},
          "desk": {}, "retries": 0, "refused": [], "started": time.time(), "ended": None}
_finished = {"phones": 0, "desk": 0}


def photo(index: int) -> dict:
    entry = PHOTOS[index % len(PHOTOS)]
    if entry["sha256"] not in _photo_bytes:
        with open(entry["path"], "rb") as file:
            _photo_bytes[entry["sha256"]] = file.read()
    return entry


def dossier_body(number: int, hashes: list[str]) -> dict:
    now = dt.datetime.now(VN).replace(microsecond=0)
    return {
        "procedure_key": "tro-cap-xa-hoi-hang-thang",
        "received_at": (now - dt.timedelta(minutes=30)).isoformat(),
        "provisional_code": f"TAM-CL-{uuid.uuid4().hex[:12]}",
        "reception_mode": "home_visit",
        "owner": {"full_name": "Trần Văn Phúc", "personal_id": f"0010{41 + number % 50:02d}{number % 1000000:06d}",
                  "phone": f"091{random.randint(1_000_000, 9_999_999)}",
                  "address": f"Số {number + 1}, ngõ 5 phố Huế, phường Hai Bà Trưng, Hà Nội"},
        "documents": [{"required_document_code": f"TP{k + 1}", "name": None, "sha256": sha, "sighted_original": True}
                      for k, sha in enumerate(hashes)],
        "citizen_requested_receipt": False,
    }


def backoff(attempt: int) -> float:
    return min(RETRY_CAP_SECONDS, 0.2 * 2 ** attempt) * (0.5 + random.random() / 2)


def _check_done(environment) -> None:
    if PLAN["mode"] != "count":
        return
    if _finished["phones"] == len(PLAN["phones"]) and _finished["desk"] == DESK_CLERKS:
        gevent.spawn(environment.runner.quit)


class SignedIn(HttpUser):
    abstract = True

    def sign_in(self, cookie: str) -> None:
        self.client.trust_env = False  # else REQUESTS_CA_BUNDLE would replace the proxy's certificate
        self.client.verify = PLAN["cert"]
        self.client.headers.update({"Referer": f"{PLAN['url']}/", "Origin": PLAN["url"]})
        self.client.cookies.set(PLAN["cookie_name"], cookie, domain="127.0.0.1", path="/")
        self.csrf = None

    def probe(self) -> None:
        """GET /api/v1/session until it answers 200: the phone's probe, which also gives the CSRF token."""
        for attempt in range(MAX_ATTEMPTS):
            response = self.client.get("/api/v1/session", headers={"Accept": "application/json"})
            if response.status_code == 200:
                self.csrf = response.json()["csrf_token"]
                return
            RESULT["retries"] += 1
            gevent.sleep(backoff(attempt))
        raise RuntimeError("the session probe never answered 200")

    def write(self, method: str, path: str, name: str, **kwargs):
        """One write, sent again after a failure as the outbox does; returns the last response and the attempts."""
        statuses = []
        extra = kwargs.pop("headers", {})
        for attempt in range(MAX_ATTEMPTS):
            started = time.perf_counter()
            response = self.client.request(method, path, name=name,
                                           headers={"X-CSRFToken": self.csrf or "", "Accept": "application/json",
                                                    **extra}, **kwargs)
            elapsed = (time.perf_counter() - started) * 1000
            statuses.append(response.status_code)
            if response.status_code == 400 and "csrf" in (response.text or ""):
                self.probe()
                continue
            if response.status_code == 0 or response.status_code >= 500 or response.status_code == 429:
                RESULT["retries"] += 1
                gevent.sleep(backoff(attempt))
                continue
            return response, statuses, elapsed
        return response, statuses, elapsed


class Phone(SignedIn):
    fixed_count = len(PLAN["phones"])
    wait_time = constant(0)

    def on_start(self):
        self.me = PLAN["phones"][next(_phone_numbers)]
        self.sign_in(self.me["cookie"])
        self.synced = 0

    @task
    def sync_a_dossier(self):
        if PLAN["mode"] == "count" and self.synced >= PLAN["dossiers_per_phone"]:
            _finished["phones"] += 1
            _check_done(self.environment)
            raise StopUser()
        number = next(_dossier_numbers)
        hashes = [photo(next(_photo_numbers))["sha256"] for _ in range(3)]
        client_uuid = str(uuid.uuid4())
        record = RESULT["dossiers"][client_uuid] = {"photos": hashes, "statuses": [], "phone": self.me["user_id"]}
        self.probe()
        for sha in hashes:
            response, statuses, _ = self.write("PUT", f"/api/v1/attachments/{sha}", "/api/v1/attachments/[sha256]",
                                               data=_photo_bytes[sha], headers={"Content-Type": "image/jpeg"})
            RESULT["photos"].setdefault(sha, []).extend(statuses)
            if response.status_code in (200, 201):
                RESULT["photos_ok"] = RESULT.get("photos_ok", 0) + 1
            if response.status_code not in (200, 201):
                RESULT["refused"].append({"uuid": client_uuid, "photo": sha, "status": response.status_code,
                                          "body": response.text[:500]})
                self.synced += 1
                return
        body = {**dossier_body(number, hashes), "device_now": dt.datetime.now(dt.UTC).isoformat()}
        response, statuses, elapsed = self.write("PUT", f"/api/v1/dossiers/{client_uuid}", "/api/v1/dossiers/[uuid]",
                                                 data=json.dumps(body),
                                                 headers={"Content-Type": "application/json"})
        record["statuses"] = statuses
        if response.status_code in (200, 201):
            RESULT["put_ms"].append(elapsed)
            RESULT["put_ok_at"].append(time.time())
        else:
            RESULT["refused"].append({"uuid": client_uuid, "status": response.status_code,
                                      "body": response.text[:500]})
        self.synced += 1


class Citizen(SignedIn):
    fixed_count = len(PLAN.get("citizens", []))
    wait_time = between(3, 8)  # a citizen glancing at their dossiers, not a crawler

    def on_start(self):
        self.me = PLAN["citizens"][next(_citizen_numbers)]
        self.sign_in(self.me["cookie"])

    def _read(self, path: str, name: str, accept: str):
        response = self.client.get(path, name=name, headers={"Accept": accept})
        if 200 <= response.status_code < 300:
            RESULT["reads"]["ok"] += 1
        else:
            key = f"{name} {response.status_code}"
            RESULT["reads"]["failed"][key] = RESULT["reads"]["failed"].get(key, 0) + 1

    @task(2)
    def my_dossiers(self):
        self._read("/my/dossiers", "/my/dossiers", "text/html")

    @task(2)
    def my_dossier_page(self):
        self._read(f"/my/dossiers/{self.me['dossier_id']}", "/my/dossiers/[id]", "text/html")

    @task(1)
    def my_dossier_api(self):
        self._read(f"/api/v1/dossiers/{self.me['dossier_id']}", "/api/v1/dossiers/[id]", "application/json")


DESK_CLERKS = PLAN.get("desk_clerks", 0) if PLAN.get("desk") else 0
_desk_todo = list(PLAN.get("citizens", []))


class Desk(SignedIn):
    """Leaders at the desk taking the citizens' dossiers in turn: each stop queues the citizen's notification."""

    fixed_count = DESK_CLERKS
    wait_time = constant(0.1)

    def on_start(self):
        self.sign_in(PLAN["desk"]["cookie"])
        self.probe()

    @task
    def stop_one(self):
        if not _desk_todo:
            _finished["desk"] += 1
            _check_done(self.environment)
            raise StopUser()
        citizen = _desk_todo.pop(0)
        outcome = RESULT["desk"][str(citizen["dossier_id"])] = {}
        # Stopped with a reason: the citizen is notified (the dossier is in processing, see the harness).
        for action, body in (("stop", {"reason": "Người yêu cầu xin dừng giải quyết"}),):
            response, statuses, _ = self.write(
                "POST", f"/api/v1/dossiers/{citizen['dossier_id']}/actions/{action}",
                f"/api/v1/dossiers/[id]/actions/{action}", data=json.dumps(body),
                headers={"Content-Type": "application/json"})
            # A 409 after a lost answer means the action was taken (the dossier has moved on).
            outcome[action] = {"statuses": statuses, "last": response.text[:300]}


@events.test_stop.add_listener
def write_result(environment, **_):
    RESULT["ended"] = time.time()
    with open(os.environ["CLUSTER_RESULT"], "w") as file:
        json.dump(RESULT, file)
