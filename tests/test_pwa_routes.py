"""The installable app's server side (test client only): manifest, worker headers, cached pages, shared data.

What the service worker does with these is tested in a real browser (tests/browser/pwa/).
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import pytest
from PIL import Image

from server import ROOT
from server import pwa_routes
from server.auth.models import Role
from tests.helpers import demo_user
from tests.helpers import sign_in

PRECACHE_JS = ROOT / "pwa" / "sw" / "precache.js"
SHELL_PAGES = ["/app", "/offline"]


def _get(client, url):
    """GET ``url`` and close the response (files are streamed: an unclosed one is a ResourceWarning, an error here)."""
    with client.get(url) as response:
        response.get_data()  # buffered before the file closes
        return response


def _precache_list(name: str) -> list[str]:
    """The URLs of one list in the worker module (the pages are named by constants, see _shell_urls), with
    ``versioned("/pwa/x.js")`` read as precache.js's versioned() makes it: at this shell version's URL."""
    source = PRECACHE_JS.read_text(encoding="utf-8")
    body = re.search(rf"const {name} = Object\.freeze\(\[(.*?)\]\)", source, re.S).group(1)
    version = pwa_routes.shell_version()
    return [
        re.sub(r"^/(pwa|static)/(?!v/)", rf"/\1/v/{version}/", url) if wrapped else url
        for wrapped, url in re.findall(r'(versioned\()?"([^"]+)"', body)
    ]


def _shell_urls() -> list[str]:
    """The precache list, read from the worker module itself (the single source of truth): the shell pages, then
    the files every phone gets and those only an officer's phone gets (issue 11, point 9)."""
    return _precache_list("SHELL_PAGES") + _precache_list("COMMON_URLS") + _precache_list("OFFICER_URLS")


# --- manifest ---


def test_manifest_is_served_as_a_manifest(client):
    response = _get(client, "/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    assert response.headers["Cache-Control"] == "no-cache"


def test_manifest_fields(client):
    manifest = json.loads(_get(client, "/manifest.webmanifest").get_data(as_text=True))
    assert manifest["name"] == "Một Cửa Tại Nhà"
    assert manifest["short_name"] == "Một Cửa"
    assert manifest["lang"] == "vi"
    assert manifest["display"] == "standalone"
    assert manifest["scope"] == "/"
    assert manifest["start_url"].startswith(manifest["scope"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    icons = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= icons


def test_start_url_opens_the_shell_without_a_redirect(client):
    start_url = json.loads(_get(client, "/manifest.webmanifest").get_data(as_text=True))["start_url"]
    response = _get(client, start_url)
    assert response.status_code == 200
    assert "data-app-shell" in response.get_data(as_text=True)


def test_shell_pages_say_their_language_and_version(client):
    """The worker keeps a refreshed shell page only for its own version, and shows it at once only in the language
    chosen last (pwa/sw/strategies.js)."""
    for path in ("/app", "/offline"):
        response = _get(client, path)
        assert response.headers["Content-Language"] == "vi", path
        assert response.headers["X-Shell-Version"] == pwa_routes.shell_version(), path
    client.get("/language/en")
    assert _get(client, "/app").headers["Content-Language"] == "en"


def test_icons_have_the_pixel_sizes_they_claim(client):
    manifest = json.loads(_get(client, "/manifest.webmanifest").get_data(as_text=True))
    for icon in manifest["icons"]:
        response = _get(client, icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response.mimetype == icon["type"] == "image/png"
        image = Image.open(io.BytesIO(response.data))
        width, height = (int(side) for side in icon["sizes"].split("x"))
        assert image.format == "PNG"
        assert image.size == (width, height), icon["src"]


def test_maskable_icon_fills_its_square_and_keeps_the_drawing_in_the_safe_zone(client):
    image = Image.open(io.BytesIO(_get(client, "/pwa/icons/maskable-512.png").data)).convert("RGBA")
    size = image.width
    background = image.getpixel((0, 0))
    assert background[3] == 255  # launchers crop it to a circle or a squircle: no transparent corners
    centre, safe_radius = size / 2, size * 0.4
    for x in range(0, size, 4):
        for y in range(0, size, 4):
            if (x + 0.5 - centre) ** 2 + (y + 0.5 - centre) ** 2 > safe_radius**2:
                assert image.getpixel((x, y)) == background, (x, y)


# --- service worker ---


def test_service_worker_headers(client):
    response = _get(client, "/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"


def test_service_worker_entry_only_imports_modules_that_exist(client):
    source = _get(client, "/sw.js").get_data(as_text=True)
    imports = re.findall(r'"(/pwa/[^"]+\.js)"', source.split(");", 1)[0])
    assert imports[0] == "/pwa/sw/config.js"
    assert {"/pwa/sw/precache.js", "/pwa/sw/strategies.js", "/pwa/lib/outbox-db.classic.js"} <= set(imports)
    for url in imports:
        response = _get(client, url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/javascript", url
        statements = re.findall(r"^\s*(?:import|export)\s", response.get_data(as_text=True), re.M)
        assert statements == [], f"{url} must be a classic script for importScripts"


def test_worker_config_carries_the_shell_version(client):
    response = _get(client, "/pwa/sw/config.js")
    assert response.headers["Cache-Control"] == "no-cache"
    source = response.get_data(as_text=True)
    assert re.findall(r'^const VERSION = "([^"]+)";$', source, re.M) == [pwa_routes.shell_version()]
    assert 'const CACHE_PREFIX = "motcua";' in source


def _shell_tree(tmp_path, monkeypatch, text):
    (tmp_path / "pwa").mkdir(exist_ok=True)
    (tmp_path / "pwa" / "a.js").write_text(text)
    monkeypatch.setattr(pwa_routes, "ROOT", tmp_path)
    monkeypatch.setattr(pwa_routes, "_SHELL_SOURCES", ("pwa",))
    return pwa_routes.shell_version()


def test_shell_version_follows_content_not_timestamps(tmp_path, monkeypatch):
    first = _shell_tree(tmp_path, monkeypatch, "one();")
    assert _shell_tree(tmp_path, monkeypatch, "one();") == first  # rewritten, same bytes: no update for phones
    assert _shell_tree(tmp_path, monkeypatch, "two();") != first


def test_worker_config_without_a_version_line_is_refused(client, tmp_path, monkeypatch):
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "config.js").write_text("const VERSION = 'dev';\n")
    monkeypatch.setattr(pwa_routes, "PWA_DIR", tmp_path)
    assert _get(client, "/pwa/sw/config.js").status_code == 500  # the install fails loudly, no stale version


# --- what the worker precaches ---


def test_every_precached_url_answers_200_without_a_redirect(client):
    urls = _shell_urls()
    version = pwa_routes.shell_version()
    assert {"/offline", "/app", "/manifest.webmanifest", f"/static/v/{version}/css/app.css"} <= set(urls)
    assert len(urls) == len(set(urls))
    for url in urls:
        response = _get(client, url)
        assert response.status_code == 200, url  # one failure would fail the worker's install
        assert not url.startswith("/api/"), url


def test_every_shared_library_is_precached():
    urls = set(_shell_urls())
    version = pwa_routes.shell_version()
    for path in sorted((ROOT / "pwa" / "lib").glob("*.js")):
        assert f"/pwa/v/{version}/lib/{path.name}" in urls, path.name


class _PageScan(HTMLParser):
    """Inline code a strict CSP would block, and the scripts and styles a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in attributes:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            if attributes.get("src"):
                self.assets.append(attributes["src"])
            elif attributes.get("type") != "application/json":  # a JSON data block is never executed
                self.inline.append("inline <script>")
        if tag == "link" and attributes.get("rel") in ("stylesheet", "manifest"):
            self.assets.append(attributes["href"])


@pytest.mark.parametrize("path", SHELL_PAGES)
def test_cached_pages_are_strict_csp_clean_and_load_only_precached_assets(client, path):
    response = _get(client, path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scan = _PageScan()
    scan.feed(response.get_data(as_text=True))
    assert scan.inline == []
    assert scan.assets and set(scan.assets) <= set(_shell_urls())


def test_the_offline_page_needs_only_what_every_phone_precaches(client):
    """A citizen's phone precaches the offline page and what it loads, not the officer's app (issue 11, point 9)."""
    scan = _PageScan()
    scan.feed(_get(client, "/offline").get_data(as_text=True))
    common = set(_precache_list("COMMON_URLS")) | {"/offline"}
    assert scan.assets and set(scan.assets) <= common
    assert "/app" not in common
    assert not [url for url in common if url.startswith(("/pwa/lib/", "/pwa-data/"))]


@pytest.mark.parametrize("path", SHELL_PAGES)
def test_cached_pages_are_the_same_for_everyone(client, path):
    """Cached pages are shown to whoever holds the phone next: no name, no token, nothing of the session."""
    anonymous = _get(client, path).get_data(as_text=True)
    officer = demo_user(Role.OFFICER)
    sign_in(client, officer)
    signed_in = _get(client, path).get_data(as_text=True)
    assert signed_in == anonymous
    assert officer.display_name not in signed_in
    assert "csrf" not in signed_in.lower()


def test_offline_page(client):
    page = _get(client, "/offline").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Không có mạng" in page
    assert 'href="/app"' in page  # the way back into the app that works offline
    assert 'rel="manifest" href="/manifest.webmanifest"' in page


# --- data shared with the JavaScript checks ---


def test_place_codes_are_the_servers_own_file(client):
    response = _get(client, "/pwa-data/id_place_codes.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.data == (ROOT / "server" / "people" / "data" / "id_place_codes.json").read_bytes()


def test_phone_rules_come_from_the_phone_library(client):
    import phonenumbers

    rules = _get(client, "/pwa-data/phone_vn.json").get_json()
    assert rules["country_code"] == 84
    assert phonenumbers.__version__ in rules["source"]
    assert rules["kinds"]["mobile"] == "mobile" and rules["kinds"]["fixed_line"] == "landline"
    assert set(rules["service_kinds"]) == {"toll_free", "premium_rate", "shared_cost", "service"}
    # The served patterns classify numbers as the library does.
    mobile, landline = (re.compile(rules["types"][name]["pattern"]) for name in ("mobile", "fixed_line"))
    assert mobile.fullmatch("912345678") and not mobile.fullmatch("2439741234")
    assert landline.fullmatch("2439741234") and not landline.fullmatch("912345678")
    assert 84 in rules["country_codes"] and 1 in rules["country_codes"]


def test_unknown_data_is_404(client):
    assert _get(client, "/pwa-data/secret_key").status_code == 404
    assert _get(client, "/pwa-data/..%2Finstance%2Fsecret_key").status_code == 404
