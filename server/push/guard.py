"""Outbound requests to push services that cannot be turned against our own network (SSRF).

A subscription's endpoint is checked when it is saved (``server/push/api.py``), but DNS can change afterwards
(rebinding) and a "public" push service could redirect us anywhere. So at send time:

- redirects are never followed (a 3xx answer is a failed delivery with its reason);
- the address checked is the one the socket is actually connected to (``getpeername()`` right after connecting,
  before a byte of the request is written): whatever the name resolved to, a connection to a loopback, private,
  link-local, reserved or multicast address is closed and refused.

``PUSH_ALLOW_PRIVATE_ENDPOINTS`` (tests and development only) lifts the address check, never the redirect rule.
"""

from __future__ import annotations

import ipaddress

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


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self):
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self):
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """An adapter whose connections refuse non-global peers (checked on the connected socket)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class NoRedirectSession(requests.Session):
    """A session that never follows a redirect, whatever the caller (pywebpush) asks."""

    def request(self, method, url, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, **kwargs)


def push_session(pool_maxsize: int, allow_private: bool) -> requests.Session:
    session = NoRedirectSession()
    adapter = HTTPAdapter(pool_maxsize=pool_maxsize) if allow_private else GuardedAdapter(pool_maxsize=pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
