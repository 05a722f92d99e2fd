"""English pages (issue 11, point 6): the desk's pages are translated, and the Vietnamese that remains on an English
page (people's names, addresses, a procedure's official name, the statutory forms) is marked ``lang="vi"``, so that
a screen reader reads it with a Vietnamese voice instead of spelling it in English."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.extensions import db
from server.reference.models import Procedure
from tests.browser.layout_support import signed_in_page
from tests.desk_support import synced_dossier
from tests.helpers import demo_agency
from tests.helpers import demo_user

pytestmark = pytest.mark.browser

#: Text nodes written in Vietnamese (letters no English word has) whose nearest ``lang`` says otherwise.
UNMARKED_VIETNAMESE_JS = """() => {
    const vietnamese = /[ăâđêôơưĂÂĐÊÔƠƯ\\u1EA0-\\u1EF9]/;
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent.trim();
        if (!text || !vietnamese.test(text)) continue;
        const owner = node.parentElement;
        if (owner.closest("script, style, [hidden]")) continue;
        const marked = owner.closest("[lang]");
        if (marked && marked.lang.toLowerCase().startsWith("vi")) continue;
        found.push(`${owner.tagName.toLowerCase()}${owner.id ? "#" + owner.id : ""}: ${text.slice(0, 70)}`);
    }
    return found;
}"""


def unmarked(page, paths: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        if items := page.evaluate(UNMARKED_VIETNAMESE_JS):
            found[path] = items
    return found


def english(page) -> None:
    page.goto("/language/en?next=/")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_desk_in_english_is_english_and_marks_the_vietnamese_it_shows(new_page, app, live_server):
    dossier, _picture = synced_dossier(app)
    page = signed_in_page(new_page, app, live_server, demo_user(Role.LEADER), locale="en-GB")
    english(page)
    forms = f"/staff/dossiers/{dossier.id}/forms"
    found = unmarked(page, ["/staff", "/staff/queue", "/staff/queue?tab=all", f"/staff/dossiers/{dossier.id}", forms,
                            f"{forms}/receipt", "/staff/stats", "/staff/visits", "/leader"])
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


def test_the_administration_in_english_marks_the_vietnamese_it_shows(new_page, app, live_server):
    procedure = db.session.scalar(select(Procedure).order_by(Procedure.id))
    page = signed_in_page(new_page, app, live_server, demo_user(Role.ADMIN), locale="en-GB")
    english(page)
    found = unmarked(page, ["/admin/people", "/admin/devices", "/admin/procedures", f"/admin/procedures/{procedure.id}",
                            "/admin/calendar", "/admin/wards", f"/admin/wards/{demo_agency().id}",
                            f"/admin/users/{demo_user(Role.OFFICER).id}"])
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


def test_the_citizen_pages_in_english_mark_the_vietnamese_they_show(new_page, app, live_server):
    dossier, _picture = synced_dossier(app, follower="Nguyễn Thị Lan")
    citizen = db.session.scalar(select(User).where(User.display_name == "Nguyễn Thị Lan"))
    page = signed_in_page(new_page, app, live_server, citizen, locale="en-GB")
    english(page)
    found = unmarked(page, ["/my/dossiers", f"/my/dossiers/{dossier.id}", f"/follow/{dossier.code}"])
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
