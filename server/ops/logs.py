"""Logs as structured lines without personal data.

Production writes one JSON object per line (``LOG_FORMAT``: "json" by default in production, "text" elsewhere):
``time``, ``level``, ``logger``, ``message``, ``request_id`` and, for the one line each request writes (logger
``server.request``), ``method``, ``endpoint``, ``status`` and ``duration_ms``. What is never written: paths (they
hold recovery and claim tokens, ``/recover/<token>``), query strings, bodies, user agents; the request line names
the Flask endpoint (``sync_api.put_dossier``) instead. Messages elsewhere name rows by id or dossier code only
(the rule for every ``log.*`` call of the server: ids and codes, never names, ID numbers, phones or addresses).

The request id comes from the proxy's ``X-Request-ID`` when it looks like a token (nginx's ``$request_id`` is 32
hex digits), else it is generated here; either way the response echoes it, so a user's report, the proxy's log and
ours meet on one value.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from datetime import UTC
from datetime import datetime

from flask import Flask
from flask import g
from flask import has_request_context
from flask import request
from flask import request_started

REQUEST_ID_HEADER = "X-Request-ID"
#: What a proxy's request id looks like (nginx's $request_id, a UUID, a trace id): anything else is replaced, so
#: that a client cannot write arbitrary text (a name, a forged log line) into our logs through this header.
_TOKEN = re.compile(r"[A-Za-z0-9._-]{8,128}")
#: The request line's fields, in this order; nothing else a record carries is written (see JsonFormatter).
REQUEST_FIELDS = ("method", "endpoint", "status", "duration_ms")
#: Asked every few seconds by the load balancer and the metrics scraper: their lines would drown the others.
_UNLOGGED_ENDPOINTS = frozenset({"web.healthz", "ops.metrics"})
#: The request id of a record written outside any request (the push worker's loop, a CLI command).
NO_REQUEST = "-"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"

request_log = logging.getLogger("server.request")


def log_format(config) -> str:
    """ "json" or "text": the setting if given, else JSON in production (log collectors parse it) and text for
    a developer's terminal."""
    chosen = config.get("LOG_FORMAT") or ("json" if config["APP_ENV"] == "production" else "text")
    if chosen not in ("json", "text"):
        from server.config import ConfigError

        raise ConfigError(f"LOG_FORMAT must be json or text, not {chosen!r}")
    return chosen


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with a fixed set of keys (an ``extra=`` outside them is not written)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", NO_REQUEST) != NO_REQUEST:
            entry["request_id"] = record.request_id
        for field in REQUEST_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def request_id() -> str | None:
    """This request's id (the proxy's when it looks like a token, else a new one); None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _TOKEN.fullmatch(given) else secrets.token_hex(16)
    return g.request_id


def _install_record_factory() -> None:
    """Every record (ours, Flask's, SQLAlchemy's) carries the request id it was written under, whichever handler
    writes it (the JSON one, the text one, pytest's caplog)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "motcua_request_id", False):
        return  # a second app in this process: already installed

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = request_id() or NO_REQUEST
        return record

    factory.motcua_request_id = True
    logging.setLogRecordFactory(factory)


def configure_logging(app: Flask) -> None:
    """The root handler's format, the request id on every record, and the request line after each request."""
    chosen = log_format(app.config)
    _install_record_factory()
    if not app.debug and not app.testing:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
        # basicConfig leaves a root logger that is already configured alone (a deployment's own logging set-up).
        logging.basicConfig(level=logging.INFO, handlers=[handler])
    # The font subsetter (server/forms/pdf.py) writes a line per table at INFO: noise, and nothing to act on.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    # Flask-Limiter writes the client's address at INFO on every refusal ("ratelimit ... (203.0.113.7) exceeded"):
    # an address is personal data, and the refusals are counted without it (429 in the request line and metrics).
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)

    # request_started fires before every before_request hook (even those that answer early, like the oversized
    # body refusal), so every request is timed from its start.
    request_started.connect(_start, app)
    app.after_request(_finish)


def _start(sender, **extra) -> None:
    g.request_started = time.perf_counter()


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = request_id()
    endpoint = request.url_rule.endpoint if request.url_rule else None
    if endpoint not in _UNLOGGED_ENDPOINTS:
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        fields = {"method": request.method, "endpoint": endpoint or "unmatched", "status": response.status_code,
                  "duration_ms": duration}
        request_log.info("%(method)s %(endpoint)s %(status)s %(duration_ms)s ms", fields, extra=fields)
    return response


def gunicorn_logconfig() -> dict:
    """gunicorn's ``logconfig_dict``: its own lines (a worker booting, a timeout) and every other record as the
    same JSON on standard error. The root handler set here is the one the app then finds (``basicConfig`` leaves
    it alone). No ``gunicorn.access`` logger: its lines hold paths and query strings (the request line replaces
    them)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
        "root": {"level": "INFO", "handlers": ["stderr"]},
    }
