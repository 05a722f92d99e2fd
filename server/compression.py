"""Compressed responses for the app shell: its scripts, styles, data files and the two pages the worker caches.

Why here and not a compress-everything extension (Flask-Compress and the like):

* **Only what holds no secret is compressed.** A compressed page that carries a secret (a CSRF token, a name)
  next to text an attacker can inject leaks the secret through its size (BREACH). The shell's files and pages
  carry neither (server/pwa_routes.py), so they are compressed; the desk's pages, API answers and PDFs are not
  touched. A global after-request hook would compress them all.
* **Once per process, at the best setting.** These files change only with a deploy, so each distinct content is
  compressed once (brotli at its highest quality, gzip at 9) and kept in memory, about half a megabyte for the
  whole shell. A per-request compressor has to use a fast, weaker setting, and compresses the same bytes again
  for every phone.
* **Validators stay right.** The ETag is a digest of the content (the same on every app server deployed from the
  same commit, unlike file times), with the encoding in it: a gzip body and a plain body are different
  representations (RFC 9110 §8.8.3). ``If-None-Match`` is then answered 304 by werkzeug's ``make_conditional``.
* **Images and PDFs are sent as they are**: PNG, JPEG and PDF are compressed already; a second pass costs CPU and
  saves nothing.

Bodies are small (at most a few hundred kilobytes) and read whole: no streaming, no ranges. Large or personal
files (photos, PDFs) never come here; they keep ``send_file`` and its streaming.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache

import brotli
from flask import Response
from flask import request

#: Media types worth compressing: text. Everything else (PNG icons, photos, PDFs) goes out as it is.
COMPRESSIBLE = frozenset({
    "text/html",
    "text/css",
    "text/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
})

#: Encodings offered, best first: on equal preference by the client, brotli wins (the officer's shell is 123 KB
#: in brotli, 140 KB in gzip, 379 KB as it is; Dec 2026). Every browser the officers' phones run accepts both.
ENCODINGS = ("br", "gzip")

#: Below this, compression saves less than the headers it adds.
MIN_SIZE = 512

#: A URL whose content can never change (the shell version is in it): any cache may keep it for a year, and the
#: browser need not even revalidate it.
IMMUTABLE = "public, max-age=31536000, immutable"
#: An entry point (the worker, its configuration, the pages, the manifest, unversioned files): kept, but checked
#: with the server (ETag) before every use.
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Encoded:
    """One content, in every representation sent: ``bodies`` maps an encoding ("" for none) to bytes."""

    digest: str
    bodies: dict[str, bytes]


@lru_cache(maxsize=512)
def encoded(data: bytes, compressible: bool) -> Encoded:
    """``data`` and its compressed forms, computed once per distinct content (keyed by the bytes themselves)."""
    bodies = {"": data}
    if compressible and len(data) >= MIN_SIZE:
        bodies["br"] = brotli.compress(data, quality=11)
        bodies["gzip"] = gzip.compress(data, compresslevel=9, mtime=0)  # mtime 0: same bytes on every server
    return Encoded(hashlib.sha256(data).hexdigest()[:32], bodies)


def shell_response(data: bytes, mimetype: str, *, cache_control: str) -> Response:
    """A 200 (or 304) for ``data`` in the encoding the client prefers, with its ETag and ``cache_control``."""
    content = encoded(data, mimetype in COMPRESSIBLE)
    encoding = request.accept_encodings.best_match([name for name in ENCODINGS if name in content.bodies])
    encoding = encoding or ""
    response = Response(content.bodies[encoding], mimetype=mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if len(content.bodies) > 1:
        # Caches (the browser's, a proxy's) must keep the plain and the compressed body apart.
        response.vary.add("Accept-Encoding")
    response.set_etag(f"{content.digest}-{encoding}" if encoding else content.digest)
    response.headers["Cache-Control"] = cache_control
    return response.make_conditional(request)
