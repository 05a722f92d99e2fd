"""The notifications listen to the dossier core: a step the citizen should hear about queues its message, in the
step's own transaction (the transactional outbox; the worker sends it after the commit)."""

from __future__ import annotations

from server.calendar.workdays import to_local
from server.dossiers import signals
from server.push.notify import kind_of_transition
from server.push.notify import notify_dossier


@signals.transitioned.connect
def notify_followers(dossier, *, action, from_state, to_state, **_kwargs) -> None:
    kind = kind_of_transition(action, from_state, to_state)
    if kind == "extended" and dossier.due_at is not None:
        notify_dossier(dossier, kind, due_at=to_local(dossier.due_at).isoformat())
    elif kind is not None:
        notify_dossier(dossier, kind)
