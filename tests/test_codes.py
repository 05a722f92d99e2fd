"""Dossier codes: pattern, daily sequence, atomic allocation, device-bound reserved blocks."""

from __future__ import annotations

import threading
import uuid
from datetime import date
from datetime import datetime

import pytest
from sqlalchemy import select

from server.auth.models import Device
from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers import codes
from server.dossiers.models import ReceptionMode
from server.dossiers.services import NewDossier
from server.dossiers.services import receive
from server.extensions import db
from server.people.models import Person
from tests.conftest import ON_POSTGRES
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import procedure

CODE_SHAPE = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$"


def test_default_pattern_is_circular_01_2018(app):
    assert codes.format_code("000.20.26.H26", date(2026, 3, 9), 7) == "000.20.26.H26-260309-0007"
    parsed = codes.parse_code("000.20.26.H26-260309-0007")
    assert parsed == codes.ParsedCode("000.20.26.H26", date(2026, 3, 9), 7)
    assert codes.parse_code("000.20.26.H26-261309-0007") is None  # month 13
    assert codes.parse_code("garbage") is None


def test_pattern_is_configuration(app):
    app.config["DOSSIER_CODE_PATTERN"] = "{agency}-{yyyy}{mm}{dd}-{seq:07d}"
    code = codes.format_code("G09.20", date(2026, 6, 9), 92637)
    assert code == "G09.20-20260609-0092637"
    assert codes.parse_code(code) == codes.ParsedCode("G09.20", date(2026, 6, 9), 92637)


def test_sequence_restarts_each_day_per_agency(app):
    agency = demo_agency()
    day1, day2 = date(2026, 3, 9), date(2026, 3, 10)
    issued = [codes.issue_code(agency, day1) for _ in range(3)] + [codes.issue_code(agency, day2)]
    db.session.commit()
    assert issued == [
        "000.20.26.H26-260309-0001", "000.20.26.H26-260309-0002", "000.20.26.H26-260309-0003",
        "000.20.26.H26-260310-0001",
    ]
    import re

    assert all(re.match(CODE_SHAPE, c) for c in issued)


def test_rolled_back_receipt_gives_its_number_back(app):
    agency = demo_agency()
    codes.issue_code(agency, date(2026, 3, 9))
    db.session.rollback()
    assert codes.issue_code(agency, date(2026, 3, 9)).endswith("-0001")


def _officer_device():
    officer = demo_user(Role.OFFICER)
    device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
    return officer, device


def test_case_17_two_officers_blocks_are_disjoint_and_bound(app):
    agency = demo_agency()
    day = date(2026, 3, 9)
    officer, phone_a = _officer_device()
    other_officer = make_user(Role.OFFICER, agency, "Cán bộ thứ hai")
    phone_b = Device(user_id=other_officer.id, name="Điện thoại 2")
    db.session.add(phone_b)
    db.session.flush()
    codes.issue_code(agency, day)  # a desk receipt took number 1
    block_a = codes.reserve_block(agency, day, 50, phone_a.id, officer.id)
    block_b = codes.reserve_block(agency, day, 50, phone_b.id, other_officer.id)
    db.session.commit()
    assert (block_a.first_number, block_a.last_number) == (2, 51)
    assert (block_b.first_number, block_b.last_number) == (52, 101)
    assert codes.issue_code(agency, day).endswith("-0102")  # the desk continues after the blocks

    code_a = codes.format_code(agency.agency_code, day, 2)
    assert codes.accept_reserved_code(code_a, phone_a.id) == (agency, day)
    for code, device, reason in [
        (code_a, phone_b.id, "code_other_device"),
        (code_a, None, "code_other_device"),
        (codes.format_code(agency.agency_code, day, 1), phone_a.id, "code_not_reserved"),
        (codes.format_code(agency.agency_code, day, 500), phone_a.id, "code_not_reserved"),
        ("000.20.26.H26-260309-xx", phone_a.id, "code_malformed"),
    ]:
        with pytest.raises(codes.CodeError) as refused:
            codes.accept_reserved_code(code, device)
        assert refused.value.code == reason


def test_offline_code_is_used_once(app):
    agency = demo_agency()
    officer, phone = _officer_device()
    received = datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ)
    codes.reserve_block(agency, received.date(), 5, phone.id, officer.id)
    version = procedure("chung-thuc-chu-ky").versions[-1]
    owner = Person(full_name="Lê Văn Cường")
    provided = frozenset(d.id for d in version.required_documents)
    code = codes.format_code(agency.agency_code, received.date(), 3)

    def new():
        return NewDossier(version, agency, owner, owner, officer, received, reception_mode=ReceptionMode.HOME_VISIT,
                          code=code, device_id=phone.id, provided_document_ids=provided)

    dossier = receive(new())
    db.session.commit()
    assert dossier.code == code and dossier.national_status == 2
    with pytest.raises(codes.CodeError) as refused:
        receive(new())
    assert refused.value.code == "code_used"
    # A block of the day before cannot stamp today's receipt.
    codes.reserve_block(agency, date(2026, 3, 8), 5, phone.id, officer.id)
    code = codes.format_code(agency.agency_code, date(2026, 3, 8), 1)
    with pytest.raises(codes.CodeError) as refused:
        receive(new())
    assert refused.value.code == "code_other_day"


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrency is measured on PostgreSQL (DATABASE_URL)")
def test_eight_threads_allocate_500_distinct_consecutive_numbers(app):
    agency_id = demo_agency().id
    day = date(2026, 3, 9)
    taken: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(count: int):
        with app.app_context():
            barrier.wait()
            for _ in range(count):
                number, _ = codes.take_numbers(agency_id, day)
                db.session.commit()  # each allocation is its own transaction, as in a request
                with lock:
                    taken.append(number)
            db.session.remove()

    shares = [63] * 4 + [62] * 4  # 500 in all
    threads = [threading.Thread(target=worker, args=(n,)) for n in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 500
    assert sorted(taken) == list(range(1, 501))


def test_block_size_is_bounded(app):
    officer, phone = _officer_device()
    with pytest.raises(codes.CodeError):
        codes.reserve_block(demo_agency(), date(2026, 3, 9), 0, phone.id, officer.id)
    assert uuid.UUID(str(phone.id))
