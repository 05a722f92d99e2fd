"""SMS through a Vietnamese brand-name gateway: eSMS.vn's JSON API (SendMultipleMessage_V4_post_json).

Verified (eSMS's developer documentation as published in its GitBook repositories, devesms/gitbook_esms_for_develop
and devesms/gitbook_esms_for_develop_v2_en, found with the search tool; developers.esms.vn/en/esms-api/
table-of-error-codes for the codes):

- Request: ``POST https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/``, JSON body with
  ``ApiKey``, ``SecretKey``, ``Phone``, ``Content``, ``Brandname``, ``SmsType`` ("2": customer care / OTP, the
  brand-name type for notifications), ``IsUnicode`` ("0": the text is folded to GSM-7, server/channels/texts.py),
  ``RequestId`` ("the identification value for the request to prevent the request from duplicated") and
  ``CallbackUrl`` (where the delivery report goes).
- Answer: ``{"CodeResult": "100", "CountRegenerate": 0, "SMSID": "..."}``; 100 means the gateway took the request
  (not that the phone received it: the callback says that). Codes acted on: 99 phone blocked, 101 wrong ApiKey or
  SecretKey, 102 no price list, 103 not enough balance, 104 brand name unknown, 108 phone number format, 118
  message type unsupported, 124 duplicate RequestId, 140 IP not whitelisted, 146 customer-care template not
  registered, 177 network not registered. All are failures except 124: the same RequestId was taken before (we
  died before recording it), so the message went and this one is *accepted* (and counted once).
- Delivery report: an HTTP GET to CallbackUrl with ``SMSID``, ``RequestId``, ``SendStatus`` (5 sent successfully,
  4 rejected, 1/2/7 pending), ``SendSuccess``, ``SendFailed``, ``TotalPrice``, ``phonenumber``...; retried at most
  5 times (server/channels/hooks.py).

Assumed, not verified: the number goes in national form ("0901888484", as in every example); a 5xx or an
unreadable answer is worth retrying (with the same RequestId, so the gateway drops a duplicate). The cost shown is
``SMS_PRICE_VND`` per segment of the text, not the gateway's ``TotalPrice`` (which only the report carries).
"""

from __future__ import annotations

from flask import current_app

from server.channels.providers.base import OutboundMessage
from server.channels.providers.base import Provider
from server.channels.providers.base import ProviderResult
from server.channels.providers.base import Result
from server.channels.texts import segments
from server.channels.texts import sms_text
from server.consent.purposes import Channel

ACCEPTED_CODE = "100"
DUPLICATE_CODE = "124"
CODE_REASONS = {
    "99": "phone number blocked", "101": "wrong ApiKey or SecretKey", "102": "no price list",
    "103": "not enough balance", "104": "brand name unknown", "108": "phone number format",
    "118": "message type unsupported", "140": "IP not whitelisted", "146": "template not registered",
    "177": "network not registered",
}


def national(phone_e164: str) -> str:
    """+84901888484 → 0901888484."""
    return "0" + phone_e164.removeprefix("+84") if phone_e164.startswith("+84") else phone_e164.removeprefix("+")


class SmsProvider(Provider):
    name = "sms"
    channel = Channel.SMS

    def __init__(self, session=None) -> None:
        super().__init__(session)
        config = current_app.config
        self.url = config["SMS_API_URL"]
        self.credentials = {"ApiKey": config.get("SMS_API_KEY") or "", "SecretKey": config.get("SMS_SECRET_KEY") or ""}
        self.brandname = config.get("SMS_BRANDNAME") or ""
        self.sms_type = str(config.get("SMS_TYPE") or "2")
        self.price = int(config["SMS_PRICE_VND"])
        base, token = config.get("SMS_CALLBACK_BASE_URL"), config.get("SMS_CALLBACK_TOKEN")
        self.callback_url = f"{base.rstrip('/')}/hooks/sms/{token}" if base and token else None

    def prepare(self, outbound: OutboundMessage) -> dict | None:
        text = sms_text(outbound.kind, {"code": outbound.code or ""})
        body = {**self.credentials, "Phone": national(outbound.phone_e164), "Content": text,
                "Brandname": self.brandname, "SmsType": self.sms_type, "IsUnicode": "0", "Sandbox": "0",
                "RequestId": outbound.tracking_id}
        if self.callback_url:
            body["CallbackUrl"] = self.callback_url
        return body

    def deliver(self, body: dict | None) -> ProviderResult:
        if body is None:
            return ProviderResult(Result.FAILED, reason="sms: nothing to send")
        answer, result = self.post_json(self.url, body)
        if result is not None:
            return result
        code = str(answer.get("CodeResult") or "")
        sms_id = answer.get("SMSID")
        if code in (ACCEPTED_CODE, DUPLICATE_CODE):
            cost = self.price * segments(body["Content"])
            reason = "sms 124: the gateway had this RequestId already (sent before a restart)" \
                if code == DUPLICATE_CODE else None
            return ProviderResult(Result.ACCEPTED, str(sms_id) if sms_id else None, reason=reason, cost_vnd=cost)
        if not code:
            return ProviderResult(Result.RETRY, reason="sms gateway answered without CodeResult")
        words = CODE_REASONS.get(code) or str(answer.get("ErrorMessage") or "error")[:120]
        return ProviderResult(Result.FAILED, reason=f"sms {code}: {words}")
