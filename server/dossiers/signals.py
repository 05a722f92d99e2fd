"""What the dossier core announces: the channels and the statutory forms listen (Indico's pattern).

The core (server/dossiers/services.py) changes a dossier and appends its event; it does not know who cares. Those
who do connect to a signal here: the notifications (server/push/listeners.py) and the statutory forms
(server/forms/listeners.py). Blinker calls every receiver synchronously, in the request's transaction, so a
notification and a form are written, or not, together with the step they announce; an exception in a receiver
fails the step, as a direct call did. The core imports neither of them (tests/test_signals.py checks the imports).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

transitioned = _signals.signal("dossier-transitioned", doc="""
A dossier took a step, its event is appended and flushed; the transaction is still open.

*sender*: the :class:`~server.dossiers.models.Dossier`. Keyword arguments: ``action``
(:class:`~server.dossiers.workflow.Action`), ``from_state`` and ``to_state``
(:class:`~server.dossiers.workflow.State`), ``event`` (the :class:`~server.dossiers.models.DossierEvent`), ``actor``
(the :class:`~server.auth.models.User`, or None), and for the receipt ``provided_document_ids`` and ``handed_over``
(what the officer checked at the door, for the receipt form). Receivers take ``**kwargs``: arguments may be added.
""")
