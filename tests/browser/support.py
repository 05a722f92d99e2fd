"""Helpers for the browser tests: virtual authenticators, the session as the page sees it, fresh database reads."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from server.extensions import db

#: How long any one browser step, wait or background job may take before a test fails, in seconds. Set for a slow,
#: busy machine (2 cores with other work running), not a fast one: every wait ends as soon as its event happens, so a
#: generous bound costs nothing when things work and only decides how long a real failure takes to report.
SLOW_MACHINE_TIMEOUT_S = 60
#: The same bound in milliseconds, as Playwright takes it.
STEP_TIMEOUT_MS = SLOW_MACHINE_TIMEOUT_S * 1000


class VirtualAuthenticator:
    """A CDP virtual authenticator (a phone's platform authenticator) attached to one page."""

    OPTIONS = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }

    def __init__(self, page, **options) -> None:
        """``options`` add to OPTIONS, e.g. ``hasPrf=True`` for an authenticator with the PRF extension."""
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator",
                                {"options": {**self.OPTIONS, **options}})["authenticatorId"]

    def credentials(self) -> list[dict]:
        """The credentials it holds; ``credentialId``, ``privateKey`` and ``userHandle`` are standard base64."""
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def add_credential(self, credential: dict) -> None:
        """Import a credential (as exported by :meth:`credentials`)."""
        self.cdp.send("WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential})

    def remove(self) -> None:
        """Unplug it: the page no longer has this authenticator."""
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})


def b64decode(text: str) -> bytes:
    """CDP's standard base64 (with padding, ``+`` and ``/``)."""
    return base64.b64decode(text)


def session_of(page) -> dict:
    """What ``GET /api/v1/session`` answers this page: ``{"status": ..., "body": ...}``."""
    return page.evaluate(
        """async () => {
            const response = await fetch("/api/v1/session", {headers: {Accept: "application/json"}});
            return {status: response.status, body: await response.json()};
        }"""
    )


def fresh() -> None:
    """Forget what the test's database session loaded: the live server committed in other threads."""
    db.session.rollback()


class Downloads:
    """Every response the context received from the network, the service worker's own fetches included (they are
    seen only with PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS=1, which tests/browser/conftest.py sets): path →
    body bytes. Used by tests/browser/pwa/test_citizen_precache.py and bench/app_load.py."""

    def __init__(self, context) -> None:
        self.files: dict[str, int] = {}
        context.on("requestfinished", self._finished)

    def _finished(self, request) -> None:
        response = request.response()
        if response is None or response.from_service_worker:
            return  # answered from the worker's cache: nothing came over the network
        path = urlsplit(request.url).path
        self.files[path] = self.files.get(path, 0) + request.sizes()["responseBodySize"]

    @property
    def total(self) -> int:
        return sum(self.files.values())
