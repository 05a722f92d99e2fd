"""A loopback eSMS.vn for tests: ``SendMultipleMessage_V4_post_json`` as documented
(server/channels/providers/sms.py).

It checks ApiKey and SecretKey (101), the brand name (104), the phone (national form, 10 digits: 108), the SMS
type (118) and the content, records every request, drops a second request with a RequestId it has seen (124, as
eSMS does: nothing is sent twice), and answers per script: success (``CodeResult`` 100 and an ``SMSID``),
``balance`` (103: not enough balance, the SMS side of a quota), ``blocked`` (99), ``5xx``, ``timeout``.
:meth:`report` builds the delivery report eSMS sends to CallbackUrl (an HTTP GET's query).
"""

from __future__ import annotations

import re
import uuid

import requests

from tests.fake_provider import OK
from tests.fake_provider import SERVER_ERROR
from tests.fake_provider import TIMEOUT
from tests.fake_provider import FakeProvider

BALANCE = "balance"
BLOCKED = "blocked"
_ERRORS = {BALANCE: ("103", "Balance not enough"), BLOCKED: ("99", "Phone is blocked")}
PHONE = re.compile(r"^0\d{9}$")
SEND_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"


class FakeSms(FakeProvider):
    def __init__(self, api_key: str = "sms-key", secret_key: str = "sms-secret", brandnames=("MOTCUA",),
                 latency: float = 0.0) -> None:
        super().__init__(latency)
        self.api_key, self.secret_key, self.brandnames = api_key, secret_key, set(brandnames)
        self.sent: list[dict] = []  #: messages that went out: {"SMSID", "RequestId", "Phone", "Content", ...}
        self.duplicates = 0

    @property
    def send_url(self) -> str:
        return f"{self.url}{SEND_PATH}"

    def answer(self, path, headers, raw):
        body = self.parse(raw)
        with self.lock:
            self.requests.append({"headers": headers, "body": body, "raw": raw})
        if path.rstrip("/") != SEND_PATH.rstrip("/") or body is None:
            return 200, {"error": "Invalid request"}
        if body.get("ApiKey") != self.api_key or body.get("SecretKey") != self.secret_key:
            return 200, {"CodeResult": "101", "CountRegenerate": 0, "ErrorMessage": "Authorize Failed"}
        if body.get("Brandname") not in self.brandnames:
            return 200, {"CodeResult": "104", "CountRegenerate": 0, "ErrorMessage": "Brand name code is not exist"}
        if str(body.get("SmsType")) != "2":
            return 200, {"CodeResult": "118", "CountRegenerate": 0, "ErrorMessage": "Sms type is not supported"}
        if not PHONE.match(str(body.get("Phone") or "")):
            return 200, {"CodeResult": "108", "CountRegenerate": 0, "ErrorMessage": "Phone number is invalid"}
        if not body.get("Content"):
            return 200, {"CodeResult": "118", "CountRegenerate": 0, "ErrorMessage": "Content is empty"}
        behaviour = self.behaviour(body["Phone"])
        if behaviour == TIMEOUT:
            # eSMS took it (the message goes), we never hear: the answer is held past the client's timeout.
            self._accept(body)
            return None, {}
        if behaviour == SERVER_ERROR:
            return 503, {"error": "Service unavailable"}
        if behaviour in _ERRORS:
            code, words = _ERRORS[behaviour]
            return 200, {"CodeResult": code, "CountRegenerate": 0, "ErrorMessage": words}
        assert behaviour == OK, behaviour
        message = self._accept(body)
        if message is None:
            return 200, {"CodeResult": "124", "CountRegenerate": 0, "ErrorMessage": "Request exist 1",
                         "SendStatus": "5"}
        return 200, {"CodeResult": "100", "CountRegenerate": 0, "SMSID": message["SMSID"]}

    def _accept(self, body: dict) -> dict | None:
        """The message goes out, unless its RequestId was seen (then None: a duplicate, dropped)."""
        with self.lock:
            request_id = body.get("RequestId")
            if request_id and any(m["RequestId"] == request_id for m in self.sent):
                self.duplicates += 1
                return None
            message = {"SMSID": uuid.uuid4().hex, "RequestId": request_id, "Phone": body["Phone"],
                       "Content": body["Content"], "CallbackUrl": body.get("CallbackUrl")}
            self.sent.append(message)
            return message

    def report(self, sms_id: str, delivered: bool = True, request_id: str = "") -> dict:
        """The query of eSMS's delivery report for a customer-care SMS (SmsType 2)."""
        message = next((m for m in self.sent if m["SMSID"] == sms_id), {})
        return {"SMSID": sms_id, "SendFailed": "0" if delivered else "1", "SendStatus": "5",
                "SendSuccess": "1" if delivered else "0", "TotalPrice": "800.0000", "TotalReceiver": "1",
                "TotalSent": "1", "RequestId": request_id or message.get("RequestId") or "", "TypeId": "2",
                "telcoid": "1", "phonenumber": message.get("Phone", ""), "switchsmsid": ""}

    def fire_report(self, sms_id: str, delivered: bool = True) -> requests.Response:
        """GET the report to the CallbackUrl the message named (a live hook)."""
        message = next(m for m in self.sent if m["SMSID"] == sms_id)
        return requests.get(message["CallbackUrl"], params=self.report(sms_id, delivered), timeout=10,
                            allow_redirects=False)
