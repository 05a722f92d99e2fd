"""Read aloud (issue 11 point 10): the citizen's dossier page, the follow page and the officer's receipt have an
"Đọc to" button that reads the status, the due date and what to do next with a Vietnamese voice, and no button
where the phone has no such voice.

Headless Chromium usually has no voice at all, so the phone with a Vietnamese voice is presented by an init script:
``speechSynthesis.getVoices`` answers one vi-VN voice and ``speechSynthesis.speak`` records the utterance (the
page's own code is not changed). The phone without one is tested as Chromium is, and with no voice forced.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from server.auth import services
from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from tests.browser.pwa import offline_support as app
from tests.helpers import demo_user
from tests.helpers import make_dossier

pytestmark = pytest.mark.browser

#: A phone with a Vietnamese voice; what it is asked to say is kept in window.spoken.
VI_VOICE_JS = """(() => {
    window.spoken = [];
    const voice = {name: "Giọng Việt (thử)", lang: "vi-VN", voiceURI: "test-vi", localService: true, default: true};
    speechSynthesis.getVoices = () => [voice];
    speechSynthesis.speak = (utterance) => window.spoken.push(
        {text: utterance.text, lang: utterance.lang, voice: utterance.voice && utterance.voice.name});
    // The real setter accepts only the browser's own voice objects.
    Object.defineProperty(SpeechSynthesisUtterance.prototype, "voice", {configurable: true,
        get() { return this.testVoice || null; }, set(value) { this.testVoice = value; }});
})();"""
#: A phone with voices, none of them Vietnamese.
NO_VI_VOICE_JS = """(() => {
    speechSynthesis.getVoices = () => [{name: "English", lang: "en-US", voiceURI: "en", localService: true}];
})();"""
HAS_VI_VOICE_JS = "() => speechSynthesis.getVoices().some((v) => v.lang.toLowerCase().startsWith('vi'))"

DUE = datetime(2026, 12, 30, 16, 30, tzinfo=VN_TZ)
CODE = "000.20.26.H26-261202-0042"


def _dossier(state: State = State.AWAITING_SUPPLEMENT):
    dossier = make_dossier(state, due_at=DUE, code=CODE)
    dossier.owner.phone_e164 = "+84912345678"
    db.session.commit()
    return dossier


def _follow_page(page) -> None:
    page.goto(f"/follow/{CODE}")
    page.get_by_label("4 số cuối").fill("5678")
    page.get_by_role("button", name="Xem tình trạng hồ sơ").click()
    expect(page.get_by_text("Chờ bổ sung hồ sơ")).to_be_visible()


def _spoken(page, button) -> dict:
    expect(button).to_be_visible()
    button.click()
    page.wait_for_function("() => window.spoken.length > 0")
    [said] = page.evaluate("window.spoken")
    return said


def test_the_follow_page_reads_status_due_date_and_next_step_aloud(new_page):
    _dossier()
    page = new_page()
    page.context.add_init_script(VI_VOICE_JS)
    _follow_page(page)
    said = _spoken(page, page.get_by_role("button", name="Đọc to"))
    assert said["lang"] == "vi-VN" and said["voice"] == "Giọng Việt (thử)"
    assert "Tình trạng: Chờ bổ sung hồ sơ." in said["text"]
    assert "Hẹn trả kết quả: 16 giờ 30 phút, ngày 30 tháng 12 năm 2026." in said["text"]
    assert "Cần bổ sung giấy tờ theo đề nghị của Bộ phận Một cửa" in said["text"]


def test_no_button_without_a_vietnamese_voice(new_page):
    _dossier()
    # Chromium as it is: the button shows exactly when it has a Vietnamese voice (headless usually has none).
    page = new_page()
    _follow_page(page)
    button = page.locator("#read-aloud")
    expect(button).to_have_count(1)
    if page.evaluate(HAS_VI_VOICE_JS):
        expect(button).to_be_visible()
    else:
        expect(button).to_be_hidden()
    # A phone with only an English voice: no button, not even taking space.
    page = new_page()
    page.context.add_init_script(NO_VI_VOICE_JS)
    _follow_page(page)
    expect(page.locator("#read-aloud")).to_be_hidden()
    assert page.locator("#read-aloud").bounding_box() is None


def test_the_citizen_s_dossier_page_reads_aloud(new_page, add_authenticator):
    dossier = _dossier(State.RESOLVED)
    citizen = demo_user(Role.CITIZEN)
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    _, token = services.create_recovery_link(citizen, demo_user(Role.STAFF))
    db.session.commit()
    page = new_page()
    page.context.add_init_script(VI_VOICE_JS)
    add_authenticator(page)
    page.goto(f"/recover/{token}")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(lambda url: "/recover/" not in url)
    page.goto(f"/my/dossiers/{dossier.id}")
    said = _spoken(page, page.get_by_role("button", name="Đọc to"))
    assert said["text"] == (f"Hồ sơ {CODE}. Tình trạng: Đã có kết quả. Hẹn trả kết quả: 16 giờ 30 phút, ngày 30 "
                            "tháng 12 năm 2026. Đã có kết quả. Kết quả sẽ được trả cho bạn theo hẹn.")


def test_the_receipt_reads_aloud_offline(officer_phone):
    page = officer_phone
    page.context.add_init_script(VI_VOICE_JS)
    page.reload()
    expect(page.locator("body[data-ready='true']")).to_have_count(1)
    app.go_offline(page.context)
    receipt = app.capture_dossier(page, "Đoàn Thị Xuân", (181,), personal_id=app.owner_id(181))
    due = page.locator("#receipt-due").inner_text()
    said = _spoken(page, page.get_by_role("button", name="Đọc to"))
    assert said["lang"] == "vi-VN"
    assert said["text"].startswith(f"Hồ sơ {receipt['code']}. Tình trạng: Đã tiếp nhận. Hẹn trả kết quả: {due}.")
    assert "Bạn không cần làm gì thêm" in said["text"]
