"""Issue 15 point 1 on the phone: offline, the officer receives a dossier for a resident of another ward of the
province ("Hồ sơ thuộc thẩm quyền của", from the day download's wards); the server records that ward as the
competent unit, and the receiving ward for a dossier where nothing was chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server.demo import DEMO_SECOND_WARD
from tests.browser.pwa import offline_support as app
from tests.helpers import demo_agency

pytestmark = pytest.mark.browser


def test_the_ward_a_dossier_is_for_is_chosen_offline_and_recorded(officer_phone):
    page = officer_phone
    app.go_offline(page.context)
    app.start_capture(page, "Đỗ Văn Hùng")
    choice = page.get_by_label("Hồ sơ thuộc thẩm quyền của")
    expect(choice).to_be_visible()
    expect(choice).to_have_value("")  # the officer's own ward by default
    expect(choice.locator("option").first).to_have_text(demo_agency().name_vi)
    page.get_by_role("button", name="Để sau").click()  # this draft stays on the phone, unsent
    expect(page.locator("#view-home")).to_be_visible()
    other = app.capture_dossier(page, "Đỗ Văn Hùng", (51,), personal_id=app.owner_id(51),
                                competent_ward=DEMO_SECOND_WARD[2])
    app.go_home(page)
    own = app.capture_dossier(page, "Ngô Thị Hạnh", (52,), personal_id=app.owner_id(52))
    app.go_online(page.context)
    app.sync_now(page)
    app.wait_until_synced(page, 2)

    by_uuid = {str(d.client_uuid): d for d in app.server_dossiers()}
    assert by_uuid[other["uuid"]].competent_agency.agency_code == DEMO_SECOND_WARD[0]
    assert by_uuid[other["uuid"]].agency.agency_code == demo_agency().agency_code
    assert by_uuid[other["uuid"]].code == other["code"]
    assert by_uuid[own["uuid"]].competent_agency_id == demo_agency().id
