"""The production shape: gunicorn with the repository's configuration (deploy/gunicorn.conf.py), and two app
processes sharing their rate limits through Redis (the push worker processes are in tests/test_push.py).

Real processes on loopback, against the test's own database (SQLite or PostgreSQL): each waits for what the
process says in its log, never for a fixed time.
"""

from __future__ import annotations

import json
import signal
import socket
import uuid

import pytest
import requests

from server.push import keys
from tests.processes import BIN
from tests.processes import PATIENCE
from tests.processes import ROOT
from tests.processes import Process
from tests.processes import environment
from tests.redis_server import free_port

LOOKUP = "/api/v1/invitations/" + "y" * 43  # a public look-up under LOOKUP_RATE_LIMIT (404: no such link)


@pytest.fixture
def production(app, redis_server, tmp_path):
    """What production needs: a shared VAPID key file, a real subject, Redis for the rate limits."""
    shared = tmp_path / "secrets" / "vapid.pem"
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(shared)
    keys.init_keys(app)
    return {"APP_ENV": "production", "MOTCUA_VAPID_SUBJECT": "mailto:motcua@hbt.hanoi.gov.vn",
            "MOTCUA_BASE_URL": "https://motcua.example.vn",
            "MOTCUA_VAPID_PRIVATE_KEY_FILE": str(shared), "MOTCUA_RATELIMIT_STORAGE_URI": redis_server.url(),
            # this test's own counters in the session's Redis
            "MOTCUA_RATELIMIT_KEY_PREFIX": uuid.uuid4().hex, "MOTCUA_TRUSTED_PROXY_HOPS": 1}


@pytest.fixture
def gunicorn(app):
    """Start gunicorn with deploy/gunicorn.conf.py; every one started is stopped at the end of the test."""
    started: list[Process] = []

    def start(env: dict[str, str], workers: int) -> tuple[Process, str]:
        port = free_port()
        process = Process([str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                          {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)})
        started.append(process)
        process.wait_for_line("Listening at:")
        # Connections wait in the listening socket's queue until a worker has loaded the app and accepts them.
        return process, f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.stop()


def test_gunicorn_serves_the_app_with_the_repositorys_configuration_and_stops_gracefully(app, production, gunicorn):
    # CSRF off for the request held in flight below only: what it exercises is gunicorn's shutdown, not the token.
    server, url = gunicorn(environment(app, **production, MOTCUA_WTF_CSRF_ENABLED="false"), workers=2)

    response = requests.get(f"{url}/api/v1/push/key", timeout=PATIENCE)
    assert response.status_code == 200
    assert response.json()["public_key"] == keys.public_key(app)  # the shared file's key, as every host's
    assert requests.get(f"{url}{LOOKUP}?name=Nguyen+Van+An", timeout=PATIENCE).status_code == 404

    # A request in flight when SIGTERM arrives (its body half sent) is answered before the processes exit.
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=PATIENCE) as connection:
        connection.sendall(b"POST /api/v1/auth/login/options HTTP/1.1\r\nHost: localhost\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{")
        server.popen.send_signal(signal.SIGTERM)
        server.wait_for_line("Handling signal: term")
        connection.sendall(b"}")
        answer = connection.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert server.stop() == 0
    log = server.log
    assert "Shutting down: Master" in log

    # The log: JSON lines (gunicorn's own and the app's), one per request by endpoint, without the path, query
    # strings, link tokens or the client's address.
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(r["message"] == "Shutting down: Master" for r in records)
    requests_logged = [r for r in records if "endpoint" in r]
    assert {(r["method"], r["endpoint"], r["status"]) for r in requests_logged} >= {
        ("GET", "push_api.public_key", 200), ("POST", "auth_api.login_options", 200)}
    assert not any("path" in r for r in requests_logged)
    assert "127.0.0.1:" + port not in "".join(str(r) for r in requests_logged)
    assert "y" * 43 not in log and "Nguyen" not in log


def test_two_app_processes_share_one_rate_limit_through_redis(app, production, gunicorn):
    env = environment(app, **production, MOTCUA_LOOKUP_RATE_LIMIT="3 per minute")
    (_, first), (_, second) = gunicorn(env, workers=1), gunicorn(env, workers=1)

    def lookup(url: str, client: str) -> int:
        # As the proxy forwards it: the client's address appended to what the client sent.
        return requests.get(f"{url}{LOOKUP}", headers={"X-Forwarded-For": f"198.51.100.66, {client}"},
                            timeout=PATIENCE).status_code

    # Five clients through one proxy, spread over both processes: a limit of 3 per minute each, not one for all.
    assert [lookup((first, second)[n % 2], f"203.0.113.{n}") for n in range(1, 6)] == [404] * 5
    # One client going from one process to the other is counted once across both.
    assert [lookup(url, "203.0.113.99") for url in (first, second, first, second)] == [404, 404, 404, 429]
