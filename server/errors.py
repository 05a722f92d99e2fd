"""Errors: RFC 9457 problem details for the API, pages for people, and never a bare 500.

Every problem has a stable ``type`` (``urn:motcua:problem:<slug>``) that clients can switch on, a ``title`` and
``detail`` in the user's language, and for field errors an ``errors`` list with both languages.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import Response
from flask import jsonify
from flask import render_template
from flask import request
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from server.extensions import db
from server.storage import PROBLEMS
from server.storage import StorageError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: Titles of the generic problems, by HTTP status: (slug, Vietnamese, English).
_GENERIC = {
    400: ("bad-request", "Yêu cầu không hợp lệ", "Bad request"),
    401: ("unauthenticated", "Cần đăng nhập", "Sign-in required"),
    403: ("forbidden", "Không có quyền", "Forbidden"),
    404: ("not-found", "Không tìm thấy", "Not found"),
    405: ("method-not-allowed", "Phương thức không được hỗ trợ", "Method not allowed"),
    409: ("conflict", "Xung đột trạng thái", "Conflict"),
    413: ("too-large", "Dữ liệu quá lớn", "Payload too large"),
    415: ("unsupported-media-type", "Định dạng không được hỗ trợ", "Unsupported media type"),
    422: ("unprocessable", "Dữ liệu chưa đúng", "Unprocessable content"),
    429: ("too-many-requests", "Quá nhiều yêu cầu", "Too many requests"),
    500: ("internal-error", "Lỗi hệ thống", "Internal server error"),
}


def locale_code() -> str:
    """"vi" or "en": the language problems and pages are written in for this request."""
    return "en" if str(get_locale() or "vi").startswith("en") else "vi"


class ApiProblem(Exception):
    """An error the API answers as a problem document.

    :param status: HTTP status.
    :param slug: stable last part of the ``type`` URI.
    :param title: (Vietnamese, English) short summary of the kind of problem.
    :param detail: (Vietnamese, English) what happened this time, or None.
    :param extra: further members (``errors``, ``state``, ...).
    """

    def __init__(self, status: int, slug: str, title: tuple[str, str], detail=None, **extra):
        super().__init__(f"{status} {slug}")
        self.status, self.slug, self.title, self.detail, self.extra = status, slug, title, detail, extra

    def to_response(self) -> Response:
        """The problem document as a Flask response."""
        lang = 1 if locale_code() == "en" else 0
        body = {"type": f"urn:motcua:problem:{self.slug}", "title": self.title[lang], "status": self.status}
        if self.detail:
            body["detail"] = self.detail[lang]
        body["instance"] = request.path
        body.update(self.extra)
        response = jsonify(body)
        response.status_code = self.status
        response.mimetype = PROBLEM_JSON
        return response


def field_error(field: str, code: str, vi: str, en: str) -> dict:
    """One entry of a problem's ``errors`` list, in both languages and in the request's."""
    return {"field": field, "code": code, "message": en if locale_code() == "en" else vi, "vi": vi, "en": en}


def bad_request(vi: str, en: str, errors: list[dict] | None = None) -> ApiProblem:
    """A 400 with a readable reason and optional field errors."""
    extra = {"errors": errors} if errors else {}
    return ApiProblem(400, "bad-request", ("Yêu cầu không hợp lệ", "Bad request"), (vi, en), **extra)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _generic(status: int, detail: tuple[str, str] | None = None, **extra) -> ApiProblem:
    slug, vi, en = _GENERIC.get(status, (f"http-{status}", "Lỗi", "Error"))
    return ApiProblem(status, slug, (vi, en), detail, **extra)


def _html(status: int, title: tuple[str, str] | None = None) -> tuple[str, int]:
    vi, en = title or _GENERIC.get(status, (None, "Lỗi", "Error"))[1:]
    return render_template("error.html", status=status, title=en if locale_code() == "en" else vi), status


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: problem details under /api/, an HTML page elsewhere."""

    @app.errorhandler(ApiProblem)
    def _api_problem(error: ApiProblem):
        return error.to_response()

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        problem = ApiProblem(
            400,
            "csrf",
            ("Phiên làm việc đã hết hạn, vui lòng tải lại trang", "Session token missing or expired, reload the page"),
            (error.description, error.description),
        )
        return problem.to_response() if _wants_json() else _html(400)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if not _wants_json():
            return _html(error.code or 500)
        problem = _generic(error.code or 500)
        response = problem.to_response()
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(StorageError)
    def _storage(error: StorageError):
        # The file store (a folder or an S3 bucket) cannot serve now: 503 or 507, a problem to retry later, not a
        # 500. The reason (which the store gave) was logged where it was raised.
        db.session.rollback()
        slug, title = PROBLEMS[error.status]
        if not _wants_json():
            return _html(error.status, title)
        return ApiProblem(error.status, slug, title, (error.vi, error.en)).to_response()

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # Roll back so that a half-done transaction cannot leak into the next request on this connection.
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return _html(500)
        return _generic(500).to_response()
