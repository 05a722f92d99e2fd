"""Issue 13 point 1: the file store (server/storage/), on the local folder and on a real S3 protocol server.

The S3 server is moto's standalone server on loopback (tests/s3_server.py), spoken to over HTTP by boto3. Tests that
name no backend run on the one the session was started with (TEST_STORAGE_BACKEND); the others choose their own.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.request
import uuid
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy import update

from server.auth.models import Role
from server.dossiers.models import Attachment
from server.dossiers.models import DossierDocument
from server.extensions import db
from server.reference.models import Agency
from server.storage import NotStored
from server.storage import backend
from server.storage.local import LocalStorage
from server.storage.local import attachment_dir
from server.storage.s3 import S3Storage
from tests.conftest import ON_S3
from tests.desk_support import PROCEDURE_KEY
from tests.desk_support import officer_client
from tests.desk_support import photo
from tests.desk_support import synced_dossier
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import procedure
from tests.helpers import sign_in
from tests.s3_server import free_port

S3 = {"backend": "s3"}
LOCAL = {"backend": "local"}


@pytest.fixture
def storage_settings(request):
    """As tests/conftest.py's, but a test may choose its store: ``@pytest.mark.parametrize("storage_settings",
    [S3], indirect=True)``, with further settings in the dict."""
    wanted = dict(getattr(request, "param", None) or ({"backend": "s3"} if ON_S3 else {"backend": "local"}))
    if wanted.pop("backend") == "local":
        return wanted
    return {**request.getfixturevalue("s3_server").new_bucket(), **wanted}


def picture(n: int) -> bytes:
    """A JPEG of its own for each ``n`` (its size differs: plain colours close to each other may encode alike)."""
    return photo(n, size=(600 + n, 400))


def upload(client, token, data: bytes, digest: str | None = None):
    digest = digest or hashlib.sha256(data).hexdigest()
    return client.put(f"/api/v1/attachments/{digest}", data=data, content_type="image/jpeg",
                      headers={"X-CSRFToken": token})


def dossier_body(digest: str) -> dict:
    from server.calendar.workdays import to_local
    from server.types import utcnow

    mandatory = [r for r in procedure(PROCEDURE_KEY).versions[-1].required_documents if r.mandatory]
    return {"procedure_key": PROCEDURE_KEY, "received_at": to_local(utcnow()).replace(microsecond=0).isoformat(),
            "code": None, "provisional_code": f"TAM-{uuid.uuid4().hex[:8]}", "reception_mode": "home_visit",
            "owner": {"full_name": "Trần Văn Phúc"}, "submitter": None,
            "documents": [{"required_document_code": r.code, "name": r.name_vi, "sha256": None if n else digest,
                           "sighted_original": True} for n, r in enumerate(mandatory)]}


def desk_client(app, user=None):
    client = app.test_client()
    sign_in(client, user or demo_user(Role.STAFF))
    return client


def raw_bucket(app):
    """boto3 straight at the test bucket, past the app (to plant or inspect objects)."""
    from server.storage.s3 import client_for

    return client_for(app), app.config["S3_BUCKET"]


# --- the interface, on both backends ---------------------------------------------------------------------------

@pytest.mark.parametrize("storage_settings", [LOCAL, S3], indirect=True, ids=["local", "s3"])
def test_a_put_is_idempotent_and_keeps_exactly_the_bytes(app):
    files = backend()
    data = picture(1)
    digest = hashlib.sha256(data).hexdigest()
    assert not files.has(digest)
    with pytest.raises(NotStored):
        files.read(digest)
    assert files.put(digest, data, "image/jpeg") is True
    assert files.put(digest, data, "image/jpeg") is False  # already there: nothing written
    assert files.has(digest) and files.read(digest) == data
    with files.open(digest) as streamed:
        assert streamed.read() == data
    with pytest.raises(ValueError):
        files.put("0" * 64, data, "image/jpeg")  # bytes under another hash's name: never
    assert not files.has("0" * 64)
    files.delete(digest)
    files.delete(digest)  # deleting what is gone is fine (a purge run again)
    assert not files.has(digest)
    assert files.check() == "ok"


def test_the_local_store_keeps_the_layout_of_existing_installs(app):
    app.config["STORAGE_BACKEND"] = "local"
    data = picture(2)
    digest = hashlib.sha256(data).hexdigest()
    backend().put(digest, data, "image/jpeg")
    assert (attachment_dir(app) / digest[:2] / digest).read_bytes() == data


# --- S3: the hash of what is stored is verified ----------------------------------------------------------------

@pytest.mark.parametrize("storage_settings", [S3], indirect=True)
def test_s3_objects_carry_their_sha256_checksum(app):
    client, token = officer_client(app)
    data = picture(3)
    digest = hashlib.sha256(data).hexdigest()
    assert upload(client, token, data).status_code == 201
    assert upload(client, token, data).status_code == 200  # idempotent through the API too
    s3, bucket = raw_bucket(app)
    head = s3.head_object(Bucket=bucket, Key=digest, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert head["ContentType"] == "image/jpeg"


@pytest.mark.parametrize("storage_settings", [S3], indirect=True)
def test_s3_bytes_that_do_not_hash_to_their_key_are_not_trusted_and_an_upload_replaces_them(app):
    client, token = officer_client(app)
    s3, bucket = raw_bucket(app)
    right, wrong = picture(4), picture(5)
    digest = hashlib.sha256(right).hexdigest()
    s3.put_object(Bucket=bucket, Key=digest, Body=wrong)  # another tool wrote other bytes, without a checksum
    assert not backend().has(digest)
    other = hashlib.sha256(picture(6)).hexdigest()
    s3.put_object(Bucket=bucket, Key=other, Body=wrong, ChecksumAlgorithm="SHA256", ChecksumSHA256=base64.b64encode(
        hashlib.sha256(wrong).digest()).decode())  # a checksum, but not the key's
    assert not backend().has(other)
    assert upload(client, token, right).status_code == 201
    assert backend().has(digest) and backend().read(digest) == right


@pytest.mark.parametrize("storage_settings", [S3], indirect=True)
def test_s3_a_put_the_store_kept_wrong_is_refused_and_removed(app):
    """The bytes are damaged between the app and the store (injected on the wire, after boto3 prepared the
    request): the read-back finds other bytes, the upload is a 503 the phone retries, and nothing stays."""
    s3, bucket = raw_bucket(app)

    def damage(request, **_):
        body = request.body if isinstance(request.body, bytes) else request.body.read()
        request.body = body[:-3] + bytes(3)  # same length: the store cannot tell by the size

    s3.meta.events.register("before-send.s3.PutObject", damage)
    try:
        client, token = officer_client(app)
        data = picture(7)
        response = upload(client, token, data)
    finally:
        s3.meta.events.unregister("before-send.s3.PutObject", damage)
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["code"] == "storage_unavailable"
    digest = hashlib.sha256(data).hexdigest()
    assert not backend().has(digest)
    assert db.session.get(Attachment, digest) is None  # no row for bytes the store does not hold
    assert upload(client, token, data).status_code == 201  # the phone's next try


# --- a dossier is accepted only when its photos are really in the store ----------------------------------------

def test_a_dossier_citing_a_photo_whose_bytes_are_not_in_the_store_is_refused_until_it_is_uploaded_again(app):
    client, token = officer_client(app)
    data = picture(8)
    digest = hashlib.sha256(data).hexdigest()
    assert upload(client, token, data).status_code == 201
    backend().delete(digest)  # uploaded through another host: this one's store does not have it
    assert db.session.get(Attachment, digest) is not None  # the row says it was uploaded
    url = f"/api/v1/dossiers/{uuid.uuid4()}"
    body = dossier_body(digest)
    refused = client.put(url, json=body, headers={"X-CSRFToken": token})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("documents.0.sha256", "missing_from_store")]
    assert problem["errors"][0]["vi"] and problem["errors"][0]["en"]
    assert problem["photos_to_send"] == [digest]
    # What the phone does (pwa/lib/outbox-flush.classic.js): upload the photo again, then the same body.
    assert upload(client, token, data).status_code == 201  # written again: the bytes were missing
    accepted = client.put(url, json=body, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201, accepted.get_json()
    assert backend().read(digest) == data


def test_a_photo_never_uploaded_is_also_among_the_photos_to_send(app):
    client, token = officer_client(app)
    digest = hashlib.sha256(picture(9)).hexdigest()
    refused = client.put(f"/api/v1/dossiers/{uuid.uuid4()}", json=dossier_body(digest),
                         headers={"X-CSRFToken": token})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["code"] == "unknown_attachment"
    assert refused.get_json()["photos_to_send"] == [digest]


# --- the desk: streamed, or a short-lived presigned URL, after the same access check ---------------------------

@pytest.mark.parametrize("storage_settings", [S3], indirect=True)
def test_the_desk_streams_the_photo_from_the_bucket_by_default(app):
    dossier, synced_photo = synced_dossier(app)
    with desk_client(app).get(f"/staff/attachments/{hashlib.sha256(synced_photo).hexdigest()}") as response:
        assert response.status_code == 200 and response.data == synced_photo
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Location" not in response.headers


@pytest.mark.parametrize("storage_settings", [{**S3, "S3_PRESIGN_SECONDS": 45}], indirect=True)
def test_with_presigning_the_desk_is_redirected_to_a_short_lived_url_only_after_the_access_check(app):
    """The URL is signed for S3_PRESIGN_SECONDS and given only to a desk that may see the photo. That the store
    refuses it afterwards is the store's duty (AWS, MinIO and Ceph check X-Amz-Expires); moto, the test server,
    does not check it, so this test checks the lifetime the URL is signed for, not the refusal."""
    dossier, synced_photo = synced_dossier(app)
    digest = hashlib.sha256(synced_photo).hexdigest()
    desk = desk_client(app)
    response = desk.get(f"/staff/attachments/{digest}")
    assert response.status_code == 303 and response.headers["Cache-Control"] == "private, no-store"
    location = response.headers["Location"]
    assert location.startswith(app.config["S3_ENDPOINT_URL"] + "/")
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["45"] and "X-Amz-Signature" in query
    with urllib.request.urlopen(location, timeout=10) as served:  # the browser follows it to the bucket
        assert served.read() == synced_photo
        assert served.headers["Content-Type"] == "image/jpeg"
        assert served.headers["Cache-Control"] == "private, no-store"
    # The desk's page lets its <img> follow the redirect (the bucket's origin is an image source), nothing more.
    page = desk.get(f"/staff/dossiers/{dossier.id}")
    policy = page.headers["Content-Security-Policy"]
    assert f"img-src 'self' {app.config['S3_ENDPOINT_URL']} " in policy and "script-src 'self';" in policy
    # Another ward's desk, the officer and a stranger get no URL at all.
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    stranger = desk_client(app, make_user(Role.STAFF, other_ward, "Công chức phường khác"))
    for client in (stranger, officer_client(app)[0], app.test_client()):
        refused = client.get(f"/staff/attachments/{digest}")
        assert refused.status_code in (302, 401, 403, 404) and "X-Amz-Signature" not in refused.headers.get(
            "Location", "")


# --- a store that cannot serve is a 503 (or 507) problem, never a 500 ------------------------------------------

@pytest.mark.parametrize("storage_settings", [S3], indirect=True)
def test_an_unreachable_s3_store_is_a_503_problem_document_everywhere(app):
    dossier, synced_photo = synced_dossier(app)
    digest = hashlib.sha256(synced_photo).hexdigest()
    receipt = next(d for d in dossier.documents if d.form_key == "receipt")
    client, token = officer_client(app)
    desk = desk_client(app)
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"  # S3 is down: nothing listens there

    response = upload(client, token, picture(10))
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:motcua:problem:storage-unavailable"
    assert response.get_json()["errors"][0]["code"] == "storage_unavailable"

    response = client.put(f"/api/v1/dossiers/{uuid.uuid4()}", json=dossier_body(digest),
                          headers={"X-CSRFToken": token})
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:motcua:problem:storage-unavailable"
    assert response.get_json()["detail"]

    assert desk.get(f"/staff/attachments/{digest}").status_code == 503  # the desk's page, not a 500
    assert desk.get(f"/staff/dossiers/{dossier.id}/forms/{receipt.form_key}.pdf").status_code == 503
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["attachments"] == "unreachable"


@pytest.mark.parametrize("storage_settings", [S3], indirect=True)
def test_a_desk_step_while_s3_is_down_is_taken_and_its_form_rendered_once_the_store_is_back(app):
    """The step stores nothing (its form's PDF is rendered by the worker after the commit): the store being down
    does not refuse it. The worker's render fails, keeps the form waiting without counting it against the form,
    and records it once the store answers again."""
    from server.dossiers.models import Dossier
    from server.dossiers.workflow import State
    from server.forms import rendering
    from server.forms.issue import issued_forms

    dossier, _ = synced_dossier(app)
    client = app.test_client()
    token = sign_in(client, demo_user(Role.STAFF))
    assert client.post(f"/staff/dossiers/{dossier.id}/actions/transfer", data={"csrf_token": token}).status_code == 302
    working = app.config["S3_ENDPOINT_URL"]
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    response = client.post(f"/staff/dossiers/{dossier.id}/actions/request_supplement", data={
        "csrf_token": token, "items": "Sổ hộ nghèo", "reason": "Thiếu giấy tờ"})  # issues Mẫu 02
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).state is State.AWAITING_SUPPLEMENT
    [form] = issued_forms(db.session.get(Dossier, dossier.id), "supplement_request")
    assert form.pdf_pending
    assert rendering.render_pending() == 0  # the store refuses: still waiting, not counted against the form
    db.session.expire_all()
    assert form.pdf_pending and form.render_attempts == 0
    app.config["S3_ENDPOINT_URL"] = working
    db.session.execute(update(DossierDocument).where(DossierDocument.id == form.id)
                       .values(render_lease_until=None))
    db.session.commit()  # as if its short wait were over
    assert rendering.render_pending() == 1
    db.session.expire_all()
    assert not form.pdf_pending and backend().has(form.sha256)


@pytest.mark.parametrize("storage_settings", [S3], indirect=True)
def test_a_missing_bucket_is_a_503_and_healthz_says_so(app):
    client, token = officer_client(app)
    app.config["S3_BUCKET"] = f"motcua-gone-{uuid.uuid4().hex[:12]}"
    response = upload(client, token, picture(11))
    assert response.status_code == 503 and response.get_json()["errors"][0]["code"] == "storage_unavailable"
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["attachments"] == "no_bucket"


# --- flask storage copy ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("storage_settings", [{**S3, "STORAGE_BACKEND": "local"}], indirect=True)
def test_storage_copy_verifies_every_hash_reports_progress_and_resumes(app, runner):
    """The folder of an install before object storage, copied into the bucket configured for it (the backend in
    use is still the folder); interrupted after 2 files, then run again."""
    folder = LocalStorage.from_config(app)
    good = {hashlib.sha256(picture(20 + n)).hexdigest(): picture(20 + n) for n in range(4)}
    for digest, data in good.items():
        folder.put(digest, data, "image/jpeg")
    damaged = hashlib.sha256(b"what it was").hexdigest()
    (folder.folder / damaged[:2]).mkdir(exist_ok=True)
    (folder.folder / damaged[:2] / damaged).write_bytes(picture(99))  # bit rot: bytes that are not its name's
    (folder.folder / next(iter(good))[:2] / ".upload-x1y2").write_bytes(b"half")  # a crashed write
    bucket = S3Storage.from_config(app)

    first = runner.invoke(args=["storage", "copy", "--limit", "2"])
    assert first.exit_code == 0, first.output
    assert "5 files" in first.output and "Stopped after 2 copied files" in first.output
    assert sum(bucket.has(digest) for digest in good) == 2

    second = runner.invoke(args=["storage", "copy"])
    assert second.exit_code == 1, second.output  # a damaged file was found: not a silent success
    assert "of 5" in second.output and "Done: 2 copied, 2 already in the bucket, 1 not copied" in second.output
    assert f"{damaged}: NOT COPIED" in second.output
    assert all(bucket.has(digest) and bucket.read(digest) == data for digest, data in good.items())
    assert not bucket.has(damaged)
    s3, name = raw_bucket(app)
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 4

    third = runner.invoke(args=["storage", "copy"])  # run again after it finished: nothing to do
    assert "Done: 0 copied, 4 already in the bucket" in third.output


def test_storage_copy_needs_a_bucket(app, runner):
    app.config["S3_BUCKET"] = None
    result = runner.invoke(args=["storage", "copy"])
    assert result.exit_code != 0 and "S3_BUCKET is not set" in result.output


def test_every_cited_photo_of_a_synced_dossier_is_in_the_store(app):
    dossier, synced_photo = synced_dossier(app)
    cited = set(db.session.scalars(select(DossierDocument.sha256).where(
        DossierDocument.dossier_id == dossier.id, DossierDocument.sha256.is_not(None))))
    assert hashlib.sha256(synced_photo).hexdigest() in cited
    for digest in cited:
        assert hashlib.sha256(backend().read(digest)).hexdigest() == digest


def test_an_unknown_backend_is_refused_at_start(tmp_path):
    from server import create_app
    from server.config import ConfigError

    with pytest.raises(ConfigError):
        create_app({"INSTANCE_PATH": str(tmp_path), "STORAGE_BACKEND": "ftp"})
    with pytest.raises(ConfigError):
        create_app({"INSTANCE_PATH": str(tmp_path), "STORAGE_BACKEND": "s3"})  # no bucket
