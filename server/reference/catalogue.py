"""Loading the procedure catalogue (``data/catalogue.json``) into the database, idempotently."""

from __future__ import annotations

import json
from datetime import date
from datetime import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from server.extensions import db
from server.reference.models import CopyType
from server.reference.models import HomeReception
from server.reference.models import Procedure
from server.reference.models import ProcedureStep
from server.reference.models import ProcedureVersion
from server.reference.models import RequiredDocument
from server.reference.models import StepHolder
from server.reference.models import SupplementClock
from server.reference.models import TimeUnit

CATALOGUE_PATH = Path(__file__).with_name("data") / "catalogue.json"


def catalogue_path() -> Path:
    """The catalogue file: ``CATALOGUE_PATH`` (a province's own file) or the seed shipped with the code."""
    return Path(current_app.config.get("CATALOGUE_PATH") or CATALOGUE_PATH)


def read_catalogue(path: Path | None = None) -> dict:
    """The catalogue file as data."""
    return json.loads((path or catalogue_path()).read_text(encoding="utf-8"))


def load_catalogue(path: Path | None = None) -> tuple[int, int]:
    """Insert procedures and versions that are not in the database yet; returns (procedures, versions) added.

    Existing versions are never changed: a dossier keeps the rules it was received under. A changed rule is a new
    version with a later ``effective_from``.
    """
    data = read_catalogue(path)
    added_procedures = added_versions = 0
    for item in data["procedures"]:
        procedure = db.session.scalar(select(Procedure).where(Procedure.key == item["key"]))
        if procedure is None:
            procedure = Procedure(
                key=item["key"],
                national_code=item.get("national_code"),
                name_vi=item["name_vi"],
                name_en=item["name_en"],
                field=item["field"],
                ministry=item.get("ministry"),
                competent_level=item.get("competent_level"),
            )
            db.session.add(procedure)
            added_procedures += 1
        known = {v.effective_from for v in procedure.versions}
        for v in item["versions"]:
            effective_from = date.fromisoformat(v["effective_from"])
            if effective_from in known:
                continue
            procedure.versions.append(build_version(item, v, effective_from))
            added_versions += 1
    db.session.flush()
    return added_procedures, added_versions


def build_version(item: dict, v: dict, effective_from: date) -> ProcedureVersion:
    """A new (unsaved) version from its catalogue entry ``v`` of procedure entry ``item``.

    Shared with ``flask catalogue import`` (server/reference/catalogue_import.py), which checks the entry first.
    ``home_reception`` may be given per version (the import's CSV rows); else the procedure's applies.
    """
    processing = v["processing_time"]
    cutoff = v.get("same_day_cutoff")
    version = ProcedureVersion(
        publication_decision=v.get("publication_decision"),
        effective_from=effective_from,
        effective_to=date.fromisoformat(v["effective_to"]) if v.get("effective_to") else None,
        time_value=processing["value"],
        time_unit=TimeUnit(processing["unit"]),
        time_confirmed=bool(processing.get("confirmed")),
        time_note=processing.get("note"),
        same_day_cutoff=time.fromisoformat(cutoff) if cutoff else None,
        supplement_clock=SupplementClock(v.get("supplement_clock", "restart")),
        home_reception=HomeReception(v.get("home_reception") or item.get("home_reception", "no")),
        fee_vnd=v.get("fee_vnd"),
        fee_note=v.get("fee_note"),
        online_level=v.get("online_level"),
        competent_agency_code=v.get("competent_agency_code"),
    )
    for position, step in enumerate(v.get("steps") or [], start=1):
        version.steps.append(
            ProcedureStep(
                position=position,
                holder=StepHolder(step["holder"]),
                agency_code=step.get("agency_code"),
                working_days=step["working_days"],
                name_vi=step["name_vi"],
                name_en=step["name_en"],
            )
        )
    for position, doc in enumerate(v.get("required_documents", []), start=1):
        version.required_documents.append(
            RequiredDocument(
                position=position,
                code=doc["code"],
                name_vi=doc["name_vi"],
                name_en=doc["name_en"],
                form_ref=doc.get("form_ref"),
                copy_type=CopyType(doc.get("copy_type", "original")),
                quantity=doc.get("quantity", 1),
                mandatory=doc.get("mandatory", True),
                note=doc.get("note"),
            )
        )
    return version
