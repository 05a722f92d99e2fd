"""A push service on loopback, for tests (PLATFORM.md recipe): what a browser vendor's service does, minus delivery.

It mints subscriptions (a P-256 key pair and a 16-byte auth secret, as a browser would), and for each push it
checks the VAPID JWT (ES256 signature with the key in the header, ``aud`` = this origin, ``exp`` in the future),
decrypts the aes128gcm body with the subscription's private key and records the plaintext. It answers 201, 410 for
a subscription marked gone, 413 above 4096 bytes, or whatever status a test queues for the next requests.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Received:
    subscription: str
    payload: dict
    headers: dict
    size: int = 0  #: bytes of the encrypted body (the limit is 4096)


@dataclass
class Subscription:
    name: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    def info(self, base_url: str) -> dict:
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        keys = {"p256dh": b64url(point), "auth": b64url(self.auth)}
        return {"endpoint": f"{base_url}/push/{self.name}", "keys": keys}


@dataclass
class PushService:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    scripted: list[tuple[int, dict]] = field(default_factory=list)  # (status, headers) for the next requests
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def __post_init__(self):
        self.arrived = threading.Condition(self.lock)  # notified at every message received

    def wait_for(self, count: int, timeout: float = 120) -> bool:
        """Until ``count`` messages have been received (False if they have not after ``timeout`` seconds)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)

    def subscribe(self) -> dict:
        with self.lock:
            name = f"s{len(self.subscriptions) + 1}"
            self.subscriptions[name] = Subscription(name, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        return self.subscriptions[name].info(self.base_url)

    def payloads(self) -> list[dict]:
        with self.lock:
            return [r.payload for r in self.received]


def _check_vapid(authorization: str, origin: str) -> str | None:
    """None when the VAPID header is valid, else why not."""
    if not authorization.startswith("vapid "):
        return "no vapid authorization"
    params = dict(part.strip().split("=", 1) for part in authorization[6:].split(","))
    token, key = params.get("t", ""), params.get("k", "")
    try:
        header, claims, signature = token.split(".")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        raw = b64url_decode(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        body = json.loads(b64url_decode(claims))
    except (ValueError, InvalidSignature) as error:
        return f"bad JWT: {error!r}"
    if body.get("aud") != origin:
        return f"aud {body.get('aud')!r} is not {origin!r}"
    if not (time.time() < body.get("exp", 0) <= time.time() + 24 * 3600):
        return "exp missing, past, or more than 24 h ahead"
    if not str(body.get("sub", "")).startswith(("mailto:", "https:")):
        return "sub is not mailto: or https:"
    return None


class Server(ThreadingHTTPServer):
    # A worker sends several requests at once: the default backlog of 5 would reset connections a real push
    # service accepts.
    request_queue_size = 128
    daemon_threads = True


def start(service: PushService):
    """Serve ``service`` on 127.0.0.1 in a thread; returns the HTTP server (``shutdown()`` it)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            name = self.path.rsplit("/", 1)[-1]
            with service.lock:
                scripted = service.scripted.pop(0) if service.scripted else None
            if scripted:
                return self._answer(*scripted)
            if name in service.gone or name not in service.subscriptions:
                return self._answer(410)
            if length > 4096:
                return self._answer(413)
            problem = _check_vapid(self.headers.get("Authorization", ""), service.base_url)
            if problem:
                with service.lock:
                    service.refused.append(problem)
                return self._answer(403)
            subscription = service.subscriptions[name]
            plaintext = http_ece.decrypt(body, private_key=subscription.private_key, auth_secret=subscription.auth,
                                         version="aes128gcm")
            with service.lock:
                headers = {key.lower(): value for key, value in self.headers.items()}
                service.received.append(Received(name, json.loads(plaintext), headers, length))
                service.arrived.notify_all()
            return self._answer(201)

        def _answer(self, status: int, headers: dict | None = None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = Server(("127.0.0.1", 0), Handler)
    service.base_url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, name="push-service", daemon=True).start()
    return server
