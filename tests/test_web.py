"""Web basics: health check, language, accessible base template, problem details."""

from __future__ import annotations

import re


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    # No push worker runs in the tests, and none is required outside production (or the embedded worker).
    assert response.get_json() == {"status": "ok", "database": "ok", "attachments": "ok", "push_worker": "never_seen"}


def test_healthz_reports_each_dependency_and_answers_503_when_one_is_down(app, client, tmp_path):
    from datetime import timedelta

    from server.extensions import db
    from server.push.models import WorkerHeartbeat
    from server.push.sender import beat
    from server.types import utcnow

    app.config["HEALTH_REQUIRES_PUSH_WORKER"] = True  # as in production
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["push_worker"] == "never_seen"
    beat()
    beat()  # the second beat updates the row
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok", "attachments": "ok",
                                                 "push_worker": "ok"}
    db.session.get(WorkerHeartbeat, "push").beat_at = utcnow() - timedelta(minutes=5)  # the worker died
    db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["push_worker"] == "stale"
    beat()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store should be")
    app.config["ATTACHMENT_DIR"] = str(blocked)
    app.config["STORAGE_BACKEND"] = "local"  # the folder's failure (the bucket's: tests/test_storage.py)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "ok", "attachments": "not_writable",
                                   "push_worker": "ok"}


def test_vietnamese_is_the_default_even_for_an_english_browser(client):
    page = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Một Cửa Tại Nhà" in page and "Bỏ qua, đến nội dung chính" in page


def test_english_choice_is_remembered(client):
    response = client.get("/language/en?next=/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "lang=en" in response.headers["Set-Cookie"]
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "One-Stop at Home" in page and "Skip to main content" in page
    client.get("/language/vi")
    assert '<html lang="vi">' in client.get("/").get_data(as_text=True)


def test_language_switch_refuses_open_redirects(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = client.get("/language/vi", query_string={"next": target})
        assert response.headers["Location"] == "/", target


def test_an_unknown_language_is_not_found(client):
    """The worker remembers every switch that succeeds (pwa/sw/strategies.js): an unknown code must not."""
    response = client.get("/language/fr?next=/")
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers


def test_base_template_is_accessible(client):
    page = client.get("/").get_data(as_text=True)
    for landmark in ("<header", "<nav", "<main", "<footer"):
        assert landmark in page
    assert 'name="viewport"' in page and 'href="#main"' in page
    assert page.count("<h1") == 1
    with client.get("/static/css/app.css") as response:
        css = response.get_data(as_text=True)
    assert "font-size: 112.5%" in css  # 18 px base text
    assert re.search(r"outline: 3px solid", css)


def test_api_404_and_405_are_problem_details(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "urn:motcua:problem:not-found" and body["status"] == 404 and body["title"]
    response = client.delete("/api/v1/calendar")
    assert response.status_code == 405 and response.get_json()["type"] == "urn:motcua:problem:method-not-allowed"


def test_html_404_is_a_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.content_type and "404" in response.get_data(as_text=True)


def test_session_is_401_when_anonymous(client):
    response = client.get("/api/v1/session")
    assert response.status_code == 401
    assert response.get_json()["type"] == "urn:motcua:problem:unauthenticated"


def test_unexpected_error_is_a_problem_not_a_traceback(app, client):
    from server.auth.access import public

    @public
    def explode():
        raise RuntimeError("boom")

    app.add_url_rule("/api/v1/test-explode", "explode", explode)
    response = client.get("/api/v1/test-explode")
    assert response.status_code == 500
    assert response.get_json()["type"] == "urn:motcua:problem:internal-error"
    assert "boom" not in response.get_data(as_text=True)


def test_route_without_rule_is_refused(app, client):
    app.add_url_rule("/api/v1/test-forgotten", "forgotten", lambda: "secret")
    response = client.get("/api/v1/test-forgotten")
    assert response.status_code == 403


def test_every_route_declares_an_access_rule(app):
    from server.auth.access import access_rule

    missing = [rule.endpoint for rule in app.url_map.iter_rules()
               if rule.endpoint != "static" and access_rule(app.view_functions[rule.endpoint]) is None]
    assert missing == []


def test_development_sends_ip_visitors_to_localhost(tmp_path):
    """Passkeys refuse IP origins, so in development a page opened on 127.0.0.1 moves to localhost."""
    from server import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "development",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})
    client = app.test_client()
    response = client.get("/sign-in?next=/admin/people", base_url="http://127.0.0.1:5000")
    assert response.status_code == 302
    assert response.headers["Location"] == "http://localhost:5000/sign-in?next=/admin/people"
    assert client.get("/api/v1/calendar/due", base_url="http://127.0.0.1:5000").status_code == 400  # API untouched


def test_personal_pages_and_answers_are_not_stored_by_caches(app, client):
    from server.auth.models import Role
    from tests.helpers import demo_user
    from tests.helpers import sign_in

    sign_in(client, demo_user(Role.STAFF))
    for url in ("/staff/queue", "/api/v1/session"):
        response = client.get(url)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store", url
    static = client.get("/static/sw.js")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_a_failing_statement_is_logged_without_its_parameters(app):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from server.extensions import db

    with pytest.raises(DBAPIError) as failure:
        db.session.execute(text("SELECT * FROM no_such_table WHERE name = :name"), {"name": "Nguyễn Văn An"})
    db.session.rollback()
    assert "Nguyễn Văn An" not in str(failure.value) and "hidden" in str(failure.value)


def test_the_font_subsetters_info_lines_stay_out_of_the_log(app):
    import logging

    assert logging.getLogger("fontTools.subset").getEffectiveLevel() >= logging.WARNING


def test_healthz_answers_503_when_the_database_is_really_down(tmp_path):
    """A database that refuses connections (PostgreSQL: a closed port; SQLite: a file that cannot be opened)."""
    from server import create_app
    from tests.conftest import ON_POSTGRES
    from tests.conftest import _config

    gone = "postgresql://postgres@127.0.0.1:1/none" if ON_POSTGRES else f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"
    app = create_app(_config(tmp_path, gone))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error" and response.get_json()["database"] == "unreachable"
    assert response.get_json()["attachments"] == "ok"
