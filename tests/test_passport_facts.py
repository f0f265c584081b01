"""Derived facts against the synthetic youth they came from (rebuilt from the county model), the
Ed-Fi rendering of the passport, and the FHIR profiles of the passport."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.test_passport_support import (AS_OF, DISTRICTS, SEED, YOUTH, county_files, ingest_county,  # noqa: F401
                                         stored_rows, youth_ids, youth_row)

FHIR_DIR = Path(__file__).resolve().parent.parent / "profiles" / "fhir"


def _model_youth():
    from gateway.synth.county import County
    county = County(youth=YOUTH, districts=DISTRICTS, seed=SEED, as_of=AS_OF)
    return county, {county.make_youth(i).client_id: county.make_youth(i) for i in range(YOUTH)}


def _expected(y, county):
    """Facts computed from the model, independently of the store and of gateway.passport."""
    enr = y.enrollments
    transfers = sum(1 for a, b in zip(enr, enr[1:]) if b.school_id != a.school_id and (a.exit_code or "").startswith("T"))
    sy = county.current_sy
    att = [a for a in y.attendance if a.school_year == sy]
    cur = [e for e in enr if e.entry_date <= AS_OF and (e.exit_date is None or AS_OF <= e.exit_date)]
    removal = y.placements[0].start if y.placements else None
    origin = None
    if removal:
        at = [e for e in enr if e.entry_date <= removal and (e.exit_date is None or removal <= e.exit_date)]
        before = [e for e in enr if e.entry_date <= removal]
        pick = at[-1] if at else (before[-1] if before else None)
        origin = pick.school_id if pick else None
    return {"transfers": transfers, "credits": sum(c.credits_earned for c in y.courses),
            "absent": sum(a.days_absent for a in att), "enrolled": sum(a.days_enrolled for a in att),
            "current": cur[-1].school_id if cur else None, "grade": cur[-1].grade if cur else None, "origin": origin,
            "iep": y.special_education is not None}


def _fully_linked(rows, y) -> bool:
    """The store holds every enrollment/course/attendance year the model has (identity noise can hold some
    records for review) and no two attendance years share a school (one summary per school-year)."""
    n = Counter(r["rtype"] for r in rows)
    keys = [(a.school_id, a.school_year) for a in y.attendance]
    return (n["studentSchoolAssociations"] == len(y.enrollments) and n["courseTranscripts"] == len(y.courses)
            and n["studentSchoolAttendanceSummaries"] == len(y.attendance) and len(set(keys)) == len(keys))


def test_derived_facts_match_the_synthetic_youth(engine, county_files):
    from gateway.passport import derived_facts
    ingest_county(engine, county_files)
    county, model = _model_youth()
    checked = Counter()
    for yid in youth_ids(engine):
        y = model[youth_row(engine, yid)["client_id"]]
        if not y.enrollments or not _fully_linked(stored_rows(engine, yid), y):
            continue
        with engine.connect() as conn:
            f = derived_facts(conn, "la", yid, as_of=AS_OF)
        exp = _expected(y, county)
        assert f["school_transfers"]["value"] == exp["transfers"], yid
        if y.courses:
            assert f["credits_earned"]["value"]["earned"] == exp["credits"]
        else:  # no transcript on file: credits are unknown, never "0 earned"
            assert "credits_earned" not in f and "credits_expected" not in f
        assert f["days_absent"]["value"]["days"] == exp["absent"]
        assert f["days_enrolled"]["value"]["days"] == exp["enrolled"]
        if exp["enrolled"]:
            assert f["chronic_absence"]["value"] == (exp["absent"] / exp["enrolled"] >= 0.10)
        cur = f["current_school"]["value"]
        assert (cur["cds"] if cur else None) == exp["current"]
        from gateway.passport.facts import grade_number
        g = f["current_grade"]["value"]
        exp_grade = None if exp["grade"] is None else ({"PS": -1, "KN": 0}.get(exp["grade"]) if not exp["grade"].isdigit()
                                                       else int(exp["grade"]))
        assert (g["number"] if g else None) == exp_grade
        assert grade_number(g["grade"]) == exp_grade if g else True
        origin = f["school_of_origin"]["value"]
        assert (origin["cds"] if origin else None) == exp["origin"]
        assert f["iep"]["value"]["active"] == exp["iep"]
        for name, fact in f.items():
            assert fact["category"] in fact["categories"]
        checked["youth"] += 1
        checked["transfers"] += exp["transfers"] > 0
        checked["credits"] += exp["credits"] > 0
    assert checked["youth"] >= 8, checked
    assert checked["transfers"] >= 1 and checked["credits"] >= 1, checked


def test_facts_follow_the_released_categories(engine, county_files):
    from gateway.passport import assemble_edfi
    from gateway.passport.vocab import categories
    ingest_county(engine, county_files)
    yid = next(y for y in youth_ids(engine) if any(r["rtype"] == "studentSchoolAttendanceSummaries"
                                                  for r in stored_rows(engine, y)))
    allow = {c: {"decision": "permit", "obligations": ["log_disclosure"]} for c in categories()}
    with engine.connect() as conn:
        full = assemble_edfi(conn, "la", yid, allow, as_of=AS_OF)
        allow["attendance"] = {"decision": "deny"}
        allow["demographics_identity"] = {"decision": "permit-redacted", "redactions": ["direct_identifiers"]}
        part = assemble_edfi(conn, "la", yid, allow, as_of=AS_OF)
    assert "studentSchoolAttendanceSummaries" in full and "days_absent" in full["derivedFacts"]
    assert "studentSchoolAttendanceSummaries" not in part
    assert not {"days_absent", "days_enrolled", "chronic_absence"} & set(part["derivedFacts"])
    assert part["derivedFacts"]["school_transfers"] == full["derivedFacts"]["school_transfers"]
    assert "firstName" in full["student"] and "firstName" not in part["student"]
    assert "lastSurname" not in json.dumps(part["student"])
    assert any("99.33" in n["citation"] for n in full["notices"])
    assert not any(k.startswith("student") and "Attendance" in k for k in part)


def _artifacts():
    return {p.name: json.loads(p.read_text()) for p in sorted(FHIR_DIR.glob("*.json"))}


def test_profiles_validate_as_r4b():
    from fhir.resources.R4B import get_fhir_model_class
    arts = _artifacts()
    kinds = Counter(a["resourceType"] for a in arts.values())
    assert kinds["StructureDefinition"] >= 2 and kinds["CodeSystem"] >= 2
    for name, a in arts.items():
        get_fhir_model_class(a["resourceType"]).model_validate(a)
        assert name == f"{a['resourceType']}-{a['id']}.json"


def _codes(concepts):
    for c in concepts:
        yield c["code"]
        yield from _codes(c.get("concept", []))


def test_profiles_cover_what_the_passport_emits():
    from gateway.passport.vocab import (DOC_CODE, HEP_CS, NOTICES_CODE, OBLIGATION_CS, OBLIGATION_DISPLAY, OBS,
                                        PROFILE_COMPOSITION, PROFILE_EDU_OBS, categories)
    arts = {a["url"]: a for a in _artifacts().values()}
    hep = set(_codes(arts[HEP_CS]["concept"]))
    assert {DOC_CODE, NOTICES_CODE, "education"} | set(OBS) | set(categories()) <= hep
    assert set(OBLIGATION_DISPLAY) <= set(_codes(arts[OBLIGATION_CS]["concept"]))
    comp, obs = arts[PROFILE_COMPOSITION], arts[PROFILE_EDU_OBS]
    assert comp["type"] == "Composition" and comp["derivation"] == "constraint"
    el = {e["path"]: e for e in comp["differential"]["element"]}
    assert el["Composition.subject"]["min"] == 1
    sections_vs = arts[el["Composition.section.code"]["binding"]["valueSet"]]
    assert {c["code"] for c in sections_vs["compose"]["include"][0]["concept"]} == set(categories()) | {NOTICES_CODE}
    oel = {e["path"]: e for e in obs["differential"]["element"]}
    assert oel["Observation.subject"]["min"] == 1 and oel["Observation.effective[x]"]["min"] == 1
    obs_vs = arts[oel["Observation.code"]["binding"]["valueSet"]]
    assert {c["code"] for c in obs_vs["compose"]["include"][0]["concept"]} == set(OBS)


def test_emitted_components_are_in_the_code_system(engine, county_files):
    """Every HEP code an assembled passport uses is defined in the HEP CodeSystem."""
    from gateway.passport import assemble
    from gateway.passport.vocab import HEP_CS, categories
    ingest_county(engine, county_files)
    hep = set(_codes(json.loads((FHIR_DIR / "CodeSystem-hep.json").read_text())["concept"]))
    used = set()

    def walk(n):
        if isinstance(n, dict):
            if n.get("system") == HEP_CS:
                used.add(n["code"])
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)
    allow = {c: {"decision": "permit", "obligations": []} for c in categories()}
    with engine.connect() as conn:
        for yid in youth_ids(engine)[:10]:
            walk(assemble(conn, "la", yid, allow, as_of=AS_OF, base_url="https://x.example/fhir"))
    assert used and used <= hep, used - hep


@pytest.mark.parametrize("value,expected", [("Ninth grade", 9), ("Kindergarten", 0), ("07", 7), (None, None), ("x", None)])
def test_grade_number(value, expected):
    from gateway.passport.facts import grade_number
    assert grade_number(value) == expected


def test_no_transcripts_means_no_credit_facts_not_zero_credits():
    from datetime import date as _date
    from gateway.passport.facts import _credits
    assert _credits([], None, _date(2026, 11, 23), {"grades_transcripts_credits", "enrollment_school_placement"}) == {}


def test_an_untyped_exit_at_the_end_of_june_is_a_year_end_not_a_move():
    from datetime import date as _date

    from gateway.passport.facts import _summer
    assert _summer(_date(2026, 6, 12)) and _summer(_date(2026, 8, 31))
    assert not _summer(_date(2026, 3, 3)) and not _summer(_date(2026, 11, 20))
