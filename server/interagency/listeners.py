"""The inter-agency chain listens to the dossier core: each lifecycle step moves the dossier's steps and writes its
hand-overs (server/interagency/services.py says which), in the step's own transaction."""

from __future__ import annotations

from server.dossiers import signals
from server.interagency.services import follow_transition


@signals.transitioned.connect
def follow_the_chain(dossier, *, action, event, actor=None, **_kwargs) -> None:
    follow_transition(dossier, action, event, actor)
