"""Recording who looked at whom: every view of a person's data calls :func:`record_view` before answering.

One row per person shown (a dossier page shows its owner and its submitter: two rows), ids only. The record is
committed at once, in its own transaction, because the answer about to be sent shows the data whether or not the
rest of the request changes anything: call it after the view's own changes are committed or rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import has_request_context
from flask import request
from flask_login import current_user

from server.access_log import chain
from server.access_log.models import AccessEvent
from server.extensions import db
from server.types import utcnow

#: The kinds of view recorded, and where: one name per kind of page or file.
KINDS = (
    "dossier_page",  # the desk's dossier page (server/backoffice/views.py)
    "photo",  # a stored photo of a dossier (server/backoffice/views.py)
    "pdf",  # a stored PDF: an uploaded paper or a statutory form (server/backoffice, server/forms)
    "form_list",  # the list of a dossier's statutory forms (server/forms/views.py)
    "form_page",  # one statutory form as a page (server/forms/views.py)
    "export",  # a person's data exported (JSON or PDF) for a data subject's request
    "follower_list",  # the accounts following a dossier, seen by its owner (server/citizen/views.py)
    "account_page",  # an account seen by an administrator (server/admin/views.py)
    "account_list",  # the list of every account (server/auth/admin_api.py)
    "access_log",  # the access log itself (server/access_log/views.py)
    "result",  # a dossier's result document, signed or not (server/results/views.py)
)


def record_view(kind: str, *, object_type: str | None = None, object_id: int | str | None = None,
                person_ids: Iterable[int | None] = (), dossier_id: int | None = None,
                agency_id: int | None = None) -> None:
    """Record that the signed-in user is being shown ``kind`` about each of ``person_ids``, and commit.

    :param object_type, object_id: what is shown (a dossier, an attachment's SHA-256, a form document, ...).
    :param dossier_id: why: the dossier the user works on, when there is one.
    :param agency_id: the ward whose data it is (its leaders read these rows).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind of view: {kind}")
    user = current_user if current_user and current_user.is_authenticated else None
    at = utcnow()
    ip = request.remote_addr if has_request_context() else None
    people = sorted({p for p in person_ids if p is not None}) or [None]
    for person_id in people:
        chain.append(chain.ACCESS, AccessEvent(
            at=at, user_id=user.id if user else None, role=user.role.value if user else None, kind=kind,
            object_type=object_type, object_id=str(object_id) if object_id is not None else None,
            person_id=person_id, dossier_id=dossier_id, agency_id=agency_id, ip=ip))
    db.session.commit()


def record_dossier_view(kind: str, dossier, object_type: str = "Dossier", object_id: int | str | None = None) -> None:
    """Record a view of ``dossier`` (or of ``object_id``, one of its documents): its owner and its submitter."""
    record_view(kind, object_type=object_type, object_id=dossier.id if object_id is None else object_id,
                person_ids=(dossier.owner_id, dossier.submitter_id), dossier_id=dossier.id,
                agency_id=dossier.agency_id)
