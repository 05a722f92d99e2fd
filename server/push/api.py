"""Push endpoints: the public key, a signed-in user's subscriptions (upserted by endpoint), the inbox, the service
worker's delivery receipts (token-authenticated, server/push/receipts.py), and what became of a dossier's
notifications for the desk."""

from __future__ import annotations

import base64
import socket
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Blueprint
from flask import current_app
from flask import request
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy import select

from server.api.openapi import body
from server.api.openapi import operation
from server.api.openapi import schema
from server.auth.access import public
from server.auth.access import require_same_ward
from server.auth.access import roles_required
from server.auth.access import token_authenticated
from server.auth.api import EMPTY
from server.dossiers.models import Dossier
from server.errors import ApiProblem
from server.errors import field_error
from server.extensions import db
from server.extensions import limiter
from server.interagency import units
from server.push import keys
from server.push import receipts
from server.push import texts
from server.push.guard import address_allowed
from server.push.health import hand_over
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.types import utcnow

bp = Blueprint("push_api", __name__, url_prefix="/api/v1/push")
TAGS = ["Push"]
EVERY_ROLE = ("citizen", "officer", "staff", "leader", "admin")

PUBLIC_KEY = schema("PushPublicKey", {"type": "object", "required": ["public_key"],
                                      "properties": {"public_key": {"type": "string"}}})
SUBSCRIPTION = schema("PushSubscriptionIn", {
    "type": "object", "required": ["endpoint", "keys"],
    "description": "What the browser's PushSubscription.toJSON() gives.",
    "properties": {
        "endpoint": {"type": "string", "maxLength": 2048},
        "expirationTime": {"type": ["number", "null"]},
        "lang": {"enum": ["vi", "en"], "description": "the app's language, for the notification's text"},
        "keys": {"type": "object", "required": ["p256dh", "auth"], "properties": {
            "p256dh": {"type": "string", "pattern": "^[A-Za-z0-9_-]{80,100}={0,2}$"},
            "auth": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,32}={0,2}$"}}},
    },
})
SUBSCRIPTION_OUT = schema("PushSubscriptionOut", {"type": "object", "required": ["id", "created"], "properties": {
    "id": {"type": "integer"}, "created": {"type": "boolean"}}})
ENDPOINT_ONLY = schema("PushEndpoint", {"type": "object", "required": ["endpoint"], "additionalProperties": False,
                                        "properties": {"endpoint": {"type": "string", "maxLength": 2048}}})


@bp.get("/key")
@public
@operation("The VAPID public key browsers subscribe with", tags=TAGS, responses={200: PUBLIC_KEY})
def public_key():
    try:
        return {"public_key": keys.public_key()}
    except keys.PushConfigError:
        raise ApiProblem(503, "push-unavailable", ("Chưa bật thông báo", "Push unavailable"),
                         ("Máy chủ chưa được cấu hình để gửi thông báo.",
                          "The server is not set up to send push.")) from None


def _refuse(message_vi: str, message_en: str) -> ApiProblem:
    return ApiProblem(422, "invalid-subscription", ("Đăng ký nhận thông báo không hợp lệ", "Invalid subscription"),
                      (message_vi, message_en), errors=[field_error("endpoint", "not_allowed", message_vi, message_en)])


def check_endpoint(endpoint: str) -> None:
    """Only https endpoints on public addresses: the server will POST to this URL (no SSRF into our network)."""
    if current_app.config["PUSH_ALLOW_PRIVATE_ENDPOINTS"]:
        return
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise _refuse("Địa chỉ nhận thông báo phải dùng https.", "The push endpoint must use https.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        raise _refuse("Không tìm thấy máy chủ nhận thông báo.", "The push endpoint's host does not resolve.") from None
    for address in addresses:
        if not address_allowed(address):
            raise _refuse("Địa chỉ nhận thông báo không được trỏ vào mạng nội bộ.",
                          "The push endpoint must not point to a private, loopback or link-local address.")


def check_keys(keys_: dict) -> None:
    """The browser's key must be a point on P-256: a broken one would only fail later, at every send."""
    try:
        point = base64.urlsafe_b64decode(keys_["p256dh"] + "=" * (-len(keys_["p256dh"]) % 4))
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        message = ("Khóa của đăng ký nhận thông báo không hợp lệ.", "The subscription's key is not valid.")
        raise ApiProblem(422, "invalid-subscription", ("Đăng ký nhận thông báo không hợp lệ", "Invalid subscription"),
                         message, errors=[field_error("keys.p256dh", "invalid", *message)]) from None


@bp.put("/subscriptions")
@roles_required(*EVERY_ROLE)
@operation("Save this browser's push subscription (upserted by endpoint; sent again at every app launch)",
           tags=TAGS, request_body=SUBSCRIPTION, responses={200: SUBSCRIPTION_OUT, 201: SUBSCRIPTION_OUT})
def save_subscription():
    data = body()
    check_endpoint(data["endpoint"])
    check_keys(data["keys"])
    subscription = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == data["endpoint"]))
    created = subscription is None
    if created:
        subscription = PushSubscription(endpoint=data["endpoint"])
        db.session.add(subscription)
    # A phone that changed hands (or accounts) now notifies its current user only, and nothing queued for the one
    # before.
    hand_over(subscription, current_user.id)
    subscription.p256dh, subscription.auth = data["keys"]["p256dh"], data["keys"]["auth"]
    subscription.user_agent = (request.user_agent.string or "")[:500]
    subscription.lang = data.get("lang", "vi")
    subscription.last_seen_at = utcnow()
    # The app re-checked it (it does at every launch): a subscription retired as stale works again.
    subscription.retired_at = subscription.retired_reason = None
    db.session.commit()
    return {"id": subscription.id, "created": created}, 201 if created else 200


@bp.delete("/subscriptions")
@roles_required(*EVERY_ROLE)
@operation("Forget a push subscription of the signed-in user (the user turned notifications off)", tags=TAGS,
           request_body=ENDPOINT_ONLY, responses={204: None})
def delete_subscription():
    data = body()
    subscription = db.session.scalar(select(PushSubscription).where(
        PushSubscription.endpoint == data["endpoint"], PushSubscription.user_id == current_user.id))
    if subscription is not None:
        db.session.delete(subscription)
        db.session.commit()
    return "", 204


# --- delivery receipts from the service worker ------------------------------------------------------------------

RECEIPT = schema("PushReceipt", {
    "type": "object", "required": ["receipt", "event"], "additionalProperties": False,
    "description": "What the service worker reports about one delivery: shown (after showNotification) or opened "
                   "(the tap). Authenticated by the token of the push payload alone.",
    "properties": {
        "receipt": {"type": "string", "pattern": receipts.TOKEN_PATTERN, "maxLength": 64},
        "event": {"enum": list(receipts.EVENTS)},
        "at": {"type": "number", "minimum": 0, "maximum": 1e14,
               "description": "when it happened on the phone (ms since the epoch); kept between the message's "
                              "creation and the server's now"},
    },
})


def _receipt_limit() -> str:
    return current_app.config["PUSH_RECEIPT_RATE_LIMIT"]


@bp.post("/receipts")
@token_authenticated("receipt")
@limiter.limit(_receipt_limit)
@operation("The service worker's receipt of one delivery: shown or opened (idempotent; no session needed, the "
           "token of the push authenticates it)", tags=TAGS, request_body=RECEIPT, responses={204: None})
def receipt():
    data = body()
    try:
        delivery_id = receipts.delivery_of(data["receipt"])
    except receipts.ForgedReceipt:
        raise ApiProblem(403, "receipt-forged", ("Biên nhận không hợp lệ", "Invalid receipt"),
                         ("Mã biên nhận không phải do máy chủ này cấp.",
                          "This receipt token was not issued by this server.")) from None
    delivery = db.session.get(PushDelivery, delivery_id)
    if delivery is None:  # issued by us, but the delivery is gone (the retention purge): nothing to record
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Không còn thông báo này.", "This delivery no longer exists."))
    now = utcnow()
    receipts.record(delivery, data["event"], receipts.bounded(data.get("at"), delivery.created_at, now))
    db.session.commit()
    return "", 204


# --- the inbox ------------------------------------------------------------------------------------------------

INBOX = schema("Inbox", {"type": "object", "required": ["unread", "messages"], "properties": {
    "unread": {"type": "integer"},
    "messages": {"type": "array", "items": {"type": "object", "required": ["id", "kind", "title", "body"]}}}})


def message_json(message: InboxMessage) -> dict:
    title, body = texts.of(message.kind, message.data)
    code = message.data.get("code")
    return {"id": message.id, "kind": message.kind, "code": code, "title": title, "body": body,
            "url": texts.link_of(message.data), "created_at": message.created_at.isoformat(),
            "read_at": message.read_at.isoformat() if message.read_at else None}


@bp.get("/inbox")
@roles_required(*EVERY_ROLE)
@operation("My notifications, newest first, with the unread count (the fallback when push is off)", tags=TAGS,
           responses={200: INBOX})
def inbox():
    messages = list(db.session.scalars(select(InboxMessage).where(InboxMessage.user_id == current_user.id)
                                       .order_by(InboxMessage.id.desc()).limit(100)))
    unread = db.session.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.user_id == current_user.id, InboxMessage.read_at.is_(None)))
    return {"unread": unread, "messages": [message_json(m) for m in messages]}


@bp.post("/inbox/<int:message_id>/read")
@roles_required(*EVERY_ROLE)
@operation("Mark one of my notifications as read", tags=TAGS, request_body=EMPTY, responses={204: None})
def mark_read(message_id: int):
    body()
    message = db.session.get(InboxMessage, message_id)
    if message is None or message.user_id != current_user.id:
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Không có thông báo này.", "No such notification."))
    message.read_at = message.read_at or utcnow()
    db.session.commit()
    return "", 204


# --- for the one-stop staff: what became of a dossier's notifications -----------------------------------------

_DELIVERY = {"type": "object", "required": ["channel", "status"], "properties": {
    "channel": {"enum": ["push", "zalo", "sms"]}, "target": {"type": "string"},
    "status": {"enum": ["queued", "sending", "sent", "shown", "opened", "failed", "expired", "withheld", "skipped"]},
    "attempts": {"type": "integer"}, "last_error": {"type": ["string", "null"]},
    "sent_at": {"type": ["string", "null"]}, "shown_at": {"type": ["string", "null"]},
    "opened_at": {"type": ["string", "null"]}, "cost_vnd": {"type": "integer"}}}
DELIVERIES = schema("DossierNotifications", {
    "type": "object", "required": ["notifications", "followers", "sms_avoided"], "properties": {
        "notifications": {"type": "array", "items": {"type": "object", "required": ["id", "kind", "deliveries"]}},
        "followers": {"type": "array", "description": "per follower, each message and its deliveries per channel",
                      "items": {"type": "object", "required": ["user_id", "person_id", "messages"], "properties": {
                          "messages": {"type": "array", "items": {"type": "object", "required": ["id", "channels"],
                                                                  "properties": {"channels": {
                                                                      "type": "object", "additionalProperties": {
                                                                          "type": "array", "items": _DELIVERY}}}}}}}},
        "sms_avoided": {"type": "integer"}}})


@bp.get("/dossiers/<int:dossier_id>")
@roles_required("staff", "leader")
@operation("A dossier's notifications per follower, and the state of each delivery on each channel (queued, sent, "
           "shown, opened, failed with the reason, expired, withheld, skipped), for the one-stop staff of its ward",
           tags=TAGS, responses={200: DELIVERIES})
def dossier_notifications(dossier_id: int):
    from server.backoffice.deliveries import dossier_followers

    dossier = db.session.get(Dossier, dossier_id)
    if dossier is None:
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Không tìm thấy hồ sơ.", "No such dossier."))
    if not units.may_view(current_user, dossier):  # received, decided or held by the unit
        require_same_ward(dossier.agency_id)

    def moment(value):
        return value.isoformat() if value else None

    followers, notifications, avoided = [], [], 0
    for follower in dossier_followers(dossier.id):
        messages = []
        for row in follower.messages:
            message = row.message
            head = {"id": message.id, "kind": message.kind, "user_id": message.user_id,
                    "person_id": message.person_id, "created_at": moment(message.created_at),
                    "read_at": moment(message.read_at), "reached_at": moment(message.reached_at),
                    "reached_channel": message.reached_channel}
            messages.append({**head, "channels": {channel: [d.to_json() for d in rows]
                                                  for channel, rows in row.channels().items()}})
            notifications.append({**head, "deliveries": [d.to_json() for d in row.deliveries]})
            # One SMS would have gone per message a phone took by push (sent, shown or opened): the cost avoided.
            avoided += any(d.channel == "push" and d.status in ("sent", "shown", "opened") for d in row.deliveries)
        followers.append({"user_id": follower.user_id, "person_id": follower.person_id, "messages": messages})
    notifications.sort(key=lambda n: n["id"])
    return {"notifications": notifications, "followers": followers, "sms_avoided": avoided}
