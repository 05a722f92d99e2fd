"""Demo data for the embedded default: one ward, its people and the reference data (idempotent)."""

from __future__ import annotations

from sqlalchemy import select

from server.auth.models import Device
from server.auth.models import Role
from server.auth.models import User
from server.calendar.service import seed_verified_overrides
from server.extensions import db
from server.people.models import Gender
from server.people.models import Person
from server.reference.catalogue import load_catalogue
from server.reference.models import AdministrativeUnit
from server.reference.models import Agency
from server.reference.models import Procedure
from server.reference.models import ProcedureStep
from server.reference.models import StepHolder
from server.reference.models import UnitLevel

#: A demonstration ward. The agency code follows the QCVN 102:2016 shape but is not an official assignment.
DEMO_AGENCY_CODE = "000.20.26.H26"

#: The province's other units of the demo (issue 15): a second ward, whose residents the first ward's officer may
#: receive at home (Decree 118/2025), and the two departments that decide above the wards since the 2025 mergers.
#: Codes in the QCVN 102:2016 shape, not official assignments. (code, unit name, Vietnamese, English, ministry,
#: in the system): the Sở Y tế still works on its ministry's portal, so its hand-overs are recorded by the desk.
DEMO_SECOND_WARD = ("000.20.45.H26", "Phường Vĩnh Tuy", "Bộ phận Một cửa – UBND phường Vĩnh Tuy (demo)",
                    "One-stop desk – Vinh Tuy Ward People's Committee (demo)")
DEMO_DEPARTMENTS = (
    # The code the shipped catalogue names for Home Affairs decisions (server/reference/data/catalogue.json); outside
    # the system, as a department working on its ministry's portal: the desk records its hand-overs.
    ("000.00.04.H26", "Sở Nội vụ thành phố Hà Nội (demo)", "Hanoi Department of Home Affairs (demo)", "BNV", False),
    # In the system: its staff would have their own queue.
    ("000.00.15.H26", "Sở Y tế thành phố Hà Nội (demo)", "Hanoi Department of Health (demo)", "BYT", True),
)

DEMO_USERS = (
    (Role.ADMIN, "Quản trị viên (demo)"),
    (Role.LEADER, "Phó Chủ tịch UBND phường (demo)"),
    (Role.STAFF, "Công chức Bộ phận Một cửa (demo)"),
    (Role.OFFICER, "Công chức Tư pháp – Hộ tịch (demo)"),
    (Role.CITIZEN, "Nguyễn Văn An (demo)"),
)

#: The demo's inter-agency chain (liên thông, issue 15): survivor benefits on a meritorious person's death (1.010824)
#: are received by the ward and decided by the city's Department of Home Affairs, which works on its ministry's
#: portal, outside this system (DEMO_DEPARTMENTS): the desk records its acknowledgement and its result. The code has
#: the QCVN 102:2016 shape but is not a verified assignment; the days add up to the version's 15 (placeholders, [U]).
DEMO_DEPARTMENT_CODE = DEMO_DEPARTMENTS[0][0]
DEMO_CHAIN_PROCEDURE = "tro-cap-khi-nguoi-co-cong-tu-tran"
DEMO_CHAIN = (
    (StepHolder.RECEIVING, 1, "Tiếp nhận, kiểm tra và chuyển hồ sơ đến Sở Nội vụ",
     "Receive, check and send the dossier to the Department of Home Affairs"),
    (StepHolder.COMPETENT, 12, "Sở Nội vụ thẩm định, quyết định",
     "The Department of Home Affairs appraises and decides"),
    (StepHolder.RECEIVING, 2, "Nhận kết quả và trả cho người dân", "Receive the result and return it to the citizen"),
)

#: Chức vụ of the demo ward's people: citizens are told the name and position of the officer who will come.
DEMO_POSITIONS = {
    Role.LEADER: "Phó Chủ tịch Ủy ban nhân dân phường",
    Role.STAFF: "Công chức Văn phòng – Thống kê, Bộ phận Một cửa",
    Role.OFFICER: "Công chức Tư pháp – Hộ tịch",
}


def seed_reference_data() -> dict[str, int]:
    """Catalogue and verified calendar swaps; returns counts of what was added."""
    procedures, versions = load_catalogue()
    overrides = seed_verified_overrides()
    return {"procedures": procedures, "versions": versions, "calendar_overrides": overrides}


def _demo_province() -> AdministrativeUnit:
    province = db.session.scalar(select(AdministrativeUnit).where(AdministrativeUnit.code == "01"))
    if province is None:
        province = AdministrativeUnit(code="01", name="Thành phố Hà Nội", level=UnitLevel.PROVINCE)
        db.session.add(province)
    return province


def demo_province_units() -> list[Agency]:
    """The demo's second ward and the province's two departments, created on first use (idempotent)."""
    province = _demo_province()
    code, place, name_vi, name_en = DEMO_SECOND_WARD
    found = []
    if Agency.by_code(code) is None:
        ward = AdministrativeUnit(code="00001-demo", name=place, level=UnitLevel.WARD, parent_code=province.code)
        db.session.add(Agency(agency_code=code, name_vi=name_vi, name_en=name_en, administrative_unit=ward))
    for code, name_vi, name_en, ministry, in_system in DEMO_DEPARTMENTS:
        if Agency.by_code(code) is None:
            # Placed in the province (its documents are dated "Hà Nội"); not a ward's one-stop desk.
            db.session.add(Agency(agency_code=code, name_vi=name_vi, name_en=name_en, administrative_unit=province,
                                  is_one_stop=False, ministry=ministry, in_system=in_system))
    db.session.flush()
    for code in (DEMO_SECOND_WARD[0], *(department[0] for department in DEMO_DEPARTMENTS)):
        found.append(Agency.by_code(code))
    return found


def demo_ward() -> Agency:
    """The demo ward's one-stop desk, created on first use."""
    agency = Agency.by_code(DEMO_AGENCY_CODE)
    if agency is not None:
        return agency
    _demo_province()
    ward = AdministrativeUnit(code="00000-demo", name="Phường Hai Bà Trưng", level=UnitLevel.WARD, parent_code="01")
    db.session.add(ward)
    agency = Agency(
        agency_code=DEMO_AGENCY_CODE,
        name_vi="Bộ phận Một cửa – UBND phường Hai Bà Trưng (demo)",
        name_en="One-stop desk – Hai Ba Trung Ward People's Committee (demo)",  # English usage: no diacritics
        administrative_unit=ward,
    )
    db.session.add(agency)
    db.session.flush()
    return agency


def demo_chain() -> None:
    """The chain on the versions of the demo procedure that have none, for a database seeded from a catalogue
    without chains (idempotent; a chain or a deciding unit the catalogue gives is kept)."""
    procedure = db.session.scalar(select(Procedure).where(Procedure.key == DEMO_CHAIN_PROCEDURE))
    for version in procedure.versions if procedure is not None else ():
        if version.steps:
            continue
        version.competent_agency_code = version.competent_agency_code or DEMO_DEPARTMENT_CODE
        version.steps = [ProcedureStep(position=n, holder=holder, working_days=days, name_vi=vi, name_en=en)
                         for n, (holder, days, vi, en) in enumerate(DEMO_CHAIN, start=1)]
    db.session.flush()


def seed_demo() -> dict[str, object]:
    """Reference data, the demo ward and one account per role (citizen with a person record, officer with a phone)."""
    summary: dict[str, object] = seed_reference_data()
    agency = demo_ward()
    summary["province_units"] = demo_province_units()
    demo_chain()
    users = {}
    for role, name in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.role == role, User.display_name == name))
        if user is None:
            user = User(role=role, display_name=name, agency=agency if role.ward_scoped else None)
            if role is Role.CITIZEN:
                user.person = Person(
                    full_name="Nguyễn Văn An", personal_id="001085012345", gender=Gender.MALE,
                    phone_e164="+84912345678", address="Số 1 phố Huế, phường Hai Bà Trưng, Hà Nội",
                )
            db.session.add(user)
            db.session.flush()
            if role is Role.OFFICER:
                db.session.add(Device(user_id=user.id, name="Điện thoại cán bộ (demo)"))
        if user.position is None and role in DEMO_POSITIONS:
            user.position = DEMO_POSITIONS[role]
        users[role.value] = user
    db.session.flush()
    summary["agency"] = agency
    summary["users"] = users
    return summary
