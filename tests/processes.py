"""Real processes for tests: start one, wait for a line of its output (an event, not a fixed time), stop it.

Used by the tests of the production shape (tests/test_processes.py: gunicorn) and of the push worker processes
(tests/test_push.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: How long a process may take to start or stop on a loaded 2-core machine (not a speed requirement: a bound).
PATIENCE = 90


class Process:
    """A child process whose combined output is read line by line, so that a test can wait for a line."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.popen = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()  # the end of the output: whoever waits learns the process is gone

    @property
    def log(self) -> str:
        with self.changed:
            return "".join(self.lines)

    def wait_for_line(self, text: str, count: int = 1) -> None:
        def seen():
            return sum(text in line for line in self.lines) >= count or not self.reader.is_alive()

        with self.changed:
            self.changed.wait_for(seen, PATIENCE)
        if sum(text in line for line in self.lines) < count:
            raise AssertionError(f"never said {text!r} ({count}x); its output:\n{self.log}")

    def stop(self) -> int:
        """SIGTERM, and the exit code once it has finished (what a deployment's restart does)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=PATIENCE)
        finally:
            if self.popen.poll() is None:
                self.popen.kill()
                self.popen.wait()
        self.reader.join()
        self.popen.stdout.close()
        return code


def environment(app, **settings) -> dict[str, str]:
    """The test's database and instance folder, in the environment a process reads at start-up."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("MOTCUA_") and name not in ("DATABASE_URL", "APP_ENV", "SECRET_KEY",
                                                               "WEB_CONCURRENCY")}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY="processes-test-secret",
               MOTCUA_INSTANCE_PATH=app.instance_path, FLASK_APP="server",
               # The test's quiet hours (none, tests/conftest.py), or a worker started at night would hold everything.
               MOTCUA_QUIET_HOURS=json.dumps(app.config.get("QUIET_HOURS") or ""))
    env.update({name: str(value) for name, value in settings.items()})
    return env
