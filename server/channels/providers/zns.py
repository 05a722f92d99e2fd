"""Zalo ZNS: the template message API of Zalo Notification Service.

Verified (public material found with the search tool, December 2026; Zalo's own developer pages were not
reachable, so every point below comes from at least one integration that follows them, and is marked so):

- Request: ``POST https://business.openapi.zalo.me/message/template`` with the OA's token in the ``access_token``
  header and a JSON body ``{"phone": "84912345678", "template_id": "...", "template_data": {...},
  "tracking_id": "..."}``: phone in international form without ``+`` (redai-zalo-sdk's zns.service.js endpoint list;
  a test of a ZNS client asserting exactly this header and body; the zalo-mcp tool schema: "84xxxxxxxxx",
  tracking_id "for reconciliation").
- Answer: ``{"error": 0, "message": "Success", "data": {"msg_id": "...", "sent_time": "...", "quota": {...}}}``;
  ``error`` is 0 on success, a negative code otherwise (zalo.cloud/zns/guidelines/handle-error-code, "Cách xử lý mã
  lỗi": 0 Success, -100 Unknown error, -108 Phone number invalid, -109 Template ID invalid, ...; the full list
  -100..-152 as an Odoo module and a ZNS test script reproduce it). The codes this adapter acts on:

  ======  ===========================================================  =========
  code    meaning (Zalo's words, shortened)                            outcome
  ======  ===========================================================  =========
  -100    unknown error, try again later                               retry
  -133    this template may not be sent at night (22:00 to 06:00)      retry at 06:00
  -108    phone number invalid                                         failed
  -110    Zalo version unsupported                                     failed
  -114    user inactive, rejects ZNS, outdated Zalo, other             failed
  -118    Zalo account not existed (a number without Zalo)             failed
  -119    account can not receive ZNS                                  failed
  -134    user has not answered the OA's offer to receive ZNS          failed
  -139    user refuses this kind of ZNS                                failed
  -141    user refuses ZNS from this OA                                failed
  -109    template id invalid                                          failed
  -117    OA or app not allowed to use this template                   failed
  -131    template not approved                                        failed
  -146    template disabled for low quality                            failed
  -124    access token invalid                                         failed
  -115    out of quota (the ZNS wallet's balance)                      failed
  -144    OA over its daily ZNS limit                                  failed
  -147    template over its daily limit                                failed
  ======  ===========================================================  =========

  Any other code is a failure with its number and words (an app, OA or data problem of ours). No ZNS code for
  "rate limited" was found; an HTTP 429 or 5xx, a timeout or a connection error is a retry.

Assumed, not verified:

- ``tracking_id`` is for our reconciliation only: nothing found says that Zalo refuses or dedupes a second
  request with the same one. So a resend after a worker died between the request and recording its outcome may
  reach the citizen twice on ZNS (the SMS gateway, by contrast, dedupes on RequestId). The window is one request.
- The delivery webhook (server/channels/hooks.py) names ``msg_id``, and we also read ``tracking_id`` there.
- ``template_data`` holds ``ma_ho_so`` (the dossier code) and ``trang_thai`` (the words of the kind, at most 30
  characters: ZNS's "transaction status" parameter type): the ward's approved templates must use those names.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import current_app

from server.calendar.workdays import to_local
from server.channels.providers.base import OutboundMessage
from server.channels.providers.base import Provider
from server.channels.providers.base import ProviderResult
from server.channels.providers.base import Result
from server.consent.purposes import Channel
from server.push.texts import safe_of
from server.types import utcnow

RETRY_CODES = frozenset({-100})
NIGHT_CODE = -133
#: Codes about the recipient or our set-up: trying again will not help, the next rung of the ladder will.
FAILED_REASONS = {
    -108: "phone number invalid", -110: "Zalo version unsupported", -114: "user cannot receive ZNS now",
    -118: "no Zalo account for the number", -119: "account cannot receive ZNS", -134: "user has not accepted ZNS",
    -139: "user refuses this kind of ZNS", -141: "user refuses ZNS from the OA",
    -109: "template id invalid", -117: "template not allowed for the OA", -131: "template not approved",
    -146: "template disabled", -124: "access token invalid",
    -115: "out of quota", -144: "OA daily quota exceeded", -147: "template daily quota exceeded",
}
#: ZNS's "transaction status" parameter holds at most 30 characters.
STATUS_WORDS_MAX = 30
MORNING_HOUR = 6


def template_data(kind: str, code: str | None) -> dict:
    """What the template is filled with: the dossier code and the words of the kind, nothing else."""
    title, _body = safe_of(kind, {"code": code or ""}, "vi")
    return {"ma_ho_so": code or "", "trang_thai": title[:STATUS_WORDS_MAX]}


def seconds_until_morning(now: datetime) -> float:
    """Seconds until 06:00 local time, when ZNS sends night-restricted templates again."""
    local = to_local(now)
    morning = local.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return (morning - local).total_seconds()


class ZnsProvider(Provider):
    name = "zns"
    channel = Channel.ZALO

    def __init__(self, session=None) -> None:
        super().__init__(session)
        config = current_app.config
        self.url = config["ZNS_API_URL"]
        self.token = config["ZNS_ACCESS_TOKEN"]
        self.templates = dict(config.get("ZNS_TEMPLATES") or {})
        self.price = int(config["ZNS_PRICE_VND"])

    def prepare(self, outbound: OutboundMessage) -> dict | None:
        template_id = self.templates.get(outbound.kind)
        if not template_id:
            return None
        return {"phone": outbound.phone_e164.removeprefix("+"), "template_id": str(template_id),
                "template_data": template_data(outbound.kind, outbound.code), "tracking_id": outbound.tracking_id}

    def deliver(self, body: dict | None) -> ProviderResult:
        if body is None:
            return ProviderResult(Result.FAILED, reason="zns: no approved template for this kind")
        answer, result = self.post_json(self.url, body, {"access_token": self.token})
        if result is not None:
            return result
        return self.result_of(answer)

    def result_of(self, answer: dict) -> ProviderResult:
        try:
            error = int(answer.get("error"))
        except (TypeError, ValueError):
            return ProviderResult(Result.RETRY, reason="zns answered without an error code")
        # Zalo's own words for the code (they name no person), cut short.
        words = str(answer.get("message") or "")[:120]
        if error == 0:
            data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
            message_id = data.get("msg_id")
            return ProviderResult(Result.ACCEPTED, str(message_id) if message_id else None, cost_vnd=self.price)
        reason = f"zns {error}: {FAILED_REASONS.get(error, words or 'error')}"
        if error in RETRY_CODES:
            return ProviderResult(Result.RETRY, reason=reason)
        if error == NIGHT_CODE:
            return ProviderResult(Result.RETRY, reason=f"zns {error}: not sent at night",
                                  retry_after=seconds_until_morning(utcnow()))
        return ProviderResult(Result.FAILED, reason=reason)
