"""What the access log and the hash chains cost (issue 12, point 8). Run: ``.venv/bin/python bench/access_log.py``.

Figures only, no assertions on time. On a throw-away SQLite database, or PostgreSQL with ``--database-url``
(WARNING: that database is wiped, ``DROP SCHEMA public CASCADE``, and migrated afresh), with the demo seed:
1. one recorded view of a dossier (its owner and submitter: two chained rows and a commit), median and p95;
2. the same with ``--threads`` writers at once (each its own session): views per second, and the chain checked;
3. ``flask audit verify`` over ``--entries`` rows of each chain: seconds and rows per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _record_one(owner_id: int, submitter_id: int) -> None:
    from server.access_log.record import record_view

    record_view("dossier_page", object_type="Dossier", object_id=1, person_ids=(owner_id, submitter_id),
                agency_id=None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a throw-away PostgreSQL database (it is wiped)")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()

    from backoffice import make_app
    from sqlalchemy import select

    from server.access_log import chain
    from server.access_log.cli import TABLES
    from server.extensions import db
    from server.people.models import Person

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(tmp, args.database_url)
        print("database:", "PostgreSQL (wiped and migrated)" if args.database_url else "SQLite")
        with app.app_context():
            owner, submitter = Person(full_name="Trần Văn Phúc"), Person(full_name="Trần Thị Mai")
            db.session.add_all([owner, submitter])
            db.session.commit()
            ids = (owner.id, submitter.id)
        with app.test_request_context("/staff/dossiers/1"):
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                _record_one(*ids)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(f"1. one recorded view (2 rows + commit): median {statistics.median(times):.2f} ms, "
                  f"p95 {times[int(len(times) * 0.95) - 1]:.2f} ms ({args.runs} runs)")

        per_thread = args.runs // args.threads
        failures = []

        def writer() -> None:
            with app.test_request_context("/staff/dossiers/1"):
                try:
                    for _ in range(per_thread):
                        _record_one(*ids)
                except Exception as error:  # counted and printed
                    failures.append(repr(error))
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=writer) for _ in range(args.threads)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with app.app_context():
            checked, broken = chain.verify(db.session.connection(), TABLES["access_event"], chain.ACCESS)
        print(f"2. {args.threads} writers at once: {args.threads * per_thread / elapsed:.0f} views/s, "
              f"{len(failures)} failed{' (' + failures[0] + ')' if failures else ''}; chain: "
              f"{'BROKEN ' + str(broken) if broken else 'whole'} ({checked} rows)")

        with app.test_request_context("/staff/dossiers/1"):
            from server.auth.audit import audit

            remaining = args.entries - checked
            while remaining > 0:
                for _ in range(min(remaining, 500)):
                    chain.append(chain.ACCESS, _access_row(ids[0]))
                    audit("bench_event", None, None, n=remaining)
                    remaining -= 1
                db.session.commit()
            total = db.session.scalar(select(db.func.count()).select_from(TABLES["access_event"]))
            started = time.perf_counter()
            for each in chain.CHAINS:
                counted, broken = chain.verify(db.session.connection(), TABLES[each.name], each)
                assert broken is None, broken
            elapsed = time.perf_counter() - started
            audits = db.session.scalar(select(db.func.count()).select_from(TABLES["audit_event"]))
            print(f"3. verify: {total} access rows + {audits} audit rows in {elapsed:.2f} s "
                  f"({(total + audits) / elapsed:.0f} rows/s)")
    return 0


def _access_row(person_id: int):
    from server.access_log.models import AccessEvent

    return AccessEvent(kind="dossier_page", object_type="Dossier", object_id="1", person_id=person_id)


if __name__ == "__main__":
    sys.exit(main())
