"""Which units a dossier belongs to: the receiving one, the competent one, the one holding it now (issue 15).

Since Decree 118/2025 a ward's one-stop desk (or its officer at a door) receives dossiers regardless of the
administrative boundary within the province, so the unit that received a dossier need not decide it: the
procedure version may name a department (``competent_agency_code``: a Sở Nội vụ, a Sở Y tế), and a ward-level
procedure is decided by the ward the dossier is for, which the person may live in while being received by
another. This module holds that rule (:func:`competent_agency_for`) and the one of who may see and act on a
dossier once three units can be involved (:func:`may_view`, :func:`may_act`). The unit holding the dossier
(``Dossier.holder_agency``) is moved along its chain by server/interagency/services.py; here it is only read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from server.dossiers.models import Dossier
from server.dossiers.workflow import Action
from server.extensions import db
from server.reference.models import AdministrativeUnit
from server.reference.models import Agency
from server.reference.models import ProcedureVersion
from server.reference.models import UnitLevel

log = logging.getLogger(__name__)


class UnitRefused(Exception):
    """The competent unit cannot be settled as asked: ``status`` 422 (or 404), a stable ``code``, both texts."""

    def __init__(self, status: int, code: str, vi: str, en: str):
        super().__init__(code)
        self.status, self.code, self.vi, self.en = status, code, vi, en


def province_code(agency: Agency) -> str | None:
    """The code of the province ``agency`` belongs to: its ward's parent, or its own unit when it is a province's
    (a department); None for an agency placed nowhere (then it stands alone)."""
    unit = agency.administrative_unit
    if unit is None:
        return None
    return unit.code if unit.level is UnitLevel.PROVINCE else unit.parent_code


def province_wards(agency: Agency) -> list[Agency]:
    """The one-stop desks of the wards of ``agency``'s province, by name (``agency`` itself among them when it is
    a ward's): the wards a dossier received by ``agency`` may be for. Only itself when it is placed in no
    province."""
    province = province_code(agency)
    if province is None:
        return [agency]
    return list(db.session.scalars(
        select(Agency).join(AdministrativeUnit, AdministrativeUnit.id == Agency.administrative_unit_id)
        .where(AdministrativeUnit.level == UnitLevel.WARD, AdministrativeUnit.parent_code == province,
               Agency.is_one_stop.is_(True))
        .order_by(Agency.name_vi, Agency.id)))


def competent_agency_for(version: ProcedureVersion, receiving: Agency, for_ward: Agency | None = None) -> Agency:
    """The unit that decides a dossier of ``version`` received by ``receiving``.

    The version decides first: when it names the competent agency (a department), that one, whatever ward was
    chosen (a department decides for the whole province). Otherwise a ward decides: ``for_ward``, the ward the
    dossier is for, which must be one of the receiving unit's province's one-stop wards; by default the
    receiving ward itself.

    :raises UnitRefused: 422 when the version names an agency this system does not know (a catalogue to fix),
        or ``for_ward`` is not a ward of the province.
    """
    if version.competent_agency_code:
        named = Agency.by_code(version.competent_agency_code)
        if named is None:
            raise UnitRefused(
                422, "competent_agency_unknown",
                f"Thủ tục giao cho cơ quan có mã {version.competent_agency_code} giải quyết, nhưng hệ thống chưa "
                "có cơ quan này; vui lòng báo quản trị viên.",
                f"The procedure is decided by agency {version.competent_agency_code}, which this system does not "
                "know; please tell the administrator.")
        return named
    if for_ward is None or for_ward.id == receiving.id:
        return receiving
    if for_ward.id not in {ward.id for ward in province_wards(receiving)}:
        raise UnitRefused(422, "not_a_ward_of_province",
                          "Đơn vị được chọn không phải là phường, xã của tỉnh, thành phố nơi tiếp nhận.",
                          "The chosen unit is not a ward or commune of the receiving unit's province.")
    return for_ward


def default_competent_agency(version: ProcedureVersion, receiving: Agency) -> Agency:
    """The unit that decides when nobody chose a ward (a desk's or an online receipt, a test): the agency the
    version names, else the receiving ward. Unlike :func:`competent_agency_for` it never refuses: a dossier received
    at a home is never lost to a catalogue naming an agency this system lacks; it is decided where it was received
    until the catalogue is fixed (and the operators are told by the log, which names codes, never people)."""
    try:
        return competent_agency_for(version, receiving)
    except UnitRefused:
        log.warning("competent agency %s of procedure version %s unknown: decided by the receiving unit",
                    version.competent_agency_code, version.id)
        return receiving


def competent_agency_from_code(version: ProcedureVersion, receiving: Agency, ward_code: str | None) -> Agency:
    """:func:`competent_agency_for` with the chosen ward given by its agency code (the phone's and the API's
    field), 422 for a code nobody has."""
    for_ward = None
    if ward_code and not version.competent_agency_code:
        for_ward = Agency.by_code(ward_code)
        if for_ward is None:
            raise UnitRefused(422, "unknown", "Không có đơn vị có mã này.", "No unit has this code.")
    return competent_agency_for(version, receiving, for_ward)


# --- who sees and acts on a dossier --------------------------------------------------------------------------
#
# The rule, deny by default:
# * SEE: a ward-scoped user (officer, staff, leader) sees a dossier that their own unit received, decides or holds
#   now. The deciding and holding units count only when they use this system (Agency.in_system): an agency outside
#   it has no staff here, and an account wrongly attached to one gets nothing through it. Any other dossier is
#   answered as if it did not exist (404 on the desk's pages).
# * ACT: the unit holding the dossier takes its steps (whatever the roles allow, as before). The receiving unit,
#   when it no longer holds the dossier, keeps only the steps that are the one-stop's own whoever decides:
#   receipt (receive, refuse, guide to complete) and handing the result back (return_result); and every step of a
#   holder outside the system, which has nobody here to take them. The deciding unit
#   that does not hold the dossier only reads it until the chain hands it over. The desk's own records of a
#   dossier (flags looked at, an owner's account linked, a consent on paper) are the receiving desk's and the
#   holder's (:func:`may_keep_records`).
# Dossiers from before issue 15 have the three units equal, so nothing changes for them.

#: The steps the receiving one-stop desk may take on a dossier held elsewhere.
RECEIVING_DESK_ACTIONS = frozenset({Action.RECEIVE, Action.REFUSE, Action.GUIDE_SUPPLEMENT, Action.RETURN_RESULT})


def _holder_id(dossier: Dossier) -> int:
    return dossier.holder_agency_id or dossier.agency_id


def _in_system(agency: Agency | None) -> bool:
    return agency is not None and agency.in_system


def may_view(user, dossier: Dossier) -> bool:
    """Whether ``user`` (ward-scoped) may see ``dossier``: see the rule above."""
    mine = user.agency_id
    if mine is None:
        return False
    if dossier.agency_id == mine:
        return True
    return _in_system(user.agency) and mine in (dossier.competent_agency_id, _holder_id(dossier))


def may_act(user, dossier: Dossier, action: Action) -> bool:
    """Whether ``user``'s unit may take ``action`` on ``dossier`` (their role is checked by the workflow)."""
    mine = user.agency_id
    if mine is None:
        return False
    if _holder_id(dossier) == mine:
        return dossier.agency_id == mine or _in_system(user.agency)
    if dossier.agency_id != mine:
        return False
    # A holder outside the system has nobody here: the receiving desk records its steps on its behalf (a
    # supplement or an extension it asks for, the citizen's withdrawal, a stop), else the dossier would be frozen
    # until a result that may never come.
    return action in RECEIVING_DESK_ACTIONS or not _in_system(dossier.holder_agency)


def may_keep_records(user, dossier: Dossier) -> bool:
    """Whether ``user``'s unit may write the desk's own records of the dossier (a sync flag looked at, an owner's
    account linked after an ID check, a consent signed on paper): the receiving desk, or the unit holding it."""
    mine = user.agency_id
    return mine is not None and (dossier.agency_id == mine or (_holder_id(dossier) == mine
                                                                and _in_system(user.agency)))


def viewable_by(agency: Agency):
    """The SQL condition of :func:`may_view` for the users of ``agency`` (queues, lists, photo look-ups)."""
    if not agency.in_system:
        return Dossier.agency_id == agency.id
    return or_(Dossier.agency_id == agency.id, Dossier.competent_agency_id == agency.id,
               func.coalesce(Dossier.holder_agency_id, Dossier.agency_id) == agency.id)


def held_by(agency_id: int):
    """The dossiers ``agency_id`` holds now (a dossier nobody handed on is held where it was received)."""
    return func.coalesce(Dossier.holder_agency_id, Dossier.agency_id) == agency_id


def elsewhere_condition(agency_id: int):
    """Received by ``agency_id`` and now held, or decided, by another unit."""
    return and_(Dossier.agency_id == agency_id,
                or_(~held_by(agency_id), func.coalesce(Dossier.competent_agency_id, Dossier.agency_id) != agency_id))


def incoming_condition(agency_id: int):
    """Received by another unit, and decided or held by ``agency_id``."""
    return and_(Dossier.agency_id != agency_id, or_(Dossier.competent_agency_id == agency_id, held_by(agency_id)))


# --- what the pages and the API show -------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierUnits:
    """The three units of a dossier, for its page."""

    receiving: Agency
    competent: Agency
    holder: Agency

    @property
    def crosses_units(self) -> bool:
        return len({self.receiving.id, self.competent.id, self.holder.id}) > 1


def units_of(dossier: Dossier) -> DossierUnits:
    receiving = dossier.agency
    return DossierUnits(receiving=receiving, competent=dossier.competent_agency or receiving,
                        holder=dossier.holder_agency or receiving)


def units_json(dossier: Dossier) -> dict:
    """The agency codes of the dossier's three units (the API's ``units``)."""
    units = units_of(dossier)
    return {"receiving": units.receiving.agency_code, "competent": units.competent.agency_code,
            "holder": units.holder.agency_code}


def wards_json(agency: Agency) -> list[dict]:
    """The wards a dossier received by ``agency`` may be for, for the phone's select (its own ward first)."""
    wards = province_wards(agency)
    wards.sort(key=lambda ward: ward.id != agency.id)
    return [{"agency_code": ward.agency_code, "name_vi": ward.name_vi, "name_en": ward.name_en} for ward in wards]
