"""Doorstep onboarding and the citizen's own pages: the receipt's claim token, followers, the dossier page, rating."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.citizen import claims
from server.dossiers.models import Dossier
from server.dossiers.models import DossierClaim
from server.dossiers.models import DossierFollower
from server.dossiers.models import DossierRating
from server.dossiers.models import FollowRole
from server.dossiers.services import ActionRequest
from server.dossiers.services import apply_action
from server.dossiers.workflow import Action
from server.dossiers.workflow import State
from server.extensions import db
from server.forms.issue import issued_forms
from server.push.models import InboxMessage
from server.push.notify import notify_dossier
from server.types import utcnow
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import sign_in
from tests.softauthn import SoftAuthenticator
from tests.test_auth_api import CITIZEN
from tests.test_auth_api import register
from tests.test_auth_api import write
from tests.test_sync_api import captured
from tests.test_sync_api import officer_client
from tests.test_sync_api import put
from tests.test_sync_api import reserve

TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _synced_with_token(app, token=TOKEN):
    """A dossier sent by the officer's phone with the hash of the receipt's claim token, as the PWA sends it."""
    client, csrf = officer_client(app)
    block = reserve(client, csrf)
    body = captured(block["first_code"], [], claim_token_sha256=_sha(token))
    response = put(client, csrf, f"/api/v1/dossiers/{uuid.uuid4()}", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _citizen(name="Trần Thị Mai") -> User:
    user = User(role=Role.CITIZEN, display_name=name)
    db.session.add(user)
    db.session.commit()
    return user


def test_the_phone_sends_only_the_hash_and_the_server_keeps_an_expiring_single_use_claim(app):
    code = _synced_with_token(app)
    claim = db.session.scalar(select(DossierClaim))
    assert claim.token_sha256 == _sha(TOKEN) and claim.role is FollowRole.OWNER
    assert claim.dossier.code == code and claim.used_at is None
    days = (claim.expires_at - utcnow()).total_seconds() / 86400
    assert app.config["CLAIM_TOKEN_DAYS"] - 1 < days <= app.config["CLAIM_TOKEN_DAYS"]
    # Another dossier carrying the same hash is refused with a clear reason, not a 500.
    client, csrf = officer_client(app)
    block = reserve(client, csrf)
    next_code = re.sub(r"\d+$", lambda m: str(int(m.group()) + 1).zfill(len(m.group())), code)
    assert block["first"] < block["last"]
    again = put(client, csrf, f"/api/v1/dossiers/{uuid.uuid4()}",
                json=captured(next_code, [], claim_token_sha256=_sha(TOKEN)))
    assert again.status_code == 422 and again.get_json()["errors"][0]["field"] == "claim_token_sha256"


def test_the_qr_address_shows_the_status_without_digits_and_offers_an_account(app, client):
    code = _synced_with_token(app)
    response = client.get(f"/follow/{code}?t={TOKEN}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Đã tiếp nhận" in page and 'name="digits"' not in page
    assert f"/register?claim={TOKEN}" in page and "Thêm vào MH chính" in page
    assert "Trần Văn Phúc" not in page and "001045012345" not in page  # no personal data on a public page
    unknown = client.get(f"/follow/{code}?t={'Z' * 26}")
    assert unknown.status_code == 404 and "chưa có trên hệ thống" in unknown.get_data(as_text=True)
    assert "Đã tiếp nhận" not in unknown.get_data(as_text=True)


def test_a_signed_in_citizen_claims_once_and_a_second_use_is_refused(app, client):
    code = _synced_with_token(app)
    mai = _citizen()
    sign_in(client, mai)
    page = client.get(f"/follow/{code}?t={TOKEN}").get_data(as_text=True)
    response = client.post(f"/follow/{code}/claim", data={"t": TOKEN, "csrf_token": _csrf(page)})
    assert response.status_code == 302 and "/my/dossiers/" in response.headers["Location"]
    follower = db.session.scalar(select(DossierFollower).where(DossierFollower.user_id == mai.id))
    assert follower.role is FollowRole.OWNER
    # The claimed follower now lands on the dossier's page from the QR or a notification link.
    assert client.get(f"/follow/{code}").status_code == 302
    other = _citizen("Người khác")
    sign_in(client, other)
    page = client.get(f"/follow/{code}?t={TOKEN}").get_data(as_text=True)
    second = client.post(f"/follow/{code}/claim", data={"t": TOKEN, "csrf_token": _csrf(page)})
    assert second.status_code == 409 and "đã được dùng" in second.get_data(as_text=True)
    assert db.session.scalar(select(DossierFollower).where(DossierFollower.user_id == other.id)) is None
    # Without the CSRF token the claim is refused.
    assert client.post(f"/follow/{code}/claim", data={"t": TOKEN}).status_code == 400


def test_an_expired_token_says_so(app, client):
    code = _synced_with_token(app)
    claim = db.session.scalar(select(DossierClaim))
    claim.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/follow/{code}?t={TOKEN}")
    assert response.status_code == 410 and "hết hạn" in response.get_data(as_text=True)


def test_registering_from_the_qr_code_follows_the_dossier_in_the_same_transaction(app, client):
    code = _synced_with_token(app)
    relative = dict(CITIZEN, full_name="Trần Thị Mai", phone="0987654321")
    response = register(client, SoftAuthenticator(), {"citizen": relative, "claim_token": TOKEN.lower()})
    assert response.status_code == 201, response.get_json()
    user = db.session.get(User, response.get_json()["user"]["id"])
    follower = db.session.scalar(select(DossierFollower).where(DossierFollower.user_id == user.id))
    assert follower.role is FollowRole.OWNER and follower.dossier.code == code
    assert response.get_json()["redirect"] == f"/my/dossiers/{follower.dossier_id}?claimed=1"
    page = client.get(response.get_json()["redirect"]).get_data(as_text=True)
    assert code in page and "Hồ sơ đã được liên kết" in page
    # The token is spent: registering again with it is refused before any passkey is made.
    write(client, "POST", "/api/v1/auth/logout")
    again = write(client, "POST", "/api/v1/auth/register/options",
                  {"citizen": dict(CITIZEN, phone="0912000111"), "claim_token": TOKEN})
    assert again.status_code == 409 and again.get_json()["errors"][0]["field"] == "claim_token"


def test_registering_with_an_id_on_record_neither_reveals_it_nor_links_without_the_receipt(app, client):
    code = _synced_with_token(app)
    owner = dict(CITIZEN, full_name="Trần Văn Phúc", personal_id="001045012345")
    unknown_id = dict(owner, personal_id="001045099999")
    # The same answer whether or not the ID is on record: no oracle.
    on_record = write(client, "POST", "/api/v1/auth/register/options", {"citizen": owner})
    not_on_record = write(client, "POST", "/api/v1/auth/register/options", {"citizen": unknown_id})
    assert on_record.status_code == not_on_record.status_code == 200
    # With the receipt's token the account follows the dossier as its owner, but keeps its own person record
    # (what the citizen declared) and an unverified identity: the dossier keeps what the officer captured.
    response = register(client, SoftAuthenticator(), {"citizen": owner, "claim_token": TOKEN})
    assert response.status_code == 201, response.get_json()
    user = db.session.get(User, response.get_json()["user"]["id"])
    claim = db.session.scalar(select(DossierClaim))
    follower = db.session.scalar(select(DossierFollower).where(DossierFollower.user_id == user.id))
    assert follower.role is FollowRole.OWNER and follower.dossier.code == code
    assert user.person_id != claim.dossier.owner_id and user.identity_verified_at is None


@pytest.fixture
def owned(app):
    """A dossier whose owner account (claimed) is signed in on ``client``."""
    dossier = make_dossier(State.RECEIVED, code="000.20.26.H26-261127-0007")
    mai = _citizen()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=mai.id, role=FollowRole.OWNER))
    db.session.commit()
    return dossier, mai


def test_the_owner_invites_a_relative_who_follows_then_is_removed(app, client, owned):
    dossier, mai = owned
    sign_in(client, mai)
    page = client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)
    invited = client.post(f"/my/dossiers/{dossier.id}/followers", data={"csrf_token": _csrf(page)})
    assert invited.status_code == 201
    shown = re.search(r'id="invitation-code">([A-Z2-7-]+)<', invited.get_data(as_text=True)).group(1)
    assert len(shown) == 19  # four groups of four and three dashes
    assert db.session.scalar(select(DossierClaim).where(DossierClaim.role == FollowRole.FOLLOWER)).token_sha256 \
        == _sha(shown.replace("-", ""))

    son = _citizen("Trần Văn Nam")
    sign_in(client, son)
    page = client.get("/my/dossiers").get_data(as_text=True)
    typed = shown.lower().replace("-", " ")  # read aloud and typed loosely
    joined = client.post("/my/claim", data={"code": typed, "csrf_token": _csrf(page)})
    assert joined.status_code == 302
    assert dossier.code in client.get("/my/dossiers").get_data(as_text=True)
    # A follower reads, is notified, but may not invite.
    page = client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Mời người thân theo dõi" not in page
    csrf = _csrf(client.get("/my/dossiers").get_data(as_text=True))
    assert client.post(f"/my/dossiers/{dossier.id}/followers", data={"csrf_token": csrf}).status_code == 403
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == son.id)) is not None

    sign_in(client, mai)
    page = client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Trần Văn Nam" in page
    row = db.session.scalar(select(DossierFollower).where(DossierFollower.user_id == son.id))
    removed = client.post(f"/my/dossiers/{dossier.id}/followers/{row.id}/remove", data={"csrf_token": _csrf(page)})
    assert removed.status_code == 302
    sign_in(client, son)
    assert client.get(f"/my/dossiers/{dossier.id}").status_code == 404
    assert dossier.code not in client.get("/my/dossiers").get_data(as_text=True)


def test_a_dossier_page_is_404_for_anyone_else(app, client, owned):
    dossier, _mai = owned
    sign_in(client, _citizen("Người lạ"))
    assert client.get(f"/my/dossiers/{dossier.id}").status_code == 404
    assert client.get(f"/my/dossiers/{dossier.id + 1000}").status_code == 404
    sign_in(client, demo_user(Role.STAFF))
    assert client.get(f"/my/dossiers/{dossier.id}").status_code == 403
    write(client, "POST", "/api/v1/auth/logout")
    assert client.get("/my/dossiers").status_code == 302  # to the sign-in page


def test_the_page_shows_the_timeline_the_due_date_and_what_is_asked(app, client, owned):
    dossier, mai = owned
    staff = demo_user(Role.STAFF)
    apply_action(dossier, Action.TRANSFER, staff, ActionRequest(actor_id=staff.id, actor_role="staff"))
    apply_action(dossier, Action.REQUEST_SUPPLEMENT, staff, ActionRequest(
        actor_id=staff.id, actor_role="staff", reason="Giấy xác nhận khuyết tật đã hết hạn",
        items=("Giấy xác nhận mức độ khuyết tật còn hiệu lực",)))
    db.session.commit()
    sign_in(client, mai)
    page = client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)
    asked = page[page.index('id="asked"'):page.index('id="timeline-title"')]
    assert "Giấy xác nhận mức độ khuyết tật còn hiệu lực" in asked and "đã hết hạn" in asked
    assert "Chờ bổ sung hồ sơ" in page
    timeline = page[page.index('id="timeline"'):]
    assert timeline.index("Chờ bổ sung hồ sơ") > 0
    # Opening the page marks its notifications read.
    assert db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == mai.id,
                                                        InboxMessage.read_at.is_(None))) is None


def test_rating_after_the_result_is_returned(app, client, owned):
    dossier, mai = owned
    sign_in(client, mai)
    assert client.get(f"/my/dossiers/{dossier.id}/rating").status_code == 302  # not returned yet
    dossier.state = State.RETURNED
    db.session.commit()
    page = client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Đánh giá mức độ hài lòng" in page
    form = client.get(f"/my/dossiers/{dossier.id}/rating").get_data(as_text=True)
    assert "Thái độ của cán bộ" in form
    missing = client.post(f"/my/dossiers/{dossier.id}/rating", data={"csrf_token": _csrf(form), "comment": "x"})
    assert missing.status_code == 422 and "Hãy chọn một mức." in missing.get_data(as_text=True)
    rated = client.post(f"/my/dossiers/{dossier.id}/rating", data={
        "csrf_token": _csrf(form), "level": "not_satisfied", "criterion_attitude": "yes",
        "criterion_timeliness": "no", "criterion_transparency": "maybe", "comment": "Cán bộ nhiệt tình nhưng chậm"})
    assert rated.status_code == 302
    rating = db.session.scalar(select(DossierRating))
    assert rating.level.value == "not_satisfied" and rating.criteria == {"attitude": True, "timeliness": False}
    assert rating.comment == "Cán bộ nhiệt tình nhưng chậm" and rating.user_id == mai.id
    # Only one rating per dossier; the form is not offered again.
    assert client.get(f"/my/dossiers/{dossier.id}/rating").status_code == 302
    assert "Không hài lòng" in client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)


def test_token_helpers():
    assert claims.normalise(" abcd-efgh ") == "ABCDEFGH"
    assert claims.looks_like_token("A" * 16) and claims.looks_like_token("A" * 26)
    assert not claims.looks_like_token("A" * 15) and not claims.looks_like_token("0" * 20)  # 0 is not base32
    assert len(claims.new_token(26)) == 26 and claims.group("ABCDEFGH") == "ABCD-EFGH"


def test_the_citizen_pages_speak_english_too(app, client, owned):
    dossier, mai = owned
    sign_in(client, mai)
    client.get("/language/en")
    page = client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Relatives following this dossier" in page and "Invite a relative to follow" in page
    assert "Người thân cùng theo dõi" not in page
    assert "Follow a relative" in client.get("/my/dossiers").get_data(as_text=True)


def test_the_citizens_page_shows_the_receipt_as_issued_without_the_contact_fields(app, client):
    """Issue 11 point 2: the receipt on /my/dossiers/<id> is Mẫu 01 word for word (the issued form's content, which
    the PDF is drawn from), less the submitter's address and phone; its number is the one the phone was told."""
    officer, csrf = officer_client(app)
    block = reserve(officer, csrf)
    synced = put(officer, csrf, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(block["first_code"], []))
    assert synced.status_code == 201
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == synced.get_json()["code"]))
    [form] = issued_forms(dossier, "receipt")
    assert synced.get_json()["receipt_number"] == form.form_number
    mai = _citizen()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=mai.id, role=FollowRole.OWNER))
    db.session.commit()

    sign_in(client, mai)
    page = client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)
    paper = page[page.index('id="receipt-paper"'):page.index("</article>", page.index('id="receipt-paper"'))]
    shown = re.findall(r"<p><strong>([^<]+):</strong> ([^<]*)</p>", paper)
    issued = [(b["label"], b["value"]) for b in form.form_content["blocks"] if b["type"] == "field"]
    assert shown == [(label, value) for label, value in issued if label not in ("Địa chỉ", "Số điện thoại")]
    assert {"Mã hồ sơ", "Nội dung yêu cầu giải quyết", "3. Thời gian giải quyết hồ sơ theo quy định là",
            "4. Thời gian nhận hồ sơ", "5. Thời gian trả kết quả giải quyết hồ sơ"} <= {label for label, _ in shown}
    assert f"Số: {form.form_number}" in paper
    assert "0912" not in paper and "0987" not in paper
    client.get("/language/en")
    english = client.get(f"/my/dossiers/{dossier.id}").get_data(as_text=True)
    assert re.search(r'<article class="form-paper" lang="vi" id="receipt-paper"', english)
