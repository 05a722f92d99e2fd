"""Issued forms' PDFs are rendered by a worker after the step's commit (server/forms/rendering.py, issue 13 point 6).

The step (a phone's sync, a desk's action) takes the form's number and fixes its content; the worker renders the PDF
afterwards, once, whatever crashes or races; until then every page shows the form "being prepared" and its download
answers 503 with Retry-After.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from server.auth.models import Role
from server.dossiers.models import Attachment
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.services import apply_action
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.forms import pdf
from server.forms import rendering
from server.forms.issue import control_sheet
from server.forms.issue import issued_forms
from server.forms.issue import receipt_for_citizens
from server.privacy import records
from server.storage import backend
from server.types import utcnow
from tests.conftest import ON_POSTGRES
from tests.desk_support import synced_dossier
from tests.helpers import demo_user
from tests.helpers import in_threads
from tests.helpers import make_dossier
from tests.helpers import render_forms
from tests.helpers import sign_in


def _refuse_rendering(monkeypatch) -> list[str]:
    """Make any form's PDF rendered from now on fail loudly (every render goes through ``_new_document``); returns
    the list of the forms it was asked for."""
    calls = []

    def refuse(content):
        calls.append(content["form_key"])
        raise AssertionError(f"a {content['form_key']} PDF was rendered here")

    monkeypatch.setattr(pdf, "_new_document", refuse)
    return calls


def _refused_online_dossier() -> tuple[Dossier, DossierDocument]:
    """An online dossier refused at the desk: its refusal form (Mẫu 03) issued, its PDF not rendered yet."""
    dossier = make_dossier(State.ONLINE_SUBMITTED)
    staff = demo_user(Role.STAFF)
    apply_action(dossier, Action.REFUSE, staff, ActionRequest(staff.id, "staff", reason="Sai thẩm quyền"))
    db.session.commit()
    [refusal] = issued_forms(dossier, "refusal")
    return dossier, refusal


def _attachments(sha256: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Attachment).where(Attachment.sha256 == sha256))


def _expire_leases() -> None:
    """As if every lease had run out (a minute later)."""
    db.session.execute(update(DossierDocument).where(DossierDocument.render_lease_until.is_not(None))
                       .values(render_lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_the_sync_request_renders_no_pdf_and_the_worker_renders_it_after(app, monkeypatch):
    calls = _refuse_rendering(monkeypatch)
    dossier, _ = synced_dossier(app, follower=None)  # the PUT answered 201
    assert calls == []
    [receipt] = issued_forms(dossier, "receipt")
    # Numbered and written in the sync's transaction; only the PDF waits.
    assert receipt.pdf_pending and receipt.sha256 is None
    assert receipt.form_number == "1/TNHS" and receipt.form_content["number"] == "1/TNHS"
    assert rendering.pending_count() == 1
    # A pending form is no photographed paper: the digitisation statistics and the retention purge ignore it.
    assert receipt not in records.photo_documents(dossier) and dossier.photographed

    monkeypatch.undo()
    assert render_forms() == 1
    db.session.expire_all()
    assert not receipt.pdf_pending and rendering.pending_count() == 0
    data = backend().read(receipt.sha256)
    assert hashlib.sha256(data).hexdigest() == receipt.sha256 and data == pdf.render(receipt.form_content)
    assert db.session.get(Attachment, receipt.sha256).media_type == "application/pdf"
    assert render_forms() == 0  # nothing left


def test_a_desk_step_renders_no_pdf_either(app, client, monkeypatch):
    calls = _refuse_rendering(monkeypatch)
    dossier = make_dossier(State.ONLINE_SUBMITTED)
    token = sign_in(client, demo_user(Role.STAFF))
    response = client.post(f"/api/v1/dossiers/{dossier.id}/actions/refuse", json={"reason": "Sai thẩm quyền"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200 and calls == []
    [refusal] = issued_forms(dossier, "refusal")
    assert refusal.pdf_pending and refusal.form_number == "1/TCHS"


def test_the_desk_sees_being_prepared_until_the_worker_has_rendered(app, client):
    dossier, refusal = _refused_online_dossier()
    sign_in(client, demo_user(Role.STAFF))
    base = f"/staff/dossiers/{dossier.id}"

    page = client.get(base).get_data(as_text=True)
    assert 'data-state="being-prepared"' in page and "Đang chuẩn bị" in page
    assert "Giấy tờ đã xem, không chụp ảnh." not in page  # not taken for a paper without a photo
    listing = client.get(f"{base}/forms").get_data(as_text=True)
    assert 'data-state="being-prepared"' in listing and f"refusal.pdf?issued={refusal.id}" not in listing
    form = client.get(f"{base}/forms/refusal")  # the page is drawn from the content: there at once
    assert form.status_code == 200 and "Sai thẩm quyền" in form.get_data(as_text=True)
    assert 'id="pdf-state"' in form.get_data(as_text=True) and "refusal.pdf" not in form.get_data(as_text=True)

    download = client.get(f"{base}/forms/refusal.pdf")
    assert download.status_code == 503 and download.mimetype == "application/problem+json"
    assert download.headers["Retry-After"] == str(rendering.RETRY_AFTER_SECONDS)
    problem = download.get_json()
    assert problem["type"] == "urn:motcua:problem:form-being-prepared" and problem["title"] == "Đang chuẩn bị"
    client.set_cookie(app.config["LANGUAGE_COOKIE"], "en")
    english = client.get(f"{base}/forms/refusal.pdf?issued={refusal.id}").get_json()
    assert english["title"] == "Being prepared" and "being prepared" in english["detail"]
    assert client.get(f"{base}/forms/control_sheet.pdf").status_code == 200  # drawn now, as ever
    client.set_cookie(app.config["LANGUAGE_COOKIE"], "vi")

    assert render_forms() == 1
    db.session.expire_all()
    page = client.get(base).get_data(as_text=True)
    assert 'data-state="being-prepared"' not in page and f"/staff/attachments/{refusal.sha256}" in page
    assert f"refusal.pdf?issued={refusal.id}" in client.get(f"{base}/forms").get_data(as_text=True)
    download = client.get(f"{base}/forms/refusal.pdf")
    assert download.status_code == 200 and hashlib.sha256(download.get_data()).hexdigest() == refusal.sha256


def test_the_citizen_and_the_control_sheet_do_not_wait_for_the_pdf(app):
    dossier, _ = synced_dossier(app, follower=None)
    [receipt] = issued_forms(dossier, "receipt")
    assert receipt.pdf_pending
    shown = receipt_for_citizens(dossier)  # the receipt's words, from its content
    assert shown["number"] == "1/TNHS" and not any(b.get("label") == "Số điện thoại" for b in shown["blocks"])
    sheet = control_sheet(dossier)
    assert any(b.get("value") == "1/TNHS" for b in sheet["blocks"])


def test_a_retention_purge_leaves_a_pending_form_to_the_worker(app):
    dossier, _ = synced_dossier(app, follower=None)
    records.delete_photos(dossier, utcnow())
    db.session.commit()
    [receipt] = issued_forms(dossier, "receipt")
    assert receipt.pdf_pending and records.photo_documents(dossier) == []
    assert render_forms() == 1
    db.session.expire_all()
    assert backend().has(receipt.sha256)


def test_rendering_twice_gives_the_same_bytes_and_one_record(app):
    dossier, refusal = _refused_online_dossier()
    assert rendering.claim() == [refusal.id]
    assert rendering.render_one(refusal.id) is True
    db.session.expire_all()
    sha256 = refusal.sha256
    assert rendering.render_one(refusal.id) is False  # done already: nothing rendered nor recorded again
    assert pdf.render(refusal.form_content) == pdf.render(refusal.form_content) == backend().read(sha256)
    db.session.expire_all()
    assert refusal.sha256 == sha256 and refusal.render_lease_until is None and _attachments(sha256) == 1


def test_a_worker_that_dies_after_rendering_leaves_the_form_to_the_next(app, monkeypatch):
    dossier, refusal = _refused_online_dossier()
    # The worker claimed the form and rendered it, then died before recording (here: its store fails mid-way).
    def die(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(type(backend()), "put", die)
    assert rendering.claim() == [refusal.id]
    with pytest.raises(KeyboardInterrupt):
        rendering.render_one(refusal.id)
    db.session.rollback()
    monkeypatch.undo()
    assert rendering.render_pending() == 0  # its lease still holds: nobody renders it twice meanwhile
    _expire_leases()
    assert rendering.render_pending() == 1  # rendered again after the lease, the same bytes
    db.session.expire_all()
    assert refusal.sha256 == hashlib.sha256(pdf.render(refusal.form_content)).hexdigest()
    assert refusal.render_attempts == 2


def test_a_form_that_fails_to_render_backs_off_and_holds_up_no_other(app, monkeypatch):
    _, broken = _refused_online_dossier()
    _, fine = _refused_online_dossier()
    real = pdf._new_document

    def fail_for_the_first(content):
        if content["number"] == broken.form_number:
            raise ValueError("a bug in the layout")
        return real(content)

    monkeypatch.setattr(pdf, "_new_document", fail_for_the_first)
    before = utcnow()
    assert rendering.render_pending() == 1
    db.session.expire_all()
    assert not fine.pdf_pending and broken.pdf_pending
    assert broken.render_lease_until >= before + timedelta(seconds=rendering.FAILURE_BACKOFF_BASE_SECONDS // 2)
    assert rendering.render_pending() == 0  # not tried again at once
    monkeypatch.undo()
    _expire_leases()
    assert rendering.render_pending() == 1
    db.session.expire_all()
    assert not broken.pdf_pending and broken.render_attempts == 2


def test_a_late_worker_never_records_a_form_the_next_one_recorded(app):
    _, refusal = _refused_online_dossier()
    assert rendering.claim() == [refusal.id]  # the first worker, slow: its lease runs out
    _expire_leases()
    assert rendering.claim() == [refusal.id]  # the second worker takes it over
    assert rendering.render_one(refusal.id) is True
    db.session.expire_all()
    recorded = refusal.sha256
    # The first worker comes back with its render: the row is done, it records nothing.
    document = db.session.get(DossierDocument, refusal.id)
    assert rendering._record(document, recorded, backend().read(recorded)) is False
    db.session.expire_all()
    assert refusal.sha256 == recorded and _attachments(recorded) == 1


def test_the_worker_loop_renders_and_so_does_the_command(app, runner, monkeypatch):
    from server.push import keys
    from server.push import sender

    keys.init_keys(app)
    _refused_online_dossier()
    stop = threading.Event()

    def one_loop(self, limit=None):
        stop.set()  # run_worker checks the event after this loop
        return 0

    monkeypatch.setattr(sender.PushSender, "drain", one_loop)
    sender.run_worker(app, stop, poll_seconds=0)
    assert rendering.pending_count() == 0

    _refused_online_dossier()
    result = runner.invoke(args=["forms", "render-pending"])
    assert result.exit_code == 0 and "Rendered 1 forms; 0 still pending" in result.output
    db.session.remove()


def test_the_worker_loop_comes_back_at_once_while_a_backlog_waits(app, monkeypatch):
    """One batch per loop, so that notifications and the heartbeat are never held up by a backlog of forms; and no
    poll interval between full batches. With a poll of an hour, a loop that waited would never finish here."""
    from server.push import keys
    from server.push import sender

    keys.init_keys(app)
    app.config["FORMS_RENDER_BATCH_SIZE"] = 2
    for _ in range(5):
        _refused_online_dossier()
    stop, loops = threading.Event(), []

    def count_loops(self, limit=None):
        loops.append(rendering.pending_count())
        if len(loops) == 3:
            stop.set()  # the third loop renders the last form, then the loop ends
        return 0

    monkeypatch.setattr(sender.PushSender, "drain", count_loops)
    worker = threading.Thread(target=sender.run_worker, args=(app, stop, 3600))
    worker.start()
    worker.join(timeout=120)
    stop.set()
    assert not worker.is_alive() and loops == [5, 3, 1], loops
    assert rendering.pending_count() == 0


def test_two_workers_render_thirty_forms_once_each(app):
    forms = [_refused_online_dossier()[1].id for _ in range(30)]
    recorded = in_threads(app, lambda: rendering.render_pending(limit=4))
    assert len(recorded) == 2 and sum(recorded) == 30
    db.session.expire_all()
    done = db.session.scalars(select(DossierDocument).where(DossierDocument.id.in_(forms))).all()
    assert all(d.sha256 for d in done) and len({d.sha256 for d in done}) == 30
    assert db.session.scalar(select(func.count()).select_from(Attachment)
                             .where(Attachment.media_type == "application/pdf")) == 30


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks between two connections need PostgreSQL")
def test_a_claim_skips_the_forms_another_worker_is_claiming(app):
    forms = sorted(_refused_online_dossier()[1].id for _ in range(4))
    # Another worker's claim is under way: it holds the first two rows locked, not yet committed.
    other = db.engine.connect()
    held = other.begin()
    other.execute(text("SELECT id FROM dossier_document WHERE id IN (:a, :b) FOR UPDATE"),
                  {"a": forms[0], "b": forms[1]})
    try:
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))  # without SKIP LOCKED this claim would wait
        assert rendering.claim() == forms[2:]
    finally:
        held.rollback()
        other.close()
    assert rendering.claim() == forms[:2]
