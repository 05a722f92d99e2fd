"""Signed results (issue 15 point 5): the desk attaches the competent agency's PAdES-signed PDF, pyHanko's verdict
is recorded, the citizen downloads ``<code>-KQ<n>.pdf`` and the return step records which result was handed over.

PDFs are signed in the test session by a test certificate authority (tests/signing_support.py).
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.access_log.models import AccessEvent
from server.auth.models import AuditEvent
from server.auth.models import Role
from server.auth.models import User
from server.dossiers.models import Attachment
from server.dossiers.models import Dossier
from server.dossiers.models import DossierEvent
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from server.results.models import DossierResult
from server.results.validation import validate
from server.storage import backend
from server.types import utcnow
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import sign_in
from tests.signing_support import AGENCY
from tests.signing_support import SERIAL
from tests.signing_support import SIGNER
from tests.signing_support import result_pdf
from tests.signing_support import tampered

CODE = "H01.01-261207-0042"
RETURN = {"delivery_mode": "counter", "recipient_name": "Trần Thị Bình", "acknowledged": "yes"}


def desk_client(app, role: Role = Role.STAFF):
    client = app.test_client()
    return client, sign_in(client, demo_user(role))


def attach(client, token, dossier_id: int, data: bytes, title: str = "Quyết định trợ cấp xã hội hằng tháng",
           filename: str = "ket-qua.pdf", **fields):
    return client.post(f"/staff/dossiers/{dossier_id}/results",
                       data={"csrf_token": token, "title": title, "file": (io.BytesIO(data), filename), **fields},
                       content_type="multipart/form-data")


def results_of(dossier_id: int) -> list[DossierResult]:
    db.session.expire_all()
    return list(db.session.scalars(select(DossierResult).where(DossierResult.dossier_id == dossier_id)
                                   .order_by(DossierResult.number)))


def text(response) -> str:
    return response.get_data(as_text=True)


def citizen_following(dossier: Dossier, name: str = "Trần Thị Bình") -> User:
    citizen = User(role=Role.CITIZEN, display_name=name)
    db.session.add(citizen)
    db.session.flush()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    db.session.commit()
    return citizen


# --- the validation itself ------------------------------------------------------------------------------------


def test_a_signed_pdf_validates_with_its_signer_serial_time_and_trust(app, trusting):
    before = utcnow().replace(microsecond=0)
    signed = trusting.sign(result_pdf())
    check = validate(signed)
    assert check.verdict == "valid" and check.valid
    assert (check.intact, check.trusted, check.whole_document, check.signatures) == (True, True, True, 1)
    assert (check.signer_name, check.signer_organisation) == (SIGNER, AGENCY)
    assert check.certificate_serial == format(SERIAL, "X")
    assert "CA Chính phủ thử nghiệm" in check.certificate_issuer
    assert before - timedelta(seconds=1) <= check.signed_at <= utcnow()
    assert check.time_source == "signer"
    assert check.summary().startswith("verdict=valid; signatures=1; intact=yes; trusted=yes; whole_document=yes")


def test_a_timestamped_signature_takes_its_signing_time_from_the_time_stamping_authority(app, trusting):
    stamped_at = (utcnow() - timedelta(hours=5)).replace(microsecond=0)
    check = validate(trusting.sign(result_pdf(), timestamp_at=stamped_at))
    assert check.verdict == "valid"
    assert (check.signed_at, check.time_source) == (stamped_at, "timestamp")


def test_a_time_stamp_of_an_untrusted_authority_is_not_the_signing_time(app, trusting, stranger_authority):
    """Anyone can run a time-stamping authority: a back-dated stamp of an unknown one must not be shown as the
    time a provider vouched for."""
    back_dated = datetime(2020, 1, 1, tzinfo=UTC)
    check = validate(trusting.sign(result_pdf(), timestamp_at=back_dated, stamped_by=stranger_authority))
    assert check.verdict == "valid"  # the signature itself chains to the configured root
    assert check.time_source == "signer" and check.signed_at != back_dated
    assert "timestamp_untrusted" in check.problems


def test_one_byte_changed_after_signing_is_broken(app, trusting):
    check = validate(tampered(trusting.sign(result_pdf())))
    assert check.verdict == "broken" and not check.intact and not check.valid


def test_a_pdf_signed_by_an_unknown_ca_is_not_trusted(app, trusting, stranger_authority):
    check = validate(stranger_authority.sign(result_pdf()))
    assert check.verdict == "untrusted" and check.intact and not check.trusted
    assert "CA không được tin cậy" in check.certificate_issuer


def test_without_configured_roots_nothing_is_trusted_and_a_bad_setting_is_reported(app, authority, tmp_path):
    signed = authority.sign(result_pdf())
    app.config["SIGNATURE_TRUST_ROOTS"] = None
    assert validate(signed).verdict == "untrusted"
    app.config["SIGNATURE_TRUST_ROOTS"] = str(tmp_path / "missing.pem")
    check = validate(signed)
    assert check.verdict == "untrusted" and check.problems == ("trust_roots_unreadable",)
    app.config["SIGNATURE_TRUST_ROOTS"] = str(authority.root_pem(tmp_path).parent)  # a folder of PEM files
    assert validate(signed).verdict == "valid"


def test_an_incremental_update_after_signing_is_reported_as_modified(app, trusting):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signed = trusting.sign(result_pdf())
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref, _resources = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 50 700 Td (SUA) Tj ET"))
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)
    check = validate(out.getvalue())
    assert check.verdict == "modified" and check.intact and not check.whole_document
    assert check.later_changes == "other"


@pytest.mark.parametrize("hostile", ["not_pdf", "truncated", "garbage", "empty_pdf_header", "unsigned", "huge"])
def test_hostile_files_get_a_verdict_never_an_exception(app, trusting, hostile):
    signed = trusting.sign(result_pdf())
    data, expected = {
        "not_pdf": (b"\x89PNG\r\n\x1a\nnot a pdf", "not_pdf"),
        "truncated": (signed[: len(signed) // 2], "unreadable"),
        "garbage": (b"%PDF-1.7\n" + bytes(range(256)) * 40, "unreadable"),
        "empty_pdf_header": (b"%PDF-", "unreadable"),
        "unsigned": (result_pdf(), "unsigned"),
        "huge": (signed, "too_large"),
    }[hostile]
    if hostile == "huge":
        app.config["SIGNED_RESULT_MAX_BYTES"] = len(signed) - 1
    check = validate(data)
    assert check.verdict == expected and not check.valid


# --- the desk attaches ----------------------------------------------------------------------------------------


def test_the_desk_attaches_a_signed_result_stored_by_its_hash_with_the_verdict(app, trusting):
    dossier = make_dossier(State.RESOLVED, code=CODE)
    signed = trusting.sign(result_pdf())
    client, token = desk_client(app)
    response = attach(client, token, dossier.id, signed)
    assert response.status_code == 302 and response.headers["Location"].endswith("#results")
    [result] = results_of(dossier.id)
    digest = hashlib.sha256(signed).hexdigest()
    assert (result.number, result.sha256, result.title) == (1, digest, "Quyết định trợ cấp xã hội hằng tháng")
    assert result.signature_valid and result.unsigned_reason is None
    assert (result.signer_name, result.signer_organisation, result.certificate_serial) == \
        (SIGNER, AGENCY, format(SERIAL, "X"))
    assert result.signed_at is not None and result.validation_summary.startswith("verdict=valid")
    assert result.attached_by_id == demo_user(Role.STAFF).id
    assert db.session.get(Attachment, digest).media_type == "application/pdf"
    assert backend().read(digest) == signed
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "dossier_result_attached")) is not None
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    assert 'id="result-1" data-verdict="valid" data-signed="yes"' in page
    assert "Chữ ký số hợp lệ" in page and SIGNER in page and format(SERIAL, "X") in page
    # A second result is KQ2.
    assert attach(client, token, dossier.id, trusting.sign(result_pdf("GIAY CHUNG NHAN")),
                  title="Giấy chứng nhận").status_code == 302
    assert [r.number for r in results_of(dossier.id)] == [1, 2]


def test_an_unsigned_pdf_is_refused_without_the_mark_and_accepted_with_the_mark_and_a_reason(app, trusting):
    dossier = make_dossier(State.APPROVED, code=CODE)
    client, token = desk_client(app)
    unsigned = result_pdf()
    refused = attach(client, token, dossier.id, unsigned)
    assert refused.status_code == 422
    assert "Tệp không có chữ ký số. Chỉ nhận tệp này là kết quả chưa ký số" in text(refused)
    assert 'id="result-title" name="title" maxlength="300" value="Quyết định trợ cấp xã hội hằng tháng"' \
        in text(refused)
    no_reason = attach(client, token, dossier.id, unsigned, unsigned="yes", unsigned_reason="  ")
    assert no_reason.status_code == 422 and "Phải ghi lý do nhận kết quả chưa ký số hợp lệ." in text(no_reason)
    assert results_of(dossier.id) == []
    reason = "Sở Nội vụ gửi bản giấy; bản điện tử chưa ký số"
    accepted = attach(client, token, dossier.id, unsigned, unsigned="yes", unsigned_reason=reason)
    assert accepted.status_code == 302
    [result] = results_of(dossier.id)
    assert not result.signature_valid and result.unsigned_reason == reason and result.signer_name is None
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    assert 'id="result-1" data-verdict="unsigned" data-signed="no"' in page and reason in page


def test_a_broken_or_untrusted_signature_needs_the_mark_too(app, trusting, stranger_authority):
    dossier = make_dossier(State.RESOLVED, code=CODE)
    client, token = desk_client(app)
    broken = attach(client, token, dossier.id, tampered(trusting.sign(result_pdf())))
    assert broken.status_code == 422 and "Chữ ký số không hợp lệ" in text(broken)
    untrusted = attach(client, token, dossier.id, stranger_authority.sign(result_pdf()))
    assert untrusted.status_code == 422 and "không thuộc tổ chức chứng thực tin cậy" in text(untrusted)
    assert results_of(dossier.id) == []
    assert attach(client, token, dossier.id, stranger_authority.sign(result_pdf()), unsigned="yes",
                  unsigned_reason="Chứng thư của nhà cung cấp chưa được cấu hình").status_code == 302
    [result] = results_of(dossier.id)
    assert not result.signature_valid and result.signer_name == SIGNER
    assert "verdict=untrusted" in result.validation_summary
    assert 'data-verdict="untrusted"' in text(client.get(f"/staff/dossiers/{dossier.id}"))


@pytest.mark.parametrize(("data", "message"), [
    (b"MZ\x90\x00 not a pdf at all", "Tệp không phải PDF."),
    (b"%PDF-1.4\n" + b"\x00" * 500, "Không đọc được tệp PDF: tệp bị hỏng hoặc không trọn vẹn."),
    (b"", "Chọn tệp PDF kết quả đã ký số."),
])
def test_what_is_not_a_readable_pdf_is_422_even_with_the_mark(app, trusting, data, message):
    dossier = make_dossier(State.RESOLVED, code=CODE)
    client, token = desk_client(app)
    response = attach(client, token, dossier.id, data, unsigned="yes", unsigned_reason="thử")
    assert response.status_code == 422 and message in text(response)
    assert results_of(dossier.id) == []


def test_too_large_title_missing_wrong_state_no_csrf_and_another_ward(app, trusting):
    signed = trusting.sign(result_pdf())
    client, token = desk_client(app)
    dossier = make_dossier(State.RESOLVED, code=CODE)
    app.config["SIGNED_RESULT_MAX_BYTES"] = 1000
    too_large = attach(client, token, dossier.id, signed)
    assert too_large.status_code == 422 and "Tệp quá lớn" in text(too_large)
    app.config["SIGNED_RESULT_MAX_BYTES"] = 10_000_000
    untitled = attach(client, token, dossier.id, signed, title=" ")
    assert untitled.status_code == 422 and "Phải ghi tên kết quả" in text(untitled)
    early = make_dossier(State.IN_PROCESS, code="H01.01-261207-0043")
    refused = attach(client, token, early.id, signed)
    assert refused.status_code == 409 and "Chỉ đính kèm kết quả khi hồ sơ đã được phê duyệt" in text(refused)
    no_csrf = client.post(f"/staff/dossiers/{dossier.id}/results", content_type="multipart/form-data",
                          data={"title": "KQ", "file": (io.BytesIO(signed), "kq.pdf")})
    assert no_csrf.status_code == 400
    citizen = app.test_client()
    citizen_token = sign_in(citizen, citizen_following(dossier))
    assert attach(citizen, citizen_token, dossier.id, signed).status_code == 403
    assert results_of(dossier.id) == [] and results_of(early.id) == []


# --- the citizen downloads ------------------------------------------------------------------------------------


def test_the_citizen_downloads_code_kq1_with_the_exact_bytes_and_a_stranger_gets_404(app, trusting):
    dossier = make_dossier(State.RESOLVED, code=CODE)
    owner = citizen_following(dossier)
    signed = trusting.sign(result_pdf())
    client, token = desk_client(app)
    assert attach(client, token, dossier.id, signed).status_code == 302
    citizen = app.test_client()
    sign_in(citizen, owner)
    page = text(citizen.get(f"/my/dossiers/{dossier.id}"))
    assert f"{CODE}-KQ1.pdf" in page and f"Đã ký số bởi {SIGNER} — {AGENCY} lúc" in page
    with citizen.get(f"/my/dossiers/{dossier.id}/results/1") as download:  # a streamed file: closed when read
        assert download.status_code == 200 and download.data == signed
        assert download.headers["Content-Type"] == "application/pdf"
        assert download.headers["Content-Disposition"] == f"attachment; filename={CODE}-KQ1.pdf"
        assert download.headers["Cache-Control"] == "private, no-store"
    read = db.session.scalar(select(AccessEvent).where(AccessEvent.kind == "result",
                                                       AccessEvent.user_id == owner.id))
    assert read is not None and read.dossier_id == dossier.id and read.person_id == dossier.owner_id
    assert citizen.get(f"/my/dossiers/{dossier.id}/results/2").status_code == 404
    stranger = app.test_client()
    sign_in(stranger, _stranger())
    assert stranger.get(f"/my/dossiers/{dossier.id}/results/1").status_code == 404
    # The desk reads it too, recorded the same way.
    with client.get(f"/staff/dossiers/{dossier.id}/results/1") as desk_copy:
        assert desk_copy.data == signed
    assert db.session.scalar(select(AccessEvent).where(AccessEvent.kind == "result",
                                                       AccessEvent.user_id == demo_user(Role.STAFF).id)) is not None


def _stranger() -> User:
    user = User(role=Role.CITIZEN, display_name="Người lạ")
    db.session.add(user)
    db.session.commit()
    return user


def test_an_unsigned_result_shows_chua_ky_so_with_the_reason_and_none_before_the_result_is_at_the_desk(app):
    dossier = make_dossier(State.APPROVED, code=CODE)
    owner = citizen_following(dossier)
    client, token = desk_client(app)
    reason = "Bản điện tử chưa được ký số"
    assert attach(client, token, dossier.id, result_pdf(), unsigned="yes", unsigned_reason=reason).status_code == 302
    citizen = app.test_client()
    sign_in(citizen, owner)
    assert "KQ1" not in text(citizen.get(f"/my/dossiers/{dossier.id}"))  # approved: not yet at the one-stop
    assert citizen.get(f"/my/dossiers/{dossier.id}/results/1").status_code == 404
    dossier = db.session.get(Dossier, dossier.id)
    dossier.state = State.RESOLVED
    db.session.commit()
    page = text(citizen.get(f"/my/dossiers/{dossier.id}"))
    assert f"<strong>Chưa ký số</strong>: {reason}" in page and f"{CODE}-KQ1.pdf" in page


# --- the return step ------------------------------------------------------------------------------------------


def test_the_return_step_records_which_result_was_handed_over(app, trusting):
    dossier = make_dossier(State.RESOLVED, code=CODE, due_at=utcnow() + timedelta(days=3))
    client, token = desk_client(app)
    for title, text_on_page in (("Quyết định", "QUYET DINH"), ("Thông báo", "THONG BAO")):
        assert attach(client, token, dossier.id, trusting.sign(result_pdf(text_on_page)), title=title).status_code \
            == 302
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    assert 'name="result_numbers" value="1" id="return_result-result_numbers-1" checked' in page
    unknown = client.post(f"/staff/dossiers/{dossier.id}/actions/return_result",
                          data={"csrf_token": token, **RETURN, "result_numbers": ["1", "7"]})
    assert unknown.status_code == 422 and "Hồ sơ không có kết quả KQ7" in text(unknown)
    junk = client.post(f"/staff/dossiers/{dossier.id}/actions/return_result",
                       data={"csrf_token": token, **RETURN, "result_numbers": ["1; DROP"]})
    assert junk.status_code == 422 and "Số thứ tự kết quả không hợp lệ." in text(junk)
    superscript = client.post(f"/staff/dossiers/{dossier.id}/actions/return_result",  # a digit to isdigit, not int
                              data={"csrf_token": token, **RETURN, "result_numbers": ["²"]})
    assert superscript.status_code == 422 and "Số thứ tự kết quả không hợp lệ." in text(superscript)
    assert db.session.get(Dossier, dossier.id).state is State.RESOLVED
    done = client.post(f"/staff/dossiers/{dossier.id}/actions/return_result",
                       data={"csrf_token": token, **RETURN, "result_numbers": ["1"]})
    assert done.status_code == 302
    db.session.expire_all()
    event = db.session.scalar(select(DossierEvent).where(DossierEvent.dossier_id == dossier.id,
                                                         DossierEvent.action == "return_result"))
    assert event.data["results"] == [1] and event.data["recipient_name"] == "Trần Thị Bình"
    first, second = results_of(dossier.id)
    assert first.handed_over_at == event.occurred_at and second.handed_over_at is None


def test_the_api_refuses_an_unknown_result_number_with_a_422_problem(app, trusting):
    dossier = make_dossier(State.RESOLVED, code=CODE, due_at=utcnow() + timedelta(days=3))
    client, token = desk_client(app)
    assert attach(client, token, dossier.id, trusting.sign(result_pdf())).status_code == 302
    body = {"delivery_mode": "counter", "recipient_name": "Trần Thị Bình", "acknowledged": True}
    for numbers, status in (([2], 422), (["1"], 400), ([0], 400)):
        response = client.post(f"/api/v1/dossiers/{dossier.id}/actions/return_result",
                               json={**body, "result_numbers": numbers}, headers={"X-CSRFToken": token})
        assert response.status_code == status, response.get_json()
        assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = client.post(f"/api/v1/dossiers/{dossier.id}/actions/return_result",
                          json={**body, "result_numbers": [2]}, headers={"X-CSRFToken": token}).get_json()
    assert "KQ2" in str(problem)
    ok = client.post(f"/api/v1/dossiers/{dossier.id}/actions/return_result", json={**body, "result_numbers": [1]},
                     headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.get_json()["state"] == "returned"
    [result] = results_of(dossier.id)
    assert result.handed_over_at is not None


def test_a_body_above_the_request_limit_is_refused_with_413_not_a_500(app, trusting):
    dossier = make_dossier(State.RESOLVED, code=CODE)
    client, token = desk_client(app)
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = attach(client, token, dossier.id, trusting.sign(result_pdf()))
    assert response.status_code == 413
    assert results_of(dossier.id) == []
