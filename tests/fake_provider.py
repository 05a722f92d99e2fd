"""What the loopback fakes of the ZNS and SMS providers share (tests/fake_zns.py, tests/fake_sms.py): a threaded
HTTP server on 127.0.0.1, a script of what to answer (per phone number, or for the next N requests), a latency, and
a timeout that holds the answer until the test ends (an event set at teardown: no sleeps in the tests)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

#: Behaviours every fake knows; each fake adds its own failure words.
OK = "ok"
SERVER_ERROR = "5xx"
TIMEOUT = "timeout"
REDIRECT = "redirect"  #: a 302 to elsewhere (a client must not follow it)


class FakeProvider:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.requests: list[dict] = []  #: every request body received, in order
        self.lock = threading.Lock()
        self._next: list[str] = []
        self._by_phone: dict[str, str] = {}
        self.release = threading.Event()  #: set at teardown: held ("timeout") answers go out then
        self.held = threading.Event()  #: set when a request is being held
        self.server: ThreadingHTTPServer | None = None

    # The script -------------------------------------------------------------------------------------------------

    def next(self, behaviour: str, count: int = 1) -> None:
        """Answer the next ``count`` requests with ``behaviour`` (before any per-phone script)."""
        with self.lock:
            self._next.extend([behaviour] * count)

    def for_phone(self, phone: str, behaviour: str) -> None:
        """Answer every request for ``phone`` (in the provider's own form) with ``behaviour``."""
        with self.lock:
            self._by_phone[phone] = behaviour

    def behaviour(self, phone: str) -> str:
        with self.lock:
            if self._next:
                return self._next.pop(0)
            return self._by_phone.get(phone, OK)

    # The server -------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProvider:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if fake.latency:
                    time.sleep(fake.latency)  # the fake's own latency (the bench's 50 ms), not a test's wait
                status, answer = fake.answer(self.path, dict(self.headers), raw)
                if status is None:  # a timeout: hold the answer until the test ends
                    fake.held.set()
                    fake.release.wait(timeout=60)
                    status, answer = 200, {}
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    if status == 302:
                        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                    pass

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def answer(self, path: str, headers: dict, raw: bytes) -> tuple[int | None, dict]:
        raise NotImplementedError

    @staticmethod
    def parse(raw: bytes) -> dict | None:
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
