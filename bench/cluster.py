"""Dossiers synced per second by the cluster, on 1 and on 3 app processes (run: .venv/bin/python bench/cluster.py).

The cluster of tests/cluster/harness.py (HAProxy with TLS, gunicorn processes in production mode, 2 push workers,
Redis, moto's S3 server, PostgreSQL), started afresh for each configuration. Locust plays N phones, each syncing
dossier after dossier of 3 photos (about 200 KB each) as the officer's outbox does (session probe, 3 attachment
PUTs, the dossier PUT), with no pause, for --seconds. Printed, per configuration: dossiers synced per second, the
p50 and p95 of the dossier PUT (from the phone's side: through TLS, the proxy and the retries' first attempts
excluded), the ratio 3 processes / 1 process, and where the CPU went, measured: CPU seconds over the run of each
process group (/proc/<pid>/stat: the app processes, the PostgreSQL backends serving the cluster's database, the S3
server, HAProxy, Redis, the push workers, the load generator itself) against the machine's whole busy time
(/proc/stat; the rest is other work on the machine), and what PostgreSQL's active backends were waiting on
(pg_stat_activity sampled twice a second). Figures only: no assertion on time.

Options: --phones 50,200,500  --apps 1,3  --seconds 30  --threads 4 (per app process)
DATABASE_URL names the PostgreSQL server (a database ``<name>_cluster`` is created next to it, dropped and made
again for each configuration); default postgresql://postgres@127.0.0.1:5432/bench.
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import statistics
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster.harness import TICKS  # noqa: E402
from tests.cluster.harness import Cluster  # noqa: E402
from tests.cluster.harness import cluster_database_url  # noqa: E402
from tests.cluster.harness import cpu_seconds  # noqa: E402
from tests.cluster.harness import make_photos  # noqa: E402


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far, all cores (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS


class PostgresSampler(threading.Thread):
    """Twice a second: what the cluster database's active backends wait on, and their CPU time so far."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.database = url.rsplit("/", 1)[1]
        self.stop = threading.Event()
        self.waits = collections.Counter()
        self.samples = 0
        self.cpu_at_start: dict[int, float] = {}
        self.cpu_last: dict[int, float] = {}

    def backends(self, connection) -> list[tuple]:
        return connection.execute(
            "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (self.database,)).fetchall()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            for pid, *_ in self.backends(connection):
                self.cpu_at_start[pid] = cpu_seconds(pid)
            while not self.stop.wait(0.5):
                self.samples += 1
                for pid, state, wait_type, wait_event in self.backends(connection):
                    self.cpu_last[pid] = cpu_seconds(pid) or self.cpu_last.get(pid, 0.0)
                    if state == "active":
                        self.waits[f"{wait_type}:{wait_event}" if wait_type else "on CPU"] += 1

    def cpu(self) -> float:
        return sum(last - self.cpu_at_start.get(pid, 0.0) for pid, last in self.cpu_last.items())


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def verdict(row: dict) -> str:
    """Where the time went, from the measurements: CPU per component, the machine's saturation, lock waits."""
    top = max((n for n in row["cpu"] if n != "rest of the machine"), key=lambda n: row["cpu"][n])
    capacity = (os.cpu_count() or 1) * row["seconds"]
    said = [f"largest CPU user of ours: {top} ({row['cpu'][top]:.1f} s, {row['cpu'][top] / capacity:.0%} of the "
            f"machine)"]
    if row["busy"] >= 0.9 * capacity:
        said.append(f"the machine's CPU is saturated ({row['busy'] / capacity:.0%} busy, "
                    f"{row['cpu']['rest of the machine'] / capacity:.0%} by other work)")
    locked = sum(n for key, n in row["waits"].items() if key.startswith("Lock:")) / max(row["wait_samples"], 1)
    if locked >= 0.5:
        said.append(f"{locked:.1f} PostgreSQL backends on average wait for a row lock held by another dossier's "
                    f"transaction (the ward's code and form-number counters are held until the commit)")
    return "; ".join(said)


def run_one(apps: int, phones: int, seconds: int, threads: int, photos: list[dict], workdir: Path,
            database_url: str) -> dict:
    with Cluster(workdir, database_url, apps=apps, push_workers=2, threads=threads) as cluster:
        plan = cluster.sessions(phones, 0)
        plan.update(mode="duration", photos=photos, citizens=[], desk=None)
        groups = {name: service for name, service in cluster.services.items()}
        sampler = PostgresSampler(database_url)
        sampler.start()
        before = {name: service.cpu() for name, service in groups.items()}
        busy_before = machine_busy_seconds()
        # The load generator's CPU: it is this process's only child to end during the run, so the growth of
        # RUSAGE_CHILDREN once it is reaped is its time.
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result_file, load = cluster.run_locust(plan, seconds)
        result = cluster.read_result(result_file, load, seconds + 120)
        after = {name: service.cpu() for name, service in groups.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
        busy = machine_busy_seconds() - busy_before
        sampler.stop.set()
        sampler.join()
    elapsed = result["ended"] - result["started"]
    synced = len(result["put_ms"])
    cpu = collections.OrderedDict()
    cpu["app processes"] = sum(after[n] - before[n] for n in groups if n.startswith("app"))
    cpu["PostgreSQL"] = sampler.cpu()
    cpu["S3 server"] = after["s3"] - before["s3"]
    cpu["HAProxy (TLS)"] = after["proxy"] - before["proxy"]
    cpu["Redis"] = after["redis"] - before["redis"]
    cpu["push workers"] = sum(after[n] - before[n] for n in groups if n.startswith("push"))
    cpu["load generator"] = load_cpu
    cpu["rest of the machine"] = max(0.0, busy - sum(cpu.values()))
    waits = sampler.waits
    return {"apps": apps, "phones": phones, "seconds": elapsed, "synced": synced, "rate": synced / elapsed,
            "photo_rate": result.get("photos_ok", 0) / elapsed,
            "p50": percentile(result["put_ms"], 0.5), "p95": percentile(result["put_ms"], 0.95),
            "retries": result["retries"], "refused": len(result["refused"]), "cpu": cpu, "busy": busy,
            "waits": waits, "wait_samples": sampler.samples,
            "mean_photo": statistics.mean(p["size"] for p in photos)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", default="50,200,500")
    parser.add_argument("--apps", default="1,3")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--photos", type=int, default=1500, help="distinct photos in the pool (reused when spent)")
    args = parser.parse_args()
    phones_levels = [int(x) for x in args.phones.split(",")]
    app_counts = [int(x) for x in args.apps.split(",")]
    database_url = cluster_database_url(os.environ.get("DATABASE_URL")
                                        or "postgresql://postgres@127.0.0.1:5432/bench")
    Cluster.check_machine()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    print(f"machine: {os.cpu_count()} cores; database {database_url.rsplit('/', 1)[1]}; {args.seconds} s per "
          f"configuration; {args.threads} threads per app process")
    photos = make_photos(args.photos, tmp / "photos")
    print(f"photos: {len(photos)} distinct JPEGs, {statistics.mean(p['size'] for p in photos) / 1000:.0f} KB "
          f"on average (3 per dossier)")
    rows = []
    for apps in app_counts:
        for phones in phones_levels:
            row = run_one(apps, phones, args.seconds, args.threads, photos, tmp / f"a{apps}-p{phones}",
                          database_url)
            rows.append(row)
            shares = ", ".join(f"{name} {seconds:.1f} s ({seconds / max(row['busy'], 1e-9):.0%})"
                               for name, seconds in row["cpu"].items())
            waits = ", ".join(f"{name} {count / max(row['wait_samples'], 1):.1f}"
                              for name, count in row["waits"].most_common(4))
            print(f"\n{apps} app process(es), {phones} phones: {row['synced']} dossiers in {row['seconds']:.1f} s "
                  f"= {row['rate']:.1f}/s; dossier PUT p50 {row['p50']:.0f} ms, p95 {row['p95']:.0f} ms; "
                  f"{row['retries']} requests retried, {row['refused']} refused; photos "
                  f"{row['photo_rate']:.1f}/s (= {row['photo_rate'] / 3:.1f} dossiers' worth)")
            print(f"  CPU over the run (machine busy {row['busy']:.1f} s of {2 * row['seconds']:.0f} s on 2 cores): "
                  f"{shares}")
            print(f"  PostgreSQL active backends on average, by wait: {waits or 'none active'}")
            print(f"  bottleneck: {verdict(row)}")
    print("\n| phones | app processes | dossiers/s | PUT p50 ms | PUT p95 ms | CPU: apps / PostgreSQL / S3 / proxy / "
          "load generator / rest |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for row in sorted(rows, key=lambda r: (r["phones"], r["apps"])):
        c = row["cpu"]
        print(f"| {row['phones']} | {row['apps']} | {row['rate']:.1f} | {row['p50']:.0f} | {row['p95']:.0f} | "
              f"{c['app processes']:.0f} / {c['PostgreSQL']:.0f} / {c['S3 server']:.0f} / {c['HAProxy (TLS)']:.0f} "
              f"/ {c['load generator']:.0f} / {c['rest of the machine']:.0f} s |")
    if 1 in app_counts and 3 in app_counts:
        print()
        for phones in phones_levels:
            one = next(r for r in rows if r["apps"] == 1 and r["phones"] == phones)
            three = next(r for r in rows if r["apps"] == 3 and r["phones"] == phones)
            if one["rate"] and three["rate"]:
                print(f"{phones} phones: 3 processes / 1 process = {three['rate'] / one['rate']:.2f}x dossiers/s, "
                      f"p95 {three['p95'] / one['p95']:.2f}x")
            else:
                print(f"{phones} phones: no ratio (a configuration synced no dossier within the run: every phone "
                      f"was still uploading its photos)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
