"""The province on one machine: HAProxy in front of N gunicorn processes, push workers, Redis and an S3 server.

One place starts every process of the cluster, for the cluster test (tests/cluster/test_cluster.py) and the
benchmark (bench/cluster.py). Everything listens on loopback, on ports chosen free at start; every process is in its
own process group so that a fault is a real one (SIGKILL of the whole group: master and workers, as when a machine
dies) and so that its CPU time can be read from /proc.

The load is played by locust, run as its own process (tests/cluster/locustfile.py): locust monkey-patches the
standard library with gevent on import, which must not happen inside pytest. The harness hands it a plan (JSON: the
proxy's address, the accounts' session cookies, the photos) and reads back what each simulated phone sent and got.

Sessions: 300 passkey ceremonies would measure WebAuthn, not the cluster. The harness signs the accounts in the way
the tests do (tests/helpers.py ``sign_in``: Flask-Login's session keys written through the test client of an app on
the same database and secret key, APP_ENV=testing), then hands the signed session cookie to the load generator.
That path exists only in the test process; no route of the production app was added or opened for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "cluster-test-secret-key-shared-by-every-process"
#: The limit the cluster's shared-counter check runs against (a look-up endpoint, LOOKUP_RATE_LIMIT).
LOOKUP_LIMIT = 12
TICKS = os.sysconf("SC_CLK_TCK")


class ClusterUnavailable(Exception):
    """Something this machine lacks to run the cluster (the test skips with this reason)."""


# --- waiting on events --------------------------------------------------------------------------------------------

def wait_for(condition, timeout: float, what: str, every: float = 0.1):
    """Poll ``condition`` until it returns something truthy (returned) or ``timeout`` seconds pass (TimeoutError).

    The condition is the event (a port accepting, a row count reached); the deadline only bounds a failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def answers_http(port: int, path: str = "/api/v1/session") -> bool:
    """True when an HTTP server on ``port`` gives any answer to ``path`` (401 is an answer)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status > 0
    except OSError:
        return False
    finally:
        connection.close()


# --- processes --------------------------------------------------------------------------------------------------

def process_group_pids(pgid: int) -> list[int]:
    """Every live process of a process group (a gunicorn master and its workers, say)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry))
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of its children it has reaped (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the ")": state is field 3 of the man page, so utime (14) is index 11, stime 12, cutime 13, cstime 14.
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


@dataclass
class Service:
    """One process of the cluster, started in its own process group, its output in a log file."""

    name: str
    argv: list[str]
    env: dict
    log: Path
    ready: object = None  # a callable: True once the process serves
    popen: subprocess.Popen | None = None
    cpu_of_dead: float = 0.0  # CPU time of earlier incarnations (killed and restarted)

    def start(self, timeout: float = 60) -> Service:
        out = self.log.open("ab")
        self.popen = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
        out.close()
        if self.ready:
            def up():
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; its log {self.log}:\n"
                                       + self.log.read_text(errors="replace")[-3000:])
                return self.ready()
            wait_for(up, timeout, f"{self.name} to serve (log: {self.log})")
        return self

    own_group: bool = True  # False for a process started by another module (tests/redis_server.py, s3_server.py)

    def cpu(self) -> float:
        """CPU seconds of the whole process group so far, earlier incarnations included."""
        if self.popen is None:
            return self.cpu_of_dead
        pids = process_group_pids(self.popen.pid) if self.own_group else [self.popen.pid]
        return self.cpu_of_dead + sum(cpu_seconds(pid) for pid in pids)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole group (master and workers) and reap it."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.cpu_of_dead = self.cpu()
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=30)
        # Workers of a killed master are in the same group; wait until none is left (they die with the signal).
        wait_for(lambda: not process_group_pids(self.popen.pid), 30, f"{self.name}'s processes to end")

    def stop(self) -> None:
        if not self.own_group:
            return  # its own module stops it
        if self.popen is not None and self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=15)
            except ProcessLookupError:
                pass


# --- the database -----------------------------------------------------------------------------------------------

def cluster_database_url(base_url: str) -> str:
    """A database of its own next to DATABASE_URL's (``<name>_cluster``), so the suite's tables are not touched."""
    head, _, name = base_url.rpartition("/")
    name = name.split("?")[0]
    return f"{head}/{name}_cluster"


def recreate_database(url: str) -> None:
    import psycopg

    head, _, name = url.rpartition("/")
    admin = head.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


# --- photos -----------------------------------------------------------------------------------------------------

def make_photos(count: int, folder: Path, seed: int = 13) -> list[dict]:
    """``count`` distinct JPEG photos of a page-like scene, saved as <sha256>.jpg (about 200 KB each, as a phone
    sends a prepared photo)."""
    from PIL import Image
    from PIL import ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    base = Image.effect_noise((240, 320), 40).convert("RGB").resize((720, 960))
    draw = ImageDraw.Draw(base)
    for row in range(40):
        draw.line([(60, 80 + row * 20), (660 - rng.randrange(200), 80 + row * 20)], fill=(40, 40, 40), width=3)
    photos = []
    for index in range(count):
        image = base.copy()
        shot = ImageDraw.Draw(image)
        shot.text((20, 20), f"photo {index} {rng.random():.12f}", fill=(200, 0, 0))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        data = out.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        path = folder / f"{digest}.jpg"
        path.write_bytes(data)
        photos.append({"sha256": digest, "path": str(path), "size": len(data)})
    return photos


# --- TLS at the proxy -------------------------------------------------------------------------------------------

def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the proxy's PEM: certificate then key) and the certificate alone (clients)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    bundle, alone = folder / "proxy.pem", folder / "proxy-cert.pem"
    bundle.write_bytes(cert_pem + key_pem)
    bundle.chmod(0o600)
    alone.write_bytes(cert_pem)
    return bundle, alone


HAPROXY_CONFIG = """\
# Written by tests/cluster/harness.py. TLS ends here; the apps see the client through X-Forwarded-For (one hop:
# TRUSTED_PROXY_HOPS=1). A server that stops accepting is taken out by the check within a second; a request whose
# connection fails is sent to another server (redispatch). A request cut by a dying server is answered 502 and
# retried by the phone, as the outbox does: it is not replayed here (HAProxy does not know the app's PUTs are
# idempotent).
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 10s
    retries 3
    option redispatch
    option forwardfor

frontend web
    bind 127.0.0.1:{port} ssl crt {pem}
    http-request set-header X-Forwarded-Proto https
    default_backend apps

backend apps
    balance roundrobin
    # Which process answered (the rate-limit check shows its requests spread over every app process).
    http-response set-header X-Cluster-Server %s
{servers}
"""


# --- the cluster ------------------------------------------------------------------------------------------------

@dataclass
class Cluster:
    """Start with ``start()``, end with ``stop()`` (or use it as a context manager)."""

    workdir: Path
    database_url: str
    apps: int = 3
    push_workers: int = 2
    threads: int = 4
    push_service_url: str | None = None
    services: dict[str, Service] = field(default_factory=dict)
    proxy_port: int = 0
    redis_port: int = 0
    s3_port: int = 0
    app_ports: list[int] = field(default_factory=list)

    # -- start -----------------------------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @staticmethod
    def check_machine() -> None:
        """Raise ClusterUnavailable when an engine is missing (the test's skip reason)."""
        for binary in ("haproxy", "redis-server"):
            if not shutil.which(binary):
                raise ClusterUnavailable(f"{binary} is not installed (apt-get install haproxy redis-server; "
                                         f"./dev test installs them when run as root)")
        import importlib.util

        # find_spec, not import: importing locust monkey-patches this process with gevent.
        for module in ("moto", "boto3", "locust", "gunicorn", "redis"):
            if importlib.util.find_spec(module) is None:
                raise ClusterUnavailable(f"the Python package {module} is missing (./dev setup)")

    def start(self) -> None:
        self.check_machine()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The harness's own instance folder; each app process and worker gets another (hosts share no disk: the
        # photos are in the bucket, the VAPID key is the shared secret file).
        self.instance = self.workdir / "instance"
        self.instance.mkdir(exist_ok=True)
        self.vapid_file = self.workdir / "secrets" / "vapid_private.pem"
        self.logs = self.workdir / "logs"
        self.logs.mkdir(exist_ok=True)
        self.pem, self.cert = self_signed(self.workdir)
        self._start_redis()
        self._start_s3()
        self._prepare_database()
        self.app_ports = [free_port() for _ in range(self.apps)]
        for index in range(self.apps):
            self.start_app(index)
        for index in range(self.push_workers):
            self.start_push_worker(index)
        self._start_proxy()

    def _start_redis(self) -> None:
        # The tests' own redis-server (tests/redis_server.py), not the machine's: the cluster owns every key.
        from tests import redis_server

        self.redis_server = redis_server.start()
        self.redis_port = self.redis_server.port
        self.redis_url = self.redis_server.url(0)
        self.services["redis"] = Service("redis", [], {}, self.logs / "redis.log", popen=self.redis_server.process,
                                         own_group=False)

    def _start_s3(self) -> None:
        # moto's standalone server (tests/s3_server.py) speaks the S3 protocol over HTTP, as MinIO or a provincial
        # cloud's S3 API does.
        from tests.s3_server import S3Server

        self.s3_server = S3Server.start()
        self.s3_port = self.s3_server.port
        self.s3_url = self.s3_server.endpoint_url
        self.storage_settings = self.s3_server.new_bucket()
        self.bucket = self.storage_settings["S3_BUCKET"]
        self.services["s3"] = Service("s3", [], {}, self.logs / "s3.log", popen=self.s3_server.process,
                                      own_group=False)

    @staticmethod
    def aws_env() -> dict:
        from tests.s3_server import CREDENTIALS

        return {**CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}

    def s3(self):
        if getattr(self, "_s3", None) is None:
            self._s3 = self.s3_server.client()
        return self._s3

    def redis(self):
        if getattr(self, "_redis", None) is None:
            self._redis = self.redis_server.client(0)
        return self._redis

    def _prepare_database(self) -> None:
        from server.push import keys
        from server.schema import migrate_afresh

        recreate_database(self.database_url)
        self.app = self.test_app()
        with self.app.app_context():
            migrate_afresh(wipe_postgres_schema=True)
            from server.demo import seed_demo
            from server.extensions import db

            seed_demo()
            db.session.commit()
            # One VAPID key for every process: the file every host shares (VAPID_PRIVATE_KEY_FILE, a mounted secret).
            keys.init_keys(self.app)

    def test_app(self):
        """An app on the cluster's database for the harness's own work (accounts, sessions, checks)."""
        from server import create_app

        return create_app({"APP_ENV": "testing", "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": str(self.instance),
                           "SQLALCHEMY_DATABASE_URI": self.database_url, "RATELIMIT_STORAGE_URI": "memory://",
                           "VAPID_PRIVATE_KEY_FILE": str(self.vapid_file), **self.storage_settings})

    def env(self, host: str) -> dict:
        """The production environment every app process and push worker gets (``host``: its instance folder)."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("MOTCUA_")}
        env.update(self.aws_env())
        env.update({
            "FLASK_APP": "server",
            "APP_ENV": "production",
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": self.database_url,
            "MOTCUA_INSTANCE_PATH": str(self.workdir / f"host-{host}"),
            "MOTCUA_TRUSTED_PROXY_HOPS": "1",
            "MOTCUA_BASE_URL": "https://motcua.example.vn",
            "MOTCUA_RATELIMIT_STORAGE_URI": self.redis_url,
            "MOTCUA_LOOKUP_RATE_LIMIT": f"{LOOKUP_LIMIT} per minute",
            "MOTCUA_STORAGE_BACKEND": "s3",
            "MOTCUA_S3_BUCKET": self.bucket,
            "MOTCUA_S3_ENDPOINT_URL": self.s3_url,
            "MOTCUA_S3_REGION": "us-east-1",
            "MOTCUA_VAPID_PRIVATE_KEY_FILE": str(self.vapid_file),
            "MOTCUA_VAPID_SUBJECT": "mailto:motcua@hbt.hanoi.gov.vn",
            "MOTCUA_PUSH_ALLOW_PRIVATE_ENDPOINTS": "true",
            # A killed worker's claims wait for their lease (2 minutes plus the batch's worst case): small batches
            # and a short timeout keep that worst case near the 2 minutes.
            "MOTCUA_PUSH_BATCH_SIZE": "10",
            "MOTCUA_PUSH_TIMEOUT_SECONDS": "2",
            "MOTCUA_DB_POOL_SIZE": str(self.threads + 1),
            "MOTCUA_DB_MAX_OVERFLOW": "2",
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def start_app(self, index: int) -> Service:
        """App process ``index`` (0-based), started as production starts it: gunicorn -c deploy/gunicorn.conf.py,
        one worker process with ``threads`` threads (the configuration reads these from the environment)."""
        port = self.app_ports[index]
        name = f"app{index + 1}"
        service = self.services.get(name)
        if service is None:
            env = {**self.env(name), "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
                   "GUNICORN_THREADS": str(self.threads)}
            service = Service(name, [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                              env, self.logs / f"{name}.log", ready=lambda: answers_http(port))
            self.services[name] = service
        return service.start()

    def start_push_worker(self, index: int) -> Service:
        service = self.services.get(f"push{index + 1}")
        if service is None:
            service = Service(f"push{index + 1}", [str(VENV_BIN / "flask"), "push", "worker"],
                              self.env(f"push{index + 1}"),
                              self.logs / f"push{index + 1}.log")
            self.services[service.name] = service
        return service.start()

    def _start_proxy(self) -> None:
        self.proxy_port = free_port()
        servers = "\n".join(f"    server app{i + 1} 127.0.0.1:{port} check inter 300ms fall 1 rise 1"
                            for i, port in enumerate(self.app_ports))
        config = self.workdir / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=self.proxy_port, pem=self.pem, servers=servers))
        self.services["proxy"] = Service("proxy", ["haproxy", "-db", "-f", str(config)], dict(os.environ),
                                         self.logs / "proxy.log", ready=lambda: accepts(self.proxy_port)).start()
        self.url = f"https://127.0.0.1:{self.proxy_port}"

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        for client in (getattr(self, "_s3", None), getattr(self, "_redis", None)):
            if client is not None:
                client.close()
        for server in (getattr(self, "redis_server", None), getattr(self, "s3_server", None)):
            if server is not None:
                server.stop()
        if getattr(self, "app", None) is not None:
            from server.extensions import db

            with self.app.app_context():
                db.engine.dispose()

    # -- accounts and sessions ---------------------------------------------------------------------------------

    def sessions(self, phones: int, citizens: int) -> dict:
        """Officers with a phone each, citizens each owning a dossier in processing, and a leader: their session
        cookies (test-only sign-in, see the module's docstring) and the citizens' dossiers."""
        from server.auth.models import Device
        from server.auth.models import Role
        from server.dossiers.models import DossierFollower
        from server.dossiers.models import FollowRole
        from server.dossiers.workflow import State
        from server.extensions import db
        from server.people.models import Person
        from tests.helpers import consent_to_push
        from tests.helpers import demo_agency
        from tests.helpers import demo_user
        from tests.helpers import make_dossier
        from tests.helpers import make_user
        from tests.helpers import sign_in

        plan = {"phones": [], "citizens": [], "desk": None}
        with self.app.app_context():
            cookie_name = self.app.config["SESSION_COOKIE_NAME"]

            from tests.conftest import FreshContextClient

            def cookie_of(user, device=None) -> str:
                # Each request in its own context, as real requests are (Flask-Login caches the user in ``g``).
                self.app.test_client_class = FreshContextClient
                client = self.app.test_client()
                sign_in(client, user, device)
                return client.get_cookie(cookie_name).value

            agency = demo_agency()
            for number in range(phones):
                officer = make_user(Role.OFFICER, agency, f"Cán bộ {number + 1}")
                device = Device(user_id=officer.id, name=f"Điện thoại {number + 1}")
                db.session.add(device)
                db.session.commit()
                plan["phones"].append({"user_id": officer.id, "cookie": cookie_of(officer, device)})
            for number in range(citizens):
                citizen = make_user(Role.CITIZEN, None, f"Công dân {number + 1}")
                citizen.person = Person(full_name=f"Công dân {number + 1}", personal_id=None)
                # In processing already, so that the desk's one action (stop) is what notifies the citizen.
                dossier = make_dossier(State.IN_PROCESS, code=f"CLUSTER-{number + 1:04d}")
                dossier.owner = dossier.submitter = citizen.person
                db.session.flush()
                db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
                db.session.commit()
                consent_to_push(citizen)
                plan["citizens"].append({"user_id": citizen.id, "dossier_id": dossier.id, "code": dossier.code,
                                         "cookie": cookie_of(citizen)})
            leader = demo_user(Role.LEADER)
            # Four clerks share the leader's account (one session), so that the desk keeps pace with the load.
            plan["desk"] = {"user_id": leader.id, "cookie": cookie_of(leader)}
            plan["desk_clerks"] = 4 if citizens else 0
            plan["cookie_name"] = cookie_name
            db.session.remove()
        return plan

    # -- clients through the proxy ----------------------------------------------------------------------------

    def client(self, cookie: str | None = None):
        """A requests session through the proxy, with a session cookie, as a browser of the cluster's origin."""
        import requests

        session = requests.Session()
        # The environment's REQUESTS_CA_BUNDLE would replace the proxy's certificate (requests prefers it to
        # session.verify); nothing here goes through an HTTP proxy either.
        session.trust_env = False
        session.verify = str(self.cert)
        session.headers.update({"Referer": f"{self.url}/", "Origin": self.url, "Accept": "application/json"})
        if cookie:
            session.cookies.set(self.app.config["SESSION_COOKIE_NAME"], cookie, domain="127.0.0.1", path="/")
        return session

    def get_from(self, source: str, path: str, headers: dict | None = None) -> tuple[int, dict]:
        """One GET through the proxy from the loopback address ``source`` (127.0.0.x: distinct client addresses)."""
        import http.client

        context = ssl.create_default_context(cafile=str(self.cert))
        connection = http.client.HTTPSConnection("127.0.0.1", self.proxy_port, source_address=(source, 0),
                                                 context=context, timeout=30)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    # -- load ------------------------------------------------------------------------------------------------

    def run_locust(self, plan: dict, timeout: float) -> tuple[dict, Service]:
        """Run the load (tests/cluster/locustfile.py) to its end; returns what it recorded and its process."""
        plan = {**plan, "url": self.url, "cert": str(self.cert)}
        plan_file = self.workdir / f"plan-{uuid.uuid4().hex[:8]}.json"
        result_file = plan_file.with_name(plan_file.stem + "-result.json")
        plan_file.write_text(json.dumps(plan))
        clerks = plan.get("desk_clerks", 0) if plan.get("desk") else 0
        users = len(plan["phones"]) + len(plan.get("citizens", [])) + clerks
        argv = [str(VENV_BIN / "locust"), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
                "--users", str(users), "--spawn-rate", str(max(users, 1)), "--host", self.url,
                "--run-time", f"{int(timeout)}s", "--stop-timeout", "5", "--only-summary", "--loglevel", "WARNING"]
        env = {**os.environ, "CLUSTER_PLAN": str(plan_file), "CLUSTER_RESULT": str(result_file),
               "PYTHONPATH": str(ROOT)}
        service = Service("load", argv, env, self.logs / f"{plan_file.stem}.log")
        service.start()
        self.services[f"load-{plan_file.stem}"] = service
        return result_file, service

    @staticmethod
    def read_result(result_file: Path, service: Service, timeout: float) -> dict:
        service.popen.wait(timeout=timeout)
        if not result_file.exists():
            raise RuntimeError(f"the load generator wrote no result; its log {service.log}:\n"
                               + service.log.read_text(errors="replace")[-3000:])
        return json.loads(result_file.read_text())

    # -- what is stored ---------------------------------------------------------------------------------------

    def stored_photo(self, sha256: str) -> bytes | None:
        """A photo's bytes as the bucket holds them (key: the SHA-256, server/storage/s3.py), or None."""
        from botocore.exceptions import ClientError

        try:
            return self.s3().get_object(Bucket=self.bucket, Key=sha256)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
