"""One interface for the providers outside this machine (Zalo ZNS, an SMS brand-name gateway).

A provider takes one :class:`OutboundMessage` (our tracking id, the number, the kind of event and the dossier code:
nothing more personal than a push payload) and says what became of it: ``accepted`` (with the provider's message
id and what it cost), ``retry`` (a timeout, a 5xx, a rate limit: the same message, with the same tracking id, later)
or ``failed`` (a number without Zalo, a template not approved, the day's quota spent: the next rung of the ladder
takes over). It never raises for a provider's answer.

Outbound HTTP goes through the push worker's guarded session (server/push/guard.py): a bounded timeout per socket
operation (the worker bounds the whole batch, and :meth:`Provider.renew_session` aborts the requests that outlive
it), redirects never followed, and no connection kept to a loopback, private or otherwise non-global address unless
``PROVIDERS_ALLOW_PRIVATE_URLS`` (tests) says so. No provider exists unless it is configured
(:func:`server.channels.ladder.enabled_channels`): :func:`provider_for` returns None, and nothing is called.
"""

from __future__ import annotations

import abc
import enum
import json
from dataclasses import dataclass

import requests
from flask import current_app

from server.channels import ladder
from server.consent.purposes import Channel
from server.push.guard import ForbiddenAddress
from server.push.guard import push_session
from server.push.sender import retry_after_seconds


class Result(enum.Enum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboundMessage:
    tracking_id: str  #: ours, sent with the request (the SMS gateway dedupes on it) and named by callbacks
    phone_e164: str  #: +84…
    kind: str
    code: str | None  #: the dossier code (None for a message about no dossier)


@dataclass(frozen=True)
class ProviderResult:
    outcome: Result
    provider_message_id: str | None = None
    reason: str | None = None  #: why (a code and the provider's words), never the number or the text
    retry_after: float | None = None  #: seconds the provider asked us to wait, if it did
    cost_vnd: int = 0


class Provider(abc.ABC):
    name: str
    channel: Channel

    def __init__(self, session: requests.Session | None = None) -> None:
        config = current_app.config
        self.timeout = config["PROVIDER_TIMEOUT_SECONDS"]
        self._new_session = lambda: push_session(max(10, config["PROVIDER_CONCURRENCY"]),
                                                 config["PROVIDERS_ALLOW_PRIVATE_URLS"])
        self.session = session or self._new_session()

    def send(self, outbound: OutboundMessage) -> ProviderResult:
        """Send one message: what it says (:meth:`prepare`), then the request (:meth:`deliver`)."""
        return self.deliver(self.prepare(outbound))

    @abc.abstractmethod
    def prepare(self, outbound: OutboundMessage) -> dict | None:
        """The request body for ``outbound``, in the worker's own thread (the words of a kind need the app's
        translations); None when it cannot be sent (no approved template for its kind, say)."""

    @abc.abstractmethod
    def deliver(self, body: dict | None) -> ProviderResult:
        """Send a prepared body (in a pool thread: no database, no app context, only the body and the session)."""

    def close(self) -> None:
        self.session.close()

    def renew_session(self) -> None:
        """Abort the session (a request still waiting for its answer ends at once: server/push/guard.py) and
        take a new one; the worker calls it when requests outlived their batch's deadline."""
        getattr(self.session, "abort", self.session.close)()
        self.session = self._new_session()

    def post_json(self, url: str, body: dict, headers: dict | None = None) -> tuple[dict | None, ProviderResult | None]:
        """POST ``body``; returns the answer's JSON object, or the result when there is none to read (a network
        error or a 5xx: retry; a redirect or a refused address: failed)."""
        try:
            response = self.session.post(url, data=json.dumps(body, ensure_ascii=False).encode(),
                                         headers={"Content-Type": "application/json", **(headers or {})},
                                         timeout=self.timeout)
        except ForbiddenAddress as error:
            return None, ProviderResult(Result.FAILED, reason=f"refused: {error}")
        except requests.RequestException as error:
            return None, ProviderResult(Result.RETRY, reason=f"network: {type(error).__name__}")
        status = response.status_code
        if 300 <= status < 400:
            return None, ProviderResult(Result.FAILED, reason=f"{self.name} answered {status}: redirects are not "
                                                              "followed")
        if status == 429 or status >= 500:
            return None, ProviderResult(Result.RETRY, reason=f"{self.name} answered {status}",
                                        retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            # A 2xx we cannot read: the message may or may not have gone. Retrying carries the same tracking id.
            return None, ProviderResult(Result.RETRY, reason=f"{self.name} answered {status} without a JSON object")
        return answer, None


def provider_for(channel: Channel, session: requests.Session | None = None) -> Provider | None:
    """The configured provider of ``channel``, or None when it is not configured (then nothing is ever sent on it)."""
    if channel not in ladder.enabled_channels():
        return None
    if channel is Channel.ZALO:
        from server.channels.providers.zns import ZnsProvider

        return ZnsProvider(session)
    if channel is Channel.SMS:
        from server.channels.providers.sms import SmsProvider

        return SmsProvider(session)
    return None
