"""Shape of the seed catalogue ``server/reference/data/catalogue.json`` (DOMAIN.md §5, §9); no app needed."""

from __future__ import annotations

import json
import re
from datetime import date
from datetime import time
from pathlib import Path

import pytest

CATALOGUE = Path(__file__).resolve().parent.parent / "server" / "reference" / "data" / "catalogue.json"

NATIONAL_CODE = re.compile(r"^\d\.\d{6}$")
KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
TOP_KEYS = {"catalogue_version", "source", "procedures"}
PROCEDURE_KEYS = {"key", "national_code", "name_vi", "name_en", "field", "ministry", "competent_level",
                  "home_reception", "versions"}
VERSION_KEYS = {"publication_decision", "effective_from", "effective_to", "processing_time",
                "same_day_cutoff", "supplement_clock", "fee_vnd", "fee_note", "online_level",
                "required_documents", "competent_agency_code", "steps"}
TIME_KEYS = {"value", "unit", "confirmed", "note"}
STEP_KEYS = {"holder", "agency_code", "working_days", "name_vi", "name_en"}
HOLDERS = {"receiving", "competent", "agency"}
#: Ministries after the 2025 merger (Agency.ministry uses the same abbreviations).
MINISTRIES = {"BNV", "BYT", "BTP", "BNNMT"}
AGENCY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
DOCUMENT_KEYS = {"code", "name_vi", "name_en", "form_ref", "copy_type", "quantity", "mandatory", "note"}
FIELDS = {"chung_thuc", "nguoi_co_cong", "bao_tro_xa_hoi", "nguoi_khuyet_tat", "giam_ngheo", "viec_lam",
          "tre_em"}
LEVELS = {"ward", "province", "ward_to_province"}
HOME = {"yes", "partial"}
UNITS = {"working_days", "calendar_days", "same_day"}
CLOCKS = {"restart", "pause"}
ONLINE = {"full", "partial", "none"}
COPY_TYPES = {"original", "certified_copy", "copy_with_original", "electronic"}
#: Vietnamese letters that only appear when diacritics were kept.
VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ]", re.IGNORECASE)

#: Times DOMAIN.md §5 gives with a source: only these may be marked confirmed.
CONFIRMED_TIMES = {"2.000884", "2.000815", "1.001699"}
#: Procedures whose time DOMAIN.md §5 marks [U] or [M], or does not give (by national code or key).
UNCONFIRMED_TIMES = {"chung-thuc-hop-dong-giao-dich", "1.010803", "1.010824", "1.010827", "1.001776",
                     "1.014027", "1.001731", "1.014028", "1.001653"}


@pytest.fixture(scope="module")
def catalogue() -> dict:
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def procedures(catalogue) -> list[dict]:
    return catalogue["procedures"]


def _versions(procedures):
    for procedure in procedures:
        for version in procedure["versions"]:
            yield procedure, version


def _ident(procedure: dict) -> str:
    return procedure["national_code"] or procedure["key"]


def test_top_level_shape(catalogue):
    assert set(catalogue) == TOP_KEYS
    date.fromisoformat(catalogue["catalogue_version"])
    assert catalogue["source"].strip()


def test_at_least_fifteen_procedures_with_unique_keys(procedures):
    assert len(procedures) >= 15
    keys = [p["key"] for p in procedures]
    assert len(keys) == len(set(keys))
    assert all(KEY.match(k) for k in keys), keys
    codes = [p["national_code"] for p in procedures if p["national_code"] is not None]
    assert len(codes) == len(set(codes))


def test_procedure_fields(procedures):
    for p in procedures:
        assert set(p) == PROCEDURE_KEYS, p["key"]
        code = p["national_code"]
        assert code is None or NATIONAL_CODE.match(code), (p["key"], code)
        assert p["name_vi"].strip() and VIETNAMESE.search(p["name_vi"]), p["key"]
        assert p["name_en"].strip(), p["key"]
        assert p["field"] in FIELDS, p["key"]
        assert p["ministry"] in MINISTRIES, p["key"]
        assert p["competent_level"] in LEVELS, p["key"]
        assert p["home_reception"] in HOME, p["key"]
        assert p["versions"], p["key"]


def test_versions(procedures):
    for p, v in _versions(procedures):
        assert set(v) == VERSION_KEYS, p["key"]
        start = date.fromisoformat(v["effective_from"])
        if v["effective_to"] is not None:
            assert date.fromisoformat(v["effective_to"]) >= start, p["key"]
        timing = v["processing_time"]
        assert set(timing) == TIME_KEYS, p["key"]
        assert timing["unit"] in UNITS, p["key"]
        assert isinstance(timing["value"], int) and timing["value"] >= 0, p["key"]
        assert isinstance(timing["confirmed"], bool), p["key"]
        if timing["unit"] == "same_day":
            assert v["same_day_cutoff"], p["key"]
            time.fromisoformat(v["same_day_cutoff"])
        else:
            assert v["same_day_cutoff"] is None, p["key"]
            assert timing["value"] > 0, p["key"]
        if not timing["confirmed"]:
            assert timing["note"] and timing["note"].strip(), f"{p['key']}: an unconfirmed time must say why"
        assert v["supplement_clock"] in CLOCKS, p["key"]
        assert v["fee_vnd"] is None or (isinstance(v["fee_vnd"], int) and v["fee_vnd"] >= 0), p["key"]
        assert v["online_level"] in ONLINE, p["key"]


def test_versions_of_a_procedure_do_not_overlap(procedures):
    for p in procedures:
        starts = [date.fromisoformat(v["effective_from"]) for v in p["versions"]]
        assert starts == sorted(set(starts)), p["key"]
        for earlier, later in zip(p["versions"], p["versions"][1:], strict=False):
            assert earlier["effective_to"] is not None, p["key"]
            assert date.fromisoformat(earlier["effective_to"]) < date.fromisoformat(later["effective_from"])


def test_required_documents(procedures):
    for p, v in _versions(procedures):
        documents = v["required_documents"]
        codes = [d["code"] for d in documents]
        assert len(codes) == len(set(codes)), p["key"]
        for d in documents:
            assert set(d) == DOCUMENT_KEYS, (p["key"], d["code"])
            assert d["name_vi"].strip() and d["name_en"].strip(), (p["key"], d["code"])
            assert d["copy_type"] in COPY_TYPES, (p["key"], d["code"])
            assert isinstance(d["quantity"], int) and d["quantity"] >= 1, (p["key"], d["code"])
            assert isinstance(d["mandatory"], bool), (p["key"], d["code"])
        assert any(d["mandatory"] for d in documents), f"{p['key']}: no mandatory document"


def test_identity_cards_are_checked_not_photographed(procedures):
    """Card images are sensitive personal data (DOMAIN.md §6.1): the card is sighted, never copied."""
    for p, v in _versions(procedures):
        for d in v["required_documents"]:
            if "căn cước" in d["name_vi"].lower():
                assert d["copy_type"] == "original", (p["key"], d["code"])
                assert d["note"] and "không chụp" in d["note"], (p["key"], d["code"])


def test_only_sourced_times_are_confirmed(procedures):
    confirmed = {_ident(p) for p, v in _versions(procedures) if v["processing_time"]["confirmed"]}
    assert confirmed <= CONFIRMED_TIMES
    idents = {_ident(p) for p in procedures}
    assert UNCONFIRMED_TIMES <= idents
    for p, v in _versions(procedures):
        if _ident(p) in UNCONFIRMED_TIMES:
            assert v["processing_time"]["confirmed"] is False, p["key"]


def test_signature_certification_is_same_day(procedures):
    by_code = {p["national_code"]: p for p in procedures}
    signature = by_code["2.000884"]
    assert signature["key"] == "chung-thuc-chu-ky"
    current = signature["versions"][-1]
    assert current["processing_time"]["unit"] == "same_day"
    assert current["processing_time"]["confirmed"] is True
    assert current["same_day_cutoff"] == "15:00"


def test_known_times(procedures):
    by_key = {p["key"]: p["versions"][-1]["processing_time"] for p in procedures}
    contract = by_key["chung-thuc-hop-dong-giao-dich"]
    assert (contract["unit"], contract["value"]) == ("working_days", 2)
    by_code = {p["national_code"]: p["versions"][-1]["processing_time"] for p in procedures}
    assert (by_code["1.001731"]["unit"], by_code["1.001731"]["value"]) == ("working_days", 3)
    assert by_code["1.001699"] | {"note": None} == {"value": 20, "unit": "working_days", "confirmed": True,
                                                     "note": None}


def test_meritorious_people_are_home_affairs_and_social_protection_health(procedures):
    """DOMAIN.md §0: người có công and employment moved to Bộ Nội vụ, social protection and disability to Bộ Y tế."""
    for p in procedures:
        if p["field"] in {"nguoi_co_cong", "viec_lam"}:
            assert p["ministry"] == "BNV", p["key"]
        if p["field"] in {"bao_tro_xa_hoi", "nguoi_khuyet_tat", "tre_em"}:
            assert p["ministry"] == "BYT", p["key"]
        if p["field"] == "chung_thuc":
            assert p["ministry"] == "BTP", p["key"]


def test_competent_agency_and_chains(procedures):
    for p, v in _versions(procedures):
        code = v["competent_agency_code"]
        assert code is None or AGENCY_CODE.match(code), p["key"]
        # A ward-level procedure is decided by the dossier's ward; a department's has its code.
        assert (code is None) == (p["competent_level"] == "ward"), p["key"]
        for step in v["steps"]:
            assert set(step) == STEP_KEYS, p["key"]
            assert step["holder"] in HOLDERS, p["key"]
            assert (step["agency_code"] is not None) == (step["holder"] == "agency"), p["key"]
            assert isinstance(step["working_days"], int) and step["working_days"] >= 0, p["key"]
            assert VIETNAMESE.search(step["name_vi"]) and step["name_en"].strip(), p["key"]


def test_death_benefit_goes_ward_department_ward(procedures):
    """1.010824 is liên thông: the ward receives, the Sở Nội vụ decides, the ward returns (DOMAIN.md §5 #6 [R])."""
    by_code = {p["national_code"]: p for p in procedures}
    current = by_code["1.010824"]["versions"][-1]
    assert [s["holder"] for s in current["steps"]] == ["receiving", "competent", "receiving"]
    assert "Sở Nội vụ" in current["steps"][1]["name_vi"]
    assert current["competent_agency_code"] is not None
    # The chain's days are configuration too: still unconfirmed, and within the legal time of the receipt.
    assert current["processing_time"]["confirmed"] is False
    assert sum(s["working_days"] for s in current["steps"]) <= current["processing_time"]["value"]
