"""Synthetic OneRoster feed round trip: gateway.synth writes each OneRoster district's bulk zip,
adapters.oneroster reads it back, and what comes out matches the youth rebuilt from the county seed
(names and birth date as the district presents them, per truth.jsonl)."""
from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

import adapters
from adapters.base import Problem
from gateway.synth.county import County
from tests.helpers import (AS_OF, SYNTH_DISTRICTS, SYNTH_SEED, SYNTH_YOUTH, grade_descriptor, students_of,
                           synth_feed)

SEED, YOUTH, DISTRICTS = SYNTH_SEED, SYNTH_YOUTH, SYNTH_DISTRICTS


grade = grade_descriptor


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    return synth_feed(tmp_path_factory.mktemp("synth-oneroster"), ["oneroster"])


def test_feed_mix_covers_every_format_from_six_districts():
    six = {d.feed_format for d in County(youth=1, districts=6, seed=SEED, as_of=AS_OF).districts}
    eleven = {d.feed_format for d in County(youth=1, districts=11, seed=SEED, as_of=AS_OF).districts}
    assert six == {"calpads", "oneroster", "sif", "edfi-xml", "edfi-json"}
    assert eleven == {"calpads", "oneroster", "sif", "edfi-xml", "edfi-json"}


def test_bundle_layout(feed):
    out, manifest, _ = feed
    leas = [d["lea_id"] for d in manifest["districts"] if d["format"] == "oneroster"]
    assert len(leas) == 2
    assert sorted(manifest["files"]["oneroster"]) == sorted(f"sis/{l}-oneroster/{l}-oneroster.zip" for l in leas)
    with zipfile.ZipFile(out / manifest["files"]["oneroster"][0]) as zf:
        assert sorted(zf.namelist()) == sorted(f"{t}.csv" for t in ("manifest", "orgs", "academicSessions", "courses",
                                                                      "classes", "users", "enrollments", "demographics"))
        man = dict(csv.reader(io.TextIOWrapper(zf.open("manifest.csv"), encoding="utf-8")))
        orgs = list(csv.DictReader(io.TextIOWrapper(zf.open("orgs.csv"), encoding="utf-8")))
    assert man["oneroster.version"] == "1.1" and man["file.users"] == "bulk"
    district = next(d for d in manifest["districts"] if d["lea_id"] in manifest["files"]["oneroster"][0])
    assert {(o["type"], o["identifier"]) for o in orgs} == \
        {("district", district["lea_id"])} | {("school", s["school_id"]) for s in district["schools"]}


def test_round_trip(feed):
    out, manifest, truth = feed
    for d in (d for d in manifest["districts"] if d["format"] == "oneroster"):
        lea = d["lea_id"]
        items = list(adapters.get("oneroster").convert(out / "sis" / f"{lea}-oneroster" / f"{lea}-oneroster.zip"))
        problems = [i for i in items if isinstance(i, Problem)]
        assert problems == []
        recs = defaultdict(list)
        for r in items:
            recs[r.type].append(r)
        youth = students_of(lea)
        presented = truth[f"oneroster:{lea}"]
        students = recs["students"]
        assert len(youth) == len(presented) == len(students) >= 10
        assert {r.resource["schoolId"] for r in recs["schools"]} == {int(s["school_id"]) for s in d["schools"]}
        assert [r.resource["localEducationAgencyId"] for r in recs["localEducationAgencies"]] == [int(lea)]
        ssa = defaultdict(set)
        for r in recs["studentSchoolAssociations"]:
            x = r.resource
            ssa[x["studentReference"]["studentUniqueId"]].add(
                (x["schoolReference"]["schoolId"], x["entryDate"], x.get("exitWithdrawDate"), x["entryGradeLevelDescriptor"]))
        seoa = {r.resource["studentReference"]["studentUniqueId"]: r for r in recs["studentEducationOrganizationAssociations"]}
        for y, p, s in zip(youth, presented, students):
            res = s.resource
            assert (res["firstName"], res.get("middleName", ""), res["lastSurname"], res["birthDate"]) == \
                (p["given"], p["middle"], p["family"], p["birth_date"])
            assert s.subject.sex == y.sex
            uid = res["studentUniqueId"]
            assert uid == (p["ssid"] or f"stu-{lea}-{y.index:07d}")
            ids = dict(s.subject.identifiers)
            assert ids.get("ssid") == p["ssid"]
            assert ids[f"lea-student|{lea}"] == p["local_id"] == y.local_id
            assert ssa[uid] == {(int(e.school_id), e.entry_date.isoformat(), e.exit_date and e.exit_date.isoformat(),
                                 grade(e.grade)) for e in y.enrollments if e.lea_id == lea}
            codes = {c["identificationCode"] for c in seoa[uid].resource["studentIdentificationCodes"]}
            assert p["local_id"] in codes and (p["ssid"] is None or p["ssid"] in codes)


def test_only_students_enrolled_in_the_district_appear(feed):
    out, manifest, _ = feed
    lea = next(d["lea_id"] for d in manifest["districts"] if d["format"] == "oneroster")
    with zipfile.ZipFile(out / "sis" / f"{lea}-oneroster" / f"{lea}-oneroster.zip") as zf:
        users = list(csv.DictReader(io.TextIOWrapper(zf.open("users.csv"), encoding="utf-8")))
        enrollments = list(csv.DictReader(io.TextIOWrapper(zf.open("enrollments.csv"), encoding="utf-8")))
    expected = students_of(lea)
    assert [u["sourcedId"] for u in users] == [f"stu-{lea}-{y.index:07d}" for y in expected]
    assert {u["role"] for u in users} == {"student"}
    assert len(enrollments) == sum(1 for y in expected for e in y.enrollments if e.lea_id == lea)
    assert not Path(out / "sis" / f"{lea}-oneroster" / "bulk").exists()
