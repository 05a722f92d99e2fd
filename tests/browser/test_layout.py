"""Every page, for every role, at 320 px and at text size 200 % on a 390 px phone (issue 11, points 1 and 3):
nothing scrolls sideways, no element runs past the screen, every value of a label/value list keeps at least four
characters of width, and nothing that carries ``hidden`` is rendered or takes focus.

How the two settings are made, and why that is what a phone does: tests/browser/layout_support.py.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth import services
from server.auth.models import Device
from server.auth.models import Role
from server.auth.models import User
from server.extensions import db
from server.reference.models import Procedure
from tests.browser.layout_support import Walk
from tests.browser.layout_support import signed_in_page
from tests.browser.layout_support import walk_here
from tests.browser.layout_support import walk_paths
from tests.browser.pwa.offline_support import capture_dossier
from tests.browser.pwa.offline_support import go_home
from tests.browser.pwa.offline_support import set_up_officer
from tests.browser.pwa.offline_support import start_capture
from tests.desk_support import synced_dossier
from tests.helpers import demo_agency
from tests.helpers import demo_user

pytestmark = pytest.mark.browser

#: The owner's personal ID in tests.desk_support.synced_dossier ends with these: they open /follow/<code>.
FOLLOW_DIGITS = "2345"
FOLLOWER = "Nguyễn Thị Lan"


def assert_clean(walk: Walk) -> None:
    found = {"layout": walk.layout, "hidden": walk.hidden}
    assert found == {"layout": {}, "hidden": {}}, json.dumps(found, ensure_ascii=False, indent=1)


@pytest.fixture
def dossier(app):
    dossier, _picture = synced_dossier(app, follower=FOLLOWER)
    return dossier


def test_anonymous_pages(new_page, live_server, dossier):
    _, token = services.create_invitation(Role.STAFF, demo_agency(), "Phạm Thu Trang", demo_user(Role.ADMIN))
    db.session.commit()
    page = new_page()
    walk = Walk()
    walk_paths(page, ["/", "/sign-in", "/register", f"/invite/{token}", "/recover/unknown", f"/follow/{dossier.code}",
                      "/app", "/offline"], walk)
    # What the QR code on the receipt opens, once the four digits are given (a form: reached by submitting it).
    page.goto(f"/follow/{dossier.code}")
    page.locator("#digits").fill(FOLLOW_DIGITS)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("dl.facts")).to_be_visible()
    walk_here(page, "/follow/<code> with the digits", walk)
    assert_clean(walk)


def test_citizen_pages(new_page, app, live_server, dossier):
    citizen = db.session.scalar(select(User).where(User.display_name == FOLLOWER))
    page = signed_in_page(new_page, app, live_server, citizen)
    walk = Walk()
    walk_paths(page, ["/my/dossiers", f"/my/dossiers/{dossier.id}", "/my/visits", "/my/visits/new", "/inbox",
                      "/account/consents", "/account/channels", "/account/passkeys", "/account/devices",
                      "/my/data"], walk)
    assert_clean(walk)


def test_desk_pages(new_page, app, live_server, dossier):
    from server.privacy.models import RequestKind
    from server.privacy.requests import receive
    from server.types import utcnow

    # A data request due now: the queue shows it and its page has every form (server/privacy/).
    receive(RequestKind.RECTIFY, dossier.owner, demo_user(Role.STAFF), demo_agency(), utcnow(), on_behalf=True,
            details="Sai số điện thoại", corrections={"phone": "+84912345679"})
    _deliveries_on_every_channel(dossier)
    db.session.commit()
    page = signed_in_page(new_page, app, live_server, demo_user(Role.STAFF))
    walk = Walk()
    forms = f"/staff/dossiers/{dossier.id}/forms"
    walk_paths(page, ["/staff", "/staff/queue", "/staff/queue?tab=all&q=tran", f"/staff/dossiers/{dossier.id}", forms,
                      f"{forms}/receipt", f"{forms}/control_sheet", "/staff/stats", "/staff/stats?period=year",
                      "/staff/visits", "/staff/data-requests"], walk)
    assert_clean(walk)


def _deliveries_on_every_channel(dossier) -> None:
    """A message to a follower without an account, on ZNS (failed, with a provider's long reason) and SMS, and one
    on a phone that showed and opened it: the desk lists them per follower (issue 14), at 320 px too."""
    from server.channels.models import ChannelDelivery
    from server.consent.purposes import Channel
    from server.people.models import Person
    from server.push.models import DeliveryStatus
    from server.push.models import InboxMessage
    from server.push.models import PushDelivery
    from server.types import utcnow

    relative = Person(full_name="Lê Văn Cường")
    db.session.add(relative)
    db.session.flush()
    message = InboxMessage(person_id=relative.id, dossier_id=dossier.id, kind="result_ready",
                           data={"code": dossier.code})
    shown = InboxMessage(person_id=relative.id, dossier_id=dossier.id, kind="extended", data={"code": dossier.code})
    db.session.add_all([message, shown])
    db.session.flush()
    now = utcnow()
    db.session.add_all([
        ChannelDelivery(message_id=message.id, channel=Channel.ZALO, phone_e164="+84912345678",
                        status=DeliveryStatus.FAILED, last_error="-124: Zalo account not found for this phone "
                        "number (the recipient has no Zalo, or blocked official accounts)"),
        ChannelDelivery(message_id=message.id, channel=Channel.SMS, phone_e164="+84912345678", step=1,
                        status=DeliveryStatus.SENT, sent_at=now, cost_vnd=800),
        PushDelivery(message_id=shown.id, status=DeliveryStatus.OPENED, attempts=3, sent_at=now, shown_at=now,
                     opened_at=now),
    ])


def test_leader_pages(new_page, app, live_server, dossier):
    page = signed_in_page(new_page, app, live_server, demo_user(Role.LEADER))
    walk = Walk()
    walk_paths(page, ["/leader", "/staff", "/staff/stats"], walk)
    assert_clean(walk)


def test_admin_pages(new_page, app, live_server):
    admin = demo_user(Role.ADMIN)
    procedure = db.session.scalar(select(Procedure).order_by(Procedure.id))
    # A revoked phone, for its breach report (issue 12 point 4).
    device = db.session.scalar(select(Device).where(Device.user_id == demo_user(Role.OFFICER).id))
    services.revoke_device(device, admin)
    db.session.commit()
    page = signed_in_page(new_page, app, live_server, admin)
    walk = Walk()
    walk_paths(page, ["/admin/people", "/admin/devices", "/admin/procedures", f"/admin/procedures/{procedure.id}",
                      "/admin/calendar", "/admin/wards", f"/admin/wards/{demo_agency().id}",
                      f"/admin/users/{demo_user(Role.OFFICER).id}", f"/admin/devices/{device.id}/breach-report"],
               walk)
    assert_clean(walk)


#: A procedure whose result takes 15 working days (the same-day receipt box must stay hidden for it).
FIFTEEN_DAYS = "Thực hiện, điều chỉnh, thôi hưởng trợ cấp hưu trí xã hội"


def test_officer_app_views(new_page):
    page = new_page()
    set_up_officer(page)
    walk = Walk()
    walk_here(page, "/app home", walk)
    start_capture(page, "Trần Văn Phúc", procedure=FIFTEEN_DAYS)
    expect(page.locator("#same-submitter")).to_be_checked()
    walk_here(page, "/app capture, same person ticked", walk)
    page.get_by_role("button", name="Để sau").click()
    expect(page.locator("#view-home")).to_be_visible()
    capture_dossier(page, "Trần Văn Phúc", (1,))
    walk_here(page, "/app receipt", walk)
    go_home(page)
    walk_paths(page, ["/account/passkeys", "/account/devices"], walk)
    assert_clean(walk)
