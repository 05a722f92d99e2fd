"""What server-rendered pages do when the access rules refuse a request (JSON problems are for the API)."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from server.errors import ApiProblem
from server.errors import locale_code


def page_problem(problem: ApiProblem):
    """Anonymous visitors sign in first and come back; signed-in users who may not see the page get an error page."""
    if problem.status == 401:
        return redirect(url_for("auth_pages.sign_in", next=request.full_path.rstrip("?")))
    if problem.status == 403:
        title = problem.title[1 if locale_code() == "en" else 0]
        return render_template("error.html", status=403, title=title), 403
    return problem.to_response()


def pages_blueprint(name: str, import_name: str, **options) -> Blueprint:
    """A blueprint of pages: its refusals are answered as pages (see :func:`page_problem`)."""
    bp = Blueprint(name, import_name, **options)
    bp.register_error_handler(ApiProblem, page_problem)
    return bp
