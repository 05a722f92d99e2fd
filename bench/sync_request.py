"""The server's time for one dossier sync request, and what rendering its receipt costs (run:
.venv/bin/python bench/sync_request.py).

A throw-away SQLite database with the demo seed; the demo officer's phone (test-only sign-in, tests/helpers.py)
uploads one photo, then sends ``--count`` dossiers (PUT /api/v1/dossiers/{uuid}, through the Flask test client: no
network, no link) that each get a receipt (Mẫu 01). Prints the median and p95 of the PUT, then, where the receipts
are rendered by the worker (server/forms/rendering.py), the time ``render_pending`` takes per receipt: the work that
left the request. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def body(digest: str, index: int) -> dict:
    from server.calendar.workdays import to_local
    from server.types import utcnow
    from tests.helpers import procedure

    now = to_local(utcnow()).replace(microsecond=0)
    version = procedure("tro-cap-xa-hoi-hang-thang").versions[-1]
    documents = [{"required_document_code": d.code, "name": d.name_vi, "sha256": digest if i == 0 else None,
                  "sighted_original": True} for i, d in enumerate(r for r in version.required_documents if r.mandatory)]
    return {"procedure_key": "tro-cap-xa-hoi-hang-thang", "received_at": now.isoformat(), "device_now": now.isoformat(),
            "code": None, "provisional_code": f"TAM-{index:04d}-{uuid.uuid4().hex[:6]}", "due_at": None,
            "reception_mode": "home_visit",
            "owner": {"full_name": "Trần Văn Phúc", "personal_id": "001045012345", "phone": "0912345678",
                      "address": "Ngõ 5 phố Huế"},
            "submitter": {"full_name": "Trần Thị Mai", "phone": "0987654321"},
            "documents": documents, "citizen_requested_receipt": False}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="dossiers to sync (the first 5 warm up, not counted)")
    args = parser.parse_args()
    from flask_migrate import upgrade

    from server import create_app
    from server.demo import seed_demo
    from server.extensions import db
    from tests.desk_support import officer_client
    from tests.desk_support import photo
    from tests.desk_support import upload

    tmp = tempfile.mkdtemp(prefix="motcua-bench-")
    try:
        app = create_app({"APP_ENV": "testing", "SECRET_KEY": "bench", "INSTANCE_PATH": tmp,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3"})
        with app.app_context():
            upgrade()
            seed_demo()
            db.session.commit()
            client, token = officer_client(app)
            digest = upload(client, token, photo(1))
            times = []
            for index in range(args.count):
                payload = body(digest, index)
                started = time.perf_counter()
                response = client.put(f"/api/v1/dossiers/{uuid.uuid4()}", json=payload,
                                      headers={"X-CSRFToken": token})
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 201, response.get_json()
                if index >= 5:
                    times.append(elapsed)
            print(f"dossier PUT (server, test client): {statistics.median(times):.1f} ms median, "
                  f"p95 {percentile(times, 0.95):.1f} ms ({len(times)} requests after 5 to warm up)")
            try:
                from server.forms.rendering import render_pending
            except ImportError:
                print("receipts rendered inside the request (no worker in this version)")
                return 0
            started = time.perf_counter()
            rendered = render_pending()
            elapsed = (time.perf_counter() - started) * 1000
            print(f"worker: {rendered} receipts rendered and recorded in {elapsed:.0f} ms, "
                  f"{elapsed / max(1, rendered):.1f} ms each (off the request)")
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
