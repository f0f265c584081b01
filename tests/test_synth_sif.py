"""Synthetic SIF feed round trip: gateway.synth writes each SIF district's SIF 2.x files,
adapters.sif reads them back, and students, enrollments, attendance summaries, daily absence events
and course credits match the youth rebuilt from the county seed."""
from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from lxml import etree

import adapters
from adapters import edfi_common as ec
from adapters.base import Problem
from gateway.synth.county import County
from gateway.synth.feeds.sif import OBJECTS, absence_dates
from tests.helpers import (AS_OF, SYNTH_DISTRICTS, SYNTH_SEED, SYNTH_YOUTH, grade_descriptor, students_of,
                           synth_feed)

SEED, YOUTH, DISTRICTS = SYNTH_SEED, SYNTH_YOUTH, SYNTH_DISTRICTS


grade = grade_descriptor


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    return synth_feed(tmp_path_factory.mktemp("synth-sif"), ["sif"])


def test_files_are_well_formed_envelopes(feed):
    out, manifest, _ = feed
    leas = [d["lea_id"] for d in manifest["districts"] if d["format"] == "sif"]
    assert len(leas) == 2
    assert len(manifest["files"]["sif"]) == 2 * len(OBJECTS)
    for rel in manifest["files"]["sif"]:
        root = etree.parse(str(out / rel)).getroot()
        assert root.tag == "{http://www.sifinfo.org/infrastructure/2.x}SIF_Message"
        data = root.find(".//{*}SIF_ObjectData")
        assert {etree.QName(c).localname for c in data} <= {rel.rsplit("/", 1)[1][:-4]}


def test_round_trip(feed):
    out, manifest, truth = feed
    for d in (d for d in manifest["districts"] if d["format"] == "sif"):
        lea = d["lea_id"]
        items = list(adapters.get("sif").convert(out / "sis" / f"{lea}-sif", lea_id=lea))
        assert [i for i in items if isinstance(i, Problem)] == []
        recs = defaultdict(list)
        for r in items:
            recs[r.type].append(r.resource)
        youth, presented = students_of(lea), truth[f"sif:{lea}"]
        students = recs["students"]
        assert len(youth) == len(presented) == len(students) >= 5
        by_uid = defaultdict(lambda: defaultdict(list))
        for coll, rs in recs.items():
            for r in rs:
                ref = r.get("studentReference") or r.get("studentAcademicRecordReference")
                if ref:
                    by_uid[ref["studentUniqueId"]][coll].append(r)
        for y, p, s in zip(youth, presented, students):
            assert (s["firstName"], s.get("middleName", ""), s["lastSurname"], s["birthDate"]) == \
                (p["given"], p["middle"], p["family"], p["birth_date"])
            if p["ssid"]:
                assert s["studentUniqueId"] == p["ssid"]
            mine = by_uid[s["studentUniqueId"]]
            codes = {c["identificationCode"] for c in mine["studentEducationOrganizationAssociations"][0]["studentIdentificationCodes"]}
            assert p["local_id"] in codes
            pairs = [(e, a) for e, a in zip(y.enrollments, y.attendance) if e.lea_id == lea]
            assert sorted((r["schoolReference"]["schoolId"], r["entryDate"], r.get("exitWithdrawDate"),
                           r["entryGradeLevelDescriptor"]) for r in mine["studentSchoolAssociations"]) == \
                sorted((int(e.school_id), e.entry_date.isoformat(), e.exit_date and e.exit_date.isoformat(), grade(e.grade))
                       for e, _ in pairs)
            assert sorted((r["schoolReference"]["schoolId"], r["schoolYear"], r["beginDate"], r["daysEnrolled"],
                           r["daysAttended"], r["daysAbsentExcused"], r["daysAbsentUnexcused"])
                          for r in mine[ec.ATTENDANCE_SUMMARY]) == \
                sorted((int(a.school_id), a.school_year, e.entry_date.isoformat(), a.days_enrolled, a.days_attended,
                        a.days_absent_excused, a.days_absent_unexcused) for e, a in pairs)
            events = Counter((r["schoolReference"]["schoolId"], r["sessionReference"]["schoolYear"])
                             for r in mine["studentSchoolAttendanceEvents"])
            absent = Counter()
            for e, a in pairs:
                absent[(int(a.school_id), a.school_year)] += a.days_absent
            assert events == +absent
            # absences in the events never outnumber what the summary says was missed
            for r in mine[ec.ATTENDANCE_SUMMARY]:
                assert r["daysEnrolled"] - r["daysAttended"] >= r["daysAbsentExcused"] + r["daysAbsentUnexcused"]
            courses = [c for c in y.courses if c.lea_id == lea]
            got = sorted((r["courseReference"]["courseCode"], r["studentAcademicRecordReference"]["schoolYear"],
                          r["attemptedCredits"], r["earnedCredits"], r.get("finalLetterGradeEarned"))
                         for r in mine["courseTranscripts"])
            assert got == sorted((c.local_course_id, c.school_year, c.credits_attempted, c.credits_earned, c.grade)
                                 for c in courses)
            sped = y.special_education is not None and y.special_education.lea_id == lea
            assert len(mine["studentSpecialEducationProgramAssociations"]) == int(sped)


def test_absence_dates_match_the_summary():
    county = County(youth=40, districts=DISTRICTS, seed=SEED, as_of=AS_OF)
    checked = 0
    for y in county.iter_youth():
        for e, a in zip(y.enrollments, y.attendance):
            days = absence_dates(county.seed, y.index, e, a, county.as_of)
            assert days == absence_dates(county.seed, y.index, e, a, county.as_of)
            assert len({d for d, _ in days}) == len(days) == a.days_absent
            assert Counter(k for _, k in days) == +Counter(excused=a.days_absent_excused,
                                                           unexcused=a.days_absent_unexcused,
                                                           suspended=a.days_suspended)
            last = min(e.exit_date or AS_OF, AS_OF)
            assert all(e.entry_date <= d <= last and d.weekday() < 5 for d, _ in days)
            checked += bool(days)
    assert checked > 20
