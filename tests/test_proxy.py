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


def _app_behind(app, hops: int, **settings):
    """Another app on the test's database, with TRUSTED_PROXY_HOPS=hops (read at start-up, as in production)."""
    config = _config(app.instance_path, app.config["SQLALCHEMY_DATABASE_URI"])
    proxied = create_app({**config, "TRUSTED_PROXY_HOPS": hops, "LOOKUP_RATE_LIMIT": "3 per minute", **settings})
    proxied.test_client_class = FreshContextClient
    return proxied


def _through_proxy(client, path: str, forwarded: str | None, method: str = "GET", **kwargs):
    headers = {**kwargs.pop("headers", {}), **({"X-Forwarded-For": forwarded} if forwarded else {})}
    return client.open(path, method=method, headers=headers, environ_base={"REMOTE_ADDR": PROXY}, **kwargs)


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
def test_the_audit_trail_records_the_address_the_trusted_proxies_saw(app, hops, forwarded, seen):
    client = _app_behind(app, hops).test_client()
    token = sign_in(client, demo_user(Role.CITIZEN))
    response = _through_proxy(client, "/api/v1/auth/logout", forwarded, method="POST", json={},
                              headers={"X-CSRFToken": token})
    assert response.status_code == 204
    assert _last_audit_ip("signed_out") == seen


def test_the_access_log_records_the_clients_address(app):
    client = _app_behind(app, 1).test_client()
    sign_in(client, demo_user(Role.ADMIN))
    assert _through_proxy(client, "/api/v1/admin/users", "198.51.100.66, 203.0.113.7").status_code == 200
    db.session.expire_all()
    [ip] = db.session.scalars(select(AccessEvent.ip).where(AccessEvent.kind == "account_list"))
    assert ip == "203.0.113.7"


@pytest.mark.parametrize("hops, scheme", [(0, "http"), (1, "https")])
def test_the_forwarded_scheme_counts_only_from_a_trusted_proxy_and_the_forwarded_host_never(app, hops, scheme):
    # The links an administrator hands out (and the passkeys' origin) are built from the request's scheme and host.
    client = _app_behind(app, hops).test_client()
    token = sign_in(client, demo_user(Role.ADMIN))
    response = _through_proxy(client, "/api/v1/admin/invitations", "203.0.113.7", method="POST",
                              json={"role": "admin", "display_name": "Quản trị mới"},
                              headers={"X-CSRFToken": token, "X-Forwarded-Proto": "https",
                                       "X-Forwarded-Host": "evil.example",
                                       # over HTTPS, Flask-WTF checks the referrer is this site
                                       "Referer": f"{scheme}://localhost/admin/people"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["link"].startswith(f"{scheme}://localhost/invite/")


def test_five_clients_through_one_proxy_have_a_limit_each(app):
    client = _app_behind(app, 1).test_client()
    statuses = [_through_proxy(client, LOOKUP, f"203.0.113.{n}").status_code for n in range(1, 6)]
    assert statuses == [404] * 5


def test_a_client_cannot_escape_its_limit_by_forging_x_forwarded_for(app):
    client = _app_behind(app, 1).test_client()
    statuses = [_through_proxy(client, LOOKUP, f"198.51.100.{n}, 203.0.113.7").status_code for n in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_without_a_trusted_proxy_the_header_changes_nothing(app):
    client = _app_behind(app, 0).test_client()
    statuses = [_through_proxy(client, LOOKUP, f"203.0.113.{n}").status_code for n in range(1, 5)]
    assert statuses == [404, 404, 404, 429]  # every request is the proxy's own: one bucket


def test_a_negative_number_of_hops_is_refused(app):
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
        _app_behind(app, -1)


# --- Redis ---------------------------------------------------------------------------------------------------------

def test_the_limit_is_counted_in_redis_per_client(app, redis_server):
    client = _app_behind(app, 1, RATELIMIT_STORAGE_URI=redis_server.url()).test_client()
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"  # this test's own client: its own keys in the shared Redis
    statuses = [_through_proxy(client, LOOKUP, address).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert len(redis_server.client().keys(f"*/{address}/auth_api.invitation_info/*")) == 1
    assert redis_server.client().keys(f"*/{PROXY}/*") == []  # nothing counted for the proxy


@pytest.fixture
def redis_down(app):
    """A store that does not answer (nothing listens on port 1); the limiter is put back to normal afterwards."""
    yield "redis://127.0.0.1:1/0"
    limiter._storage_dead = False


def test_a_redis_outage_falls_back_to_counting_in_this_process(app, redis_down, caplog):
    client = _app_behind(app, 1, RATELIMIT_STORAGE_URI=redis_down).test_client()
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        statuses = [_through_proxy(client, LOOKUP, "203.0.113.7").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]  # served, and still limited (in this process's memory)
    assert "falling back to in-memory storage" in caplog.text
