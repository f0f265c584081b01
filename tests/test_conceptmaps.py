"""The CALPADS ConceptMaps are valid FHIR R4 ConceptMaps and cover every current CALPADS code."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.conceptmap import ConceptMap

from mappings import translate
from tests.conftest import shared_path

MAPS = Path(__file__).resolve().parent.parent / "mappings" / "conceptmaps"
CALPADS_MAPS = sorted(MAPS.glob("calpads-*.json"))


@pytest.mark.parametrize("path", CALPADS_MAPS, ids=[p.stem for p in CALPADS_MAPS])
def test_is_a_valid_r4_conceptmap(path):
    data = json.loads(path.read_text())
    cm = ConceptMap.model_validate(data)
    assert cm.status == "active" and cm.url and cm.name
    assert data["sourceUri"] and data["targetUri"]
    for group in data["group"]:
        assert group["source"] and group["target"]
        codes = [el["code"] for el in group["element"]]
        assert len(codes) == len(set(codes)), f"duplicate source codes in {path.name}"
        for el in group["element"]:
            for t in el["target"]:
                assert t["equivalence"] in ("equivalent", "wider", "inexact", "narrower", "unmatched")
                if t["equivalence"] == "unmatched":
                    assert "code" not in t and t.get("comment"), el["code"]
                else:
                    assert t.get("code"), el["code"]
                if t["equivalence"] in ("inexact", "narrower"):
                    assert t.get("comment"), f"{path.name} {el['code']}: inexact needs a comment"


def _current(name: str, code_col: str, where=None) -> set[str]:
    with open(shared_path("sis", "calpads", name), newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = set()
    for r in rows:
        if where and not where(r):
            continue
        if r.get("last_academic_year", "N/A") != "N/A" or r[code_col] in ("NULL", ""):
            continue
        out.add(r[code_col])
    return out


CODE_LISTS = [
    ("calpads-exit-reason", "codes_student_exit_reason.csv", "code", None),
    ("calpads-grade-level", "codes_grade_level.csv", "code", lambda r: "retired" not in r["note"]),
    ("calpads-completion-status", "codes_school_completion_status.csv", "completion_status_code", None),
    ("calpads-education-program", "codes_education_program.csv", "education_program_code", None),
    ("calpads-special-ed-setting", "codes_special_education.csv", "code", lambda r: r["code_set"] == "SpecialEducationProgramSetting"),
    ("calpads-special-ed-exit-reason", "codes_special_education.csv", "code", lambda r: r["code_set"] == "SpecialEducationProgramExitReason"),
    ("calpads-education-plan-type", "codes_special_education.csv", "code", lambda r: r["code_set"] == "EducationPlanType"),
]


@pytest.mark.parametrize("map_name,csv_name,col,where", CODE_LISTS, ids=[c[0] for c in CODE_LISTS])
def test_every_current_code_is_mapped(map_name, csv_name, col, where):
    codes = _current(csv_name, col, where)
    assert codes
    missing = sorted(c for c in codes if translate(map_name, c) is None)
    assert not missing, f"{map_name} lacks {missing}"


def test_every_exit_code_maps_or_is_explicitly_not_an_exit():
    codes = _current("codes_student_exit_reason.csv", "code")
    for code in codes:
        t = translate("calpads-exit-reason", code)
        if code in ("E150", "E155"):
            assert t.equivalence == "unmatched" and t.code is None
        else:
            assert t.code and t.system == "uri://ed-fi.org/ExitWithdrawTypeDescriptor", code


def test_brief_codes():
    assert translate("calpads-grade-level", "09").code == "Ninth grade"
    assert translate("calpads-education-program", "101").code == "Section 504 Placement"
    assert translate("calpads-education-program", "193").display is not None
    for code in ("210", "220", "230", "240", "250", "260", "270", "280", "290", "300", "310", "320", "330"):
        assert translate("calpads-disability", code).code, code
    assert translate("calpads-sex", "X").code == "Non-binary"
    assert translate("calpads-enrollment-status", "10").code == "true"
    assert translate("calpads-enrollment-status", "20").code == "false"
