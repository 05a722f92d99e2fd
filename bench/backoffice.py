"""The desk's pages at the size of a real ward and province (run: .venv/bin/python bench/backoffice.py).

What it does, with figures and no assertion on time:
1. The app on a throw-away SQLite database (or PostgreSQL with ``--database-url``), migrated and seeded with the
   demo ward. WARNING: a database given with ``--database-url`` is wiped (``DROP SCHEMA public CASCADE``) and
   migrated afresh; never point it at a database you want to keep.
2. A province of ``--province`` dossiers (1,000,000 by default) over ``--years`` years (3), spread over
   ``--wards`` wards (20), of which the demo ward holds ``--ward`` (50,000). Inserted in bulk: ``COPY`` on
   PostgreSQL, ``executemany`` on SQLite. The mix is realistic rather than uniform: older dossiers are mostly
   returned (some refused, withdrawn, stopped), the last weeks' are open in every state; 60 % direct (a third of
   them at home), 35 % online, 5 % by post; procedures of the catalogue weighted towards the common ones; due
   dates from each procedure's processing time; owners with Vietnamese names (one in ten with a second dossier),
   most with a phone; search text computed as the app does (server/dossiers/search_text.py). Then ``ANALYZE``,
   as autovacuum or a nightly job would have done.
3. The server time of the desk's queue (``GET /staff/queue`` through the Flask test client, signed in as the demo
   ward's staff: routing, session, the queries and the rendering): its first page, a few filters, searches by
   name (without diacritics), by phone and by code, and a far page. ``--runs`` times each (after one untimed
   warm-up); median and 95th percentile.
4. The statistics of one month and of one year, for the ward and for the province, through
   ``server.stats.service.report`` when this build has it ("statistics: not available in this build" otherwise).

Targets (issue 6): queue and search under 200 ms for a ward of 50,000; a year's statistics for the province under
1 s on PostgreSQL.

Run from the repository root: ``.venv/bin/python bench/backoffice.py [--province 1000000] [--ward 50000]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_QUEUE_MS = 200
TARGET_YEAR_STATS_MS = 1000

FAMILY = ["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 2 + ["Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
                                                         "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE_MEN = ["Văn", "Đức", "Hữu", "Minh", "Quang", "Thanh", "Công", "Đình", "Xuân"]
MIDDLE_WOMEN = ["Thị", "Thị", "Thị Thu", "Ngọc", "Thị Kim", "Thanh", "Thị Hồng", "Diệu"]
GIVEN_MEN = ["An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quân", "Sơn",
             "Thắng", "Tuấn", "Việt", "Hiếu", "Lộc", "Trung", "Đông"]
GIVEN_WOMEN = ["Bình", "Đào", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Ngọc", "Phương",
               "Tâm", "Thảo", "Trang", "Vân", "Yến", "Nhung", "Oanh"]

#: How dossiers received more than 60 days ago ended.
FINISHED_MIX = [("returned", 86), ("refused", 3), ("withdrawn", 2), ("stopped", 2), ("guided_incomplete", 4),
                ("resolved", 3)]
#: Dossiers of the last 60 days: every state the desk works with.
RECENT_MIX = [("returned", 40), ("received", 10), ("in_process", 20), ("awaiting_supplement", 5),
              ("awaiting_payment", 2), ("pending_approval", 6), ("resolved", 8), ("online_submitted", 4),
              ("refused", 2), ("withdrawn", 1), ("stopped", 1), ("guided_incomplete", 1)]
#: (channel, reception mode, weight)
CHANNEL_MIX = [("direct", "counter", 40), ("direct", "home_visit", 20), ("online", "online", 25),
               ("online", "online_assisted", 10), ("postal", "post", 5)]
CLOSED = {"returned", "refused", "withdrawn", "stopped", "guided_incomplete"}
FINISHED = {"returned", "resolved"}


def weighted(pairs):
    values = [p[:-1] if len(p) > 2 else p[0] for p in pairs]
    weights = [p[-1] for p in pairs]
    return values, weights


def name_of(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_MEN)} {rng.choice(GIVEN_MEN)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_WOMEN)} {rng.choice(GIVEN_WOMEN)}"


# --- the app and its database -------------------------------------------------------------------------------------

def make_app(tmp: str, database_url: str | None):
    from server import create_app
    from server.demo import seed_demo
    from server.extensions import db
    from server.schema import migrate_afresh

    uri = database_url or f"sqlite:///{tmp}/bench.sqlite3"
    app = create_app({"APP_ENV": "testing", "SECRET_KEY": "bench", "INSTANCE_PATH": tmp, "TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        # As the tests do: the schema comes from the migrations only, on an empty database.
        migrate_afresh(wipe_postgres_schema=bool(database_url))
        seed_demo()
        db.session.commit()
    return app


def make_wards(count: int) -> list:
    """The demo ward first, then ``count - 1`` more of the same province."""
    from server.demo import DEMO_AGENCY_CODE
    from server.extensions import db
    from server.reference.models import Agency

    wards = [Agency.by_code(DEMO_AGENCY_CODE)]
    for n in range(1, count):
        ward = Agency(agency_code=f"000.{20 + n:02d}.26.H26", name_vi=f"Phường Thử {n}", name_en=f"Test ward {n}")
        db.session.add(ward)
        wards.append(ward)
    db.session.commit()
    return wards


def procedure_versions() -> list[tuple[int, int, str, float]]:
    """(version id, time value in days, unit, weight) of each procedure's latest version."""
    from sqlalchemy import select

    from server.extensions import db
    from server.reference.models import Procedure

    rows = []
    for index, procedure in enumerate(db.session.scalars(select(Procedure).order_by(Procedure.id))):
        version = procedure.versions[-1]
        # A few procedures (certification, monthly allowances) make most of a ward's dossiers.
        weight = 1 / (index + 1) ** 0.8
        rows.append((version.id, version.time_value, version.time_unit.value, weight))
    return rows


def max_id(table: str) -> int:
    from sqlalchemy import text

    from server.extensions import db

    return db.session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}"))


# --- generating the province --------------------------------------------------------------------------------------

class Generator:
    """Rows of person and dossier for bulk insertion, with ids assigned here (the tables are empty of them)."""

    def __init__(self, wards: list, ward_size: int, province_size: int, years: int, seed: int = 6):
        from server.dossiers.search_text import fold
        from server.dossiers.search_text import national_phone_digits

        self.fold = fold
        self.phone_digits = national_phone_digits
        self.rng = random.Random(seed)
        self.wards = wards
        self.ward_size = ward_size
        self.province_size = province_size
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=365 * years)
        self.versions = procedure_versions()
        self.sequences: dict[tuple[int, date], int] = defaultdict(int)
        # Ids follow what the demo seed stored (its people); the new rows are counted from there.
        self.person_id = self.first_person_id = max_id("person")
        self.dossier_id = self.first_dossier_id = max_id("dossier")

    def sizes(self) -> list[int]:
        """Dossiers per ward: the demo ward gets ``ward_size``, the others share the rest evenly."""
        others = len(self.wards) - 1
        rest = self.province_size - self.ward_size
        return [self.ward_size] + [rest // others + (1 if i < rest % others else 0) for i in range(others)]

    def ward_rows(self, ward, count: int) -> tuple[list[tuple], list[tuple]]:
        """(people, dossiers) of one ward: tuples in the order of PERSON_COLUMNS and DOSSIER_COLUMNS."""
        rng = self.rng
        people, dossiers = [], []
        known: list[tuple[int, str, str | None]] = []  # people of this ward: (id, folded name, phone)
        version_ids, version_weights = zip(*[((v[0], v[1], v[2]), v[3]) for v in self.versions], strict=True)
        channels, channel_weights = weighted(CHANNEL_MIX)
        finished_states, finished_weights = weighted(FINISHED_MIX)
        recent_states, recent_weights = weighted(RECENT_MIX)
        span = (self.now - self.start).total_seconds()
        picks = rng.choices(range(len(version_ids)), version_weights, k=count)
        channel_picks = rng.choices(channels, channel_weights, k=count)
        for i in range(count):
            # Owners: one in ten comes back with another dossier.
            if known and rng.random() < 0.1:
                person_id, folded, phone = rng.choice(known)
            else:
                self.person_id += 1
                person_id = self.person_id
                name = name_of(rng)
                phone = f"+849{rng.randrange(10**8):08d}" if rng.random() < 0.85 else None
                people.append((person_id, name, phone, self.start))
                folded = self.fold(name)
                known.append((person_id, folded, phone))
            # Received during office hours of a weekday, spread over the years (more recently: growth).
            received = self.start + timedelta(seconds=span * rng.random() ** 0.8)
            while received.weekday() >= 5:
                received -= timedelta(days=1)
            local_hour = rng.choice([7, 8, 9, 10, 13, 14, 15, 16])
            received = received.replace(hour=local_hour - 7, minute=rng.randrange(60), second=0)
            if received > self.now:
                received = self.now - timedelta(hours=1)
            version_id, time_value, unit = version_ids[picks[i]]
            calendar_days = time_value * 7 / 5 if unit == "working_days" else (time_value or 0.4)
            due = received + timedelta(days=calendar_days)
            age_days = (self.now - received).days
            if age_days > 60:
                state = rng.choices(finished_states, finished_weights)[0]
            else:
                state = rng.choices(recent_states, recent_weights)[0]
                if state in CLOSED and received + timedelta(days=calendar_days * 0.5) > self.now:
                    state = "in_process"
            channel, mode = channel_picks[i]
            if state == "online_submitted":
                channel, mode = "online", "online"
            received_state = state not in ("online_submitted", "guided_incomplete", "refused")
            finished = returned = closed = timeliness = None
            if state in FINISHED:
                # 80 % early, 12 % on the day, 8 % late (DOMAIN.md §2.5 compares dates).
                roll = rng.random()
                if roll < 0.8:
                    finished = received + (due - received) * rng.uniform(0.3, 0.95)
                    timeliness = "early"
                elif roll < 0.92:
                    finished = due.replace(hour=max(0, due.hour - 1))
                    timeliness = "on_time"
                else:
                    finished = due + timedelta(days=rng.randint(1, 10))
                    timeliness = "late"
                finished = min(finished, self.now)
                if state == "returned":
                    returned = closed = min(finished + timedelta(days=rng.choice([0, 0, 1, 2, 5])), self.now)
            elif state in CLOSED:
                closed = min(received + timedelta(days=rng.randint(0, 5)), self.now)
            code = None
            if received_state:
                local_day = (received + timedelta(hours=7)).date()
                self.sequences[(ward.id, local_day)] += 1
                code = f"{ward.agency_code}-{local_day:%y%m%d}-{self.sequences[(ward.id, local_day)]:04d}"
            self.dossier_id += 1
            parts = [self.fold(code)] if code else []
            parts += [folded, self.phone_digits(phone)]
            search = " | ".join(p for p in parts if p)
            dossiers.append((
                self.dossier_id, uuid.UUID(int=rng.getrandbits(128), version=4), code, version_id, ward.id, channel,
                mode, person_id, person_id, state, False, received if received_state else None, received,
                due if received_state else None, due if received_state else None, 0, False, 0, finished, returned,
                closed, timeliness, received, closed or finished or received, search,
            ))
        return people, dossiers


PERSON_COLUMNS = ("id", "full_name", "phone_e164", "created_at")
DOSSIER_COLUMNS = ("id", "client_uuid", "code", "procedure_version_id", "agency_id", "channel", "reception_mode",
                   "owner_id", "submitter_id", "state", "citizen_requested_receipt", "device_received_at",
                   "server_received_at", "due_at", "original_due_at", "extension_count", "apology_late",
                   "supplement_count", "processing_finished_at", "returned_at", "closed_at", "timeliness",
                   "created_at", "updated_at", "search_text")


def insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Bulk insert: COPY on PostgreSQL; executemany through the table's column types on SQLite."""
    from server.extensions import db

    if db.engine.dialect.name == "postgresql":
        raw = db.engine.raw_connection()
        try:
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    model_table = db.metadata.tables[table]
    types = {c.name: c.type for c in model_table.columns}
    enum_columns = {name for name in columns if hasattr(types[name], "enum_class") and types[name].enum_class}
    with db.engine.begin() as connection:
        for start in range(0, len(rows), 20_000):
            chunk = [dict(zip(columns, row, strict=True)) for row in rows[start:start + 20_000]]
            for row in chunk:
                for name in enum_columns:
                    if row[name] is not None:
                        row[name] = types[name].enum_class(row[name])
            connection.execute(model_table.insert(), chunk)


def build_province(app, args) -> dict:
    """Generate and insert the province; returns figures about it."""
    from sqlalchemy import text

    from server.extensions import db

    started = time.perf_counter()
    wards = make_wards(args.wards)
    generator = Generator(wards, args.ward, args.province, args.years)
    generated = inserted = 0.0
    for ward, size in zip(wards, generator.sizes(), strict=True):
        t0 = time.perf_counter()
        people, dossiers = generator.ward_rows(ward, size)
        t1 = time.perf_counter()
        insert_rows("person", PERSON_COLUMNS, people)
        insert_rows("dossier", DOSSIER_COLUMNS, dossiers)
        t2 = time.perf_counter()
        generated += t1 - t0
        inserted += t2 - t1
        print(f"  {ward.agency_code}: {size:,} dossiers, {len(people):,} people "
              f"(generated {t1 - t0:.1f} s, inserted {t2 - t1:.1f} s)", flush=True)
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            for table in ("person", "dossier"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
        t3 = time.perf_counter()
        connection.execute(text("ANALYZE"))
        analyzed = time.perf_counter() - t3
    return {"wards": wards, "generated": generated, "inserted": inserted, "analyzed": analyzed,
            "total": time.perf_counter() - started, "people": generator.person_id - generator.first_person_id,
            "dossiers": generator.dossier_id - generator.first_dossier_id}


# --- measuring ------------------------------------------------------------------------------------------------------

def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(len(ordered) * 0.95) - 1)]


def time_pages(app, runs: int) -> list[tuple[str, float, float, str]]:
    """(what, median ms, p95 ms, note) of each queue page, through the test client as the ward's staff."""
    from sqlalchemy import select

    from server.auth.models import Role
    from server.dossiers.models import Dossier
    from server.extensions import db
    from server.people.models import Person
    from tests.helpers import demo_agency
    from tests.helpers import demo_user
    from tests.helpers import sign_in

    client = app.test_client()
    sign_in(client, demo_user(Role.STAFF))
    ward = demo_agency()
    # Search for real people of the ward: a common name, one person's phone, one dossier's code.
    sample = db.session.execute(select(Dossier.code, Person.full_name, Person.phone_e164)
                                .join(Person, Person.id == Dossier.owner_id)
                                .where(Dossier.agency_id == ward.id, Dossier.code.is_not(None),
                                       Person.phone_e164.is_not(None))
                                .order_by(Dossier.id.desc()).limit(1)).one()
    from server.dossiers.search_text import fold

    pages = [
        ("first page (tab 'Cần xử lý', by due date)", "/staff/queue"),
        ("tab 'Tất cả' (every dossier), first page", "/staff/queue?tab=all"),
        ("overdue", "/staff/queue?deadline=overdue"),
        ("due within 2 working days", "/staff/queue?deadline=due_soon"),
        ("home visits, one field, tab 'Tất cả'", "/staff/queue?tab=all&mode=home_visit&field=nguoi_co_cong"),
        ("page 500 of 'Tất cả'", "/staff/queue?tab=all&page=500"),
        (f"search a name without diacritics ('{fold(sample.full_name)}'), tab 'Tất cả'",
         f"/staff/queue?tab=all&q={fold(sample.full_name).replace(' ', '+')}"),
        ("search a common given name ('lan'), tab 'Tất cả'", "/staff/queue?tab=all&q=lan"),
        ("search a phone (+84… typed), tab 'Tất cả'",
         f"/staff/queue?tab=all&q={sample.phone_e164.replace('+', '%2B')}"),
        ("search a code, tab 'Tất cả'", f"/staff/queue?tab=all&q={sample.code}"),
    ]
    results = []
    for label, url in pages:
        response = client.get(url)  # warm-up, not timed
        assert response.status_code == 200, (url, response.status_code)
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
        html = response.get_data(as_text=True)
        shown = html.count('data-dossier-id="')
        median, p95 = summary(samples)
        results.append((label, median, p95, f"{shown} rows shown"))
    return results


def time_statistics(app, ward_id: int, runs: int) -> list[tuple[str, float, float, str]] | None:
    """The statistics service's report for a month and a year, ward and province; None when it is not built."""
    try:
        from server.stats.service import report
    except ImportError:
        return None
    today = date.today()
    month_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    month_end = today.replace(day=1) - timedelta(days=1)
    year_start, year_end = date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    cases = [("one month, the ward", month_start, month_end, [ward_id]),
             ("one year, the ward", year_start, year_end, [ward_id]),
             ("one month, the province", month_start, month_end, None),
             ("one year, the province", year_start, year_end, None)]
    results = []
    for label, start, end, agencies in cases:
        with app.test_request_context():
            report(start, end, agency_ids=agencies)  # warm-up
            samples = []
            for _ in range(runs):
                t0 = time.perf_counter()
                report(start, end, agency_ids=agencies)
                samples.append((time.perf_counter() - t0) * 1000)
        median, p95 = summary(samples)
        results.append((f"statistics, {label} ({start:%d/%m/%Y}–{end:%d/%m/%Y})", median, p95, ""))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ward", type=int, default=50_000, help="dossiers of the demo ward (default 50000)")
    parser.add_argument("--province", type=int, default=1_000_000,
                        help="dossiers of the whole province, the ward's included (default 1000000)")
    parser.add_argument("--wards", type=int, default=20, help="wards in the province (default 20)")
    parser.add_argument("--years", type=int, default=3, help="years of history (default 3)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each page (default 15)")
    parser.add_argument("--database-url", metavar="URL",
                        help="run on this PostgreSQL database instead of a throw-away SQLite file. IT IS WIPED: "
                             "DROP SCHEMA public CASCADE, CREATE SCHEMA public, then the migrations and the demo "
                             "seed. Never give a database you want to keep.")
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be a postgresql:// URL (SQLite is the default)")
    if args.wards < 2 or args.province < args.ward + args.wards - 1:
        parser.error("the province needs at least two wards and more dossiers than the ward")
    sys.path.insert(0, str(ROOT))

    from server.extensions import db

    tmp = tempfile.TemporaryDirectory(prefix="backoffice-bench-")
    try:
        app = make_app(tmp.name, args.database_url)
        with app.app_context():
            where = "PostgreSQL (wiped and migrated)" if args.database_url else f"SQLite ({tmp.name}/bench.sqlite3)"
            print(f"Back office at scale: {args.province:,} dossiers in {args.wards} wards over {args.years} years, "
                  f"{args.ward:,} of them in the measured ward; database: {where}")
            built = build_province(app, args)
            print(f"built in {built['total']:.0f} s: {built['dossiers']:,} dossiers, {built['people']:,} people "
                  f"(generating {built['generated']:.0f} s, inserting {built['inserted']:.0f} s, "
                  f"ANALYZE {built['analyzed']:.1f} s)")
            ward_id = built["wards"][0].id
            rows = time_pages(app, args.runs)
            stats = time_statistics(app, ward_id, max(3, args.runs // 3))
            db.session.remove()
            db.engine.dispose()
    finally:
        tmp.cleanup()

    print()
    print(f"{'what (server time, ms)':76} | median |    p95 | note")
    print(f"{'-' * 76}-+--------+--------+------")
    for label, median, p95, note in rows + (stats or []):
        print(f"{label:76} | {median:6.1f} | {p95:6.1f} | {note}")
    if stats is None:
        print("statistics: not available in this build")
    worst = max(p95 for _, _, p95, _ in rows)
    print()
    print(f"queue and search, worst p95: {worst:.1f} ms (target < {TARGET_QUEUE_MS} ms): "
          f"{'met' if worst < TARGET_QUEUE_MS else 'NOT met'}")
    if stats:
        year = next(p95 for label, _, p95, _ in stats if "year, the province" in label)
        print(f"a year's statistics for the province, p95: {year:.0f} ms (target < {TARGET_YEAR_STATS_MS} ms on "
              f"PostgreSQL): {'met' if year < TARGET_YEAR_STATS_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
