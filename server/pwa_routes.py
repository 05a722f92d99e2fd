"""Serving the installable app: the client modules, the service worker, the manifest and the pages it caches.

* ``/pwa/<path>``: plain JavaScript modules, icons and the manifest source (no build step).
* ``/pwa/v/<version>/<path>`` and ``/static/v/<version>/<path>``: the same files at a URL that names the shell
  version (content-addressed, see :func:`asset_url`), cached for a year by any cache.
* ``/sw.js``: the service worker, at the root so that its scope is the whole site.
* ``/pwa/sw/config.js``: the worker's configuration, with ``VERSION`` stamped at request time from a digest of the
  files the cached app shell is made of, so that any deploy that changes one of them installs a new worker (and a
  deploy that changes none of them does not disturb the officers).
* ``/manifest.webmanifest``, ``/offline`` (the fallback page) and ``/app`` (the officer's app shell).
* ``/pwa-data/<name>``: the data the phone's checks share with the server, read from the server's own sources at
  request time so that the two can never drift apart.

The pages served here are cached by the service worker and shown to whoever uses the phone next: they must never
carry user data or a CSRF token. Everything here is public for the same reason: none of it is personal, which is
also why all of it may be compressed (server/compression.py).

Content-addressed URLs without a build step: the version is a prefix, ``/pwa/v/<version>/app/officer.js``, so the
modules' relative imports (``./api.js``, ``../lib/calendar.js``) stay inside the same version with no rewriting.
A version in the URL that is not the one being served is redirected (307, never stored) to the plain URL, not
answered with today's bytes: that would break the promise that the URL's content never changes. The redirect
matters while a deploy rolls from host to host: a page served by a new host names its files at the new version,
and the proxy may send those requests to a host still on the old one (and the reverse); a 404 would leave the
page without its scripts and styles for the whole roll-out. An old worker that asks for its files while a deploy
replaces them still fails its install (pwa/sw/precache.js refuses a redirected response), so it keeps the
running version and tries again at the next update check rather than cache a mix of two versions. The
unversioned URLs stay, revalidated on every use: the worker, its modules and the manifest must be (the browser
compares them to find an update), and older pages or workers may still name them.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import posixpath
import re
from functools import lru_cache

import phonenumbers
from flask import Blueprint
from flask import Response
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask_babel import get_locale
from phonenumbers import PhoneMetadata
from phonenumbers import PhoneNumberType
from werkzeug.security import safe_join

from server import ROOT
from server.auth.access import public
from server.auth.access import public_file
from server.compression import IMMUTABLE
from server.compression import REVALIDATE
from server.compression import shell_response
from server.people import identity
from server.web.officer_messages import officer_messages

bp = Blueprint("pwa", __name__)

PWA_DIR = ROOT / "pwa"
STATIC_DIR = ROOT / "static"
PEOPLE_DATA_DIR = ROOT / "server" / "people" / "data"

#: The worker's configuration module; its ``VERSION`` line is replaced when served.
SW_CONFIG = "sw/config.js"
_VERSION_LINE = re.compile(r'^const VERSION = "[^"\n]*";$', re.MULTILINE)

#: What the app shell is built from. A superset on purpose: an unneeded update costs one tap on "Cập nhật", a
#: missed one leaves phones running stale code against a newer server.
_SHELL_SOURCES = ("pwa", "static", "templates", "server/translations", "server/people/data")
#: Generated or binary by-products that are not part of what is served.
_IGNORED_SUFFIXES = frozenset({".mo", ".pyc"})

MANIFEST_MEDIA_TYPE = "application/manifest+json"


def _shell_files() -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every shell source file: cheap to collect, and changes whenever a file does."""
    found = []
    for top in _SHELL_SOURCES:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and path.suffix not in _IGNORED_SUFFIXES and "__pycache__" not in path.parts:
                stat = path.stat()
                found.append((path.relative_to(ROOT).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


@lru_cache(maxsize=8)
def _digest(files: tuple[tuple[str, int, int], ...], library_version: str) -> str:
    # Content, not modification times, decides the version: two servers deployed from the same commit must agree,
    # or officers switching between them would be asked to update again and again.
    digest = hashlib.sha256(f"phonenumbers={library_version}".encode())
    for name, _size, _mtime in files:
        digest.update(b"\0" + name.encode() + b"\0")
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


def shell_version() -> str:
    """The version of the app shell: a digest of its source files and of the phone-number metadata."""
    return _digest(_shell_files(), phonenumbers.__version__)


def current_version() -> str:
    """:func:`shell_version` once per request: a page names many files, and the version walks the shell's tree."""
    if "shell_version" not in g:
        g.shell_version = shell_version()
    return g.shell_version


#: Unversioned URL prefixes and their versioned form (the same rule as ``versioned()`` in pwa/sw/precache.js).
_VERSIONED_TREES = ("/pwa/", "/static/")


@bp.app_template_global()
def asset_url(url: str) -> str:
    """The content-addressed URL of a script, module or stylesheet: ``/pwa/app/x.js`` → ``/pwa/v/<version>/app/x.js``.

    Pages name their files through this so that a browser (or a proxy) keeps them for a year and asks again only
    after a deploy changed the version. Icons and data files keep their plain URLs: the manifest and push
    notifications name them, and the worker precaches them under those names.
    """
    for tree in _VERSIONED_TREES:
        if url.startswith(tree):
            return f"{tree}v/{current_version()}/{url[len(tree):]}"
    raise ValueError(f"{url} is not under {' or '.join(_VERSIONED_TREES)}")


def _media_type(filename: str) -> str:
    if filename.endswith((".js", ".mjs")):
        return "text/javascript"  # RFC 9239; what module scripts need, whatever the system's mime.types says
    if filename.endswith(".webmanifest"):
        return MANIFEST_MEDIA_TYPE
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _file(directory, filename: str, *, cache_control: str) -> Response:
    """One shell file, compressed when it is text (server/compression.py); 404 when it is not there."""
    path = safe_join(str(directory), filename)  # None for "..", absolute paths and the like
    if path is None or not os.path.isfile(path):
        abort(404)
    with open(path, "rb") as file:
        data = file.read()
    return shell_response(data, _media_type(filename), cache_control=cache_control)


def _canonical(filename: str) -> str:
    """The file's path as the shell names it, else 404: ``./sw/config.js`` or ``lib/../sw/config.js`` would slip
    past the checks on names below (browsers normalise such paths; raw clients need not)."""
    if posixpath.normpath(filename) != filename or filename.endswith("/"):
        abort(404)
    return filename


def _other_version(version: str, plain_url: str) -> Response | None:
    """For a version that is not the one served, a redirect to the file's plain URL, stored by no cache (see the
    module's docstring for why neither today's bytes nor a 404); None for this version."""
    if version == current_version():
        return None
    response = redirect(plain_url, code=307)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/pwa/<path:filename>")
@public_file
def pwa_file(filename: str):
    """A client module or asset (plain JavaScript modules, no build step)."""
    filename = _canonical(filename)
    if filename == SW_CONFIG:
        source = (PWA_DIR / SW_CONFIG).read_text(encoding="utf-8")
        stamped, count = _VERSION_LINE.subn(f'const VERSION = "{shell_version()}";', source, count=1)
        if count != 1:  # a broken config must fail the worker's install loudly, not run with a stale version
            raise RuntimeError(f"{SW_CONFIG} has no 'const VERSION = \"...\";' line")
        return shell_response(stamped.encode(), "text/javascript", cache_control=REVALIDATE)
    return _file(PWA_DIR, filename, cache_control=REVALIDATE)


@bp.get("/pwa/v/<version>/<path:filename>")
@public_file
def versioned_pwa_file(version: str, filename: str):
    """A client module at this version's URL (:func:`asset_url`): its content never changes, caches keep it."""
    filename = _canonical(filename)
    if filename.startswith("sw/"):
        abort(404)  # the worker's modules are loaded by /sw.js at their plain URLs only (the update check)
    return _other_version(version, f"/pwa/{filename}") or _file(PWA_DIR, filename, cache_control=IMMUTABLE)


@bp.get("/static/<path:filename>")
@public_file
def static_file(filename: str):
    """A stylesheet at its plain URL (create_app turns Flask's own static route off for this one)."""
    filename = _canonical(filename)
    return _file(STATIC_DIR, filename, cache_control=REVALIDATE)


@bp.get("/static/v/<version>/<path:filename>")
@public_file
def versioned_static_file(version: str, filename: str):
    """A stylesheet at this version's URL (:func:`asset_url`)."""
    filename = _canonical(filename)
    if filename == "sw.js":
        abort(404)  # the worker is served at /sw.js only: its scope is the whole site
    return _other_version(version, f"/static/{filename}") or _file(STATIC_DIR, filename, cache_control=IMMUTABLE)


@bp.get("/sw.js")
@public_file
def service_worker():
    """The service worker, at the root so that its scope is the whole app; never cached by HTTP."""
    response = _file(STATIC_DIR, "sw.js", cache_control=REVALIDATE)
    # Redundant while the worker lives at the root, but it keeps the scope "/" if the file ever moves.
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
@public_file
def manifest():
    """The web app manifest (what makes the site installable to the home screen)."""
    return _file(PWA_DIR, "manifest.webmanifest", cache_control=REVALIDATE)


@bp.get("/offline")
@public
def offline():
    """The page the service worker shows for a page it has not cached, when there is no network."""
    return _shell_page(render_template("offline.html"))


@bp.get("/app")
@public
def app_shell():
    """The officer's app shell: it works offline, so it holds no user data; the modules fill it on the phone."""
    return _shell_page(render_template("officer/shell.html", officer_messages=officer_messages()))


def _shell_page(html: str) -> Response:
    """A page the worker caches and serves at once on the next launch (pwa/sw/strategies.js). Two headers tell it
    whether its cached copy is still the right one: the language the page was rendered in (the visitor may have
    chosen another since) and the shell version it belongs to (a copy refreshed from a newer deploy must not be
    stored among an older version's files). Revalidated on every use: the page is the entry point that names
    this version's files (:func:`asset_url`)."""
    response = shell_response(html.encode(), "text/html", cache_control=REVALIDATE)
    response.headers["Content-Language"] = str(get_locale())
    response.headers["X-Shell-Version"] = current_version()
    return response


@bp.get("/pwa-data/<name>")
@public_file
def pwa_data(name: str):
    """Data shared by the server's checks and their JavaScript mirror (``pwa/lib/identity.js``)."""
    if name == "id_place_codes.json":
        return _file(PEOPLE_DATA_DIR, name, cache_control=REVALIDATE)
    if name == "phone_vn.json":
        body = json.dumps(phone_rules(), ensure_ascii=False).encode()
        return shell_response(body, "application/json", cache_control=REVALIDATE)
    abort(404)


def phone_rules() -> dict:
    """The Vietnamese numbering plan as :func:`server.people.identity.check_phone` applies it.

    libphonenumber's metadata for VN (ranges, lengths, formats) plus the few rules of ``identity`` that are not in
    the metadata (accepted characters, the pre-2018 mobile ranges, how number types are named), so that the phone
    gives the same answer as the server and follows the carriers' ranges whenever the library is upgraded.
    """
    metadata = PhoneMetadata.metadata_for_region("VN")
    descriptions = {
        "general": metadata.general_desc,
        "premium_rate": metadata.premium_rate,
        "toll_free": metadata.toll_free,
        "shared_cost": metadata.shared_cost,
        "voip": metadata.voip,
        "personal_number": metadata.personal_number,
        "pager": metadata.pager,
        "uan": metadata.uan,
        "voicemail": metadata.voicemail,
        "fixed_line": metadata.fixed_line,
        "mobile": metadata.mobile,
    }
    type_names = {value: name.lower() for name, value in vars(PhoneNumberType).items() if isinstance(value, int)}
    return {
        "source": f"libphonenumber metadata for VN (phonenumbers {phonenumbers.__version__}) and "
                  "server/people/identity.py",
        "country_code": metadata.country_code,
        "international_prefix": metadata.international_prefix,
        "national_prefix_for_parsing": metadata.national_prefix_for_parsing,
        "same_mobile_and_fixed_line_pattern": bool(metadata.same_mobile_and_fixed_line_pattern),
        "types": {
            name: {"pattern": desc.national_number_pattern, "lengths": list(desc.possible_length)}
            for name, desc in descriptions.items()
            if desc is not None and desc.national_number_pattern
        },
        "formats": [
            {
                "pattern": fmt.pattern,
                "leading_digits": fmt.leading_digits_pattern[-1] if fmt.leading_digits_pattern else None,
                # Only the digits the national format adds before the number matter: the client keeps digits only.
                "national_prefix": re.sub(r"[^0-9]", "", (fmt.national_prefix_formatting_rule or "").split("\\1")[0]),
            }
            for fmt in metadata.number_format
        ],
        "country_codes": sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE),
        "accepted_shape": identity.PHONE_SHAPE.pattern,
        "legacy_mobile_nsn": identity.LEGACY_MOBILE_NSN.pattern,
        "kinds": {type_names[number_type]: kind for number_type, kind in identity.PHONE_KINDS.items()},
        "service_kinds": sorted(identity.SERVICE_KINDS),
    }
