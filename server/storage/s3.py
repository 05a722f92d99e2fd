"""An S3-compatible bucket (MinIO, Ceph RGW, a provincial cloud's S3 API), through boto3.

The object's key is the SHA-256 (hex) itself: no fan-out (a bucket has no folders to keep small) and hex keys spread
evenly over the store's partitions. Settings: ``S3_BUCKET``, ``S3_ENDPOINT_URL`` (none: AWS), ``S3_REGION``;
credentials the boto3 way (``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` in the environment, or a profile).

How the hash of what is stored is verified: every put sends ``ChecksumSHA256`` (S3's "flexible checksums"), and then
reads the object back and hashes it. The checksum alone is not enough everywhere: AWS and recent MinIO hash the body
and refuse a damaged one (BadDigest), but some S3-compatible stores keep the header without checking it (moto, the
test server, does; older Ceph releases ignore it). The read-back holds on every store and costs one read per new
file, once (a file is written once; a repeated upload finds it there and writes nothing). The stored checksum is
what later existence checks compare with the key (``ChecksumMode=ENABLED`` on a HEAD: no bytes travel); an object
without one (written by another tool) is read back and hashed instead.
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import BinaryIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError
from flask import Flask

from server.storage import NotStored
from server.storage import StorageError
from server.storage import sha256_hex

log = logging.getLogger(__name__)

#: Error codes meaning "the store is full" (MinIO's own, and quota errors); HTTP 507 means it too.
_FULL_CODES = {"XMinioStorageFull", "QuotaExceeded", "InsufficientStorage"}

#: Bounded waits: a store that does not answer must turn into a 503 while the phone's request is still open, not
#: hold a web worker for minutes. "standard" retries (3 tries with back-off) ride over a store's brief hiccups.
_CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
    # Signature V4 for requests and presigned URLs (V2 is deprecated; MinIO and Ceph RGW speak V4).
    signature_version="s3v4",
    # Path-style addressing (http://host/bucket/key) works with every S3-compatible store on any host name;
    # virtual-host style needs a DNS name per bucket, which MinIO or a loopback test server do not have.
    s3={"addressing_style": "path"},
    # Checksums only where we ask for them (the put's SHA-256): no CRC32 computed on every other request.
    request_checksum_calculation="when_required", response_checksum_validation="when_required",
)


def checksum_of(sha256: str) -> str:
    """The value S3 gives for ``ChecksumSHA256``: the digest in base64, where the key has it in hex."""
    return base64.b64encode(bytes.fromhex(sha256)).decode("ascii")


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def client_for(app: Flask):
    """The boto3 client for the app's settings, made once per process (clients are thread-safe; making one costs
    about half a second of CPU, which a request should not pay, nor each test app)."""
    settings = (app.config.get("S3_ENDPOINT_URL") or None, app.config["S3_REGION"])
    with _clients_lock:
        if settings not in _clients:
            _clients[settings] = boto3.session.Session().client(
                "s3", endpoint_url=settings[0], region_name=settings[1], config=_CLIENT_CONFIG)
        return _clients[settings]


def public_origin(config) -> str:
    """The origin presigned URLs point at (path-style: one origin for every bucket), for the pages' CSP."""
    endpoint = config.get("S3_ENDPOINT_URL") or f"https://s3.{config['S3_REGION']}.amazonaws.com"
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class S3Storage:
    name = "s3"

    def __init__(self, client, bucket: str):
        self.client, self.bucket = client, bucket

    @classmethod
    def from_config(cls, app: Flask) -> S3Storage:
        return cls(client_for(app), app.config["S3_BUCKET"])

    def put(self, sha256: str, data: bytes, media_type: str) -> bool:
        if sha256_hex(data) != sha256:
            raise ValueError("the bytes do not hash to their key")  # a caller's bug: store() checked it first
        if self.has(sha256):
            return False
        checksum = checksum_of(sha256)
        with self._errors():
            # The algorithm is named as well as the value: some stores (moto) keep a checksum only when it is.
            self.client.put_object(Bucket=self.bucket, Key=sha256, Body=data, ContentType=media_type,
                                   ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
        if self._read_back_digest(sha256) != sha256:
            # Remove the wrong bytes so that no later check trusts their (claimed) checksum; the phone sends again.
            self.delete(sha256)
            log.error("bucket %s kept other bytes than were sent for %s", self.bucket, sha256)
            raise StorageError(False, f"bucket {self.bucket} kept other bytes than were sent for {sha256}")
        return True

    def has(self, sha256: str) -> bool:
        with self._errors():
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=sha256, ChecksumMode="ENABLED")
            except ClientError as error:
                if _status(error) != 404:
                    raise
                # A HEAD has no body, so a missing bucket is a bare 404 too: tell the two apart (rare: a miss).
                self.client.head_bucket(Bucket=self.bucket)
                return False
        stored = head.get("ChecksumSHA256")
        if stored is None:  # written without a checksum (another tool), or a store that keeps none: hash it
            return self._read_back_digest(sha256) == sha256
        return stored == checksum_of(sha256)

    def open(self, sha256: str) -> BinaryIO:
        with self._errors():
            try:
                return self.client.get_object(Bucket=self.bucket, Key=sha256)["Body"]
            except ClientError as error:
                if _code(error) == "NoSuchKey":
                    raise NotStored(sha256) from None
                raise

    def read(self, sha256: str) -> bytes:
        body = self.open(sha256)
        try:
            with self._errors():
                return body.read()
        finally:
            body.close()

    def delete(self, sha256: str) -> None:
        with self._errors():
            self.client.delete_object(Bucket=self.bucket, Key=sha256)

    def presigned_url(self, sha256: str, seconds: int, media_type: str) -> str:
        # Signed here, without a request to the store; the store refuses it once ``seconds`` have passed. The
        # response carries the same type and no-store caching as the app's own answer would.
        return self.client.generate_presigned_url("get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": sha256, "ResponseContentType": media_type,
            "ResponseCacheControl": "private, no-store"})

    def check(self) -> str:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            log.error("health check: bucket %s: %s", self.bucket, error)
            # 403: the credentials lack s3:ListBucket, without which a HEAD of a missing key is 403 too and no new
            # file could be stored (docs/deploy.md lists the permissions the app needs).
            return {404: "no_bucket", 403: "forbidden"}.get(_status(error), "unreachable")
        except BotoCoreError as error:
            log.error("health check: S3 store unreachable: %s", error)
            return "unreachable"
        return "ok"

    def _read_back_digest(self, sha256: str) -> str | None:
        try:
            return sha256_hex(self.read(sha256))
        except NotStored:
            return None

    def _errors(self):
        return _StoreErrors(self.bucket)


class _StoreErrors:
    """Turns what boto3 raises (connection refused, timeouts, NoSuchBucket, AccessDenied, 5xx) into a
    :class:`StorageError`; a ClientError the caller handles itself (a missing key) goes through untouched."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, BotoCoreError):
            log.error("S3 store unreachable (bucket %s): %s", self.bucket, error)
            raise StorageError(False, str(error)) from None
        if isinstance(error, ClientError):
            log.error("S3 store refused (bucket %s): %s", self.bucket, error)
            raise StorageError(_code(error) in _FULL_CODES or _status(error) == 507, str(error)) from None
        return False


def _status(error: ClientError) -> int | None:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
