"""A Redis of the test session's own: Debian's ``redis-server`` on a free loopback port, nothing saved to disk.

The tests never use the machine's Redis (whatever it holds, whoever else uses it): the ``redis_server`` fixture
starts one process for the session, waits until it says it is ready and answers PING, and stops it at the end.
``RedisServer.url(db)`` is what ``RATELIMIT_STORAGE_URI`` takes. The cluster harness (tests/cluster/) reuses it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass

import pytest

#: How long redis-server may take to say it is ready on a loaded 2-core machine (it takes milliseconds).
START_TIMEOUT_SECONDS = 30


@dataclass
class RedisServer:
    process: subprocess.Popen
    port: int
    host: str = "127.0.0.1"
    drain: threading.Thread | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def client(self, db: int = 0):
        import redis

        return redis.Redis(host=self.host, port=self.port, db=db)

    def stop(self) -> None:
        """SIGTERM, and wait for it to exit (with --save '' it has nothing to write)."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=START_TIMEOUT_SECONDS)
        if self.drain is not None:
            self.drain.join()
        self.process.stdout.close()


def free_port() -> int:
    """A port the kernel says is free now (another process could take it before ours binds: start() retries)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(attempts: int = 3) -> RedisServer:
    """Start redis-server on a free loopback port; returns once it has answered PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (./dev test does it as root)")
    for _ in range(attempts):
        port = free_port()
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--logfile", "", "--loglevel", "notice"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        server = RedisServer(process, port)
        # Its log says when it listens: read it line by line (each read waits for the next line, or for the end
        # when the process dies), under a watchdog in case it neither starts nor dies.
        watchdog = _kill_after(process, START_TIMEOUT_SECONDS)
        output = []
        for line in process.stdout:
            output.append(line)
            if "Ready to accept connections" in line:
                break
        watchdog.cancel()
        if process.poll() is None and server.client().ping():
            # Keep reading its log (unread, a full pipe would block the server), to nowhere.
            server.drain = threading.Thread(target=process.stdout.read, daemon=True)
            server.drain.start()
            return server
        server.stop()
        if not any("Address already in use" in line for line in output):
            raise RuntimeError("redis-server did not start:\n" + "".join(output))
    raise RuntimeError(f"redis-server found no free port in {attempts} attempts")


def _kill_after(process: subprocess.Popen, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, process.kill)
    timer.daemon = True
    timer.start()
    return timer


@pytest.fixture(scope="session")
def redis_server():
    """The session's own Redis (see the module's docstring); each test uses keys of its own (a unique prefix)."""
    server = start()
    yield server
    server.stop()
