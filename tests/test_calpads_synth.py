"""Synthetic county -> CALPADS files -> adapter: every record validates against the official
OpenAPI, and the converted facts match the synthetic youth."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from adapters import calpads
from adapters.base import Problem, Record
from adapters.edfi_schema_openapi import validate_against_openapi
from gateway.synth import generate
from gateway.synth.county import County
from tests.conftest import shared_path

AS_OF = date(2026, 11, 23)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("calpads")
    manifest = generate(tmp, youth=60, districts=3, seed=7, as_of=AS_OF, formats=["calpads"])
    files = manifest["files"]["calpads"]
    assert files and all(f.startswith("sis/") and "-calpads/" in f for f in files)
    records, problems = [], []
    for f in files:
        for item in calpads.convert(tmp / f):
            (records if isinstance(item, Record) else problems).append(item)
    return tmp, manifest, records, problems


def test_every_record_validates_against_openapi(converted):
    spec = shared_path("edfi", "openapi", "resources-ds-5.0.yml")
    _, _, records, problems = converted
    assert records
    assert not [p for p in problems if p.severity == "error"], problems[:5]
    for r in records:
        assert validate_against_openapi(r.type, r.resource, spec) == [], (r.type, r.source)
        assert r.category and r.key and r.source["file"] and r.source["line"]


def test_all_types_present_and_no_daily_events(converted):
    _, _, records, _ = converted
    types = {r.type for r in records}
    assert {"students", "studentSchoolAssociations", "studentEducationOrganizationAssociations",
            "studentSchoolAttendanceSummaries", "studentProgramAssociations", "courseTranscripts",
            "studentAcademicRecords", "schools", "localEducationAgencies"} <= types
    assert "studentSchoolAttendanceEvents" not in types


def test_round_trip_matches_the_synthetic_youth(converted):
    tmp, manifest, records, _ = converted
    county = County(youth=60, districts=3, seed=7, as_of=AS_OF, truth_path=None)
    leas = {d["lea_id"] for d in manifest["districts"] if d["format"] == "calpads"}
    by_ssid = {}
    for r in records:
        if r.type == "studentSchoolAssociations":
            by_ssid.setdefault(r.resource["studentReference"]["studentUniqueId"], []).append(r.resource)
    students = {r.resource["studentUniqueId"]: r.resource for r in records if r.type == "students"}
    transcripts = {}
    for r in records:
        if r.type == "courseTranscripts":
            transcripts.setdefault(r.resource["studentAcademicRecordReference"]["studentUniqueId"], []).append(r.resource)
    grade_names = {"KN": "Kindergarten", "PS": "Prekindergarten", "01": "First grade", "09": "Ninth grade"}
    checked = 0
    for y in county.iter_youth():
        enrs = [e for e in y.enrollments if e.lea_id in leas]
        if not enrs or y.ssid not in by_ssid:
            continue
        checked += 1
        got = sorted((s["schoolReference"]["schoolId"], s["entryDate"]) for s in by_ssid[y.ssid])
        want = sorted((int(e.school_id), e.entry_date.isoformat()) for e in enrs)
        # a district may present the youth without an SSID (identity noise): those rows use the district id
        assert set(got) <= set(want) and got, y.ssid
        for e in enrs:
            s = next((s for s in by_ssid[y.ssid] if s["entryDate"] == e.entry_date.isoformat()
                      and s["schoolReference"]["schoolId"] == int(e.school_id)), None)
            if s is None:
                continue
            if e.grade in grade_names:
                assert s["entryGradeLevelDescriptor"].endswith("#" + grade_names[e.grade])
            real_exit = e.exit_code not in (None, "E150", "E155")
            assert ("exitWithdrawDate" in s) == real_exit
            if real_exit:
                assert s["exitWithdrawDate"] == e.exit_date.isoformat()
        stu = students[y.ssid]
        # names and birth date may carry the source's identity noise; family name or birth date survive
        assert stu["lastSurname"] == y.family or stu["birthDate"] == y.birth_date.isoformat() or stu["firstName"] == y.given
        mine = [c for c in y.courses if c.lea_id in leas]
        if mine:
            got = [(t["courseReference"]["courseCode"], t["earnedCredits"]) for t in transcripts.get(y.ssid, [])]
            want = [(c.local_course_id, c.credits_earned) for c in mine]
            assert all(g in want for g in got)
            assert all(t.get("courseTitle") for t in transcripts.get(y.ssid, []))
    assert checked >= 20


def test_not_in_care_students_are_sent_too(converted):
    tmp, manifest, records, _ = converted
    assert manifest["students_not_in_care"] > 0
    county = County(youth=60, districts=3, seed=7, as_of=AS_OF, truth_path=None)
    ssids = {r.resource["studentUniqueId"] for r in records if r.type == "students"}
    others = [y.ssid for y in county.iter_youth() if not y.in_care and y.ssid in ssids]
    assert others


def test_folder_input_converts_every_file(converted):
    tmp, manifest, records, _ = converted
    folder = tmp / Path(manifest["files"]["calpads"][0]).parent
    items = list(calpads.convert(folder))
    assert any(isinstance(i, Record) and i.type == "courseTranscripts" and i.resource.get("courseTitle") for i in items)
    assert not [i for i in items if isinstance(i, Problem) and i.severity == "error"]
