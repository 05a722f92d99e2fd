"""Configuration: defaults for the embedded mode, overridden by the environment.

The environment names a new user meets first are unprefixed (``DATABASE_URL``, ``SECRET_KEY``, ``APP_ENV``);
every other setting can be given as ``MOTCUA_<NAME>`` (for example ``MOTCUA_DOSSIER_CODE_PATTERN``), parsed as JSON
when it looks like JSON (Flask's ``from_prefixed_env``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration is unsafe or inconsistent."""


DEFAULTS: dict[str, object] = {
    # "development" (embedded default), "production" or "testing".
    "APP_ENV": "development",
    # hide_parameters: a statement that fails is logged without its bound values (names, IDs, phones, addresses).
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "JSON_SORT_KEYS": False,
    # Languages: Vietnamese first, English second.
    "BABEL_DEFAULT_LOCALE": "vi",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
    "LANGUAGES": ["vi", "en"],
    "LANGUAGE_COOKIE": "lang",
    # CSRF tokens are read from the X-CSRFToken header for JSON writes.
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Write the session cookie only when the session changed (the sliding expiry moves it at most once a minute),
    # not on every response: with a write on every response, a request still in flight when the user signs out
    # (a service worker precaching, say) answered with the old session's cookie and signed the user back in.
    "SESSION_REFRESH_EACH_REQUEST": False,
    # Dossier codes (Circular 01/2018 Art. 19): placeholders {agency}, {yy}, {mm}, {dd}, {yyyy}, {seq}.
    # [U] Circular 03/2025 may change the scheme: it is configuration, not a constant.
    "DOSSIER_CODE_PATTERN": "{agency}-{yy}{mm}{dd}-{seq:04d}",
    # An agency's electronic identifier (QCVN 102:2016, DOMAIN.md §1.5), checked when an administrator creates a
    # ward. [U] the alphabet is unconfirmed (and Circular 03/2025 may change it): a regular expression to configure.
    "AGENCY_CODE_PATTERN": r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$",
    # Timeliness (DOMAIN.md §2.5): compare finish and due by "date" (practice) or by "timestamp".
    "TIMELINESS_GRANULARITY": "date",
    # Same-day procedures: received after this hour, due the next working day (DOMAIN.md §2.4).
    "SAME_DAY_CUTOFF": "15:00",
    # Default office hours when an agency has none of its own (TD.DichVuCongApi convention, DOMAIN.md §2.2).
    "OFFICE_HOURS": ["07:00", "11:30", "13:30", "17:00"],
    # How far ahead the published calendar may be asked for in one request (days).
    "CALENDAR_MAX_SPAN_DAYS": 800,
    # Passkeys. RP id and origins default to the host the browser used; set them behind a proxy.
    # The public address the server is reached at (https://motcua.example.vn): the links printed by `flask users`
    # and the absolute "navigate" URL of a declarative push, which the worker builds with no request at hand.
    # Unset: http://localhost:$PORT (development only: phones would open a dead link).
    "BASE_URL": None,
    "WEBAUTHN_RP_ID": None,
    "WEBAUTHN_ORIGINS": None,
    "WEBAUTHN_TIMEOUT_SECONDS": 300,
    # The officer's vault on the phone (issue 12 point 2, pwa/lib/vault.js): the app locks after this many seconds
    # without use (or that long in the background), and erases its locked data after this many wrong PINs in a row.
    # Sent to the phone with the session (device_policy) and remembered there for offline starts.
    "VAULT_LOCK_AFTER_SECONDS": 300,
    "VAULT_PIN_TRIES": 5,
    "INVITATION_TTL_HOURS": 72,
    "RECOVERY_TTL_HOURS": 24,
    # Session lifetimes (issue #3): officers on a registered phone slide; desk roles expire after a working day.
    "OFFICER_SESSION_DAYS": 14,
    "CITIZEN_SESSION_DAYS": 30,
    "STAFF_SESSION_HOURS": 12,
    "PERMANENT_SESSION_LIFETIME": 14 * 24 * 3600,
    # Version of the data-processing notice citizens consent to; change it when the text changes.
    "CONSENT_TEXT_VERSION": "2026-11-22",
    # Abuse limits (Flask-Limiter syntax). Storage: memory:// by default, e.g. redis://127.0.0.1:6379/0.
    # In production memory:// is refused (each process would count on its own, so N processes allow N times the
    # limit) unless exactly one process serves, as declared by MOTCUA_PROCESSES=1 or WEB_CONCURRENCY=1 (gunicorn's
    # workers, which deploy/gunicorn.conf.py exports), and neither says more.
    "RATELIMIT_STORAGE_URI": "memory://",
    "PROCESSES": None,
    # Passed to the Redis client: a Redis host that does not answer (down, or a network that drops packets) costs
    # a request at most this long before the fallback below takes over, not the operating system's minutes.
    "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    # When the shared store (Redis) does not answer, requests are served and counted in this process's memory
    # until it answers again (flask-limiter checks it at growing intervals), with a warning in the log; an error
    # the fallback cannot absorb is logged and the request served. Fail open, not 503: these limits slow down
    # guessing and flooding, they are not what authenticates anyone (passkeys do; the follow check has its own
    # lock per code in the database), and a Redis outage must not stop every sign-in and sync of the province.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    # Reverse proxies in front of the app that add X-Forwarded-For and set X-Forwarded-Proto
    # (MOTCUA_TRUSTED_PROXY_HOPS; 1 for one nginx or HAProxy). 0: the headers are ignored and the client's address
    # is the TCP peer's. With N, the Nth address from the right of X-Forwarded-For is the client's: entries further
    # left were written by the client and are ignored. Host is not taken from X-Forwarded-Host: the proxy passes
    # the Host header through (nginx `proxy_set_header Host $host`), so a forged header cannot change the host
    # that passkeys and links are checked against.
    "TRUSTED_PROXY_HOPS": 0,
    "RATELIMIT_HEADERS_ENABLED": True,
    "AUTH_RATE_LIMIT": "10 per minute; 60 per hour",
    "LOOKUP_RATE_LIMIT": "20 per minute; 200 per hour",
    # The 4-digit check of /follow/<code>, per code whatever the address: after this many wrong answers the code
    # is locked for FOLLOW_LOCK_SECONDS, doubled at each further wrong answer (at most a day); a right one resets.
    "FOLLOW_MAX_FAILURES": 5,
    "FOLLOW_LOCK_SECONDS": 15 * 60,
    # Offline sync (issue #4).
    "ATTACHMENT_DIR": None,  # default: <instance>/attachments
    # Where attachments and issued PDFs are kept (issue 13, server/storage/): "local" (the folder above, the
    # embedded default: one machine) or "s3" (an S3-compatible bucket every app server shares: MOTCUA_STORAGE_BACKEND).
    # Credentials the boto3 way (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment).
    "STORAGE_BACKEND": "local",
    "S3_BUCKET": None,  # MOTCUA_S3_BUCKET, required with "s3"
    "S3_ENDPOINT_URL": None,  # MOTCUA_S3_ENDPOINT_URL: MinIO's or the cloud's address; none means AWS itself
    "S3_REGION": "us-east-1",  # MOTCUA_S3_REGION: the signing region (MinIO and Ceph accept the default)
    # MOTCUA_S3_PRESIGN_SECONDS: 0 (default) streams the desk's photos through the app, after its access check;
    # above 0 the desk's photo URL answers, after the same check, with a redirect to a URL the bucket serves for
    # that many seconds (the app then carries no photo bytes, but the bucket must be reachable from the desk's
    # browsers and whoever holds the URL can read it until it expires: keep it short, e.g. 60).
    "S3_PRESIGN_SECONDS": 0,
    # The largest upload; MAX_CONTENT_LENGTH (every request body, Flask) and waitress's max_request_body_size
    # (./dev run) follow it, so that a larger body is refused before it is read.
    "MAX_ATTACHMENT_BYTES": 10_000_000,
    # Signed results (issue 15, server/results/validation.py). The certificates a result's signature must chain to
    # to count as signed: a PEM file or a folder of .pem/.crt files (several separated by ":"), e.g. the root CA of
    # the Government's specialised digital-signature service (Ban Cơ yếu Chính phủ) and the licensed public CAs
    # the province accepts. Unset: no signature is trusted, every result is "untrusted" until it is configured.
    "SIGNATURE_TRUST_ROOTS": None,
    # A result PDF larger than this is refused before its signature is parsed (it also stays within
    # MAX_ATTACHMENT_BYTES, the limit of every stored file).
    "SIGNED_RESULT_MAX_BYTES": 10_000_000,
    # The phone compresses photos to about 2 MP (pwa/lib photo compression); 12 MP still takes a modern phone's
    # full-resolution photo (4000 x 3000) or an A4 page scanned at 300 dpi (8.7 MP) sent by other clients, and
    # bounds a decode to ~48 MB of RGBA (bench/decode_limits.py measures it). 40 MP cost 150 MB and 6 s of CPU.
    "MAX_IMAGE_PIXELS": 12_000_000,
    # Images decoded at once per process (each up to MAX_IMAGE_PIXELS x 4 bytes); more uploads wait their turn.
    "IMAGE_DECODE_CONCURRENCY": 2,
    # A JSON request body (a dossier with its people and documents is a few KB): refused above this size before
    # it is read (413), and above this nesting depth before it is validated (400).
    "MAX_JSON_BYTES": 256_000,
    "MAX_JSON_DEPTH": 32,
    # A phone clock further than this from the server's is accepted but flagged for review (seconds).
    "CLOCK_SKEW_TOLERANCE_SECONDS": 300,
    # How many codes a phone reserves per working day, and for how many working days ahead.
    "CODE_BLOCK_SIZE": 50,
    "CODE_BLOCK_DAYS": 3,
    # Web Push (issue #5). The VAPID key is generated into the instance folder (flask push init-keys) unless given
    # as MOTCUA_VAPID_PRIVATE_KEY (PEM). The subject must be a real mailto: or https: address in production.
    "VAPID_PRIVATE_KEY": None,
    # Several hosts must sign with one key (a phone subscribed through one host is pushed to by every worker):
    # MOTCUA_VAPID_PRIVATE_KEY_FILE is the path of a PEM file every host shares (a mounted secret), read instead
    # of the instance folder's; `flask push init-keys` creates it there (mode 0600) when it does not exist.
    "VAPID_PRIVATE_KEY_FILE": None,
    "VAPID_SUBJECT": None,
    # Only for tests and development: accept push endpoints on loopback and private addresses.
    "PUSH_ALLOW_PRIVATE_ENDPOINTS": False,
    "PUSH_TIMEOUT_SECONDS": 10,
    # Deliveries a worker claims at once: one claim, one read and one status commit per batch, not per message.
    "PUSH_BATCH_SIZE": 50,
    # HTTP requests a worker has in flight at once (its thread pool, and its keep-alive connections per service).
    "PUSH_CONCURRENCY": 8,
    # A notification not delivered after this long is given up (and the reason recorded).
    "PUSH_MAX_AGE_HOURS": 72,
    # Subscription health (server/push/health.py), checked by the push worker at most every
    # PUSH_HEALTH_INTERVAL_MINUTES. A subscription the app has not re-checked (it does at every launch) for
    # PUSH_SUBSCRIPTION_STALE_DAYS is retired: push services drop endpoints unused for months [U]. So is one whose
    # last PUSH_UNSHOWN_LIMIT pushes, sent more than PUSH_UNSHOWN_GRACE_HOURS ago (time for a late receipt from the
    # phone's outbox), were never shown: iOS revokes a subscription after 3 pushes that showed nothing.
    "PUSH_SUBSCRIPTION_STALE_DAYS": 60,
    "PUSH_UNSHOWN_LIMIT": 3,
    "PUSH_UNSHOWN_GRACE_HOURS": 24,
    "PUSH_HEALTH_INTERVAL_MINUTES": 60,
    # "Gửi thử thông báo" on the citizen's channels page: at most this many test messages per account per hour.
    "CHANNEL_TEST_PER_HOUR": 3,
    # ... and requests per client address to that button, whatever the account (a first guard before the database).
    "CHANNEL_TEST_RATE_LIMIT": "10 per minute; 30 per hour",
    # /healthz answers 503 when no push worker has written its heartbeat for this long (it beats every loop, ~2 s).
    # Whether a running worker is required: None means in production or with the embedded worker.
    "PUSH_HEARTBEAT_MAX_AGE_SECONDS": 60,
    "HEALTH_REQUIRES_PUSH_WORKER": None,
    # Run the push worker as a thread of the web process (the embedded default: ./dev run sets it). Refused in
    # production, where each web process would start its own: run `flask push worker` (one or more) instead.
    "PUSH_EMBEDDED_WORKER": False,
    # The service worker's delivery receipts (POST /api/v1/push/receipts), per client address (Flask-Limiter
    # syntax): a phone sends two per notification (shown, opened) plus retries from its queue, and a mobile
    # carrier's NAT puts many phones behind one address, and a ward's result reaches thousands at once (bench/reach.py
    # posts 6,000 in two minutes); a token is checked before any database read: the limit only stops a flood.
    "PUSH_RECEIPT_RATE_LIMIT": "6000 per minute",
    # PostgreSQL connections per process (MOTCUA_DB_POOL_SIZE, MOTCUA_DB_MAX_OVERFLOW; SQLAlchemy's own defaults),
    # and how long a request waits for one before failing (MOTCUA_DB_POOL_TIMEOUT, seconds). A gunicorn process
    # serves GUNICORN_THREADS requests at once (deploy/gunicorn.conf.py): the pool should be at least that; all
    # processes together (web and push workers, each up to size + overflow) must stay under PostgreSQL's
    # max_connections. SQLite ignores them.
    "DB_POOL_SIZE": 5,
    "DB_MAX_OVERFLOW": 10,
    "DB_POOL_TIMEOUT": 30,
    # How long the claim token in the receipt's QR code links the dossier to a new account, counted from the day
    # the server receives the dossier, and how long an owner's invitation of a relative stays open. [U] policy.
    "CLAIM_TOKEN_DAYS": 60,
    "FOLLOWER_INVITE_DAYS": 7,
    # The price of one SMS the notifications replace, in VND (DOMAIN.md §7.3: brand-name SMS, [U] contract price).
    "SMS_PRICE_VND": 800,
    # The channel ladder per kind of message (server/channels/ladder.py): rungs [channel, seconds to wait for a
    # "shown" receipt before the next rung]. A follower's ladder keeps only the rungs they can use (a subscription,
    # a consent on the channel, a phone, a provider configured). [U] policy: the example for a result.
    "NOTIFY_LADDERS": {
        "default": [["push", 2 * 3600], ["zalo", 22 * 3600], ["sms", 0]],
        "result_ready": [["push", 2 * 3600], ["zalo", 22 * 3600], ["sms", 0]],
        "passkey_added": [["push", 0]],
    },
    # Kinds sent in the quiet hours too; every other kind waits until the hours end. "channel_test" is the test the
    # citizen asks for on their channels page: they are waiting for it.
    "NOTIFY_URGENT_KINDS": ["passkey_added", "visit_cancelled", "channel_test"],
    # No non-urgent message between these local times ("HH:MM-HH:MM"; empty: no quiet hours).
    "QUIET_HOURS": "21:00-07:00",
    # Zalo ZNS (server/channels/providers/zns.py): sent only when the access token is set; a kind is sent by ZNS only
    # when ZNS_TEMPLATES names its approved template id (kind -> template id).
    "ZNS_API_URL": "https://business.openapi.zalo.me/message/template",
    "ZNS_ACCESS_TOKEN": None,
    "ZNS_TEMPLATES": {},
    # The webhook of Zalo's delivery events (POST /hooks/zns, server/channels/hooks.py): the app's id and the OA
    # secret key sign each event (X-ZEvent-Signature); without the secret the hook answers 404. An event whose
    # timestamp is further than ZNS_WEBHOOK_MAX_AGE_SECONDS from our clock is refused (a replayed capture).
    "ZNS_APP_ID": None,
    "ZNS_OA_SECRET_KEY": None,
    "ZNS_WEBHOOK_MAX_AGE_SECONDS": 300,
    # The price of one ZNS message in VND, for the cost shown (DOMAIN.md: ~150 VND in the tier for public
    # administrative services, [U] contract price).
    "ZNS_PRICE_VND": 150,
    # The SMS brand-name gateway's send URL (server/channels/providers/sms.py): SMS is sent only when it is set.
    # The adapter speaks eSMS.vn's SendMultipleMessage_V4_post_json (ApiKey, SecretKey, Brandname, SmsType 2 =
    # customer care); another gateway with the same shape only needs its URL.
    "SMS_API_URL": None,
    "SMS_API_KEY": None,
    "SMS_SECRET_KEY": None,
    "SMS_BRANDNAME": None,
    "SMS_TYPE": "2",
    # The gateway's delivery reports come to <SMS_CALLBACK_BASE_URL>/hooks/sms/<SMS_CALLBACK_TOKEN> (the token is
    # the secret of the URL: a long random string). Both unset: no CallbackUrl is sent, the hook answers 404.
    "SMS_CALLBACK_BASE_URL": None,
    "SMS_CALLBACK_TOKEN": None,
    # The provider worker (server/channels/sender.py): deliveries claimed at once, requests in flight, the timeout
    # of one request, and how old a ZNS or SMS may get before it is given up.
    "CHANNELS_BATCH_SIZE": 50,
    "PROVIDER_CONCURRENCY": 8,
    "PROVIDER_TIMEOUT_SECONDS": 10,
    "CHANNELS_MAX_AGE_HOURS": 72,
    # Only for tests and development: provider URLs on loopback and private addresses.
    "PROVIDERS_ALLOW_PRIVATE_URLS": False,
    # Requests per client address to the providers' callbacks (/hooks/...). Zalo and the gateway call back from a
    # few addresses, one call per message delivered (bench/reach.py: 4,000 in two minutes), and a refused callback
    # means a paid SMS sent after a ZNS that had arrived; the signature or token is checked before the database.
    "HOOKS_RATE_LIMIT": "20000 per minute",
    # The desk's queue shows as "due soon" an open dossier due today or within this many more working days (issue
    # 6 asks for 2; no rule fixes it: Gia Lai's dashboard shows "sắp trễ" without publishing its threshold).
    "QUEUE_DUE_SOON_WORKING_DAYS": 2,
    # The on-time rate the ward aims at, shown on the leaders' summary (issue 6). [U] policy: Resolution 76/NQ-CP
    # style targets differ by province and year; set the province's own.
    "ON_TIME_TARGET": 0.95,
    # Data subjects' requests (issue 12): working days to acknowledge and to answer, and what the one extension
    # adds, counted on the civil-service calendar like dossier deadlines. Dated: the rule in force on the day a
    # request is received applies to it. Decree 356/2025/NĐ-CP (in force 1 Jan 2026): acknowledged within 2 working
    # days, answered within 15, extendable once (DOMAIN.md "PDPL in practice", [V] from law firms' summaries); the
    # length of the extension is [U]: 15 until the text is confirmed.
    "DATA_REQUEST_DEADLINES": [
        {"from": "2026-01-01", "acknowledge_working_days": 2, "answer_working_days": 15,
         "extension_working_days": 15, "source": "Nghị định 356/2025/NĐ-CP"},
    ],
    # Retention of closed dossiers when their procedure sets none (days after closing; None keeps them). [U]
    # policy: the ward's records schedule decides; the issued statutory forms and the history are never purged.
    "RETENTION_PHOTO_DAYS": None,
    "RETENTION_PERSONAL_DATA_DAYS": None,
    # How often the push worker runs the retention purge (hours); 0 turns it off (then run `flask retention purge`).
    "RETENTION_PURGE_INTERVAL_HOURS": 24,
    # Issued forms' PDFs are rendered by the push worker after the step's commit (server/forms/rendering.py): how
    # many it claims at once (MOTCUA_FORMS_RENDER_BATCH_SIZE). Each takes 150 to 230 ms, well within the lease.
    "FORMS_RENDER_BATCH_SIZE": 20,
    # The National Public Service Portal (DVCQG, issue 15; server/portal/): every dossier's sync and status change
    # is queued in the step's transaction; the push worker posts them to PORTAL_URL in order per dossier. Unset,
    # nothing is called and the messages wait (turning it on later sends the backlog in order). PORTAL_TOKEN is sent
    # as the body's "session" (OpenCPS's envelope [V]; how the province issues it is [U]: fetching it with a user
    # name and password is not done here). The body's format [U] as configuration: the date format (OpenCPS's
    # yyyyMMddHHmmss, Viet Nam time), the HinhThuc code of each channel (DOMAIN.md §1.2), the error_code values that
    # mean accepted ("00" in OpenCPS). One request's timeout (connect, then read), attempts before a message fails
    # for the operator (retryable answers only: a refusal fails at once), messages claimed at once, and after how
    # many minutes a message not yet sent shows on the operators' list (/staff/portal).
    "PORTAL_URL": None,
    "PORTAL_TOKEN": None,
    "PORTAL_DATE_FORMAT": "%Y%m%d%H%M%S",
    "PORTAL_CHANNEL_CODES": {"direct": "1", "online": "2", "postal": "3"},
    "PORTAL_OK_CODES": ["00", "0"],
    "PORTAL_TIMEOUT_SECONDS": 10,
    "PORTAL_MAX_ATTEMPTS": 12,
    "PORTAL_BATCH_SIZE": 20,
    "PORTAL_WAITING_ALERT_MINUTES": 60,

    # Operating it (docs/deploy.md). The operators' /metrics answers only with "Authorization: Bearer <this>"
    # (MOTCUA_METRICS_TOKEN); unset, the endpoint does not exist (404).
    "METRICS_TOKEN": None,
    # Log lines (MOTCUA_LOG_FORMAT): "json" (one object per line, for a log collector) or "text"; None means json
    # in production and text elsewhere. Either way no path, query string, body or personal data is written.
    "LOG_FORMAT": None,

    # A lost or stolen officer's phone is a personal-data breach to report to the specialised authority (A05,
    # Ministry of Public Security) within 72 hours: Personal Data Protection Law 91/2025/QH15 Art. 23(1), Decree
    # 356/2025/ND-CP. The deadline on the breach report counts from the moment the administrator revokes the phone.
    "BREACH_NOTIFICATION_HOURS": 72,
}


def load_config(app: Flask, config_override: dict | None) -> None:
    """Fill ``app.config`` from defaults, the environment and an explicit override (tests), in that order."""
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("MOTCUA")
    for name in ("APP_ENV", "SECRET_KEY", "DATABASE_URL"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if config_override:
        app.config.update(config_override)

    env = app.config["APP_ENV"]
    if env not in ("development", "production", "testing"):
        raise ConfigError(f"APP_ENV must be development, production or testing, not {env!r}")
    app.config["TESTING"] = app.config.get("TESTING", False) or env == "testing"
    if "SESSION_COOKIE_SECURE" not in (config_override or {}) and "MOTCUA_SESSION_COOKIE_SECURE" not in os.environ:
        # Flask's default is False; outside development the cookie must only travel over HTTPS.
        app.config["SESSION_COOKIE_SECURE"] = env == "production"

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    if not app.config.get("SECRET_KEY"):
        if env == "production":
            raise ConfigError("SECRET_KEY must be set in production (APP_ENV=production)")
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")
    # Every request body is bounded by the attachment limit (the largest legitimate body) plus headroom.
    app.config.setdefault("MAX_CONTENT_LENGTH", None)
    if app.config["MAX_CONTENT_LENGTH"] is None:
        app.config["MAX_CONTENT_LENGTH"] = max_body_bytes(app.config)
    _check_storage(app)
    _check_batches(app)
    _check_code_pattern(app)
    _check_ladders(app)
    if env == "production":
        _check_production(app)


def _check_batches(app: Flask) -> None:
    """The workers' batch sizes are at least 1: 0 is not "off" (a worker claiming nothing would come back at once,
    forever), and a negative LIMIT is "no limit" on SQLite and an error on PostgreSQL."""
    for name in ("PUSH_BATCH_SIZE", "PUSH_CONCURRENCY", "FORMS_RENDER_BATCH_SIZE", "CHANNELS_BATCH_SIZE",
                 "PROVIDER_CONCURRENCY", "PORTAL_BATCH_SIZE", "PORTAL_MAX_ATTEMPTS"):
        value = app.config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}")


def _check_code_pattern(app: Flask) -> None:
    """A dossier code the server prints must be one it reads back (a pattern without the day, or a number padded
    with spaces, would refuse every phone's reserved code, or fail on it): checked at start, on a sample code."""
    from datetime import date

    from server.dossiers.codes import ParsedCode
    from server.dossiers.codes import format_code
    from server.dossiers.codes import parse_code

    pattern = app.config["DOSSIER_CODE_PATTERN"]
    sample = ParsedCode("000.00.00.H00", date(2026, 1, 2), 7)
    try:
        back = parse_code(format_code(sample.agency_code, sample.day, sample.number, pattern), pattern)
    except (KeyError, ValueError, IndexError):
        back = None
    if back != sample:
        raise ConfigError(f"DOSSIER_CODE_PATTERN {pattern!r} does not give codes it can read back: it needs "
                          "{agency}, {yy} or {yyyy}, {mm}, {dd} and {seq} (or {seq:04d})")


def _check_ladders(app: Flask) -> None:
    """The channel ladders and quiet hours are read by the workers at every claim: a typo must stop the start, not
    every notification (server/channels/ladder.py)."""
    import re

    ladders = app.config["NOTIFY_LADDERS"]
    if not isinstance(ladders, dict) or "default" not in ladders:
        raise ConfigError("NOTIFY_LADDERS must be an object of kind -> rungs with a \"default\" ladder")
    for kind, rungs in ladders.items():
        if not isinstance(rungs, list) or not rungs:
            raise ConfigError(f"NOTIFY_LADDERS[{kind!r}] must be a non-empty list of [channel, seconds]")
        for rung in rungs:
            if (not isinstance(rung, list | tuple) or len(rung) != 2 or rung[0] not in ("push", "zalo", "sms")
                    or isinstance(rung[1], bool) or not isinstance(rung[1], int) or rung[1] < 0):
                raise ConfigError(f"NOTIFY_LADDERS[{kind!r}]: {rung!r} is not [push|zalo|sms, seconds >= 0]")
    quiet = app.config.get("QUIET_HOURS")
    clock = r"([01]\d|2[0-3]):[0-5]\d"
    if quiet and not re.fullmatch(f"{clock}-{clock}", str(quiet)):
        raise ConfigError(f"QUIET_HOURS must be HH:MM-HH:MM (local time) or empty, not {quiet!r}")


def _check_storage(app: Flask) -> None:
    backend = app.config["STORAGE_BACKEND"]
    if backend not in ("local", "s3"):
        raise ConfigError(f"STORAGE_BACKEND must be local or s3, not {backend!r}")
    if backend == "s3" and not app.config.get("S3_BUCKET"):
        raise ConfigError("STORAGE_BACKEND is s3 but S3_BUCKET is not set (MOTCUA_S3_BUCKET)")
    if int(app.config["S3_PRESIGN_SECONDS"]) < 0:
        raise ConfigError("S3_PRESIGN_SECONDS must be 0 (stream) or a number of seconds")


def _check_production(app: Flask) -> None:
    """Production fails closed: what it needs to work is there at start-up, or it does not start."""
    from server.push import keys

    try:
        keys.subject(app)
        keys.vapid(app)  # read and parsed now: a missing or broken key stops the start, not the first push
    except keys.PushConfigError as error:
        raise ConfigError(f"{error} (production, APP_ENV=production)") from None
    base_url = str(app.config.get("BASE_URL") or "")
    if not base_url.startswith("https://"):
        raise ConfigError("BASE_URL must be the https:// address the public reaches the server at (MOTCUA_BASE_URL): "
                          "a declarative push opens it on a tap, and printed links point to it")
    if app.config.get("ZNS_ACCESS_TOKEN") and not (app.config.get("ZNS_APP_ID")
                                                   and app.config.get("ZNS_OA_SECRET_KEY")):
        raise ConfigError("ZNS is on (ZNS_ACCESS_TOKEN) but its delivery webhook is not (ZNS_APP_ID and "
                          "ZNS_OA_SECRET_KEY): no ZNS would ever count as delivered, and every one that reached the "
                          "phone would be followed by a paid SMS")
    if app.config.get("PUSH_EMBEDDED_WORKER"):
        raise ConfigError("PUSH_EMBEDDED_WORKER must be off in production: every web process would run its own "
                          "push worker; run `flask push worker` as a process of its own (several may run at once)")
    # Every count of processes that was declared: MOTCUA_PROCESSES, and WEB_CONCURRENCY (gunicorn's workers,
    # exported by deploy/gunicorn.conf.py). An undeclared count is taken as several: memory:// is refused.
    declared = {str(n).strip() for n in (app.config.get("PROCESSES"), os.environ.get("WEB_CONCURRENCY")) if n}
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if storage.startswith("memory://") and declared != {"1"}:
        raise ConfigError("RATELIMIT_STORAGE_URI must be a shared store in production (e.g. redis://host:6379/0): "
                          "memory:// counts per process; set MOTCUA_PROCESSES=1 if exactly one process serves")


def engine_options(config) -> dict:
    """SQLAlchemy's engine options, with the pool sized by DB_POOL_SIZE and DB_MAX_OVERFLOW on PostgreSQL.

    A copy: DEFAULTS' dict is shared by every app of the process (the tests make many).
    """
    options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options.update(pool_size=int(config["DB_POOL_SIZE"]), max_overflow=int(config["DB_MAX_OVERFLOW"]),
                       pool_timeout=float(config["DB_POOL_TIMEOUT"]))
    return options


def max_body_bytes(config) -> int:
    """The largest request body anyone may send: an attachment plus 64 KB (headers of a multipart, say)."""
    return int(config["MAX_ATTACHMENT_BYTES"]) + 65_536


def database_uri(app: Flask) -> str:
    """The SQLAlchemy URL: ``DATABASE_URL`` if given (``postgresql://`` is routed to psycopg 3), else SQLite."""
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + str(Path(app.instance_path) / "motcua.sqlite3")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(path: Path) -> str:
    """Read the instance's secret key, generating it once (mode 0600) when it does not exist yet."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process generated it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
