"""Operating it (issue 13 point 8): the operators' /metrics and the structured logs, without personal data."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.auth.models import Role
from server.dossiers.services import apply_action
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.ops.logs import JsonFormatter
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.sender import beat
from tests.conftest import DATABASE_URL
from tests.conftest import ON_POSTGRES
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import render_forms
from tests.test_config import _production_needs
from tests.test_sync_api import captured
from tests.test_sync_api import jpeg
from tests.test_sync_api import officer_client
from tests.test_sync_api import put
from tests.test_sync_api import reserve
from tests.test_sync_api import upload

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "s3cr3t-metrics-token-for-the-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
#: What the owner in tests.test_sync_api.captured is: none of it may reach a metric or a log line.
PERSONAL = ("Trần Văn Phúc", "001045012345", "0912345678", "Ngõ 5 phố Huế", "Trần Thị Mai", "0987654321")


def scrape(app) -> dict[tuple[str, tuple], float]:
    """/metrics parsed by prometheus_client's own parser: {(sample name, sorted labels): value}."""
    response = app.test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.data
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def refusals(samples, kind: str, reason: str) -> float:
    return samples.get(("motcua_sync_refusals_total", (("kind", kind), ("reason", reason))), 0.0)


@pytest.fixture
def metered(app):
    app.config["METRICS_TOKEN"] = TOKEN
    return app


# --- /metrics: who may read it -------------------------------------------------------------------------------

def test_without_a_token_configured_the_endpoint_does_not_exist(app, client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=BEARER).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "])
def test_a_missing_or_wrong_token_is_a_401_problem(metered, header):
    response = metered.test_client().get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:motcua:problem:metrics-token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "motcua_" not in response.get_data(as_text=True)


def test_the_right_token_gets_fresh_prometheus_text_and_no_session(metered):
    response = metered.test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    names = {family.name for family in text_string_to_metric_families(response.get_data(as_text=True))}
    assert {"motcua_push_deliveries", "motcua_push_deliveries_due", "motcua_push_worker_heartbeat_age_seconds",
            "motcua_http_request_duration_seconds", "motcua_sync_refusals"} <= names


def test_metrics_are_not_in_the_public_api_description(client):
    assert "/metrics" not in client.get("/api/v1/openapi.json").get_json()["paths"]


# --- /metrics: the numbers follow what happened --------------------------------------------------------------

def test_the_outbox_depth_and_the_outcomes_follow_the_deliveries(metered):
    before = scrape(metered)
    assert before[("motcua_push_deliveries", (("status", "queued"),))] == 0
    assert before[("motcua_push_deliveries_due", ())] == 0
    message = InboxMessage(user_id=demo_user(Role.CITIZEN).id, kind="received", data={})
    delivery = PushDelivery(message=message)
    db.session.add(message)
    db.session.commit()
    queued = scrape(metered)
    assert queued[("motcua_push_deliveries", (("status", "queued"),))] == 1
    assert queued[("motcua_push_deliveries_due", ())] == 1
    delivery.status = DeliveryStatus.SENT
    db.session.commit()
    sent = scrape(metered)
    assert sent[("motcua_push_deliveries", (("status", "queued"),))] == 0
    assert sent[("motcua_push_deliveries", (("status", "sent"),))] == 1
    assert sent[("motcua_push_deliveries_due", ())] == 0


def test_the_forms_waiting_for_their_pdf(metered):
    assert scrape(metered)[("motcua_forms_pending", ())] == 0
    dossier = make_dossier(State.ONLINE_SUBMITTED)
    staff = demo_user(Role.STAFF)
    apply_action(dossier, Action.REFUSE, staff, ActionRequest(staff.id, "staff", reason="Sai thẩm quyền"))
    db.session.commit()  # the refusal form (Mẫu 03) is numbered; its PDF waits for the worker
    assert scrape(metered)[("motcua_forms_pending", ())] == 1
    render_forms()
    assert scrape(metered)[("motcua_forms_pending", ())] == 0


def test_the_worker_heartbeat_age(metered):
    assert scrape(metered)[("motcua_push_worker_heartbeat_age_seconds", ())] == float("inf")
    beat()
    age = scrape(metered)[("motcua_push_worker_heartbeat_age_seconds", ())]
    assert 0 <= age < 3600  # beaten in this test: not "never", not a stale row


def test_each_sync_refusal_counts_under_its_reason(metered):
    client, token = officer_client(metered)
    block = reserve(client, token)
    before = scrape(metered)
    invalid = captured(block["first_code"], [], owner={"full_name": "   "})
    assert put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=invalid).status_code == 422
    after_invalid = scrape(metered)
    assert refusals(after_invalid, "dossier", "invalid-dossier") == refusals(before, "dossier", "invalid-dossier") + 1

    photo, _ = upload(client, token, jpeg())
    client_uuid = uuid.uuid4()
    body = captured(block["first_code"], [photo])
    assert put(client, token, f"/api/v1/dossiers/{client_uuid}", json=body).status_code == 201
    assert put(client, token, f"/api/v1/dossiers/{client_uuid}", json=body).status_code == 200  # a replay
    assert put(client, token, f"/api/v1/dossiers/{client_uuid}", json=dict(body, summary="khác")).status_code == 409
    assert put(client, token, f"/api/v1/attachments/{'0' * 64}", data=jpeg()).status_code == 422
    after = scrape(metered)
    assert refusals(after, "dossier", "dossier-conflict") == refusals(before, "dossier", "dossier-conflict") + 1
    assert refusals(after, "dossier", "invalid-dossier") == refusals(after_invalid, "dossier", "invalid-dossier")
    assert (refusals(after, "attachment", "invalid-attachment")
            == refusals(before, "attachment", "invalid-attachment") + 1)

    # Not refusals: a phone whose session ended pauses and keeps the dossier.
    anonymous = metered.test_client()
    assert anonymous.put(f"/api/v1/dossiers/{uuid.uuid4()}", json=body).status_code in (400, 401)
    assert refusals(scrape(metered), "dossier", "unauthenticated") == refusals(before, "dossier", "unauthenticated")


def test_latency_is_counted_by_endpoint_and_status_class(metered):
    def count(samples, endpoint, status_class):
        return samples.get(("motcua_http_request_duration_seconds_count",
                            (("endpoint", endpoint), ("status_class", status_class))), 0)

    before = scrape(metered)
    client = metered.test_client()
    client.get("/api/v1/calendar/due")  # 400: missing parameters
    client.get(f"/no/such/page/{uuid.uuid4()}")
    after = scrape(metered)
    assert count(after, "calendar_api.due", "4xx") == count(before, "calendar_api.due", "4xx") + 1
    assert count(after, "unmatched", "4xx") == count(before, "unmatched", "4xx") + 1


def test_no_personal_data_nor_ids_in_any_label(metered, caplog):
    caplog.set_level(logging.DEBUG)
    client, token = officer_client(metered)
    block = reserve(client, token)
    photo, _ = upload(client, token, jpeg())
    client_uuid = uuid.uuid4()
    stored = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=captured(block["first_code"], [photo]))
    assert stored.status_code == 201
    code, dossier_id = stored.get_json()["code"], stored.get_json()["id"]
    metered.test_client().get(f"/follow/{code}")
    text = metered.test_client().get("/metrics", headers=BEARER).get_data(as_text=True)
    for value in (*PERSONAL, code, str(client_uuid), photo, TOKEN):
        assert value not in text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for name, value in sample.labels.items():
                # Endpoint names, status classes, slugs, statuses and bucket bounds: never a number from a path.
                assert re.fullmatch(r"[a-z_.\-]+|[0-9]xx|[0-9.]+|\+Inf", value), (sample.name, name, value)
                assert str(dossier_id) != value

    # The same sync wrote log lines (the request lines, "Dossier ... received"), none with the citizen's data.
    assert {"sync_api.put_dossier", "sync_api.put_attachment"} <= {getattr(r, "endpoint", None) for r in caplog.records}
    assert any("received" in r.getMessage() for r in caplog.records if r.name == "server.dossiers.services")
    formatter = JsonFormatter()
    for record in caplog.records:
        line = formatter.format(record)
        for value in PERSONAL:
            assert value not in line and value not in record.getMessage(), line
        assert "?" not in getattr(record, "endpoint", "")


# --- multiprocess: several gunicorn workers count as one ----------------------------------------------------

_COUNT_ONE_REFUSAL = """
from server.ops.metrics import SYNC_REFUSALS, REQUEST_SECONDS
SYNC_REFUSALS.labels("dossier", "invalid-dossier").inc()
REQUEST_SECONDS.labels("sync_api.put_dossier", "4xx").observe(0.2)
"""


def test_counters_of_several_processes_add_up_in_multiprocess_mode(app, tmp_path):
    """What gunicorn does: each worker process writes its own file; the scrape, in any process, reads them all."""
    from prometheus_client import CollectorRegistry
    from prometheus_client import multiprocess

    from server.ops.metrics import gunicorn_on_starting

    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"a previous run's file")
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(folder))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    try:
        gunicorn_on_starting(server=None)
        assert list(folder.iterdir()) == []  # the previous run's counters are gone
        for _ in range(2):  # two worker processes, one refusal each
            subprocess.run([sys.executable, "-c", _COUNT_ONE_REFUSAL], env=env, cwd=ROOT, check=True)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        assert registry.get_sample_value("motcua_sync_refusals_total",
                                         {"kind": "dossier", "reason": "invalid-dossier"}) == 2
        # And /metrics, in this process, answers from those files instead of its own counters.
        app.config["METRICS_TOKEN"] = TOKEN
        samples = scrape(app)
        assert refusals(samples, "dossier", "invalid-dossier") == 2
        assert samples[("motcua_http_request_duration_seconds_count",
                        (("endpoint", "sync_api.put_dossier"), ("status_class", "4xx")))] == 2
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]


# --- logs ---------------------------------------------------------------------------------------------------

def test_the_request_id_is_the_proxys_when_it_looks_like_a_token(client):
    given = "0f8e2c1d9a7b4e6f8a1b2c3d4e5f6a7b"
    assert client.get("/api/v1/calendar/due", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    for forged in ("Nguyễn Văn An", "short", "a" * 200, "abcdefgh level=ERROR forged"):
        echoed = client.get("/api/v1/calendar/due", headers={"X-Request-ID": forged}).headers["X-Request-ID"]
        assert echoed != forged and re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_production_writes_one_json_object_per_line_without_query_strings(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s")
    _production_needs(monkeypatch, tmp_path)
    monkeypatch.setenv("APP_ENV", "production")
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []  # as in a fresh production process: nothing configured logging before the app
    try:
        from server import create_app

        app = create_app({"INSTANCE_PATH": str(tmp_path)})
        [handler] = root.handlers
        stream = io.StringIO()
        handler.setStream(stream)
        response = app.test_client().get("/api/v1/calendar/due?from=2026-01-05&secret=Nguyen",
                                         headers={"X-Request-ID": "req-1234567890"})
        logging.getLogger("server.dossiers.services").warning("Dossier %s received", 42)
    finally:
        root.handlers, root.level = saved_handlers, saved_level
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [request_line] = [line for line in lines if line["logger"] == "server.request"]
    assert request_line["method"] == "GET" and request_line["endpoint"] == "calendar_api.due"
    assert request_line["status"] == response.status_code == 400
    assert request_line["request_id"] == response.headers["X-Request-ID"] == "req-1234567890"
    assert request_line["level"] == "INFO" and request_line["time"].endswith("+00:00")
    assert isinstance(request_line["duration_ms"], float)
    assert "secret" not in stream.getvalue() and "/api/v1/calendar" not in stream.getvalue()
    assert lines[-1]["message"] == "Dossier 42 received" and "request_id" not in lines[-1]


def test_text_logs_elsewhere_and_an_unknown_format_is_refused(tmp_path):
    from server import create_app
    from server.config import ConfigError
    from server.ops.logs import log_format

    assert log_format({"APP_ENV": "development", "LOG_FORMAT": None}) == "text"
    assert log_format({"APP_ENV": "production", "LOG_FORMAT": None}) == "json"
    assert log_format({"APP_ENV": "production", "LOG_FORMAT": "text"}) == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        create_app({"INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": "xml"})


# --- backups: a tested restore ------------------------------------------------------------------------------

@pytest.mark.skipif(not ON_POSTGRES, reason="pg_dump and pg_restore: PostgreSQL only")
def test_a_nightly_dump_restores_into_a_scratch_database_and_checks(app, tmp_path):
    from sqlalchemy import func
    from sqlalchemy import select
    from sqlalchemy import update

    from server.auth.audit import audit
    from server.auth.models import AuditEvent
    from server.auth.models import User

    first = audit("role_changed", demo_user(Role.ADMIN), demo_user(Role.STAFF), role=["staff"])
    audit("role_changed", demo_user(Role.ADMIN), demo_user(Role.LEADER), role=["leader"])
    db.session.commit()
    accounts = db.session.scalar(select(func.count()).select_from(User))
    source = DATABASE_URL.split("?")[0]
    scratch = f"{source}_restore_check"

    def dump_and_check() -> subprocess.CompletedProcess:
        dump = tmp_path / "motcua.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", source], check=True)
        return subprocess.run([str(ROOT / "deploy" / "restore-check.sh"), str(dump), scratch],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)

    try:
        restored = dump_and_check()
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert restored.stdout.rstrip().endswith("RESTORE OK")
        assert "(head)" in restored.stdout and "audit_event: 2 entries" in restored.stdout
        assert f"    user_account {accounts}\n" in restored.stdout

        # A row changed after it was written: the restore is refused, at the chains' step.
        db.session.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(data={"role": ["admin"]}))
        db.session.commit()
        tampered = dump_and_check()
        assert tampered.returncode == 1 and "BROKEN" in tampered.stderr, tampered.stdout + tampered.stderr
        assert "RESTORE OK" not in tampered.stdout
    finally:
        name = scratch.rsplit("/", 1)[1]
        subprocess.run(["psql", "-X", "-q", source.rsplit("/", 1)[0] + "/postgres", "-c",
                        f'DROP DATABASE IF EXISTS "{name}"'], check=True)


def test_the_restore_check_drops_only_a_scratch_database(tmp_path):
    result = subprocess.run([str(ROOT / "deploy" / "restore-check.sh"), str(tmp_path / "x.dump"),
                             "postgresql://postgres@127.0.0.1:5432/motcua"], capture_output=True, text=True)
    assert result.returncode == 1 and "_restore_check" in result.stderr


# --- the deployment guide cannot drift -----------------------------------------------------------------------

#: Settings of issue 13's other parts (fixed in advance): the guide documents them before they reach DEFAULTS.
_COMING_SETTINGS = ("STORAGE_BACKEND", "S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_PRESIGN_SECONDS",
                    "TRUSTED_PROXY_HOPS", "DB_POOL_SIZE", "DB_MAX_OVERFLOW", "VAPID_PRIVATE_KEY_FILE")


def test_every_setting_is_in_the_deployment_guide():
    from server.config import DEFAULTS

    guide = (ROOT / "docs" / "deploy.md").read_text()
    missing = [name for name in (*DEFAULTS, *_COMING_SETTINGS) if f"`{name}`" not in guide]
    assert missing == [], f"settings docs/deploy.md does not mention: {missing}"
    assert "docs/deploy.md" in (ROOT / "README.md").read_text()


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"), reason="needs Debian's nginx and openssl")
def test_the_guides_nginx_block_is_valid_and_takes_the_largest_body(tmp_path):
    """`nginx -t` on the server block exactly as docs/deploy.md prints it (certificates made here)."""
    from server.config import DEFAULTS
    from server.config import max_body_bytes

    guide = (ROOT / "docs" / "deploy.md").read_text()
    [block] = re.findall(r"```nginx\n(.*?)```", guide, re.S)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=motcua.test", "-days", "1", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    block = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {tmp_path}/cert.pem;", block)
    block = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {tmp_path}/key.pem;", block)
    (tmp_path / "motcua.conf").write_text(block)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
        f" include {tmp_path}/motcua.conf;\n}}\n")
    checked = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", block).group(1))
    assert megabytes * 1024 * 1024 >= max_body_bytes(DEFAULTS)
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in block  # one trusted hop: TRUSTED_PROXY_HOPS=1


_GUNICORN_LOGGING = """
import logging, logging.config
from server.ops.logs import gunicorn_logconfig
logging.config.dictConfig(gunicorn_logconfig())
logging.getLogger("gunicorn.error").info("Booting worker with pid: %s", 4242)
logging.getLogger("server.push.sender").warning("push worker: drain failed")
"""


def test_gunicorns_own_lines_are_the_same_json(tmp_path):
    done = subprocess.run([sys.executable, "-c", _GUNICORN_LOGGING], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["level"], line["message"]) for line in lines] == [
        ("gunicorn.error", "INFO", "Booting worker with pid: 4242"),
        ("server.push.sender", "WARNING", "push worker: drain failed")]
