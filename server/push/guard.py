"""Outbound requests to push services that cannot be turned against our own network (SSRF).

A subscription's endpoint is checked when it is saved (``server/push/api.py``), but DNS can change afterwards
(rebinding) and a "public" push service could redirect us anywhere. So at send time:

- redirects are never followed (a 3xx answer is a failed delivery with its reason);
- the address checked is the one the socket is actually connected to (``getpeername()`` right after connecting,
  before a byte of the request is written): whatever the name resolved to, a connection to a loopback, private,
  link-local, reserved or multicast address is closed and refused.

``PUSH_ALLOW_PRIVATE_ENDPOINTS`` (tests and development only) lifts the address check, never the redirect rule.

requests' ``timeout`` bounds each socket operation, not a whole request: a server that drips a byte every few
seconds holds one forever. So the senders wait for a batch's answers until a wall-clock deadline of their own, and
then :meth:`GuardedSession.abort` the session: every socket it opened is shut down (``shutdown()``, which wakes a
thread blocked reading it, where ``close()`` would not), so the threads left waiting on a dripping answer end at
once with a network error instead of staying blocked for as long as the server likes.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import weakref

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool


class ForbiddenAddress(Exception):  # noqa: N818 (not an OSError on purpose: urllib3 would retry or wrap it)
    """The push endpoint's host is (now) a non-global or multicast address: nothing is sent to it."""


def address_allowed(address: str) -> bool:
    """True for a global unicast address only (``is_global`` alone lets some multicast ranges through)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _check_peer(sock) -> None:
    peer = sock.getpeername()[0]
    if not address_allowed(peer):
        sock.close()
        raise ForbiddenAddress(f"push endpoint resolves to a non-global address ({peer})")


class _TrackedConnection:
    """A connection that checks its peer (unless ``check_peer`` is off) and says it is open to its session's
    registry, so that the session can shut its socket down from another thread (:meth:`GuardedSession.abort`)."""

    check_peer = True
    opened: _Opened

    def _new_conn(self):
        sock = super()._new_conn()
        if self.check_peer:
            _check_peer(sock)
        self.opened.add(self)
        return sock


class _Opened:
    """The connections of one session (weakly held: the pool drops them as usual)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections = weakref.WeakSet()

    def add(self, connection) -> None:
        with self._lock:
            self._connections.add(connection)

    def shut_down(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is None:
                continue
            try:
                # The socket's own shutdown, on the descriptor: for TLS too, without the SSL object's close_notify
                # (another thread is inside a read on it).
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except (OSError, ValueError):  # already closed, or not connected yet
                pass


def _pool_classes(check_peer: bool, opened: _Opened) -> dict:
    attributes = {"check_peer": check_peer, "opened": opened}
    http = type("GuardedHTTPConnection", (_TrackedConnection, HTTPConnection), attributes)
    https = type("GuardedHTTPSConnection", (_TrackedConnection, HTTPSConnection), attributes)
    return {"http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}


class GuardedAdapter(HTTPAdapter):
    """An adapter whose connections refuse non-global peers (checked on the connected socket) unless
    ``check_peer`` is off, and are known to ``opened`` (to be shut down by :meth:`GuardedSession.abort`)."""

    def __init__(self, *args, check_peer: bool = True, opened: _Opened | None = None, **kwargs) -> None:
        self.check_peer = check_peer
        self.opened = opened or _Opened()
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.check_peer, self.opened)


class GuardedSession(requests.Session):
    """A session that never follows a redirect, whatever the caller (pywebpush) asks, and can be aborted."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = _Opened()

    def request(self, method, url, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, **kwargs)

    def abort(self) -> None:
        """Shut down every socket this session opened, in use or idle, and close it: a request still waiting for
        its answer ends at once with a network error. The session is not used again (the sender makes another)."""
        self.opened.shut_down()
        self.close()


def push_session(pool_maxsize: int, allow_private: bool) -> GuardedSession:
    session = GuardedSession()
    adapter = GuardedAdapter(pool_maxsize=pool_maxsize, check_peer=not allow_private, opened=session.opened)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
