"""The account pages without a browser (test client only, so not marked ``browser``): access, redirects, CSP hygiene."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from server.auth.models import Role
from tests.helpers import demo_user
from tests.helpers import sign_in

PUBLIC_PAGES = ["/sign-in", "/register", "/invite/some-token", "/recover/some-token"]
ACCOUNT_PAGES = ["/account/passkeys", "/account/devices", "/account/consents"]
ADMIN_PAGES = ["/admin/people", "/admin/devices"]


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, event-handler and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in attributes:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
        if tag == "script" and not attributes.get("src") and attributes.get("type") != "application/json":
            self.found.append("inline <script>")


@pytest.mark.parametrize("path", ACCOUNT_PAGES + ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in_and_back(client, path):
    response = client.get(path + "?tab=1")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/sign-in" and parse_qs(location.query) == {"next": [path + "?tab=1"]}


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_non_administrators_get_a_forbidden_page(client, path):
    sign_in(client, demo_user(Role.OFFICER))
    response = client.get(path)
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "Không có quyền" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "kept"),
    [("/account/devices", "/account/devices"), ("//evil.example/x", ""), ("https://evil.example/", ""),
     ("/\\evil.example", ""), ("javascript:alert(1)", "")],
)
def test_sign_in_follows_only_same_site_paths(client, target, kept):
    page = client.get("/sign-in", query_string={"next": target}).get_data(as_text=True)
    assert f'data-next="{kept}"' in page


@pytest.mark.parametrize(("role", "paths"), [
    (None, PUBLIC_PAGES + ["/"]),  # the landing page is for visitors: "/" sends a signed-in user to their own page
    (Role.CITIZEN, PUBLIC_PAGES + ACCOUNT_PAGES),
    (Role.ADMIN, ACCOUNT_PAGES + ADMIN_PAGES),
])
def test_pages_carry_no_inline_code_and_no_token(client, role, paths):
    if role is not None:
        sign_in(client, demo_user(role))
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        html = response.get_data(as_text=True)
        parser = InlineCode()
        parser.feed(html)
        assert parser.found == [], (path, parser.found)
        assert "csrf" not in html.lower(), path  # tokens are fetched by the modules, never baked into a page
        assert re.search(r'<script type="module" src="/pwa/v/[0-9a-f]{16}/app/[\w-]+\.js"></script>', html), path


def test_navigation_follows_the_signed_in_user(client):
    anonymous = client.get("/").get_data(as_text=True)
    assert ">Đăng nhập</a>" in anonymous and 'id="sign-out"' not in anonymous
    sign_in(client, demo_user(Role.ADMIN))
    admin = client.get("/", follow_redirects=True).get_data(as_text=True)  # to /admin/people, the admin's home
    assert 'id="sign-out"' in admin and 'href="/admin/people"' in admin and 'href="/account/passkeys"' in admin
    client.get("/language/en")
    english = client.get("/account/passkeys").get_data(as_text=True)
    assert "<h1>My passkeys</h1>" in english and ">Sign out</button>" in english
