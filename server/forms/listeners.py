"""The statutory forms listen to the dossier core: a step that has a form (receipt, supplementation request,
refusal, apology, stop notice) issues it, numbered, among the dossier's documents, in the step's own transaction;
the worker renders its PDF afterwards (server/forms/rendering.py)."""

from __future__ import annotations

from server.dossiers import signals
from server.forms.issue import issue_for_event


@signals.transitioned.connect
def issue_statutory_form(dossier, *, event, actor, provided_document_ids=None, handed_over=None, **_kwargs) -> None:
    issue_for_event(dossier, event, actor, provided_document_ids, handed_over)
