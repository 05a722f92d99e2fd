"""The app shell's files and pages go out compressed and, at versioned URLs, cacheable for a year (issue 13 point 4).

Test client only; that the service worker installs, updates and works offline with these URLs and encodings is
tested in Chromium (tests/browser/pwa/test_offline_shell.py, test_update.py).
"""

from __future__ import annotations

import contextvars
import gzip

import brotli
import pytest

from server import ROOT
from server import pwa_routes
from server.auth.models import Role
from server.compression import IMMUTABLE
from tests.helpers import demo_user
from tests.helpers import sign_in

DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}


def _get(client, url, **headers):
    with client.get(url, headers=headers) as response:
        response.get_data()  # buffered before the response closes
        return response


def _versioned(url: str) -> str:
    return url.replace("/pwa/", f"/pwa/v/{pwa_routes.shell_version()}/", 1).replace(
        "/static/", f"/static/v/{pwa_routes.shell_version()}/", 1
    )


#: A script, a style and the app shell page, each as the pages name them.
SHELL_TEXTS = ["/pwa/app/officer.js", "/static/css/app.css", "/app"]


def _url(path: str) -> str:
    return path if path == "/app" else _versioned(path)


@pytest.mark.parametrize("path", SHELL_TEXTS)
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_shell_text_is_compressed_when_asked_and_decompresses_to_the_same_bytes(client, path, encoding):
    plain = _get(client, _url(path))
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    compressed = _get(client, _url(path), **{"Accept-Encoding": f"{encoding}, identity;q=0.5"})
    assert compressed.status_code == 200
    assert compressed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in compressed.headers["Vary"]
    assert plain.headers["Vary"] == compressed.headers["Vary"]  # the plain answer says it too: caches keep both
    assert DECODE[encoding](compressed.data) == plain.data
    assert len(compressed.data) < len(plain.data) / 2
    assert int(compressed.headers["Content-Length"]) == len(compressed.data)
    assert compressed.headers["Content-Security-Policy"] == plain.headers["Content-Security-Policy"]


def test_brotli_is_preferred_and_refusals_are_respected(client):
    url = _versioned("/pwa/app/officer.js")
    assert _get(client, url, **{"Accept-Encoding": "gzip, deflate, br, zstd"}).headers["Content-Encoding"] == "br"
    assert _get(client, url, **{"Accept-Encoding": "gzip, br;q=0"}).headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in _get(client, url, **{"Accept-Encoding": "identity"}).headers
    assert "Content-Encoding" not in _get(client, url, **{"Accept-Encoding": "deflate"}).headers


def test_the_plain_file_url_is_compressed_too_and_revalidated(client):
    response = _get(client, "/pwa/lib/calendar.js", **{"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Cache-Control"] == "no-cache"
    assert brotli.decompress(response.data) == (ROOT / "pwa" / "lib" / "calendar.js").read_bytes()


@pytest.mark.parametrize("path", ["/pwa/icons/icon-192.png", "/pwa/icons/maskable-512.png"])
def test_images_are_sent_as_they_are(client, path):
    response = _get(client, path, **{"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" not in response.headers.get("Vary", "")
    assert response.data == (ROOT / path.lstrip("/")).read_bytes()


def test_desk_pages_are_not_compressed(client):
    """They carry a CSRF token next to text a visitor controls: compressed, its size would leak it (BREACH)."""
    response = _get(client, "/sign-in", **{"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers


# --- caching ---


@pytest.mark.parametrize("path", ["/pwa/app/officer.js", "/pwa/lib/outbox-db.classic.js", "/static/css/app.css",
                                  "/pwa/vendor/qrcode.mjs"])
def test_a_versioned_url_is_cached_for_a_year(client, path):
    response = _get(client, _versioned(path), **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert response.mimetype == ("text/css" if path.endswith(".css") else "text/javascript")


@pytest.mark.parametrize("path", ["/app", "/offline", "/sw.js", "/pwa/sw/config.js", "/manifest.webmanifest",
                                  "/pwa/app/officer.js", "/static/css/app.css", "/pwa-data/phone_vn.json"])
def test_entry_points_and_plain_urls_are_revalidated(client, path):
    response = _get(client, path, **{"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["ETag"]


def test_an_unversioned_desk_page_stays_out_of_every_cache(client):
    assert _get(client, "/sign-in").headers["Cache-Control"] == "private, no-store"


def test_another_versions_url_is_redirected_to_the_plain_url_not_answered_with_todays_bytes(client):
    """Today's bytes under yesterday's URL would break "this URL never changes", and a 404 would leave a page
    served by another host of a rolling deploy without its scripts; the redirect is stored by no cache, and an old
    worker installing refuses it and keeps its version until the next update check (pwa/sw/precache.js)."""
    for url, plain in (("/pwa/v/0123456789abcdef/app/officer.js", "/pwa/app/officer.js"),
                       ("/static/v/0123456789abcdef/css/app.css", "/static/css/app.css")):
        response = _get(client, url)
        assert response.status_code == 307 and response.headers["Cache-Control"] == "no-store"
        assert response.headers["Location"] == plain
    assert _get(client, _versioned("/pwa/app/officer.js")).status_code == 200


@pytest.mark.parametrize("path", ["/pwa/v/{v}/./sw/config.js", "/pwa/v/{v}/lib/../sw/config.js",
                                  "/static/v/{v}/./sw.js", "/pwa/./sw/config.js", "/pwa/v/{v}/app/officer.js/"])
def test_a_path_the_shell_does_not_name_is_404(client, path):
    from server.pwa_routes import current_version

    with client.application.test_request_context():
        version = current_version()
    assert _get(client, path.format(v=version)).status_code == 404


@pytest.mark.parametrize("path", ["/pwa/sw/config.js", "/pwa/sw/precache.js", "/static/sw.js",
                                  "/pwa/%2e%2e/server/config.py", "/static/%2e%2e/server/config.py",
                                  "/pwa/app/a%00b.js", "/pwa/app/nothing.js"])
def test_the_worker_is_only_at_its_plain_urls_and_nothing_leaves_the_trees(client, path):
    assert _get(client, _versioned(path)).status_code == 404
    if not path.startswith(("/pwa/sw/", "/static/sw.js")):
        assert _get(client, path).status_code == 404


def test_pages_name_their_scripts_and_styles_at_this_versions_urls(client):
    page = _get(client, "/app").get_data(as_text=True)
    version = pwa_routes.shell_version()
    assert f'src="/pwa/v/{version}/app/officer.js"' in page
    assert f'href="/static/v/{version}/css/app.css"' in page
    assert 'src="/pwa/app/' not in page and 'href="/static/css' not in page
    desk = _get(client, "/sign-in").get_data(as_text=True)
    assert f'src="/pwa/v/{version}/app/register-sw.js"' in desk


def test_the_url_version_changes_when_a_shell_source_changes(app, tmp_path, monkeypatch):
    (tmp_path / "pwa").mkdir()
    monkeypatch.setattr(pwa_routes, "ROOT", tmp_path)
    monkeypatch.setattr(pwa_routes, "_SHELL_SOURCES", ("pwa",))

    def officer_js_url(text: str) -> str:
        (tmp_path / "pwa" / "a.js").write_text(text)
        def in_a_request():
            with app.test_request_context("/"):
                return pwa_routes.asset_url("/pwa/app/officer.js")

        # A new request, outside the test's app context (the version is computed once per request).
        return contextvars.Context().run(in_a_request)

    first = officer_js_url("one();")
    assert first == f"/pwa/v/{pwa_routes.shell_version()}/app/officer.js"
    assert officer_js_url("one();") == first
    assert officer_js_url("two();") != first


# --- validators ---


def test_etags_differ_per_encoding_and_answer_304(client):
    url = _versioned("/pwa/app/officer.js")
    plain = _get(client, url)
    br = _get(client, url, **{"Accept-Encoding": "br"})
    gz = _get(client, url, **{"Accept-Encoding": "gzip"})
    assert len({plain.headers["ETag"], br.headers["ETag"], gz.headers["ETag"]}) == 3
    assert not br.headers["ETag"].startswith("W/")  # strong: the bytes of each encoding are fixed
    revalidated = _get(client, url, **{"Accept-Encoding": "br", "If-None-Match": br.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert revalidated.headers["Cache-Control"] == IMMUTABLE
    # A gzip copy's tag does not validate a brotli answer: the client gets the body it asked for.
    assert _get(client, url, **{"Accept-Encoding": "br", "If-None-Match": gz.headers["ETag"]}).status_code == 200


def test_the_shell_page_revalidates_to_304_while_it_is_unchanged(client):
    first = _get(client, "/app", **{"Accept-Encoding": "gzip"})
    again = _get(client, "/app", **{"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["X-Shell-Version"] == first.headers["X-Shell-Version"]


def test_a_file_is_the_same_for_a_signed_in_officer_and_does_not_touch_the_session(client):
    """No ``Vary: Cookie`` (a cache would keep one copy per session cookie) and no cookie rewritten."""
    sign_in(client, demo_user(Role.OFFICER))
    response = _get(client, _versioned("/pwa/app/officer.js"), **{"Accept-Encoding": "br"})
    assert response.headers["Vary"] == "Accept-Encoding"
    assert "Set-Cookie" not in response.headers
    assert "Cookie" in _get(client, "/app").headers["Vary"]  # the page is in the language the cookie chose
