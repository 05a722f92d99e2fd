"""The messages owed to the National Public Service Portal (DVCQG), as pure functions: which step makes which
message, and its fields. No Flask, no database: :mod:`server.portal.listeners` reads the dossier into a
:class:`DossierView` and stores what :func:`message_for` returns; :mod:`server.portal.sender` posts it.

What is verified and what is assumed ([V] / [U] as in DOMAIN.md):

- [V] The two actions ``DongBoHoSoMC`` (a dossier, whole) and ``CapNhatTienDoHoSoMC`` (its progress) and the
  status codes ``TrangThaiHoSo`` 1-10 (DOMAIN.md §1.6, the mapping of our states in
  :data:`server.dossiers.workflow.NATIONAL_STATUS`).
- [V] The field names of both records and of the envelope (``service``, ``isUpdating``, ``data``: a list of
  records, ``session``, ``madonvi``) and the success answer ``error_code`` "00": VietOpenCPS/opencps-v2,
  ``DVCQGIntegrationActionTerm.java`` and ``DVCQGIntegrationActionImpl.java`` (an integration in production with
  the portal; the portal's own specification is not public). The same code writes dates as ``yyyyMMddHHmmss`` in
  Asia/Ho_Chi_Minh time, sends ``LoaiDoiTuong`` "1" for a person ("2" for a business) and sends values as strings.
- [U] ``HinhThuc``: we send the submission channel's code (1 direct, which includes reception at home, 2 online,
  3 postal: DOMAIN.md §1.2); OpenCPS sends 0 or 1 from its postal flag. ``PORTAL_CHANNEL_CODES``.
- [U] ``DonViXuLy``: we send the competent agency's code (QCVN 102 identifier); OpenCPS sends the agency's name.
- [U] ``madonvi`` is the receiving unit's code (OpenCPS: one configured code per installation).
- [U] The date format: ``PORTAL_DATE_FORMAT`` (default ``%Y%m%d%H%M%S``, OpenCPS's), in Viet Nam time.
- [U] Exactly once: the portal is assumed to drop a repeated message with the same ``Idempotency-Key`` header
  (``<MaHoSo>-<seq>``). Even if it does not, both actions set a state rather than add to one (a dossier is
  upserted by ``MaHoSo``, a progress update sets ``TrangThai``), so the one repeat a crash between the POST and our
  commit can cause, in order, leaves the portal as it should be.

Which steps are reported:

- The first step that gives a dossier a national status (received 2, refused 3, submitted online 1) sends the
  dossier sync, whole. A dossier without a code yet (an online submission not checked) waits: ``MaHoSo`` is its
  code, so its sync goes at receipt.
- Later, every change of the national code sends a progress update.
- A step that keeps the code is reported only when the portal's view of the dossier changes: an extension (the
  new due date, ``NgayKetThucTheoQuyDinh``, that the citizen sees on the portal). The steps inside "processing"
  (submit for approval, approve, reject: 4 → 4) are internal and not sent.
- What the progress update says (``NoiDungXuLy``) is the step's name, never the reason typed at the desk (it may
  name people).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.calendar.workdays import to_local
from server.dossiers.workflow import NATIONAL_STATUS
from server.dossiers.workflow import Action
from server.dossiers.workflow import State
from server.portal.models import PortalAction

# The field names, in one place [V: opencps-v2 DVCQGIntegrationActionTerm.java].
SERVICE = "service"
IS_UPDATING = "isUpdating"
DATA = "data"
SESSION = "session"
UNIT_CODE = "madonvi"
ERROR_CODE = "error_code"

MA_HO_SO = "MaHoSo"
MA_TTHC = "MaTTHC"
SO_BIEN_NHAN = "SoBienNhan"
CHU_HO_SO = "ChuHoSo"
LOAI_DOI_TUONG = "LoaiDoiTuong"
MA_DOI_TUONG = "MaDoiTuong"
NGAY_TIEP_NHAN = "NgayTiepNhan"
NGAY_HEN_TRA = "NgayHenTra"
TRANG_THAI_HO_SO = "TrangThaiHoSo"
NGAY_TRA = "NgayTra"
HINH_THUC = "HinhThuc"
NGAY_KET_THUC_XU_LY = "NgayKetThucXuLy"
DON_VI_XU_LY = "DonViXuLy"

NGUOI_XU_LY = "NguoiXuLy"
CHUC_DANH = "ChucDanh"
THOI_DIEM_XU_LY = "ThoiDiemXuLy"
PHONG_BAN_XU_LY = "PhongBanXuLy"
NOI_DUNG_XU_LY = "NoiDungXuLy"
TRANG_THAI = "TrangThai"
NGAY_BAT_DAU = "NgayBatDau"
NGAY_KET_THUC_THEO_QUY_DINH = "NgayKetThucTheoQuyDinh"

SYNC_FIELDS = (MA_HO_SO, MA_TTHC, SO_BIEN_NHAN, CHU_HO_SO, LOAI_DOI_TUONG, MA_DOI_TUONG, NGAY_TIEP_NHAN, NGAY_HEN_TRA,
               TRANG_THAI_HO_SO, NGAY_TRA, HINH_THUC, NGAY_KET_THUC_XU_LY, DON_VI_XU_LY)
PROGRESS_FIELDS = (MA_HO_SO, NGUOI_XU_LY, CHUC_DANH, THOI_DIEM_XU_LY, PHONG_BAN_XU_LY, NOI_DUNG_XU_LY, TRANG_THAI,
                   NGAY_BAT_DAU, NGAY_KET_THUC_THEO_QUY_DINH)
#: Every field name we send: a portal's error message is searched for these (and only these) to tell the operator
#: which field it refused, without copying its words (they may quote a name or an ID number).
KNOWN_FIELDS = frozenset((*SYNC_FIELDS, *PROGRESS_FIELDS, UNIT_CODE, SESSION))

#: The fields that name the citizen: blanked in the stored messages when the retention purge anonymises the
#: dossier's people (server/privacy/records.py), the portal having had them when they were sent.
PERSONAL_FIELDS = frozenset((CHU_HO_SO, MA_DOI_TUONG))


def without_personal_data(payload: dict) -> dict:
    """A copy of a stored message with the citizen's name and ID number blanked in each of its records."""
    records = [{**record, **dict.fromkeys(PERSONAL_FIELDS & record.keys(), "")} if isinstance(record, dict)
               else record for record in payload.get(DATA) or []]
    return {**payload, DATA: records}


#: A person (``LoaiDoiTuong``); "2" is a business [V: OpenCPS]. Every dossier here is a person's.
PERSON = "1"

#: The steps that keep the national code and are still reported (see the module's docstring).
REPORTED_WITHOUT_CODE_CHANGE = frozenset({Action.EXTEND})

#: What the progress update says each step was [U: free text for the portal; the desk's own words].
STEP_WORDS = {
    "receive": "Tiếp nhận hồ sơ",
    "refuse": "Từ chối tiếp nhận hồ sơ",
    "transfer": "Chuyển hồ sơ đến cơ quan, công chức giải quyết",
    "resolve_on_spot": "Giải quyết ngay, có kết quả",
    "request_supplement": "Yêu cầu bổ sung hồ sơ",
    "record_supplement": "Nhận hồ sơ bổ sung, tiếp tục giải quyết",
    "expire_supplement": "Dừng giải quyết vì quá hạn bổ sung",
    "request_payment": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "record_payment": "Đã thực hiện nghĩa vụ tài chính",
    "mark_result_ready": "Đã có kết quả, chuyển đến Bộ phận Một cửa",
    "extend": "Gia hạn thời gian giải quyết",
    "stop": "Dừng giải quyết hồ sơ",
    "withdraw": "Công dân rút hồ sơ",
    "return_result": "Đã trả kết quả",
}


@dataclass(frozen=True)
class DossierView:
    """What the messages need of a dossier, read by the listener in the step's transaction."""

    code: str | None
    national_procedure_code: str | None
    receipt_number: str | None  #: the receipt's number (Mẫu 01, "12/TNHS"), if one was issued
    owner_name: str
    owner_personal_id: str | None
    channel: str  #: server.dossiers.models.Channel value
    received_at: datetime | None
    due_at: datetime | None
    returned_at: datetime | None
    finished_at: datetime | None
    receiving_agency_code: str
    deciding_agency_code: str
    holder_agency_code: str | None


@dataclass(frozen=True)
class StepView:
    """The step being reported."""

    action: Action
    from_state: State
    to_state: State
    at: datetime
    actor_name: str | None


@dataclass(frozen=True)
class Settings:
    """The assumptions kept as configuration (server/config.py ``PORTAL_*``)."""

    date_format: str = "%Y%m%d%H%M%S"
    channel_codes: dict | None = None  #: channel value → HinhThuc; None: 1 direct, 2 online, 3 postal


DEFAULT_CHANNEL_CODES = {"direct": "1", "online": "2", "postal": "3"}


def portal_date(moment: datetime | None, date_format: str) -> str:
    """A moment as the portal writes it, in Viet Nam time; "" when there is none (as OpenCPS sends it)."""
    return to_local(moment).strftime(date_format) if moment is not None else ""


def action_for(step: StepView, already_synced: bool) -> PortalAction | None:
    """Which message a step makes: the dossier sync the first time it has a national status, then a progress update
    when the code changes (or for a step reported anyway); None when the portal hears nothing."""
    new = NATIONAL_STATUS[step.to_state]
    if new is None:
        return None
    if not already_synced:
        return PortalAction.SYNC_DOSSIER
    if new != NATIONAL_STATUS[step.from_state] or step.action in REPORTED_WITHOUT_CODE_CHANGE:
        return PortalAction.UPDATE_PROGRESS
    return None


def sync_record(dossier: DossierView, status: int, settings: Settings) -> dict:
    """The dossier record of ``DongBoHoSoMC``."""
    day = settings.date_format
    channels = settings.channel_codes or DEFAULT_CHANNEL_CODES
    return {
        MA_HO_SO: dossier.code,
        MA_TTHC: dossier.national_procedure_code or "",
        SO_BIEN_NHAN: dossier.receipt_number or "",
        CHU_HO_SO: dossier.owner_name,
        LOAI_DOI_TUONG: PERSON,
        MA_DOI_TUONG: dossier.owner_personal_id or "",
        NGAY_TIEP_NHAN: portal_date(dossier.received_at, day),
        NGAY_HEN_TRA: portal_date(dossier.due_at, day),
        TRANG_THAI_HO_SO: str(status),
        NGAY_TRA: portal_date(dossier.returned_at, day),
        HINH_THUC: str(channels.get(dossier.channel, DEFAULT_CHANNEL_CODES.get(dossier.channel, ""))),
        NGAY_KET_THUC_XU_LY: portal_date(dossier.finished_at, day),
        DON_VI_XU_LY: dossier.deciding_agency_code,
    }


def progress_record(dossier: DossierView, step: StepView, status: int, settings: Settings) -> dict:
    """The progress record of ``CapNhatTienDoHoSoMC``."""
    day = settings.date_format
    return {
        MA_HO_SO: dossier.code,
        NGUOI_XU_LY: step.actor_name or "",
        CHUC_DANH: "",
        THOI_DIEM_XU_LY: portal_date(step.at, day),
        PHONG_BAN_XU_LY: dossier.holder_agency_code or dossier.deciding_agency_code,
        NOI_DUNG_XU_LY: STEP_WORDS.get(step.action.value, step.action.value),
        TRANG_THAI: str(status),
        NGAY_BAT_DAU: "",
        NGAY_KET_THUC_THEO_QUY_DINH: portal_date(dossier.due_at, day),
    }


def message_for(dossier: DossierView, step: StepView, already_synced: bool,
                settings: Settings) -> tuple[PortalAction, int, dict] | None:
    """The message a step makes (its action, the status it reports, the body without the session token), or None.
    A dossier without a code makes none yet (see the module's docstring)."""
    action = action_for(step, already_synced)
    if action is None or not dossier.code:
        return None
    status = NATIONAL_STATUS[step.to_state]
    body = {SERVICE: action.value, UNIT_CODE: dossier.receiving_agency_code}
    if action is PortalAction.SYNC_DOSSIER:
        body[IS_UPDATING] = "False"
        body[DATA] = [sync_record(dossier, status, settings)]
    else:
        body[DATA] = [progress_record(dossier, step, status, settings)]
    return action, status, body


def idempotency_key(body: dict, seq: int) -> str:
    """The key the portal is assumed to dedupe on [U]: the dossier's code and the message's place in its order."""
    return f"{body[DATA][0][MA_HO_SO]}-{seq}"


def fields_named(text: str) -> list[str]:
    """Our field names that a portal's message mentions, sorted; nothing else of its words."""
    return sorted(name for name in KNOWN_FIELDS if name in text)
