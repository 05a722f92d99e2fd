"""Procedures and their dated versions, as administrators change them.

A version already in force is never edited: dossiers point at the version they were received under and keep its
processing time, documents and clock rule. A change of rules is a NEW version effective from a later day; the
version it replaces is closed the day before (its ``effective_to``), which changes nothing for the dossiers
already received under it.
"""

from __future__ import annotations

import logging
from datetime import date
from datetime import timedelta

from sqlalchemy import select

from server.admin.forms import NewProcedure
from server.admin.forms import NewVersion
from server.auth.audit import audit
from server.auth.models import User
from server.calendar.workdays import to_local
from server.extensions import db
from server.reference.fields import field_labels as catalogue_field_labels
from server.reference.models import Procedure
from server.reference.models import ProcedureVersion
from server.reference.models import RequiredDocument
from server.types import utcnow

log = logging.getLogger(__name__)


def today() -> date:
    """Today in Viet Nam."""
    return to_local(utcnow()).date()


def field_labels() -> dict[str, str]:
    """The fields (lĩnh vực) of the catalogue with their Vietnamese labels, plus any other field in the database."""
    labels = catalogue_field_labels()
    for name in db.session.scalars(select(Procedure.field).distinct()):
        labels.setdefault(name, name)
    return labels


def all_procedures() -> list[Procedure]:
    return list(db.session.scalars(select(Procedure).order_by(Procedure.field, Procedure.name_vi)))


def taken_keys() -> set[str]:
    return set(db.session.scalars(select(Procedure.key)))


def earliest_new_version(procedure: Procedure, on: date | None = None) -> date:
    """The first day a new version of ``procedure`` may take effect.

    A first version may start today: no dossier can refer to a procedure without a version. A later one starts
    tomorrow at the earliest (dossiers may already have been received today under the current version) and after
    every existing version's start (a version is never slipped in before one already published).
    """
    on = on or today()
    if not procedure.versions:
        return on
    return max(on + timedelta(days=1), max(v.effective_from for v in procedure.versions) + timedelta(days=1))


def create_procedure(new: NewProcedure, actor: User) -> Procedure:
    """Add a procedure to the catalogue (it has no version yet: it cannot be received until one is added)."""
    procedure = Procedure(key=new.key, national_code=new.national_code, name_vi=new.name_vi, name_en=new.name_en,
                          field=new.field, ministry=new.ministry, competent_level=new.competent_level)
    db.session.add(procedure)
    db.session.flush()
    audit("procedure_created", actor, procedure, key=procedure.key, name=procedure.name_vi)
    return procedure


def add_version(procedure: Procedure, new: NewVersion, actor: User) -> ProcedureVersion:
    """Publish a new version of ``procedure`` from ``new.effective_from``; closes the version it replaces.

    :raises ValueError: the start day is earlier than :func:`earliest_new_version` allows (the form checks it).
    """
    if new.effective_from < earliest_new_version(procedure):
        raise ValueError("a new version cannot start before earliest_new_version()")
    closed = None
    for version in procedure.versions:
        # Only the open-ended (or overlapping) version ends; its rules stay as they were for its own dossiers.
        if version.effective_to is None or version.effective_to >= new.effective_from:
            version.effective_to = new.effective_from - timedelta(days=1)
            closed = version
    version = ProcedureVersion(
        effective_from=new.effective_from,
        publication_decision=new.publication_decision,
        time_value=new.time_value,
        time_unit=new.time_unit,
        time_confirmed=new.time_confirmed,
        time_note=new.time_note,
        same_day_cutoff=new.same_day_cutoff,
        supplement_clock=new.supplement_clock,
        home_reception=new.home_reception,
        fee_vnd=new.fee_vnd,
    )
    for position, document in enumerate(new.documents, start=1):
        version.required_documents.append(RequiredDocument(
            position=position, code=document.code, name_vi=document.name_vi, name_en=document.name_en,
            form_ref=document.form_ref, copy_type=document.copy_type, quantity=document.quantity,
            mandatory=document.mandatory,
        ))
    procedure.versions.append(version)
    db.session.flush()
    audit("procedure_version_added", actor, procedure, version_id=version.id,
          effective_from=new.effective_from.isoformat(), time=f"{new.time_value} {new.time_unit.value}",
          documents=len(new.documents),
          closed_version_id=closed.id if closed else None)
    log.info("Procedure %s: version %s from %s by %s", procedure.key, version.id, new.effective_from, actor.id)
    return version
