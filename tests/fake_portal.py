"""A loopback National Public Service Portal (DVCQG) for tests: ``POST /dvcqg`` in the envelope of
server/portal/messages.py (OpenCPS's: ``service``, ``session``, ``madonvi``, ``data``).

It checks every message and records what it finds wrong in :attr:`FakePortal.violations` (a test asserts it stays
empty): the session token, the action, one record, the required fields of the action, the status code in 1..10,
the dossier code's format (Circular 01/2018 Art. 19, DOMAIN.md §1.5), the dates parseable in the portal's format,
and the order per dossier (the ``Idempotency-Key`` ``<MaHoSo>-<seq>``: the first message of a dossier is its sync,
each next one is seq + 1). A repeat of a key it took is answered as a success and counted in
:attr:`FakePortal.duplicates`, not taken again: the dedupe the sender assumes.

Per dossier code (or for the next N requests) it answers ``ok``, ``5xx`` (503), ``timeout`` (held until the test
ends), ``redirect`` (302), or ``reject`` (400 with an ``error_code`` and a message that quotes the owner's name, as
a real portal's validation might: the sender must not store it).
"""

from __future__ import annotations

import re
from datetime import datetime

from server.portal import messages
from tests.fake_provider import OK
from tests.fake_provider import REDIRECT
from tests.fake_provider import SERVER_ERROR
from tests.fake_provider import TIMEOUT
from tests.fake_provider import FakeProvider

REJECT = "reject"
DOSSIER_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$")
DATE_FORMAT = "%Y%m%d%H%M%S"
_SYNC_REQUIRED = (messages.MA_HO_SO, messages.MA_TTHC, messages.CHU_HO_SO, messages.LOAI_DOI_TUONG,
                  messages.NGAY_TIEP_NHAN, messages.NGAY_HEN_TRA, messages.TRANG_THAI_HO_SO, messages.HINH_THUC,
                  messages.DON_VI_XU_LY)
_SYNC_DATES = (messages.NGAY_TIEP_NHAN, messages.NGAY_HEN_TRA, messages.NGAY_TRA, messages.NGAY_KET_THUC_XU_LY)
_PROGRESS_REQUIRED = (messages.MA_HO_SO, messages.THOI_DIEM_XU_LY, messages.NOI_DUNG_XU_LY, messages.TRANG_THAI)
_PROGRESS_DATES = (messages.THOI_DIEM_XU_LY, messages.NGAY_KET_THUC_THEO_QUY_DINH)


class FakePortal(FakeProvider):
    def __init__(self, token: str = "portal-test-token") -> None:
        super().__init__()
        self.token = token
        self.violations: list[str] = []
        #: messages taken, in order: (MaHoSo, seq, service, status code)
        self.accepted: list[tuple[str, int, str, int]] = []
        self.duplicates = 0
        self._last_seq: dict[str, int] = {}

    @property
    def endpoint(self) -> str:
        return f"{self.url}/dvcqg"

    def codes_of(self, dossier_code: str) -> list[int]:
        return [status for code, _seq, _service, status in self.accepted if code == dossier_code]

    def _check(self, headers: dict, body: dict | None) -> tuple[list[str], str | None, int | None]:
        """What is wrong with a message, its dossier code and its seq."""
        if body is None:
            return ["body is not a JSON object"], None, None
        wrong = []
        if body.get(messages.SESSION) != self.token:
            wrong.append("session token")
        service = body.get(messages.SERVICE)
        if service not in ("DongBoHoSoMC", "CapNhatTienDoHoSoMC"):
            wrong.append(f"service {service!r}")
        if not body.get(messages.UNIT_CODE):
            wrong.append("madonvi missing")
        data = body.get(messages.DATA)
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
            return [*wrong, "data is not one record"], None, None
        record = data[0]
        sync = service == "DongBoHoSoMC"
        for name in _SYNC_REQUIRED if sync else _PROGRESS_REQUIRED:
            if record.get(name) in (None, ""):
                wrong.append(f"{name} missing")
        status = record.get(messages.TRANG_THAI_HO_SO if sync else messages.TRANG_THAI)
        if not (str(status).isdigit() and 1 <= int(status) <= 10):
            wrong.append(f"status {status!r} not in 1..10")
        code = record.get(messages.MA_HO_SO)
        if not DOSSIER_CODE.match(str(code)):
            wrong.append(f"MaHoSo {code!r}")
        for name in _SYNC_DATES if sync else _PROGRESS_DATES:
            if record.get(name):
                try:
                    datetime.strptime(record[name], DATE_FORMAT)
                except (TypeError, ValueError):
                    wrong.append(f"{name} {record[name]!r} not {DATE_FORMAT}")
        key = headers.get("Idempotency-Key") or ""
        prefix, _, seq = key.rpartition("-")
        if prefix != code or not seq.isdigit():
            return [*wrong, f"Idempotency-Key {key!r}"], code, None
        seq = int(seq)
        if self._last_seq.get(code) is None and (seq != 1 or not sync):
            wrong.append(f"first message of {code} is seq {seq} {service}")
        return wrong, code, seq

    def answer(self, path, headers, raw):
        body = self.parse(raw)
        with self.lock:
            self.requests.append({"headers": headers, "body": body, "raw": raw})
        if path != "/dvcqg":
            return 404, {"error_code": "404", "message": "not found"}
        with self.lock:
            wrong, code, seq = self._check(headers, body)
        behaviour = self.behaviour(str(code))
        if behaviour == TIMEOUT:
            return None, {}
        if behaviour == SERVER_ERROR:
            return 503, {"error_code": "503", "message": "Service unavailable"}
        if behaviour == REDIRECT:
            return 302, {}
        if behaviour == REJECT:
            owner = body["data"][0].get(messages.CHU_HO_SO, "") if body else ""
            return 400, {"error_code": "12", "message": f"MaTTHC không tồn tại (hồ sơ của {owner})"}
        assert behaviour == OK, behaviour
        with self.lock:
            if seq is not None and seq <= self._last_seq.get(code, 0):
                self.duplicates += 1
                return 200, {"error_code": "00", "message": "duplicate, already taken"}
            if seq is not None and seq != self._last_seq.get(code, 0) + 1:
                wrong.append(f"{code}: seq {seq} after {self._last_seq.get(code, 0)}")
            if wrong:
                self.violations.extend(wrong)
                return 400, {"error_code": "99", "message": "; ".join(wrong)}
            self._last_seq[code] = seq
            record = body["data"][0]
            status = int(record.get(messages.TRANG_THAI_HO_SO) or record.get(messages.TRANG_THAI))
            self.accepted.append((code, seq, body["service"], status))
        return 200, {"error_code": "00", "message": "Thành công"}
