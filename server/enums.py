"""Helpers to store Python enums as short strings with a named CHECK constraint (portable to SQLite)."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def enum_type(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A VARCHAR column type holding ``enum_cls`` values, guarded by a CHECK constraint called ``name``."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
