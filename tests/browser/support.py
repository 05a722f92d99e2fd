"""Helpers for the browser tests: virtual authenticators, the session as the page sees it, fresh database reads."""

from __future__ import annotations

import base64

from server.extensions import db


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

    def __init__(self, page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": self.OPTIONS})["authenticatorId"]

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
