"""Keyboard and screen reader (issue 11, point 6): the focus follows each change of view of the officer's app and
each refused form; the camera buttons show the focus; the sticky status bar never covers the focused field
(WCAG 2.2 2.4.11); radio buttons keep 28 px at every text size."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server.auth.models import Role
from tests.browser.layout_support import LARGE_TEXT
from tests.browser.layout_support import SETTINGS
from tests.browser.layout_support import apply_setting
from tests.browser.layout_support import signed_in_page
from tests.browser.pwa.offline_support import capture_dossier
from tests.browser.pwa.offline_support import go_home
from tests.browser.pwa.offline_support import start_capture
from tests.helpers import demo_user

pytestmark = pytest.mark.browser

#: Where the focus is: the element's tag, id and text, and the view (data-view section) holding it.
FOCUSED_JS = """() => {
    const node = document.activeElement;
    const view = node && node.closest("[data-view]");
    return {tag: node.tagName.toLowerCase(), id: node.id, text: node.textContent.trim().slice(0, 80),
            view: view ? view.dataset.view : null};
}"""

#: How the focused element sits against the sticky status bar: its box, the bar's bottom edge, the screen height.
FOCUS_VS_BAR_JS = """() => {
    const node = document.activeElement;
    const bar = document.getElementById("sync-bar");
    const box = node.getBoundingClientRect();
    const barBottom = bar && bar.getClientRects().length ? bar.getBoundingClientRect().bottom : 0;
    return {name: node.name || node.id || node.tagName, top: box.top, bottom: box.bottom, barBottom,
            height: window.innerHeight};
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED_JS)


def assert_heading_focused(page, view: str, text: str) -> None:
    expect(page.locator(f"#view-{view}")).to_be_visible()
    page.wait_for_function("(view) => document.activeElement.closest('[data-view]')?.dataset.view === view", arg=view)
    now = focused(page)
    assert now["tag"] == "h1" and now["view"] == view and text in now["text"], now


def test_every_view_change_of_the_app_moves_the_focus_to_its_heading(officer_phone):
    page = officer_phone
    page.get_by_role("button", name="Nhập hồ sơ mới").click()
    assert_heading_focused(page, "capture", "Nhập hồ sơ")
    page.get_by_role("button", name="Để sau").click()
    assert_heading_focused(page, "home", "Tiếp nhận hồ sơ tại nhà")
    receipt = capture_dossier(page, "Trần Văn Phúc", (7,))
    assert_heading_focused(page, "receipt", "")
    assert focused(page)["id"] == "receipt-title", focused(page)
    go_home(page)
    assert_heading_focused(page, "home", "Tiếp nhận hồ sơ tại nhà")
    page.go_back()  # the browser's back button is a change of view too
    assert_heading_focused(page, "receipt", "")
    assert receipt["code"] in page.locator("#view-receipt").inner_text()


def assert_clear_of_the_bar(page) -> dict:
    where = page.evaluate(FOCUS_VS_BAR_JS)
    assert where["top"] >= where["barBottom"] - 0.5 and where["bottom"] <= where["height"] + 0.5, where
    return where


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_a_refused_capture_focuses_what_to_correct_clear_of_the_status_bar(officer_phone, setting):
    page = officer_phone
    apply_setting(page, setting)
    start_capture(page, "Trần Văn Phúc")
    page.get_by_label("Họ và tên").first.fill("")
    page.keyboard.press("End")  # the page scrolled down to the button the officer presses
    page.get_by_role("button", name="Kiểm tra lại hồ sơ").click()  # the form's button (the review refuses)
    expect(page.locator("#capture-errors")).to_be_visible()
    page.wait_for_function("() => document.activeElement.matches('[aria-invalid=true], #capture-errors')")
    assert_clear_of_the_bar(page)
    # Every control of the form, reached with the Tab key, is scrolled clear of the bar too.
    page.locator("#procedure-search").focus()
    seen = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        where = assert_clear_of_the_bar(page)
        if where["name"] == "review-dossier":
            break
        seen.add(where["name"])
    assert "owner.phone" in seen and where["name"] == "review-dossier", seen


def test_a_refused_page_form_focuses_its_error_summary(new_page, app, live_server):
    citizen = demo_user(Role.CITIZEN)
    page = signed_in_page(new_page, app, live_server, citizen)
    page.goto("/my/visits/new")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()
    page.wait_for_function("() => document.activeElement.id === 'error-summary'")


def test_the_camera_buttons_show_the_keyboard_focus(officer_phone):
    page = officer_phone
    start_capture(page, "Trần Văn Phúc")
    page.locator("#doc-0-sighted").focus()
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "doc-0-camera"
    ring = page.locator("label[for=doc-0-camera]").evaluate(
        "(label) => { const s = getComputedStyle(label); return {style: s.outlineStyle, width: s.outlineWidth}; }")
    assert ring["style"] == "solid" and float(ring["width"].removesuffix("px")) >= 2, ring


RADIO_SIZES_JS = """() => [...document.querySelectorAll("input[type=radio]")]
    .filter((radio) => radio.getClientRects().length)
    .map((radio) => { const box = radio.getBoundingClientRect();
                      return {name: radio.name, value: radio.value, width: box.width, height: box.height}; })"""


def assert_radios_keep_28px(page) -> int:
    radios = page.evaluate(RADIO_SIZES_JS)
    small = [r for r in radios if r["width"] < 28 or r["height"] < 28]
    assert small == [], small
    return len(radios)


def test_radio_buttons_keep_28px_at_every_size(officer_phone, new_page, app, live_server):
    page = officer_phone
    start_capture(page, "Trần Văn Phúc")
    page.get_by_role("textbox", name="Tìm thủ tục").fill("tro cap")
    for setting in SETTINGS:
        apply_setting(page, setting)
        assert assert_radios_keep_28px(page) >= 2
    staff = signed_in_page(new_page, app, live_server, demo_user(Role.STAFF))
    apply_setting(staff, LARGE_TEXT)
    staff.goto("/staff/stats")
    assert assert_radios_keep_28px(staff) >= 2
