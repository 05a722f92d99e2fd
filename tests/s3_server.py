"""A real S3 protocol server on loopback for the tests: moto's standalone server (``moto[s3]`` and ``flask-cors``
from PyPI), run as its own process and spoken to over HTTP by boto3, as the app speaks to MinIO or Ceph in
production. Not an in-process mock: requests go through the socket, the signing and the XML of the S3 protocol.

Used by tests/conftest.py (fixtures ``s3_server`` and ``s3_settings``) and meant for other harnesses (the cluster
test) too::

    server = S3Server.start()          # free port, waits until it answers
    settings = server.new_bucket()     # {"STORAGE_BACKEND": "s3", "S3_BUCKET": ..., "S3_ENDPOINT_URL": ...}
    server.stop()

What moto does not do (so the tests do not claim it): it keeps a ``ChecksumSHA256`` without checking it against the
body, and it serves a presigned URL after its expiry. The app reads back what it stored for the first reason
(server/storage/s3.py); the second is the store's own duty (AWS, MinIO and Ceph refuse an expired URL).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import boto3

#: Credentials the S3 server accepts (moto accepts any); given to boto3 the usual way, through the environment.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "motcua-test", "AWS_SECRET_ACCESS_KEY": "motcua-test-secret"}
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class S3Server:
    def __init__(self, process: subprocess.Popen, port: int, log):
        self.process, self.port, self.log = process, port, log
        self.endpoint_url = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, ready_within_seconds: float = 60) -> S3Server:
        """Start the server on a free port and return once it answers HTTP (or fail with its output)."""
        os.environ.update(CREDENTIALS)
        port = free_port()
        # Its log (a line per request) goes to a file: a pipe nobody reads would fill and stop the server.
        log = tempfile.TemporaryFile()
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT)
        server = cls(process, port, log)
        deadline = time.monotonic() + ready_within_seconds  # a bound on the wait for "it answers", not a sleep
        while not server.answers():
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace")[-2000:]
                server.stop()
                raise RuntimeError(f"the S3 test server did not start: {output}")
            time.sleep(0.05)  # between two tries to connect
        return server

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def client(self):
        return boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, region_name=REGION)

    def new_bucket(self) -> dict:
        """A fresh empty bucket, and the app settings that use it."""
        name = f"motcua-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return {"STORAGE_BACKEND": "s3", "S3_BUCKET": name, "S3_ENDPOINT_URL": self.endpoint_url,
                "S3_REGION": REGION}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
