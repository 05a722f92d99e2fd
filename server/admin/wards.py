"""Wards (agencies) and their electronic identifiers, as administrators create and change them."""

from __future__ import annotations

import logging

from sqlalchemy import exists
from sqlalchemy import select

from server.admin.forms import HOUR_FIELDS
from server.admin.forms import AgencyValues
from server.auth.audit import audit
from server.auth.models import User
from server.dossiers.models import CodeCounter
from server.dossiers.models import CodeReservation
from server.dossiers.models import Dossier
from server.extensions import db
from server.reference.models import Agency

log = logging.getLogger(__name__)

EDITABLE = ("agency_code", "name_vi", "name_en", "is_one_stop", *HOUR_FIELDS)


def all_agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).order_by(Agency.agency_code)))


def code_taken(code: str, other_than: Agency | None = None) -> bool:
    """Whether an agency other than ``other_than`` holds ``code``."""
    holder = Agency.by_code(code)
    return holder is not None and holder is not other_than


def code_in_use(agency: Agency) -> bool:
    """Whether the agency's code is printed on dossiers or reserved on phones: then it can no longer change.

    Dossier codes embed the agency code, and a phone's reserved block is checked against it when the dossier comes
    back: renaming the code would make those codes point at no agency.
    """
    return db.session.scalar(select(
        exists().where(Dossier.agency_id == agency.id)
        | exists().where(CodeCounter.agency_id == agency.id)
        | exists().where(CodeReservation.agency_id == agency.id)
    ))


def create_agency(values: AgencyValues, actor: User) -> Agency:
    agency = Agency(**{name: getattr(values, name) for name in EDITABLE})
    db.session.add(agency)
    db.session.flush()
    audit("agency_created", actor, agency, agency_code=agency.agency_code, name=agency.name_vi)
    log.info("Agency %s created by %s", agency.agency_code, actor.id)
    return agency


def change_agency(agency: Agency, values: AgencyValues, actor: User, code_editable: bool) -> dict:
    """Apply the form to ``agency``; returns the changes {field: [old, new]} (audited when there are any)."""
    changes = {}
    for name in EDITABLE:
        if name == "agency_code" and not code_editable:
            continue
        old, new = getattr(agency, name), getattr(values, name)
        if old != new:
            changes[name] = [_plain(old), _plain(new)]
            setattr(agency, name, new)
    if changes:
        db.session.flush()
        audit("agency_changed", actor, agency, changes=changes)
        log.info("Agency %s changed by %s: %s", agency.agency_code, actor.id, sorted(changes))
    return changes


def _plain(value):
    """A JSON-friendly form of a field value (times as HH:MM)."""
    return value.strftime("%H:%M") if hasattr(value, "strftime") else value
