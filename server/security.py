"""Security headers on every response: a strict Content Security Policy and friends."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask import current_app
from flask import redirect
from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import RequestEntityTooLarge

#: No inline script or style, nothing from another origin: pages load only this app's own files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "worker-src 'self'",
        "manifest-src 'self'",
    ]
)


def configure_security_headers(app: Flask) -> None:
    """Add the headers after every request (and, in development, send IP-address visitors to localhost)."""
    # Before anything else (access checks included): a body larger than any request may be is refused from its
    # Content-Length, unread, whoever sends it.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_oversized_body)
    app.before_request(_refuse_unstorable_text)
    if app.config["APP_ENV"] == "development":
        # First of all request hooks: nothing else needs to run for a page that is about to move.
        app.before_request_funcs.setdefault(None, []).insert(0, _localhost_instead_of_ip)

    production = app.config["APP_ENV"] == "production"
    policy = _policy_with_presigned_photos(app)

    @app.after_request
    def _headers(response):
        if production:
            # Production is served over HTTPS only (the session cookie is Secure): browsers remember it for a year.
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Same-origin Referer is what Flask-WTF checks over HTTPS; never "no-referrer" (PLATFORM.md).
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "geolocation=(), microphone=()")
        dynamic = not request.path.startswith("/static/")
        if dynamic and ("Cache-Control" not in response.headers or response.mimetype == "application/pdf"):
            # Pages, PDFs, photos and API answers may show personal data: no shared or browser cache keeps them
            # (a shared computer at the ward, a proxy). What may be cached says so itself (the app shell, /static).
            response.headers["Cache-Control"] = "private, no-store"
        return response


def _policy_with_presigned_photos(app: Flask) -> str:
    """The policy, with the bucket's origin among the image sources when the desk's photos are redirects to
    presigned URLs (S3_PRESIGN_SECONDS > 0): a redirected <img> is checked against img-src where it lands."""
    if app.config["STORAGE_BACKEND"] != "s3" or not int(app.config["S3_PRESIGN_SECONDS"]):
        return CONTENT_SECURITY_POLICY
    from server.storage.s3 import public_origin

    return CONTENT_SECURITY_POLICY.replace("img-src 'self'", f"img-src 'self' {public_origin(app.config)}")


def _refuse_oversized_body():
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    return None


def _unstorable(value) -> bool:
    """A NUL (PostgreSQL's text refuses it: a 500 there, not on SQLite) or a lone surrogate (no UTF-8 for it)."""
    if isinstance(value, str):
        return "\x00" in value or not _encodable(value)
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_unstorable_text():
    """One guard for every submitted form (the desk's, the admin's, the citizen's), so that each new field need not
    remember it: text no database stores the same way is a 400 on both, before any view reads it. JSON bodies are
    checked by their APIs, which name the field (server/dossiers/sync.py)."""
    if request.method not in ("POST", "PUT", "PATCH") or request.mimetype not in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    if any(_unstorable(value) for value in request.form.listvalues()):
        raise BadRequest("text with a NUL or an invalid character")
    return None


def _localhost_instead_of_ip():
    """Passkeys refuse IP origins: a developer who opened http://127.0.0.1:5000 is sent to http://localhost:5000."""
    host, _, port = request.host.rpartition(":") if request.host.count(":") == 1 else (request.host, "", "")
    if request.method == "GET" and host in ("127.0.0.1", "[::1]") and not request.path.startswith("/api/"):
        return redirect(request.url.replace(f"//{request.host}", f"//localhost{':' + port if port else ''}", 1))
    return None


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a same-site path (no scheme, no host, no ``//`` or ``/\\``), else None: redirects after
    sign-in or a language switch never leave the site."""
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
