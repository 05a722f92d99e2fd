"""What must not break the outbox: a server crash mid-flush, a revoked phone, a closed app, an empty code block,
a reload in the middle of a form. Real Chromium, real service worker, real server process where it must die.
"""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server import ROOT
from server.auth import services
from server.auth.models import Device
from server.auth.models import Role
from server.auth.models import User
from server.extensions import db
from tests.browser.pwa import offline_support as app_
from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.browser.support import STEP_TIMEOUT_MS
from tests.browser.support import fresh
from tests.helpers import demo_user

pytestmark = pytest.mark.browser


# --- 9b: the server process dies during a flush ---------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """The test's app served by waitress in a child process (same database, same files, same secret)."""

    def __init__(self, app, port: int) -> None:
        self.port = port
        self.url = f"http://localhost:{port}"
        keys = ("APP_ENV", "TESTING", "SECRET_KEY", "INSTANCE_PATH", "SQLALCHEMY_DATABASE_URI", "RATELIMIT_KEY_PREFIX",
                "ATTACHMENT_DIR", "STORAGE_BACKEND", "S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION")
        self.config = {key: app.config[key] for key in keys if key in app.config}
        self.config.update(WEBAUTHN_RP_ID="localhost", WEBAUTHN_ORIGINS=[self.url])
        self.process = None

    def start(self, crash_after: int = 0) -> None:
        command = [sys.executable, "-m", "tests.browser.pwa.crash_server", json.dumps(self.config), str(self.port)]
        if crash_after:
            command.append(str(crash_after))
        self.process = subprocess.Popen(command, cwd=ROOT)
        deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            assert self.process.poll() is None, "the server process died at start"
            assert time.monotonic() < deadline, "the server process did not answer /healthz"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
        if self.process:
            self.process.wait(timeout=SLOW_MACHINE_TIMEOUT_S)


@pytest.fixture
def server_process(app):
    server = ServerProcess(app, _free_port())
    yield server
    server.stop()


def test_a_server_killed_during_a_flush_loses_and_doubles_nothing(app, browser, server_process):
    """9b: the server dies right after storing the 2nd of 3 dossiers, before answering; restarted, it gets the rest."""
    server_process.start(crash_after=2)
    context = browser.new_context(base_url=server_process.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    app_.set_up_officer(page)
    app_.go_offline(context)
    receipts = app_.capture_several(page, ["Bùi Văn Khánh", "Đặng Thị Mai", "Lý Văn Nam"], 80)
    photos = app_.phone_photos(page)

    app_.go_online(context)
    assert server_process.process.wait(timeout=SLOW_MACHINE_TIMEOUT_S) == 17  # it died as planned, mid-flush
    assert len(app_.server_dossiers()) == 2
    page.wait_for_function("() => document.body.dataset.lastFlush === 'offline'")
    assert app_.statuses(page) == ["queued", "queued", "synced"]  # the 2nd was stored, but the phone never heard

    server_process.start()
    app_.sync_now(page)
    app_.wait_until_synced(page, 3)
    app_.assert_server_matches(receipts, photos)
    context.close()


# --- the rest -------------------------------------------------------------------------------------------------

def test_a_half_filled_dossier_survives_a_reload(officer_phone):
    """Point 3: every change is a saved draft; a reload (or a closed tab) comes back to it, photo included."""
    page = officer_phone
    app_.go_offline(page.context)
    app_.start_capture(page, "Trịnh Thị Oanh")
    page.get_by_label("Số điện thoại").first.fill("0987 654 321")
    page.locator("#documents input[type=file]").first.set_input_files(
        {"name": "p.jpg", "mimeType": "image/jpeg", "buffer": app_.photo_bytes(90)})
    expect(page.locator("#documents .photo-list li")).to_have_count(1)
    expect(page.locator("#draft-saved")).to_have_text("Đã lưu.")

    page.reload()
    expect(page.locator("#view-capture")).to_be_visible()
    expect(page.get_by_label("Họ và tên").first).to_have_value("Trịnh Thị Oanh")
    expect(page.get_by_label("Số điện thoại").first).to_have_value("0987 654 321")
    expect(page.locator("#procedure-chosen")).to_contain_text(app_.PROCEDURE_NAME)
    expect(page.locator("#documents .photo-list li")).to_have_count(1)
    assert app_.statuses(page) == ["draft"]


def test_a_revoked_phone_wipes_its_outbox_and_sends_nothing(officer_phone):
    """Point 8: at its next contact a revoked phone sends nothing further and erases every user's data."""
    page = officer_phone
    app_.go_offline(page.context)
    app_.capture_dossier(page, "Mai Văn Phúc", (95, 96))
    fresh()
    [device] = db.session.scalars(
        select(Device).join(User, Device.user_id == User.id).where(User.display_name == "Cán bộ thử nghiệm"))
    services.revoke_device(device, demo_user(Role.ADMIN))
    db.session.commit()

    app_.go_online(page.context)
    expect(page.locator("#app-status")).to_contain_text("Thiết bị này đã bị thu hồi")
    assert app_.outbox(page) == {"dossiers": [], "photos": []}
    assert app_.server_dossiers() == []
    assert app_.server_attachments() == {}
    assert page.evaluate("localStorage.getItem('motcua.officer')") is None


def test_background_sync_sends_the_outbox_with_the_app_closed(officer_phone):
    """Point 5: the page is gone; the browser wakes the worker when the network returns and it sends alone."""
    page = officer_phone
    context = page.context
    app_.go_offline(context)
    receipt = app_.capture_dossier(page, "Tạ Thị Quyên", (97, 98))
    photos = app_.phone_photos(page)
    page.close()  # no page left: only the service worker can send

    app_.go_online(context)
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
    while not app_.server_dossiers():
        assert time.monotonic() < deadline, "Background Sync did not send the dossier"
        time.sleep(0.25)
    app_.assert_server_matches([receipt], photos)


@pytest.fixture
def one_code_per_block(app):
    """Blocks of a single code, so that the second dossier of the day finds none left."""
    app.config["CODE_BLOCK_SIZE"] = 1


def test_a_phone_out_of_codes_gives_a_provisional_code_and_the_official_one_follows(one_code_per_block, officer_phone):
    """Point 4: with the block used up, the receipt says so; the server issues the code and the phone shows it."""
    page = officer_phone
    app_.go_offline(page.context)
    first = app_.capture_dossier(page, "Cao Văn Sơn", (101, 102), personal_id=app_.owner_id(101))
    app_.go_home(page)
    second = app_.capture_dossier(page, "Kiều Thị Tâm", (103, 104), personal_id=app_.owner_id(103))
    assert not first["provisional"] and second["provisional"]
    expect(page.locator("#receipt-provisional")).to_contain_text("Mã chính thức sẽ được gửi sau")
    assert second["code"].startswith("TAM-")

    app_.go_online(page.context)
    app_.wait_until_synced(page, 2)
    stored = {str(d.client_uuid): d for d in app_.server_dossiers()}
    assert stored[first["uuid"]].code == first["code"] and stored[first["uuid"]].flags == []
    official = stored[second["uuid"]]
    assert official.code and official.code != first["code"] and not official.code.startswith("TAM-")
    assert [(f.kind.value, f.detail["provisional"]) for f in official.flags] == [("provisional_code", second["code"])]

    # The receipt on screen now shows the official code (the app redraws it once the server confirmed).
    expect(page.locator("#receipt-code")).to_have_text(official.code)
    expect(page.locator("#receipt-provisional")).to_have_count(0)


def test_a_dossier_the_server_keeps_failing_on_goes_to_the_quarantine_with_the_reason(app, officer_phone):
    """Issue 10.3: a 5xx is "retry later", but after 5 in a row for the same body the dossier stops retrying and the
    officer sees it in the quarantine with the reason (a server bug nobody has found yet cannot loop forever)."""
    page = officer_phone
    calls = []

    @functools.wraps(app.view_functions["sync_api.put_dossier"])  # keeps its access rule and contract
    def a_bug_nobody_has_found_yet(client_uuid):
        calls.append(client_uuid)
        raise RuntimeError("a bug nobody has found yet")

    app.view_functions["sync_api.put_dossier"] = a_bug_nobody_has_found_yet
    receipt = app_.capture_dossier(page, "Hà Văn Sơn", (101,))
    app_.go_home(page)
    button = page.get_by_role("button", name="Đồng bộ ngay")
    deadline = time.monotonic() + 60
    while len(calls) < 5:
        assert time.monotonic() < deadline, f"{len(calls)} tries: {app_.statuses(page)}"
        expect(button).to_be_enabled()  # the previous flush (button or timer) has ended
        button.click()
        expect(button).to_be_enabled()
    quarantined = page.locator("#quarantine-list li")
    expect(quarantined).to_have_count(1)
    expect(quarantined).to_contain_text("Máy chủ báo lỗi 5 lần liên tiếp (HTTP 500)")
    assert quarantined.get_attribute("data-uuid") == receipt["uuid"]
    assert app_.statuses(page) == ["quarantined"]
    assert len(calls) == 5  # and no more: it no longer retries by itself
    assert app_.server_dossiers() == []
