"""The signed-in user's consents (JSON): what each purpose covers, which are in force, the history; give and
withdraw one per purpose and channel. The citizen's page is pwa/app/consents.js (server/consent/views.py).

A channel is offered when this server sends on it (server/channels/ladder.py: push always, Zalo and SMS when their
providers are configured); a Zalo or SMS consent names the mobile number it is for."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from server.api.openapi import body
from server.api.openapi import operation
from server.api.openapi import schema
from server.auth.access import roles_required
from server.auth.models import ConsentRecord
from server.channels.ladder import enabled_channels
from server.consent import services
from server.consent.purposes import ACCOUNT_PURPOSE
from server.consent.purposes import PURPOSES
from server.consent.purposes import Channel
from server.consent.purposes import Purpose
from server.consent.purposes import channel_words
from server.consent.views import account_notice_title
from server.consent.views import statutory_notice
from server.errors import ApiProblem
from server.errors import field_error
from server.extensions import db
from server.people.identity import check_phone

bp = Blueprint("consent_api", __name__, url_prefix="/api/v1/me")
TAGS = ["Consent"]

CONSENT = schema("Consent", {
    "type": "object", "required": ["purpose", "channel", "text_version", "given_at", "withdrawn_at"],
    "properties": {"purpose": {"type": "string"}, "title": {"type": "string"}, "channel": {"type": ["string", "null"]},
                   "text_version": {"type": "string"}, "method": {"type": ["string", "null"]},
                   "address": {"type": ["string", "null"], "description": "the mobile number (E.164) of a Zalo "
                               "or SMS consent"},
                   "given_at": {"type": "string", "format": "date-time"},
                   "withdrawn_at": {"type": ["string", "null"], "format": "date-time"}},
})
PURPOSE_STATE = schema("ConsentPurpose", {
    "type": "object", "required": ["purpose", "title", "notice", "text_version", "channels"],
    "properties": {"purpose": {"type": "string"}, "title": {"type": "string"}, "notice": {"type": "string"},
                   "text_version": {"type": "string"},
                   "channels": {"type": "array", "items": {"type": "object", "required": ["channel", "available"],
                                "properties": {"channel": {"enum": [c.value for c in Channel]},
                                               "name": {"type": "string"}, "available": {"type": "boolean"},
                                               "consent": {"anyOf": [CONSENT, {"type": "null"}]}}}}},
})
CONSENTS = schema("Consents", {
    "type": "object", "required": ["statutory", "purposes", "history"],
    "properties": {
        "statutory": {"type": "object", "required": ["legal_basis", "text"], "description": "The processing of "
                      "the dossier itself: a legal obligation of the ward, needing no consent",
                      "properties": {"legal_basis": {"const": "legal_obligation"}, "text": {"type": "string"}}},
        "purposes": {"type": "array", "items": PURPOSE_STATE},
        "history": {"type": "array", "items": CONSENT},
        "suggested_phone": {"type": ["string", "null"], "description": "the mobile number of the account's "
                            "identity-checked person, the only one a Zalo or SMS consent may name (null: none yet, "
                            "the desk records it)"},
    },
})
GIVE = schema("ConsentGiven", {
    "type": "object", "required": ["text_version"], "additionalProperties": False,
    "properties": {"text_version": {"type": "string", "minLength": 1, "maxLength": 40,
                                    "description": "the version of the notice the user was shown"},
                   "address": {"type": "string", "maxLength": 40,
                               "description": "Zalo and SMS: the Vietnamese mobile number to write to, "
                               "the account's identity-checked one"}},
})
PATH = [{"name": "purpose", "in": "path", "required": True, "schema": {"enum": sorted(PURPOSES)}},
        {"name": "channel", "in": "path", "required": True, "schema": {"enum": [c.value for c in Channel]}}]


def consent_json(record: ConsentRecord) -> dict:
    purpose = PURPOSES.get(record.purpose)
    title = str(purpose.title) if purpose else account_notice_title() if record.purpose == ACCOUNT_PURPOSE \
        else record.purpose
    return {"purpose": record.purpose, "title": title, "channel": record.channel.value if record.channel else None,
            "text_version": record.text_version, "method": record.method, "address": record.address,
            "given_at": record.recorded_at.isoformat(),
            "withdrawn_at": record.withdrawn_at.isoformat() if record.withdrawn_at else None}


def purpose_json(purpose: Purpose) -> dict:
    names = channel_words()
    enabled = enabled_channels()
    channels = []
    for channel in purpose.channels:
        record = services.in_force(current_user.id, purpose.key, channel)
        channels.append({"channel": channel.value, "name": str(names[channel.value]),
                         "available": channel in enabled,
                         "consent": consent_json(record) if record else None})
    return {"purpose": purpose.key, "title": str(purpose.title), "notice": str(purpose.notice),
            "text_version": purpose.text_version, "channels": channels}


def _target(purpose_key: str, channel_value: str) -> tuple[Purpose, Channel]:
    purpose = PURPOSES.get(purpose_key)
    channel = next((c for c in Channel if c.value == channel_value), None)
    if purpose is None or channel is None or channel not in purpose.channels:
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Không có mục đích hoặc kênh này.", "No such purpose or channel."))
    return purpose, channel


@bp.get("/consents")
@roles_required("authenticated")
@operation("My consents: each purpose with its notice and channels, those in force, and the whole history "
           "(the dossier's own processing needs none: a legal obligation)", tags=TAGS, responses={200: CONSENTS})
def my_consents():
    return {"statutory": {"legal_basis": "legal_obligation", "text": statutory_notice()},
            "purposes": [purpose_json(p) for p in PURPOSES.values()],
            "history": [consent_json(r) for r in services.history(current_user)],
            "suggested_phone": _suggested_phone()}


def _suggested_phone() -> str | None:
    """The number the user's Zalo or SMS consent may name (national form, as people write it), if it is a mobile."""
    phone = services.verified_phone(current_user)
    checked = check_phone(phone) if phone else None
    return checked.national if checked is not None and checked.sms_capable else None


@bp.put("/consents/<purpose>/<channel>")
@roles_required("authenticated")
@operation("Consent to a purpose on a channel, after being shown its notice (201 given, 200 already in force)",
           tags=TAGS, request_body=GIVE, responses={200: PURPOSE_STATE, 201: PURPOSE_STATE}, parameters=PATH)
def give(purpose: str, channel: str):
    data = body()
    target, on = _target(purpose, channel)
    if on not in enabled_channels():
        message = ("Phường chưa gửi thông báo qua kênh này.", "The ward does not send on this channel yet.")
        raise ApiProblem(422, "channel-unavailable", ("Kênh chưa dùng được", "Channel not available"), message,
                         errors=[field_error("channel", "unavailable", *message)])
    if data["text_version"] != target.text_version:
        message = ("Nội dung thông báo đã thay đổi; hãy đọc lại trước khi đồng ý.",
                   "The notice has changed; read it again before consenting.")
        raise ApiProblem(422, "outdated-notice", ("Thông báo đã thay đổi", "Notice changed"), message,
                         errors=[field_error("text_version", "outdated", *message)])
    try:
        _, created = services.give(current_user, target.key, on, target.text_version, address=data.get("address"))
    except services.BadAddress as refused:
        raise ApiProblem(422, "invalid-phone", ("Số điện thoại không dùng được", "Phone number not usable"),
                         (refused.vi, refused.en),
                         errors=[field_error("address", refused.code, refused.vi, refused.en)]) from None
    db.session.commit()
    return purpose_json(target), 201 if created else 200


@bp.delete("/consents/<purpose>/<channel>")
@roles_required("authenticated")
@operation("Withdraw a consent: nothing more of that purpose goes out on that channel, not even what is queued",
           tags=TAGS, responses={200: PURPOSE_STATE}, parameters=PATH)
def withdraw(purpose: str, channel: str):
    target, on = _target(purpose, channel)
    services.withdraw(current_user, target.key, on)
    db.session.commit()
    return purpose_json(target)
