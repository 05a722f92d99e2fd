"""The providers' delivery callbacks: Zalo's webhook (``POST /hooks/zns``) and the SMS gateway's delivery report
(``/hooks/sms/<token>``). A delivery the provider reports delivered becomes SHOWN (never downgrading OPENED), and
its message is marked reached (server/channels/ladder.py: the later rungs are then skipped).

The providers hold no session cookie and no CSRF token: the hooks are exempt from CSRF and authenticated instead by
what each provider can prove.

- Zalo signs each event (verified in several integrations; Zalo's own page was not reachable): header
  ``X-ZEvent-Signature: mac=<hex>`` with ``mac = sha256(app_id + raw body + timestamp + OA secret key)``, where
  ``timestamp`` is the body's own (milliseconds). We also refuse an event whose timestamp is further than
  ``ZNS_WEBHOOK_MAX_AGE_SECONDS`` from our clock (a replayed capture). The ZNS delivery event is
  ``{"event_name": "user_received_message", "app_id": ..., "sender": {"id": <OA id>}, "recipient": {"id": ...},
  "message": {"msg_id": ..., "delivery_time": <ms>, "tracking_id": ...}, "timestamp": <ms>}``: the same event name
  serves OA chat messages too; the ZNS one carries ``delivery_time`` (``tracking_id`` in it is assumed, not
  verified). Other events sent to the same webhook are acknowledged and ignored.
- eSMS calls ``CallbackUrl`` with an HTTP GET (``SMSID``, ``RequestId``, ``SendStatus``, ``SendSuccess``,
  ``SendFailed``, ...): the URL's last segment is our secret token (``SMS_CALLBACK_TOKEN``, compared in constant
  time); a POST with the same fields as a form or JSON is taken too. SendStatus 5 with a success is delivered;
  4 (rejected), or 5 with only failures, is not delivered: a SENT delivery becomes FAILED and the next rung is due.

Answers: 200 for what was recorded and for what is not ours to record (an unknown message id, another kind of
event, a report still pending). Both providers retry on non-2xx, and retrying cannot make an unknown id known; a
404 would only have them knock again. A malformed body is a 400 problem, a bad or stale signature 401, and a hook
that is not configured (or a wrong SMS token, indistinguishable on purpose) 404. Replays change nothing. Logs name
the delivery id, never a number or a text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import current_app
from flask import request
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from server.auth.access import public
from server.channels import ladder
from server.channels.models import ChannelDelivery
from server.errors import ApiProblem
from server.extensions import csrf
from server.extensions import db
from server.extensions import limiter
from server.push.models import DeliveryStatus
from server.types import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("channel_hooks", __name__, url_prefix="/hooks")
csrf.exempt(bp)

ZNS_DELIVERED = "user_received_message"
SMS_SENT_OK = "5"
SMS_REJECTED = "4"
#: A provider's event is a few hundred bytes: anything much larger is not one (and is not read).
MAX_BODY_BYTES = 64 * 1024


def _hooks_limit() -> str:
    return current_app.config["HOOKS_RATE_LIMIT"]


def _not_found() -> ApiProblem:
    return ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"))


def _bad(vi: str, en: str) -> ApiProblem:
    return ApiProblem(400, "bad-callback", ("Yêu cầu không hợp lệ", "Bad request"), (vi, en))


def _unauthorized(vi: str, en: str) -> ApiProblem:
    return ApiProblem(401, "bad-signature", ("Chữ ký không hợp lệ", "Invalid signature"), (vi, en))


def _refuse_large_bodies() -> None:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiProblem(413, "too-large", ("Dữ liệu quá lớn", "Payload too large"))


def _ok(status: str) -> dict:
    return {"status": status}


def zns_signature(app_id: str, raw_body: bytes, timestamp: str, secret: str) -> str:
    """Zalo's MAC of a webhook event: sha256 over app id, the raw body, the event's timestamp and the OA secret."""
    return hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + secret.encode()).hexdigest()


def _from_millis(value) -> datetime | None:
    try:
        millis = int(str(value))
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _find(provider: str, provider_message_id: str | None, tracking_id: str | None) -> ChannelDelivery | None:
    """The delivery a callback names: by the provider's message id, else by our tracking id (a callback may come
    before the worker recorded the provider's id, and eSMS's answer to a duplicate RequestId carries none)."""
    conditions = []
    if provider_message_id:
        conditions.append((ChannelDelivery.provider == provider)
                          & (ChannelDelivery.provider_message_id == provider_message_id[:64]))
    if tracking_id:
        conditions.append(ChannelDelivery.tracking_id == tracking_id[:48])
    if not conditions:
        return None
    return db.session.scalars(select(ChannelDelivery).where(or_(*conditions)).limit(1)).first()


def record_shown(delivery: ChannelDelivery, at: datetime) -> bool:
    """The provider says it reached the phone: shown_at (the first report's), SHOWN unless OPENED already (or the
    worker has yet to record the send: it promotes the row itself), and the message reached. Conditional UPDATEs,
    so a replay or a race changes nothing twice. Returns whether the message was reached only now."""
    at = min(at, utcnow())
    db.session.execute(update(ChannelDelivery).where(ChannelDelivery.id == delivery.id,
                                                     ChannelDelivery.shown_at.is_(None))
                       .values(shown_at=at).execution_options(synchronize_session=False))
    db.session.execute(update(ChannelDelivery)
                       .where(ChannelDelivery.id == delivery.id,
                              ChannelDelivery.status.not_in((DeliveryStatus.OPENED, DeliveryStatus.SHOWN,
                                                             DeliveryStatus.SENDING)))
                       .values(status=DeliveryStatus.SHOWN, last_error=None)
                       .execution_options(synchronize_session=False))
    first = ladder.mark_reached(delivery.message_id, delivery.channel, at)
    db.session.commit()
    return first


def record_not_delivered(delivery: ChannelDelivery, reason: str) -> None:
    """The provider gave up on a message it had accepted: a SENT delivery becomes FAILED, the next rung is due."""
    now = utcnow()
    result = db.session.execute(update(ChannelDelivery)
                                .where(ChannelDelivery.id == delivery.id, ChannelDelivery.status == DeliveryStatus.SENT)
                                .values(status=DeliveryStatus.FAILED, last_error=reason)
                                .execution_options(synchronize_session=False))
    if result.rowcount:
        ladder.escalate_if_exhausted([delivery.message_id], now)
    db.session.commit()


@bp.post("/zns")
@limiter.limit(_hooks_limit)
@public
def zns_event():
    """Zalo's webhook: a ZNS delivered to the phone."""
    config = current_app.config
    secret, app_id = config.get("ZNS_OA_SECRET_KEY"), config.get("ZNS_APP_ID")
    if not secret or not app_id:
        raise _not_found()
    _refuse_large_bodies()
    raw = request.get_data(cache=True)
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad("Nội dung phải là JSON.", "The body must be JSON.") from None
    if not isinstance(event, dict):
        raise _bad("Nội dung phải là một đối tượng JSON.", "The body must be a JSON object.")
    supplied = (request.headers.get("X-ZEvent-Signature") or "").strip()
    timestamp = event.get("timestamp")
    if not supplied or timestamp in (None, ""):
        raise _bad("Thiếu chữ ký hoặc thời điểm của sự kiện.", "The event's signature or timestamp is missing.")
    supplied = supplied.removeprefix("mac=").strip().lower()
    expected = zns_signature(str(event.get("app_id") or app_id), raw, str(timestamp), secret)
    # Bytes, not str: compare_digest refuses a str with non-ASCII characters (a hostile header would be a 500).
    if (str(event.get("app_id") or app_id) != str(app_id)
            or not hmac.compare_digest(supplied.encode("utf-8", "replace"), expected.encode())):
        raise _unauthorized("Chữ ký của sự kiện không đúng.", "The event's signature does not match.")
    sent_at = _from_millis(timestamp)
    if sent_at is None or abs((utcnow() - sent_at).total_seconds()) > config["ZNS_WEBHOOK_MAX_AGE_SECONDS"]:
        raise _unauthorized("Sự kiện đã quá cũ.", "The event is too old.")
    if event.get("event_name") != ZNS_DELIVERED:
        return _ok("ignored")
    message = event.get("message")
    if not isinstance(message, dict) or not (message.get("msg_id") or message.get("tracking_id")):
        raise _bad("Thiếu mã tin nhắn.", "The message id is missing.")
    delivery = _find("zns", _text(message.get("msg_id")), _text(message.get("tracking_id")))
    if delivery is None:
        return _ok("ignored")
    delivered = _from_millis(message.get("delivery_time")) or utcnow()
    record_shown(delivery, delivered)
    log.info("zns callback: channel delivery %s shown", delivery.id)
    return _ok("recorded")


@bp.route("/sms/<token>", methods=["GET", "POST"])
@limiter.limit(_hooks_limit)
@public
def sms_report(token: str):
    """The SMS gateway's delivery report (eSMS: a GET to CallbackUrl)."""
    expected = current_app.config.get("SMS_CALLBACK_TOKEN")
    if not expected or not hmac.compare_digest(token.encode(), str(expected).encode()):
        raise _not_found()
    _refuse_large_bodies()
    fields = dict(request.args)
    if request.method == "POST":
        payload = request.get_json(silent=True) if request.is_json else request.form
        if isinstance(payload, dict) or hasattr(payload, "items"):
            fields.update({key: value for key, value in payload.items() if isinstance(value, str | int)})
    sms_id, request_id = _text(fields.get("SMSID")), _text(fields.get("RequestId"))
    status = str(fields.get("SendStatus") or "").strip()
    if not (sms_id or request_id) or not (status.isascii() and status.isdigit()):
        raise _bad("Thiếu SMSID/RequestId hoặc SendStatus.", "SMSID/RequestId or SendStatus is missing.")
    succeeded, failed = _count(fields.get("SendSuccess")), _count(fields.get("SendFailed"))
    if succeeded is None or failed is None:
        raise _bad("SendSuccess và SendFailed phải là số.", "SendSuccess and SendFailed must be numbers.")
    delivery = _find("sms", sms_id, request_id)
    if delivery is None:
        return _ok("ignored")
    if status == SMS_SENT_OK and succeeded > 0:
        record_shown(delivery, utcnow())
        log.info("sms report: channel delivery %s delivered", delivery.id)
        return _ok("recorded")
    if status == SMS_REJECTED or (status == SMS_SENT_OK and failed > 0):
        record_not_delivered(delivery, f"sms gateway reported it not delivered (SendStatus {status})")
        log.info("sms report: channel delivery %s not delivered (SendStatus %s)", delivery.id, status)
        return _ok("recorded")
    return _ok("pending")


def _text(value) -> str | None:
    """An id as the provider sent it, or None. Only printable characters: a NUL byte, say, is not an id (and
    PostgreSQL refuses it in a query: a 500 the provider would retry forever)."""
    if value is None or isinstance(value, dict | list):
        return None
    value = str(value).strip()
    if not value.isprintable():
        raise _bad("Mã tin nhắn chứa ký tự không hợp lệ.", "The message id holds characters that are not allowed.")
    return value or None


def _count(value) -> int | None:
    if value in (None, ""):
        return 0
    try:
        return max(0, int(str(value)))
    except ValueError:
        return None
