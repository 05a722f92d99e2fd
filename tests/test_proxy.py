"""Behind a reverse proxy: the client's address (rate limits, audit trail, access log) comes from the proxy's
X-Forwarded-For only as far as TRUSTED_PROXY_HOPS says, and rate limits are shared through Redis.

Requests arrive from the proxy's address (``REMOTE_ADDR`` 10.0.0.2); the proxy appends the client's address to
X-Forwarded-For, after whatever the client itself sent.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import select

from server import create_app
from server.access_log.models import AccessEvent
from server.auth.models import AuditEvent
from server.auth.models import Role
from server.config import ConfigError
from server.extensions import db
from server.extensions import limiter
from tests.conftest import FreshContextClient
from tests.conftest import _config
from tests.helpers import demo_user
from tests.helpers import sign_in

PROXY = "10.0.0.2"
LOOKUP = "/api/v1/invitations/" + "y" * 43  # a public look-up under LOOKUP_RATE_LIMIT (404: no such link)


@pytest.fixture
def behind(app):
    """Make another app on the test's database with TRUSTED_PROXY_HOPS=hops (read at start-up, as in production);
    their connections are closed at the end of the test."""
    made = []

    def make(hops: int, **settings):
        config = _config(app.instance_path, app.config["SQLALCHEMY_DATABASE_URI"])
        proxied = create_app({**config, "TRUSTED_PROXY_HOPS": hops, "LOOKUP_RATE_LIMIT": "3 per minute", **settings})
        proxied.test_client_class = FreshContextClient
        made.append(proxied)
        return proxied

    yield make
    for proxied in made:
        with proxied.app_context():
            db.session.remove()
            db.engine.dispose()


def _through_proxy(client, path: str, forwarded: str | None, method: str = "GET", **kwargs):
    headers = {**kwargs.pop("headers", {}), **({"X-Forwarded-For": forwarded} if forwarded else {})}
    return client.open(path, method=method, headers=headers, environ_base={"REMOTE_ADDR": PROXY}, **kwargs)


def _group() -> str:
    """A random group of an IPv6 address as it is written (four hex digits, no leading zero)."""
    return f"{uuid.uuid4().int % 0xefff + 0x1000:x}"


def _last_audit_ip(action: str) -> str:
    db.session.expire_all()
    return db.session.scalars(select(AuditEvent.ip).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id.desc())).first()


@pytest.mark.parametrize("hops, forwarded, seen", [
    (0, "203.0.113.7", PROXY),  # no proxy trusted: the header has no effect
    (1, "203.0.113.7", "203.0.113.7"),  # the entry the proxy added
    (1, "198.51.100.66, 203.0.113.7", "203.0.113.7"),  # the client's own (forged) entry is ignored
    (2, "198.51.100.66, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two proxies: the second-last entry
])
def test_the_audit_trail_records_the_address_the_trusted_proxies_saw(behind, hops, forwarded, seen):
    client = behind(hops).test_client()
    token = sign_in(client, demo_user(Role.CITIZEN))
    response = _through_proxy(client, "/api/v1/auth/logout", forwarded, method="POST", json={},
                              headers={"X-CSRFToken": token})
    assert response.status_code == 204
    assert _last_audit_ip("signed_out") == seen


def test_the_access_log_records_the_clients_address(behind):
    client = behind(1).test_client()
    sign_in(client, demo_user(Role.ADMIN))
    assert _through_proxy(client, "/api/v1/admin/users", "198.51.100.66, 203.0.113.7").status_code == 200
    db.session.expire_all()
    [ip] = db.session.scalars(select(AccessEvent.ip).where(AccessEvent.kind == "account_list"))
    assert ip == "203.0.113.7"


@pytest.mark.parametrize("hops, scheme", [(0, "http"), (1, "https"), (2, "https")])
def test_the_forwarded_scheme_counts_only_from_a_trusted_proxy_and_the_forwarded_host_never(behind, hops, scheme):
    # The links an administrator hands out (and the passkeys' origin) are built from the request's scheme and host.
    client = behind(hops).test_client()
    token = sign_in(client, demo_user(Role.ADMIN))
    response = _through_proxy(client, "/api/v1/admin/invitations", "203.0.113.7", method="POST",
                              json={"role": "admin", "display_name": "Quản trị mới"},
                              headers={"X-CSRFToken": token, "X-Forwarded-Proto": "https",
                                       "X-Forwarded-Host": "evil.example",
                                       # over HTTPS, Flask-WTF checks the referrer is this site
                                       "Referer": f"{scheme}://localhost/admin/people"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["link"].startswith(f"{scheme}://localhost/invite/")


def test_five_clients_through_one_proxy_have_a_limit_each(behind):
    client = behind(1).test_client()
    statuses = [_through_proxy(client, LOOKUP, f"203.0.113.{n}").status_code for n in range(1, 6)]
    assert statuses == [404] * 5


def test_a_client_cannot_escape_its_limit_by_forging_x_forwarded_for(behind):
    client = behind(1).test_client()
    statuses = [_through_proxy(client, LOOKUP, f"198.51.100.{n}, 203.0.113.7").status_code for n in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_without_a_trusted_proxy_the_header_changes_nothing(behind):
    client = behind(0).test_client()
    statuses = [_through_proxy(client, LOOKUP, f"203.0.113.{n}").status_code for n in range(1, 5)]
    assert statuses == [404, 404, 404, 429]  # every request is the proxy's own: one bucket


def test_an_ipv6_client_cannot_escape_its_limit_by_changing_address_within_its_64(behind):
    client = behind(1).test_client()
    network = f"2001:db8:{_group()}:{_group()}"  # this test's own /64
    statuses = [_through_proxy(client, LOOKUP, f"{network}::{n:x}").status_code for n in range(1, 5)]
    assert statuses == [404, 404, 404, 429]  # four addresses of one /64: one bucket
    neighbour = f"{network[:-1]}{'0' if network[-1] != '0' else '1'}"  # the next /64: a line of its own
    assert _through_proxy(client, LOOKUP, f"{neighbour}::1").status_code == 404


def test_a_refused_request_logs_no_client_address(behind, caplog):
    client = behind(1).test_client()
    address = f"203.0.113.{uuid.uuid4().int % 200 + 20}"
    with caplog.at_level(logging.DEBUG):
        statuses = [_through_proxy(client, LOOKUP, f"198.51.100.9, {address}").status_code for _ in range(4)]
    assert statuses[-1] == 429
    assert not [r for r in caplog.records if address in r.getMessage()]


def test_a_negative_number_of_hops_is_refused(behind):
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
        behind(-1)


# --- Redis ---------------------------------------------------------------------------------------------------------

def test_the_limit_is_counted_in_redis_per_client(behind, redis_server):
    client = behind(1, RATELIMIT_STORAGE_URI=redis_server.url()).test_client()
    network = f"2001:db8:{_group()}:{_group()}"  # this test's own client's /64
    statuses = [_through_proxy(client, LOOKUP, f"{network}::1").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert len(redis_server.client().keys(f"*/{network}::/64/auth_api.invitation_info/*")) == 1
    assert redis_server.client().keys(f"*/{PROXY}/*") == []  # nothing counted for the proxy
    # An unanswering Redis costs a request a second, not the operating system's connect timeout.
    connection = limiter.storage.storage.connection_pool.connection_kwargs
    assert (connection["socket_connect_timeout"], connection["socket_timeout"]) == (1, 1)


@pytest.fixture
def redis_down():
    """A store that does not answer (nothing listens on port 1); the limiter is put back to normal afterwards."""
    yield "redis://127.0.0.1:1/0"
    limiter._storage_dead = False


def test_a_redis_outage_falls_back_to_counting_in_this_process(behind, redis_down, caplog):
    client = behind(1, RATELIMIT_STORAGE_URI=redis_down).test_client()
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        statuses = [_through_proxy(client, LOOKUP, "203.0.113.7").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]  # served, and still limited (in this process's memory)
    assert "falling back to in-memory storage" in caplog.text
