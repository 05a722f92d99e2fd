"""Hash chains over append-only logs: each entry carries the SHA-256 of its own fields and of the previous entry's
hash, so changing, removing or re-ordering a stored entry breaks the chain where it happened.

One chain per log (the audit trail, the access log). The hash is computed over a canonical serialisation (JSON,
sorted keys, no spaces, UTF-8, instants in UTC with microseconds), so it is the same on SQLite and PostgreSQL and
after a dump and restore. The migration that introduced the chains hashed the rows that existed then, in id order,
with these same functions.

Appending takes the chain's head row for writing first (an UPDATE: a row lock on PostgreSQL held until the
caller's commit, the database write lock on SQLite), so two concurrent writers cannot both link to the same
previous entry; ids are drawn while the lock is held, so id order is chain order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server.access_log.models import LogChain
from server.extensions import db

#: The "previous hash" of a chain's first entry.
GENESIS = "0" * 64


@dataclass(frozen=True)
class Chain:
    """One hash-chained log: its name (the table's), and the columns the hash covers (all but the two hashes)."""

    name: str
    fields: tuple[str, ...]


AUDIT = Chain("audit_event", ("id", "at", "action", "actor_id", "target_type", "target_id", "ip", "data"))
ACCESS = Chain("access_event", ("id", "at", "user_id", "role", "kind", "object_type", "object_id", "person_id",
                                "dossier_id", "agency_id", "ip"))
CHAINS = (AUDIT, ACCESS)


def _canonical_value(value):
    if isinstance(value, datetime):
        # SQLite gives naive UTC back, PostgreSQL aware: the same instant must serialise the same way.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def entry_hash(chain: Chain, values: Mapping, prev_hash: str) -> str:
    """The SHA-256 (hex) of an entry with ``values`` (a row mapping or a dict of its fields) after ``prev_hash``."""
    fields = {name: _canonical_value(values[name]) for name in chain.fields}
    text = json.dumps({"chain": chain.name, "prev": prev_hash, "entry": fields},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _values_of(entry) -> dict:
    return {name: getattr(entry, name) for name in entry.__table__.columns.keys()}


def _lock_head(chain: Chain) -> LogChain:
    """The chain's head row, locked for this transaction (created at its first entry after a wipe)."""
    lock = update(LogChain).where(LogChain.name == chain.name).values(entries=LogChain.entries)
    if db.session.execute(lock, execution_options={"synchronize_session": False}).rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(LogChain(name=chain.name, last_id=None, last_hash=GENESIS, entries=0))
        except IntegrityError:
            pass  # another writer created it at the same moment: lock theirs
        db.session.execute(lock, execution_options={"synchronize_session": False})
    # Read after the lock: a writer that committed while we waited has moved the head.
    return db.session.scalars(select(LogChain).where(LogChain.name == chain.name)
                              .execution_options(populate_existing=True)).one()


def append(chain: Chain, entry) -> None:
    """Add ``entry`` (a new row of the chain's table) at the end of ``chain``, in the caller's transaction."""
    head = _lock_head(chain)
    entry.prev_hash = head.last_hash
    entry.entry_hash = ""  # until the id is known
    db.session.add(entry)
    db.session.flush()
    entry.entry_hash = entry_hash(chain, _values_of(entry), head.last_hash)
    head.last_id, head.last_hash, head.entries = entry.id, entry.entry_hash, head.entries + 1
    db.session.flush()


def chain_rows(connection, table):
    """The rows of ``table`` in chain order (id order), streamed: close the result when done."""
    # On the statement, not the connection: a connection's options would stay on it (and on the migration's)
    return connection.execute(select(table).order_by(table.c.id).execution_options(yield_per=1000))


def rechain(connection, table, chain: Chain) -> tuple[int | None, str, int]:
    """Hash every row of ``table`` in id order, writing prev_hash and entry_hash; returns the new head
    (last id, last hash, number of entries). Used by the migration that introduced the chains."""
    prev, last_id, count = GENESIS, None, 0
    with chain_rows(connection, table) as result:
        rows = [dict(row._mapping) for row in result]
    for row in rows:
        digest = entry_hash(chain, row, prev)
        connection.execute(table.update().where(table.c.id == row["id"]).values(prev_hash=prev, entry_hash=digest))
        prev, last_id, count = digest, row["id"], count + 1
    return last_id, prev, count


@dataclass(frozen=True)
class BrokenLink:
    """Where a chain stops holding: the table, the entry's id (None: the chain's head), what was expected there
    and what was found."""

    table: str
    id: int | None
    what: str
    expected: str
    found: str

    def __str__(self) -> str:
        where = f"{self.table} id={self.id}" if self.id is not None else f"{self.table} (chain head)"
        return f"{where}: {self.what} expected {self.expected}, found {self.found}"


def verify(connection, table, chain: Chain) -> tuple[int, BrokenLink | None]:
    """Walk ``chain``: (entries checked, the first broken link or None)."""
    prev, last_id, count = GENESIS, None, 0
    with chain_rows(connection, table) as result:
        for row in result:
            row = row._mapping
            if row["prev_hash"] != prev:
                return count, BrokenLink(chain.name, row["id"], "prev_hash", prev, row["prev_hash"])
            digest = entry_hash(chain, row, prev)
            if row["entry_hash"] != digest:
                return count, BrokenLink(chain.name, row["id"], "entry_hash", digest, row["entry_hash"])
            prev, last_id, count = row["entry_hash"], row["id"], count + 1
    head = connection.execute(select(LogChain.last_id, LogChain.last_hash, LogChain.entries)
                              .where(LogChain.name == chain.name)).one_or_none()
    if head is None:
        if count:
            return count, BrokenLink(chain.name, None, "head", f"last id {last_id}", "no chain head")
        return count, None
    if (head.last_id, head.last_hash, head.entries) != (last_id, prev, count):
        return count, BrokenLink(chain.name, None, "last entry", f"id {head.last_id} {head.last_hash} "
                                 f"({head.entries} entries)", f"id {last_id} {prev} ({count} entries)")
    return count, None
