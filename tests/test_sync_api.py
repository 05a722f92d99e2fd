"""The offline client's sync API: photos by hash, dossiers by UUID (idempotent), reserved codes, flags."""

from __future__ import annotations

import copy
import errno
import hashlib
import io
import os
import threading
import uuid
from datetime import datetime
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import Device
from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.models import DossierEvent
from server.extensions import db
from server.people.models import Person
from server.types import utcnow
from tests.conftest import ON_POSTGRES
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import sign_in


def jpeg(width=800, height=600, colour=(200, 190, 170)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=80)
    return out.getvalue()


def officer_client(app):
    officer = demo_user(Role.OFFICER)
    device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
    client = app.test_client()
    token = sign_in(client, officer, device)
    return client, token


def put(client, token, url, **kwargs):
    return client.put(url, headers={"X-CSRFToken": token}, **kwargs)


def upload(client, token, data: bytes):
    digest = hashlib.sha256(data).hexdigest()
    return digest, put(client, token, f"/api/v1/attachments/{digest}", data=data,
                       content_type="application/octet-stream")


def reserve(client, token, day="2026-03-09", size=5):
    response = client.post("/api/v1/devices/current/code-blocks", json={"days": [day], "size": size},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["blocks"][0]


def captured(issued_code, photo_hashes, **changes) -> dict:
    body = {
        "procedure_key": "tro-cap-xa-hoi-hang-thang",
        "received_at": "2026-03-09T09:30:00+07:00",
        "code": issued_code,
        "due_at": None,
        "reception_mode": "home_visit",
        "owner": {"full_name": "Trần Văn Phúc", "personal_id": "001045012345", "phone": "0912345678",
                  "address": "Ngõ 5 phố Huế"},
        "submitter": {"full_name": "Trần Thị Mai", "phone": "0987654321"},
        "documents": [],
        "citizen_requested_receipt": False,
    }
    from tests.helpers import procedure

    version = procedure("tro-cap-xa-hoi-hang-thang").versions[-1]
    hashes = iter(photo_hashes)
    for doc in version.required_documents:
        if doc.mandatory:
            body["documents"].append({"required_document_code": doc.code, "name": doc.name_vi,
                                      "sha256": next(hashes, None), "sighted_original": True})
    body.update(changes)
    return body


# --- attachments ---------------------------------------------------------------------------------------------

def test_attachment_first_time_201_then_200(app):
    client, token = officer_client(app)
    data = jpeg()
    digest, first = upload(client, token, data)
    assert first.status_code == 201 and first.get_json()["media_type"] == "image/jpeg"
    assert first.get_json()["width"] == 800
    _, again = upload(client, token, data)
    assert again.status_code == 200
    from server.storage import backend

    assert backend().read(digest) == data


def test_attachment_refusals(app):
    client, token = officer_client(app)
    data = jpeg()
    wrong = put(client, token, f"/api/v1/attachments/{'0' * 64}", data=data)
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["code"] == "hash_mismatch"
    gif = b"GIF89a" + b"\0" * 100
    assert upload(client, token, gif)[1].status_code == 415
    assert upload(client, token, data[: len(data) // 2])[1].status_code == 422  # truncated JPEG
    app.config["MAX_IMAGE_PIXELS"] = 1000 * 1000
    bomb = io.BytesIO()
    Image.new("L", (3000, 3000)).save(bomb, "PNG")
    response = upload(client, token, bomb.getvalue())[1]
    assert response.status_code == 422 and response.get_json()["errors"][0]["code"] == "image_too_large"
    app.config["MAX_ATTACHMENT_BYTES"] = 1000
    assert upload(client, token, data)[1].status_code == 413
    assert put(client, token, "/api/v1/attachments/not-a-hash", data=data).status_code == 404
    app.config["MAX_ATTACHMENT_BYTES"] = 10_000_000
    assert upload(client, token, pdf_file())[1].get_json()["media_type"] == "application/pdf"


def pdf_file(**catalogue) -> bytes:
    """A one-page PDF made by pypdf, with extra entries in its catalogue (``OpenAction=...``)."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject
    from pypdf.generic import NameObject
    from pypdf.generic import TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    for key, script in catalogue.items():
        action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                   NameObject("/JS"): TextStringObject(script)})
        if key == "AA":
            writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): writer._add_object(action)})
        else:
            writer._root_object[NameObject(f"/{key}")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_must_open_and_carry_no_script_nor_automatic_action(app):
    client, token = officer_client(app)
    assert upload(client, token, pdf_file())[1].status_code == 201
    broken = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    for data, code in ((broken, "pdf_unreadable"), (b"%PDF-" + os.urandom(2000), "pdf_unreadable"),
                       (pdf_file(OpenAction="app.alert(1)"), "pdf_active_content"),
                       (pdf_file(AA="app.alert(2)"), "pdf_active_content")):
        response = upload(client, token, data)[1]
        assert response.status_code == 422, (code, response.get_json())
        assert response.get_json()["errors"][0] == {**response.get_json()["errors"][0], "field": "file", "code": code}


# --- dossiers ------------------------------------------------------------------------------------------------

def test_dossier_is_stored_once_and_replays_are_recognised(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    photo, _ = upload(client, token, jpeg())
    second, _ = upload(client, token, jpeg(colour=(10, 20, 30)))
    client_uuid = uuid.uuid4()
    body = captured(block["first_code"], [photo, second], device_now=utcnow().isoformat())
    first = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=body)
    assert first.status_code == 201, first.get_json()
    stored = first.get_json()
    assert stored["code"] == block["first_code"] and stored["state"] == "received" and stored["flags"] == []
    assert stored["received_at"] == "2026-03-09T09:30:00+07:00"
    # An identical replay (the response was lost) gets the same answer and stores nothing new.
    body["device_now"] = (utcnow() + timedelta(seconds=5)).isoformat()
    replay = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=body)
    assert replay.status_code == 200 and replay.get_json() == stored
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 1
    assert db.session.scalar(select(func.count()).select_from(DossierEvent)) == 1
    documents = db.session.scalars(select(DossierDocument)).all()
    assert sorted(d.sha256 for d in documents if d.sha256 and d.form_key is None) == sorted([photo, second])
    assert [d.form_key for d in documents if d.form_key] == ["receipt"]  # Mẫu 01, issued once at the sync
    changed = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=dict(body, summary="khác"))
    assert changed.status_code == 409 and changed.get_json()["type"] == "urn:motcua:problem:dossier-conflict"


def test_printed_due_date_is_kept_and_a_difference_flagged(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    body = captured(block["first_code"], [], due_at="2026-03-31T09:30:00+07:00")
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["due_at"] == "2026-03-31T09:30:00+07:00"  # what the citizen holds
    flag = next(f for f in data["flags"] if f["kind"] == "due_mismatch")
    # 15 working days from Mon 9 Mar 2026 09:30 (the catalogue's configured time) is Mon 30 Mar.
    assert flag["detail"] == {"printed": "2026-03-31T09:30:00+07:00", "server": "2026-03-30T09:30:00+07:00"}


def test_phone_clock_far_off_is_accepted_and_flagged(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    body = captured(block["first_code"], [], device_now=(utcnow() + timedelta(hours=2)).isoformat())
    data = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body).get_json()
    skew = next(f for f in data["flags"] if f["kind"] == "clock_skew")
    assert 7100 < skew["detail"]["skew_seconds"] < 7300


def test_no_code_left_gets_an_official_code_at_sync(app):
    client, token = officer_client(app)
    body = captured(None, [], provisional_code="TAM-0001")
    data = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body).get_json()
    assert data["code"] == "000.20.26.H26-260309-0001"
    flag = next(f for f in data["flags"] if f["kind"] == "provisional_code")
    assert flag["detail"] == {"provisional": "TAM-0001", "official": "000.20.26.H26-260309-0001"}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"owner": {"full_name": "X", "personal_id": "003085012345"}}, "owner.personal_id", "personal_id.place"),
        ({"procedure_key": "khong-co"}, "procedure_key", "unknown"),
        ({"documents": [{"required_document_code": "TP1", "sha256": "a" * 64}]}, "documents.0.sha256",
         "unknown_attachment"),
        ({"documents": []}, "documents", "documents_missing"),
        ({"code": "000.20.26.H26-260309-0099"}, "code", "code_not_reserved"),
        ({"owner": {"full_name": "\u200b\u200b"}}, "owner.full_name", "full_name.invisible_characters"),
        ({"owner": {"full_name": "   "}}, "owner.full_name", "full_name.required"),
        ({"owner": {"full_name": "\u202enA năV nễyugN"}}, "owner.full_name", "full_name.invisible_characters"),
        ({"owner": {"full_name": "Nguyễn Văn An", "date_of_birth": "2999-01-01"}}, "owner.date_of_birth",
         "date_of_birth.future"),
    ],
)
def test_invalid_dossier_is_422_with_fields(app, change, field, code):
    client, token = officer_client(app)
    block = reserve(client, token)
    body = captured(block["first_code"], [], **change)
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body)
    assert response.status_code == 422, response.get_json()
    assert (field, code) in [(e["field"], e["code"]) for e in response.get_json()["errors"]]
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 0


def test_a_decomposed_vietnamese_name_is_stored_composed(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    decomposed = "Tra\u0302\u0300n  Va\u0306n Phu\u0301c"  # NFD, as some phone keyboards send it
    body = captured(block["first_code"], [], owner={"full_name": decomposed, "phone": "0912345678"})
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=body)
    assert response.status_code == 201, response.get_json()
    assert "Trần Văn Phúc" in db.session.scalars(select(Person.full_name)).all()


def test_code_of_another_phone_is_refused(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    colleague = make_user(Role.OFFICER, demo_user(Role.OFFICER).agency, "Cán bộ khác")
    phone = Device(user_id=colleague.id, name="Máy khác")
    db.session.add(phone)
    db.session.commit()
    other = app.test_client()
    other_token = sign_in(other, colleague, phone)
    response = put(other, other_token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(block["first_code"], []))
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["code"] == "code_other_device"


def test_code_blocks_are_stable_per_day(app):
    client, token = officer_client(app)
    first = reserve(client, token, size=5)
    again = reserve(client, token, size=5)
    assert first == again and first["first_code"].endswith("-0001") and first["last_code"].endswith("-0005")
    default = client.post("/api/v1/devices/current/code-blocks", json={}, headers={"X-CSRFToken": token})
    assert len(default.get_json()["blocks"]) == 3


def test_invalid_json_schema_is_400(app):
    client, token = officer_client(app)
    response = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json={"procedure_key": 5})
    assert response.status_code == 400
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert {"procedure_key", "received_at", "owner", "documents"} <= fields


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrency is measured on PostgreSQL (DATABASE_URL)")
def test_concurrent_identical_puts_store_one_dossier(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    photo, _ = upload(client, token, jpeg())
    body = captured(block["first_code"], [photo])
    client_uuid = uuid.uuid4()
    officer = demo_user(Role.OFFICER)
    device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
    results, barrier = [], threading.Barrier(8)

    def worker():
        with app.app_context():
            own = app.test_client()
            own_token = sign_in(own, db.session.get(type(officer), officer.id), db.session.get(Device, device.id))
            barrier.wait()
            response = put(own, own_token, f"/api/v1/dossiers/{client_uuid}", json=copy.deepcopy(body))
            results.append((response.status_code, response.get_json().get("code")))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in results) == [200] * 7 + [201], results
    assert {code for _, code in results} == {block["first_code"]}
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 1
    assert db.session.scalar(select(func.count()).select_from(DossierEvent)) == 1


def test_received_at_is_the_door_not_the_sync(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(block["first_code"], []))
    dossier = db.session.scalar(select(Dossier))
    assert dossier.device_received_at == datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ)
    assert dossier.server_received_at > dossier.device_received_at


# --- the officer's day and later changes ---------------------------------------------------------------------

def test_day_download_and_changes(app):
    from server.dossiers.models import HomeServiceReason
    from server.dossiers.models import HomeVisit
    from server.people.models import Person
    from tests.helpers import demo_agency
    from tests.helpers import procedure

    officer = demo_user(Role.OFFICER)
    elder = Person(full_name="Nguyễn Thị Hằng", phone_e164="+84912000111")
    visit = HomeVisit(agency_id=demo_agency().id, officer_id=officer.id, person=elder, address="Số 9 ngõ Huế",
                      procedure=procedure("chung-thuc-chu-ky"), reason=HomeServiceReason.ELDERLY)
    db.session.add(visit)
    db.session.commit()
    client, token = officer_client(app)
    day = client.post("/api/v1/sync/day", json={}, headers={"X-CSRFToken": token})
    assert day.status_code == 200, day.get_json()
    data = day.get_json()
    assert [v["person"]["full_name"] for v in data["visits"]] == ["Nguyễn Thị Hằng"]
    assert data["visits"][0]["procedure_key"] == "chung-thuc-chu-ky"
    assert len(data["catalogue"]["procedures"]) >= 15
    assert all(p["required_documents"] for p in data["catalogue"]["procedures"])
    assert len(data["code_blocks"]) == 3 and data["code_blocks"][0]["first"] == 1
    assert data["calendar"]["office_hours"] == ["07:00", "11:30", "13:30", "17:00"]
    # Downloading again keeps the same blocks (no numbers wasted).
    again = client.post("/api/v1/sync/day", json={}, headers={"X-CSRFToken": token}).get_json()
    assert again["code_blocks"] == data["code_blocks"]

    nothing = client.get("/api/v1/sync/changes", query_string={"cursor": again["cursor"]}).get_json()
    assert nothing["visits"] == [] and nothing["dossiers"] == []
    assert nothing["catalogue_version"] == data["catalogue"]["version"]
    visit.note = "Gọi trước 30 phút"
    db.session.commit()
    changed = client.get("/api/v1/sync/changes", query_string={"cursor": again["cursor"]}).get_json()
    assert [v["note"] for v in changed["visits"]] == ["Gọi trước 30 phút"]
    assert client.get("/api/v1/sync/changes?cursor=yesterday").status_code == 400


def test_changes_report_status_changes_of_my_dossiers(app):
    client, token = officer_client(app)
    block = reserve(client, token)
    cursor = client.post("/api/v1/sync/day", json={}, headers={"X-CSRFToken": token}).get_json()["cursor"]
    stored = put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(block["first_code"], []))
    desk = app.test_client()
    desk_token = sign_in(desk, demo_user(Role.STAFF))
    moved = desk.post(f"/api/v1/dossiers/{stored.get_json()['id']}/actions/transfer", json={},
                      headers={"X-CSRFToken": desk_token})
    assert moved.status_code == 200
    changed = client.get("/api/v1/sync/changes", query_string={"cursor": cursor}).get_json()
    assert [(d["code"], d["state"], d["national_status"]) for d in changed["dossiers"]] == [
        (block["first_code"], "in_process", 4)]


def test_losing_a_race_is_answered_as_a_replay(app, monkeypatch):
    """The loser of two identical requests checked for a replay before the winner committed, then found the code
    used: it must still answer 200 with the stored dossier, not 422."""
    from server.dossiers import sync

    client, token = officer_client(app)
    block = reserve(client, token)
    client_uuid = uuid.uuid4()
    body = captured(block["first_code"], [])
    winner = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=body)
    assert winner.status_code == 201
    monkeypatch.setattr(sync, "find_replay", lambda *args: None)  # the loser's first look came too early
    loser = put(client, token, f"/api/v1/dossiers/{client_uuid}", json=body)
    assert loser.status_code == 200, loser.get_json()
    assert loser.get_json()["id"] == winner.get_json()["id"]


@pytest.mark.parametrize("failure, status, code", [(errno.ENOSPC, 507, "storage_full"),
                                                   (errno.EROFS, 503, "storage_unavailable")])
def test_a_full_or_read_only_store_is_a_clear_problem_not_a_500(app, monkeypatch, failure, status, code):
    from server.storage import local

    def cannot_write(target, data):
        raise OSError(failure, os.strerror(failure), str(target))

    monkeypatch.setattr(local, "_write_atomically", cannot_write)
    app.config["STORAGE_BACKEND"] = "local"  # the folder's own failures (S3's: tests/test_storage.py)
    client, token = officer_client(app)
    response = upload(client, token, jpeg())[1]
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["code"] == code


def test_json_bodies_are_bounded_before_they_are_parsed_and_errors_quote_little(app):
    client, token = officer_client(app)
    url = f"/api/v1/dossiers/{uuid.uuid4()}"
    headers = {"X-CSRFToken": token}
    big = captured("X", [], owner={"full_name": "A" * 300_000})
    response = client.put(url, json=big, headers=headers)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    for depth in (40, 50_000):  # over the limit, and deep enough to exhaust Python's recursion
        deep = "[" * depth + "]" * depth
        response = client.put(url, data=f'{{"owner": {deep}}}', content_type="application/json", headers=headers)
        assert response.status_code == 400 and response.mimetype == "application/problem+json", depth
    echoed = captured("X", [], reception_mode="x" * 200_000)
    response = client.put(url, json=echoed, headers=headers)
    assert response.status_code in (400, 422) and len(response.get_data()) < 5_000


def test_images_are_bounded_to_what_the_app_produces(app):
    client, token = officer_client(app)
    assert app.config["MAX_IMAGE_PIXELS"] == 12_000_000  # the phone sends ~2 MP
    too_many = io.BytesIO()
    Image.new("L", (4000, 3100)).save(too_many, "PNG")  # 12.4 MP: accepted on main (40 MP)
    response = upload(client, token, too_many.getvalue())[1]
    assert response.status_code == 422 and response.get_json()["errors"][0]["code"] == "image_too_large"
    deep = io.BytesIO()
    Image.new("I;16", (200, 200)).save(deep, "PNG")  # 16 bits per pixel: refused from its header
    response = upload(client, token, deep.getvalue())[1]
    assert response.status_code == 422 and response.get_json()["errors"][0]["code"] == "image_mode"



@pytest.mark.parametrize("cap", [1, 2])
def test_image_decoding_runs_under_the_concurrency_cap(app, monkeypatch, cap):
    """Two uploads decode at once only when IMAGE_DECODE_CONCURRENCY allows two: each decode waits briefly at a
    rendezvous for a second one; under a cap of 1 the second never arrives while the first holds the slot."""
    from PIL import ImageFile

    from server.dossiers import attachments

    app.config["IMAGE_DECODE_CONCURRENCY"] = cap
    monkeypatch.setattr(attachments, "_decoders", None)  # the semaphore is made once per process, from the config
    rendezvous, met = threading.Barrier(2, timeout=1.0), []
    real_load = ImageFile.ImageFile.load

    def load_alongside_another(image):
        try:
            rendezvous.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load_alongside_another)
    images = [jpeg(colour=(10, 20, 30)), jpeg(colour=(40, 50, 60))]

    def decode(data):
        with app.app_context():
            attachments._image_size(data)

    threads = [threading.Thread(target=decode, args=(data,)) for data in images]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert met == ([True, True] if cap == 2 else [False, False]), met


class _Unread(io.RawIOBase):
    """A request body that records whether anyone read it."""

    read_at_all = False

    def readable(self):
        return True

    def seekable(self):  # the test client asks where the stream starts
        return True

    def seek(self, offset, whence=0):
        return 0

    def readinto(self, buffer):
        _Unread.read_at_all = True
        return 0


def test_an_oversized_body_is_refused_from_its_length_before_it_is_read(app):
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["MAX_ATTACHMENT_BYTES"] + 65_536
    client = app.test_client()  # anonymous
    response = client.put(f"/api/v1/attachments/{'0' * 64}", input_stream=_Unread(),
                          environ_overrides={"CONTENT_LENGTH": "200000000"},
                          content_type="application/octet-stream")
    assert response.status_code == 413 and not _Unread.read_at_all
