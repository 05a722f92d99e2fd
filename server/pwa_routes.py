"""Serving the installable app: the client modules, the service worker, the manifest and the pages it caches.

* ``/pwa/<path>``: plain JavaScript modules, icons and the manifest source (no build step).
* ``/sw.js``: the service worker, at the root so that its scope is the whole site.
* ``/pwa/sw/config.js``: the worker's configuration, with ``VERSION`` stamped at request time from a digest of the
  files the cached app shell is made of, so that any deploy that changes one of them installs a new worker (and a
  deploy that changes none of them does not disturb the officers).
* ``/manifest.webmanifest``, ``/offline`` (the fallback page) and ``/app`` (the officer's app shell).
* ``/pwa-data/<name>``: the data the phone's checks share with the server, read from the server's own sources at
  request time so that the two can never drift apart.

The pages served here are cached by the service worker and shown to whoever uses the phone next: they must never
carry user data or a CSRF token. Everything here is public for the same reason: none of it is personal.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache

import phonenumbers
from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import send_from_directory
from flask_babel import get_locale
from phonenumbers import PhoneMetadata
from phonenumbers import PhoneNumberType

from server import ROOT
from server.auth.access import public
from server.people import identity
from server.web.officer_messages import officer_messages

bp = Blueprint("pwa", __name__)

PWA_DIR = ROOT / "pwa"
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


def _javascript(text: str) -> Response:
    response = Response(text, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/pwa/<path:filename>")
@public
def pwa_file(filename: str):
    """A client module or asset (plain JavaScript modules, no build step)."""
    if filename == SW_CONFIG:
        source = (PWA_DIR / SW_CONFIG).read_text(encoding="utf-8")
        stamped, count = _VERSION_LINE.subn(f'const VERSION = "{shell_version()}";', source, count=1)
        if count != 1:  # a broken config must fail the worker's install loudly, not run with a stale version
            raise RuntimeError(f"{SW_CONFIG} has no 'const VERSION = \"...\";' line")
        return _javascript(stamped)
    response = send_from_directory(PWA_DIR, filename, max_age=0)
    if filename.endswith(".js"):
        response.mimetype = "text/javascript"
    return response


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker, at the root so that its scope is the whole app; never cached by HTTP."""
    response = send_from_directory(ROOT / "static", "sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    # Redundant while the worker lives at the root, but it keeps the scope "/" if the file ever moves.
    response.headers["Service-Worker-Allowed"] = "/"
    response.mimetype = "text/javascript"
    return response


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest (what makes the site installable to the home screen)."""
    response = send_from_directory(PWA_DIR, "manifest.webmanifest", max_age=0)
    response.mimetype = MANIFEST_MEDIA_TYPE
    response.headers["Cache-Control"] = "no-cache"
    return response


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
    stored among an older version's files)."""
    response = Response(html, mimetype="text/html")
    response.headers["Content-Language"] = str(get_locale())
    response.headers["X-Shell-Version"] = shell_version()
    return response


@bp.get("/pwa-data/<name>")
@public
def pwa_data(name: str):
    """Data shared by the server's checks and their JavaScript mirror (``pwa/lib/identity.js``)."""
    if name == "id_place_codes.json":
        response = send_from_directory(PEOPLE_DATA_DIR, name, max_age=0)
        response.mimetype = "application/json"
        return response
    if name == "phone_vn.json":
        response = Response(json.dumps(phone_rules(), ensure_ascii=False), mimetype="application/json")
        response.headers["Cache-Control"] = "no-cache"
        return response
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
