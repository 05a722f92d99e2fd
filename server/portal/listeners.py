"""The national portal listens to the dossier core: a step the portal must hear about queues its message, in the
step's own transaction (the transactional outbox; server/portal/sender.py posts it after the commit, in order per
dossier). Messages queue whether or not a portal is configured, so that turning it on later sends the backlog."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select

from server.dossiers import signals
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.extensions import db
from server.portal import messages
from server.portal.models import PortalMessage


def settings_from_config() -> messages.Settings:
    config = current_app.config
    return messages.Settings(date_format=config["PORTAL_DATE_FORMAT"],
                             channel_codes=config["PORTAL_CHANNEL_CODES"] or None)


def view_of(dossier: Dossier) -> messages.DossierView:
    """What the messages say about ``dossier``, read now (the step's changes are in it)."""
    # The receipt (Mẫu 01) is issued by the forms' listener in the same step; autoflush makes it visible here.
    receipt = db.session.scalar(
        select(DossierDocument).where(DossierDocument.dossier_id == dossier.id, DossierDocument.form_key == "receipt")
        .order_by(DossierDocument.id).limit(1))
    return messages.DossierView(
        code=dossier.code,
        national_procedure_code=dossier.procedure_version.procedure.national_code,
        receipt_number=receipt.form_number if receipt is not None else None,
        owner_name=dossier.owner.full_name,
        owner_personal_id=dossier.owner.personal_id,
        channel=dossier.channel.value,
        received_at=dossier.device_received_at,
        due_at=dossier.due_at,
        returned_at=dossier.returned_at,
        finished_at=dossier.processing_finished_at,
        receiving_agency_code=dossier.receiving_agency.agency_code,
        deciding_agency_code=dossier.deciding_agency.agency_code,
        holder_agency_code=dossier.holder_agency.agency_code if dossier.holder_agency is not None else None,
    )


@signals.transitioned.connect
def queue_portal_message(dossier, *, action, from_state, to_state, event, actor=None, **_kwargs) -> None:
    last_seq = db.session.scalar(select(func.max(PortalMessage.seq)).where(PortalMessage.dossier_id == dossier.id))
    step = messages.StepView(action=action, from_state=from_state, to_state=to_state, at=event.occurred_at,
                             actor_name=actor.display_name if actor is not None else None)
    made = messages.message_for(view_of(dossier), step, already_synced=last_seq is not None,
                                settings=settings_from_config())
    if made is None:
        return
    portal_action, status, body = made
    db.session.add(PortalMessage(dossier_id=dossier.id, seq=(last_seq or 0) + 1, action=portal_action,
                                 national_status=status, payload=body))
    db.session.flush()
