"""Print how long the deadline API and the code allocator take (run: .venv/bin/python bench/due_dates.py).

Uses a throw-away SQLite database (or DATABASE_URL) with the demo seed. Figures, not assertions.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from server import create_app  # noqa: E402
from server.demo import seed_demo  # noqa: E402
from server.dossiers import codes  # noqa: E402
from server.extensions import db  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{name:45} median {statistics.median(samples):7.3f} ms   p95 {p95:7.3f} ms   n={len(samples)}")


def main() -> None:
    tmp = tempfile.mkdtemp()
    uri = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    settings = {"APP_ENV": "testing", "SECRET_KEY": "bench", "INSTANCE_PATH": tmp, "SQLALCHEMY_DATABASE_URI": uri}
    app = create_app(settings)
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        client = app.test_client()
        query = "/api/v1/calendar/due?start=2026-02-12T10:00:00%2B07:00&amount=20&unit=working_days"
        client.get(query)  # warm the holiday cache
        report("GET /api/v1/calendar/due (20 working days)", timed(lambda: client.get(query), 500))
        report("GET /api/v1/calendar (12 months)",
               timed(lambda: client.get("/api/v1/calendar?from=2026-01-01&to=2026-12-31"), 200))
        agency = codes.Agency.by_code("000.20.26.H26")

        def allocate():
            codes.issue_code(agency, date(2026, 3, 9))
            db.session.commit()

        report("issue one code (own transaction)", timed(allocate, 500))


if __name__ == "__main__":
    main()
