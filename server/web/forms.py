"""What the server-rendered forms share: a form as typed with its errors, and how a one-line field is read."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from werkzeug.datastructures import MultiDict


@dataclass
class Submitted:
    """A form as typed (``values``, shown again when it is refused) and one message per refused field name."""

    values: dict
    errors: dict[str, str] = field(default_factory=dict)


def collapsed_text(form: MultiDict, name: str) -> str:
    """A one-line field with its runs of white space made single spaces ("" when absent)."""
    return " ".join((form.get(name) or "").split())
