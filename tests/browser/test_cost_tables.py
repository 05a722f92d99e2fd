"""The cost tables of /staff and /staff/stats (issue 14 point 6), full of figures, at 320 px and at 200 % text:
nothing scrolls sideways or runs past the screen, and each row is a card whose figures keep their labels."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from server.auth.models import Role
from tests.browser.layout_support import NARROW
from tests.browser.layout_support import Walk
from tests.browser.layout_support import apply_setting
from tests.browser.layout_support import signed_in_page
from tests.browser.layout_support import walk_paths
from tests.helpers import demo_user
from tests.test_reach_costs import wards  # noqa: F401 (the fixture: two wards' messages in October-November 2026)

pytestmark = pytest.mark.browser

STATS = "/staff/stats?period=custom&start=2026-10-01&end=2026-11-30"


def test_the_cost_tables_fit_a_small_phone(new_page, app, live_server, wards):  # noqa: F811
    ward_a, _ward_b = wards
    page = signed_in_page(new_page, app, live_server, demo_user(Role.STAFF))
    walk = Walk()
    walk_paths(page, ["/staff", STATS], walk)
    assert {"layout": walk.layout, "hidden": walk.hidden} == {"layout": {}, "hidden": {}}, json.dumps(
        {"layout": walk.layout, "hidden": walk.hidden}, ensure_ascii=False, indent=1)
    apply_setting(page, NARROW)
    page.goto(STATS)
    avoided = page.locator(f"#stats-cost-2026-10-{ward_a} [data-figure=avoided]")
    expect(avoided).to_have_text("3.700 đ")
    # On a narrow screen the column headings are hidden: each cell says what it is.
    label = avoided.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == '"Tiết kiệm: "', label
