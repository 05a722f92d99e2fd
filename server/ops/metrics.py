"""``/metrics``: what operators watch, in Prometheus's text format, behind a bearer token.

Two sources, chosen by who can know the number:
- **The database**, read at each scrape, for what every process and worker shares: the push outbox (deliveries by
  status, how many are due now and how long the oldest has waited), the push outcomes (sent, failed, expired,
  withheld) and the push worker's heartbeat. Any app process gives the same answer, whichever worker sent what.
- **This process's counters**, for what only the request that saw it knows: request latency (a histogram by Flask
  endpoint and status class: never a path, which holds ids and tokens) and sync refusals (by the problem's slug,
  a fixed set written in the code, never a value the phone sent). Refusals are not stored anywhere else, and a
  latency can only be measured where it happens. Under gunicorn each worker process counts on its own, so
  prometheus_client's multiprocess mode adds them up: ``PROMETHEUS_MULTIPROC_DIR`` names a directory the
  processes write to, emptied when gunicorn starts (:func:`gunicorn_on_starting`) and told of dead workers
  (:func:`gunicorn_child_exit`); the scrape then reads every process's file, so the counters survive a worker
  restart and do not depend on which process answers.

``METRICS_TOKEN`` unset: the endpoint does not exist (404). Set: ``Authorization: Bearer <token>`` or a 401
problem. docs/deploy.md lists the metrics, what each means and what to alert on.
"""

from __future__ import annotations

import hmac
import os
import time
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlalchemy import select

from server.auth.access import public
from server.errors import ApiProblem
from server.extensions import db
from server.types import utcnow

bp = Blueprint("ops", __name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Not registered in prometheus_client's global registry: several apps live in one test process, and the scrape
# chooses between these objects (one process) and the multiprocess files (gunicorn) itself.
REQUEST_SECONDS = Histogram(
    "motcua_http_request_duration_seconds", "Time to answer a request, by Flask endpoint and status class.",
    ["endpoint", "status_class"], registry=None,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SYNC_REFUSALS = Counter(
    "motcua_sync_refusals", "Uploads and dossiers the sync API refused, by what was sent and the problem's slug.",
    ["kind", "reason"], registry=None,
)
_PROCESS_METRICS = (REQUEST_SECONDS, SYNC_REFUSALS)

#: The sync API's endpoints whose refusals the phone acts on (quarantine, or the photo's upload retried).
SYNC_ENDPOINTS = {"sync_api.put_dossier": "dossier", "sync_api.put_attachment": "attachment"}


def refusal_reason(status: int) -> str | None:
    """The reason a sync answer is counted under, or None when it is no refusal: success, a 401 (the phone pauses
    until its officer signs in again, nothing is refused) and 5xx (the phone retries)."""
    if not 400 <= status < 500 or status == 401:
        return None
    return g.get("problem_slug") or f"http-{status}"


def observe(response) -> Response:
    """After each request: its latency, and whether the sync API refused something (``after_request``)."""
    endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
    started = g.get("request_started")
    if started is not None:
        REQUEST_SECONDS.labels(endpoint, f"{response.status_code // 100}xx").observe(time.perf_counter() - started)
    kind = SYNC_ENDPOINTS.get(endpoint)
    reason = refusal_reason(response.status_code) if kind else None
    if reason:
        SYNC_REFUSALS.labels(kind, reason).inc()
    return response


class _ProcessCollector:
    """This process's own counters (no multiprocess directory: one process serves, or a test)."""

    def collect(self):
        for metric in _PROCESS_METRICS:
            yield from metric.collect()


class _DatabaseCollector:
    """The numbers every process shares, read from the database at each scrape."""

    def collect(self):
        from server.push.models import DeliveryStatus
        from server.push.models import PushDelivery
        from server.push.models import WorkerHeartbeat
        from server.push.sender import HEARTBEAT_NAME
        from server.push.sender import _due_condition

        now = utcnow()
        by_status = dict(db.session.execute(
            select(PushDelivery.status, func.count()).group_by(PushDelivery.status)).all())
        deliveries = GaugeMetricFamily(
            "motcua_push_deliveries", "Push deliveries by status: queued and sending are the outbox, sent, failed, "
            "expired and withheld its outcomes (a gauge: the retention purge deletes old rows).", labels=["status"])
        for status in DeliveryStatus:
            deliveries.add_metric([status.value], by_status.get(status, 0))
        yield deliveries

        due_count, oldest = db.session.execute(
            select(func.count(), func.min(PushDelivery.next_attempt_at)).where(_due_condition(now))).one()
        yield GaugeMetricFamily("motcua_push_deliveries_due",
                                "Deliveries a worker could claim now (queued and due, or a dead worker's lease).",
                                value=due_count)
        yield GaugeMetricFamily("motcua_push_oldest_due_age_seconds",
                                "How long the oldest due delivery has waited for a worker (0 when none waits).",
                                value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)

        beat_at = db.session.scalar(select(WorkerHeartbeat.beat_at).where(WorkerHeartbeat.name == HEARTBEAT_NAME))
        yield GaugeMetricFamily("motcua_push_worker_heartbeat_age_seconds",
                                "Seconds since a push worker last wrote its heartbeat (+Inf: never).",
                                value=(now - beat_at).total_seconds() if beat_at else float("inf"))
        from server.forms.rendering import pending_count

        yield GaugeMetricFamily("motcua_forms_pending",
                                "Issued forms whose PDF the worker has yet to render (the desk shows them as being "
                                "prepared).", value=pending_count())
        db.session.rollback()  # a read: end its transaction rather than hold it until the request's teardown


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(_DatabaseCollector())
    return registry


def _authorised() -> bool:
    """The bearer token matches, compared in constant time (the comparison does not tell how much matched)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    expected = str(current_app.config["METRICS_TOKEN"])
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@bp.get("/metrics")
@public  # to the session machinery; the bearer token below is its own access rule
def metrics():
    if not current_app.config.get("METRICS_TOKEN"):
        abort(404)  # no token configured: the endpoint does not exist
    if not _authorised():
        response = ApiProblem(401, "metrics-token", ("Cần mã truy cập số liệu vận hành", "Metrics token required"),
                              ("Gửi tiêu đề Authorization: Bearer <METRICS_TOKEN>.",
                               "Send the header Authorization: Bearer <METRICS_TOKEN>.")).to_response()
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
    # Fresh at every scrape, and nothing between us and the scraper keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def configure_metrics(app) -> None:
    """Register ``/metrics`` and the per-request observation."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    if folder:
        # prometheus_client writes there at a request's first count: a missing directory would fail that request.
        Path(folder).mkdir(parents=True, exist_ok=True)
    app.register_blueprint(bp)
    app.after_request(observe)


# --- gunicorn's hooks (deploy/gunicorn.conf.py calls them) ------------------------------------------------------

def gunicorn_on_starting(server) -> None:
    """gunicorn's ``on_starting``: empty the multiprocess directory, so that a previous run's counters (and the
    files of its dead processes) are not added to this run's."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    # Only prometheus_client's own files: a directory named by mistake (the instance folder, /run/motcua) keeps
    # everything else.
    for stale in path.glob("*.db"):
        stale.unlink()


def gunicorn_child_exit(server, worker) -> None:
    """gunicorn's ``child_exit``: a dead worker's live gauges no longer count (its counters and histograms stay,
    as they must: what it served happened)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(worker.pid)
