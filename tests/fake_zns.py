"""A loopback Zalo ZNS for tests: ``POST /message/template`` as documented (server/channels/providers/zns.py).

It checks the ``access_token`` header (-124), the phone ("84" and 9 or 10 digits, no "+": -108), the template
(approved: sent; known but not approved: -131; unknown: -109) and the required fields (-132), records every
request, and answers per script: success (``msg_id``, ``sent_time``, ``quota``), ``quota`` (-144, the OA's daily
limit), ``no_zalo`` (-118), ``template`` (-131), ``token`` (-124), ``unknown`` (-100), ``5xx``, ``timeout``,
``redirect``.
Zalo documents no dedupe of ``tracking_id``: a second request with the same one is sent again, and counted in
:attr:`FakeZns.duplicates`. :meth:`delivered_event` builds the webhook event of a delivery, signed as Zalo signs it.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import requests

from server.channels.hooks import zns_signature
from tests.fake_provider import OK
from tests.fake_provider import REDIRECT
from tests.fake_provider import SERVER_ERROR
from tests.fake_provider import TIMEOUT
from tests.fake_provider import FakeProvider

QUOTA = "quota"
NO_ZALO = "no_zalo"
TEMPLATE = "template"
TOKEN = "token"
UNKNOWN = "unknown"
_ERRORS = {
    QUOTA: (-144, "OA has exceeded the daily ZNS limit"),
    NO_ZALO: (-118, "Zalo account not existed"),
    TEMPLATE: (-131, "Template not approved"),
    TOKEN: (-124, "Access token invalid"),
    UNKNOWN: (-100, "Unknown error"),
}
PHONE = re.compile(r"^84\d{9,10}$")


class FakeZns(FakeProvider):
    def __init__(self, token: str = "zns-test-token", approved=("tpl-result",), unapproved=("tpl-draft",),
                 app_id: str = "1234567890", secret: str = "oa-secret", latency: float = 0.0) -> None:
        super().__init__(latency)
        self.token, self.approved, self.unapproved = token, set(approved), set(unapproved)
        self.app_id, self.secret = app_id, secret
        self.sent: list[dict] = []  #: accepted messages: {"msg_id", "tracking_id", "phone", "template_id", ...}
        self.duplicates = 0

    @property
    def send_url(self) -> str:
        return f"{self.url}/message/template"

    def answer(self, path, headers, raw):
        body = self.parse(raw)
        with self.lock:
            self.requests.append({"headers": headers, "body": body, "raw": raw})
        if path != "/message/template":
            return 404, {"error": -106, "message": "Method unsupported"}
        if body is None:
            return 200, {"error": -122, "message": "Body request is not JSON"}
        if headers.get("access_token") != self.token:
            return 200, {"error": -124, "message": "Access token invalid"}
        if not all(key in body for key in ("phone", "template_id", "template_data")) or \
                not isinstance(body["template_data"], dict):
            return 200, {"error": -132, "message": "Parameter invalid"}
        if not PHONE.match(str(body["phone"])):
            return 200, {"error": -108, "message": "Phone number invalid"}
        if body["template_id"] in self.unapproved:
            return 200, {"error": -131, "message": "Template not approved"}
        if body["template_id"] not in self.approved:
            return 200, {"error": -109, "message": "Template ID invalid"}
        behaviour = self.behaviour(body["phone"])
        if behaviour == TIMEOUT:
            return None, {}
        if behaviour == SERVER_ERROR:
            return 502, {"error": -100, "message": "Bad gateway"}
        if behaviour == REDIRECT:
            return 302, {}
        if behaviour in _ERRORS:
            code, words = _ERRORS[behaviour]
            return 200, {"error": code, "message": words}
        assert behaviour == OK, behaviour
        with self.lock:
            if body.get("tracking_id") and any(m["tracking_id"] == body["tracking_id"] for m in self.sent):
                self.duplicates += 1
            message = {"msg_id": uuid.uuid4().hex, "tracking_id": body.get("tracking_id"), "phone": body["phone"],
                       "template_id": body["template_id"], "template_data": body["template_data"]}
            self.sent.append(message)
            remaining = max(0, 500 - len(self.sent))
        return 200, {"error": 0, "message": "Success",
                     "data": {"msg_id": message["msg_id"], "sent_time": str(int(time.time() * 1000)),
                              "quota": {"dailyQuota": "500", "remainingQuota": str(remaining)}}}

    def delivered_event(self, msg_id: str, tracking_id: str | None = None, delivery_time_ms: int | None = None,
                        timestamp_ms: int | None = None, secret: str | None = None) -> tuple[bytes, dict]:
        """The webhook event of a ZNS delivered to the phone, and its headers (signed with ``secret``, by default
        the OA's)."""
        now_ms = int(time.time() * 1000)
        timestamp = str(timestamp_ms if timestamp_ms is not None else now_ms)
        event = {"app_id": self.app_id, "event_name": "user_received_message", "sender": {"id": "oa-4097311281"},
                 "recipient": {"id": "user-by-app-1"},
                 "message": {"msg_id": msg_id, "delivery_time": str(delivery_time_ms or now_ms),
                             **({"tracking_id": tracking_id} if tracking_id else {})},
                 "timestamp": timestamp}
        raw = json.dumps(event, separators=(",", ":")).encode()
        mac = zns_signature(self.app_id, raw, timestamp, secret if secret is not None else self.secret)
        return raw, {"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"}

    def fire_delivered(self, hook_url: str, msg_id: str, **kwargs) -> requests.Response:
        """POST the delivery event to a live hook (a server started by a bench, say)."""
        raw, headers = self.delivered_event(msg_id, **kwargs)
        return requests.post(hook_url, data=raw, headers=headers, timeout=10, allow_redirects=False)
