"""Issuing a statutory form at the step of a dossier's life that calls for it, in the step's own transaction.

The form is numbered and its content fixed here, and it is listed among the dossier's documents with its form,
circular, number and content. A rolled-back step leaves no form and gives its number back. Its PDF is rendered after
the commit by a worker (server/forms/rendering.py) and stored by its SHA-256 like any attachment
(server/dossiers/attachments.py); until then the document has no sha256 and the desk sees it "being prepared".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from server.auth.models import User
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.models import DossierEvent
from server.extensions import db
from server.forms import content as contents
from server.forms.catalogue import spec_for
from server.forms.numbering import take_number
from server.interagency import services as interagency
from server.types import utcnow

log = logging.getLogger(__name__)

#: The form each step issues (DOMAIN.md §1.4): the supplementation request both at reception and in processing.
FORM_OF_ACTION = {
    "receive": "receipt",
    "guide_supplement": "supplement_request",
    "request_supplement": "supplement_request",
    "refuse": "refusal",
    "extend": "apology",
    "stop": "stop_notice",
}


def _received_day(dossier: Dossier, fallback: datetime):
    # A refused or guided dossier was never received: the day of the step decides its circular.
    return to_local(dossier.device_received_at or fallback).date()


def issue_for_event(dossier: Dossier, event: DossierEvent, actor: User | None,
                    provided_document_ids: Iterable[int] | None = None,
                    handed_over: dict[int, tuple[int, bool]] | None = None) -> DossierDocument | None:
    """Issue the form of ``event``'s step, if it has one; returns the stored document or None.

    :param provided_document_ids: the required documents handed over, for the receipt (a dossier synced from a
        phone gets its document rows after it is received); by default those already among its documents.
    :param handed_over: for the receipt, how each was handed over: required document id → (photos, original
        sighted); by default read from its documents.
    """
    from server.dossiers.services import receipt_slip_required

    form_key = FORM_OF_ACTION.get(event.action)
    if form_key is None:
        return None
    if form_key == "receipt" and not receipt_slip_required(dossier.procedure_version,
                                                           dossier.citizen_requested_receipt):
        return None
    issued_at = event.occurred_at
    spec = spec_for(form_key, _received_day(dossier, issued_at), to_local(issued_at).date())
    if spec is None:
        log.warning("Dossier %s: no %s form in force for its dates; none issued", dossier.id, form_key)
        return None
    year = to_local(issued_at).year
    seq = take_number(dossier.agency_id, spec.series, year)
    number = f"{seq}/{spec.series}"
    if form_key == "receipt":
        ids = set(provided_document_ids if provided_document_ids is not None
                  else (d.required_document_id for d in dossier.documents))
        if handed_over is None:
            handed_over = _handed_over(dossier)
        provided = [d for d in dossier.procedure_version.required_documents if d.id in ids]
        content = contents.receipt(spec, dossier, number, issued_at, actor, provided, handed_over)
    else:
        builder = getattr(contents, form_key)
        content = builder(spec, dossier, number, issued_at, actor, event)
    document = _store(dossier, form_key, content, actor, issued_at)
    document.form_circular = spec.circular_key
    document.form_agency_id, document.form_series, document.form_year, document.form_seq = (
        dossier.agency_id, spec.series, year, seq)
    db.session.flush()
    log.info("Dossier %s: %s %s issued (%s), its PDF to be rendered", dossier.id, form_key, number, spec.circular_key)
    return document


def _handed_over(dossier: Dossier) -> dict[int, tuple[int, bool]]:
    """How the dossier's papers were handed over, from its document rows: photos per paper, original sighted."""
    found: dict[int, tuple[int, bool]] = {}
    for document in dossier.documents:
        if document.required_document_id is None or document.form_key is not None:
            continue
        photos, sighted = found.get(document.required_document_id, (0, False))
        found[document.required_document_id] = (photos + (1 if document.sha256 else 0),
                                                sighted or document.sighted_original)
    return found


def _store(dossier: Dossier, form_key: str, content: dict, actor: User | None,
           issued_at: datetime) -> DossierDocument:
    # No PDF yet (sha256 empty): the worker renders it from ``form_content`` after the commit. form_key from the
    # start: a flush must never see this form as a paper the citizen brought (Dossier.photographed).
    document = DossierDocument(dossier=dossier, name=f"{content['label']} (Số: {content['number']})", sha256=None,
                               form_key=form_key, captured_at=issued_at, captured_by_id=actor.id if actor else None,
                               form_content=content)
    db.session.add(document)
    return document


def issued_forms(dossier: Dossier, form_key: str | None = None) -> list[DossierDocument]:
    """The forms issued for ``dossier`` (of ``form_key`` only, if given), oldest first."""
    query = select(DossierDocument).where(DossierDocument.dossier_id == dossier.id,
                                          DossierDocument.form_key.is_not(None))
    if form_key is not None:
        query = query.where(DossierDocument.form_key == form_key)
    return list(db.session.scalars(query.order_by(DossierDocument.id)))


#: The receipt's fields a citizen's page leaves out: its followers (relatives the owner invited) need the dossier,
#: not the submitter's address and phone number. The issued PDF keeps them.
CONTACT_FIELDS = frozenset({"Địa chỉ", "Số điện thoại"})


def receipt_for_citizens(dossier: Dossier) -> dict | None:
    """The receipt (Mẫu 01) as it was issued, word for word, without the contact fields; None before it is issued."""
    receipts = issued_forms(dossier, "receipt")
    if not receipts or not receipts[0].form_content:
        return None
    content = dict(receipts[0].form_content)
    content["blocks"] = [block for block in content["blocks"]
                         if not (block["type"] == "field" and block["label"] in CONTACT_FIELDS)]
    return content


def control_sheet(dossier: Dossier, now: datetime | None = None) -> dict | None:
    """The control sheet's content as of ``now``, built from the dossier's history (never stored: it grows)."""
    now = now or utcnow()
    spec = spec_for("control_sheet", _received_day(dossier, now), to_local(now).date())
    if spec is None:
        return None
    receipts = issued_forms(dossier, "receipt")
    actor_ids = {e.actor_id for e in dossier.events if e.actor_id}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
    chain = None
    if interagency.is_chained(dossier):
        handovers = interagency.handovers_of(dossier)
        actor_ids = {h.recorded_by_id for h in handovers if h.recorded_by_id} - set(actors)
        actors.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))})
        chain = contents.ChainOnSheet(interagency.steps_of(dossier), handovers,
                                      interagency.competent_agency(dossier))
    return contents.control_sheet(spec, dossier, now, receipts[-1].form_number if receipts else None, actors,
                                  chain)
