"""SIF adapter: shared samples parse; attendance summaries stay summaries; bad input gives problems."""
from __future__ import annotations

import collections

import pytest

from adapters import sif
from adapters.base import InputRefused, Problem, Record
from tests.conftest import shared_path


@pytest.mark.parametrize("version", ["sif15r1", "sif20", "sif20r1"])
def test_samples_parse(version):
    items = list(sif.convert(shared_path("sis", "sif", "samples", version), lea_id="1964733"))
    assert items
    assert not any(isinstance(p, Problem) and p.fatal for p in items)


def test_sif15_response_students_and_enrollments_with_school_map():
    items = list(sif.convert(shared_path("sis", "sif", "samples", "sif15r1"), lea_id="1964733",
                             school_ids={"C00B759491E74745B5F10C89E39E8FF6": "1234567",
                                         "1405050D101E3A0D0AC7F1D5131AE301": "7654321"}))
    recs = collections.Counter(r.type for r in items if isinstance(r, Record))
    assert recs["studentSchoolAssociations"] == 11          # 7 in the SIF_Response + 4 bare
    assert recs["students"] >= 6
    ssa = next(r for r in items if isinstance(r, Record) and r.type == "studentSchoolAssociations"
               and r.key.endswith("2004-10-20"))
    assert ssa.resource["entryGradeLevelDescriptor"] == "uri://ed-fi.org/GradeLevelDescriptor#Seventh grade"
    assert ssa.resource["entryDate"] == "2004-10-20"        # YYYYMMDD in SIF 1.5


def test_participation_disabilities_ordered():
    items = list(sif.convert(shared_path("sis", "sif", "samples", "sif20r1"), lea_id="1964733"))
    sped = next(r for r in items if isinstance(r, Record) and r.type == "studentSpecialEducationProgramAssociations")
    assert [d["orderOfDisability"] for d in sped.resource["disabilities"]] == [1, 2, 3]
    assert sped.category == "special_education_iep_504"


SUMMARY = """<SIF_Message xmlns="http://www.sifinfo.org/infrastructure/2.x" Version="2.0r1"><SIF_Event><SIF_ObjectData>
<SIF_EventObject ObjectName="StudentAttendanceSummary" Action="Add">
<StudentAttendanceSummary StudentPersonalRefId="A1" SchoolInfoRefId="S1" SchoolYear="2025">
<StartDate>2024-08-15</StartDate><EndDate>2025-06-12</EndDate><DaysAttended>160</DaysAttended>
<ExcusedAbsences>5</ExcusedAbsences><UnexcusedAbsences>3</UnexcusedAbsences><DaysInMembership>168</DaysInMembership>
</StudentAttendanceSummary>
<StudentAttendanceSummary StudentPersonalRefId="A2" SchoolInfoRefId="S1" SchoolYear="2025">
<StartDate>2024-13-15</StartDate></StudentAttendanceSummary>
<StudentDailyAttendance StudentPersonalRefId="A1" SchoolInfoRefId="S1" SchoolYear="2025">
<Date>2025-01-07</Date><AttendanceCode><Code>0246</Code></AttendanceCode></StudentDailyAttendance>
<StudentDailyAttendance StudentPersonalRefId="A1" SchoolInfoRefId="S1" SchoolYear="2025">
<Date>2025-01-08</Date><AttendanceCode><Code>ZZ9</Code></AttendanceCode></StudentDailyAttendance>
</SIF_EventObject></SIF_ObjectData></SIF_Event></SIF_Message>"""


def test_summary_is_never_events_and_bad_dates_are_problems(tmp_path):
    f = tmp_path / "att.xml"
    f.write_text(SUMMARY)
    items = list(sif.convert(f, school_ids={"S1": "1234567"}))
    recs = [r for r in items if isinstance(r, Record)]
    summ = [r for r in recs if r.type == "studentSchoolAttendanceSummaries"]
    events = [r for r in recs if r.type == "studentSchoolAttendanceEvents"]
    assert len(summ) == 1 and summ[0].resource["daysAbsentUnexcused"] == 3
    assert len(events) == 2                                  # only the two daily records
    assert events[0].resource["attendanceEventCategoryDescriptor"].endswith("#Unexcused Absence")
    assert events[1].resource["attendanceEventCategoryDescriptor"] == \
        "uri://sifassociation.org/AttendanceEventCategoryDescriptor#ZZ9"   # unknown code kept, namespaced
    bad = [p for p in items if isinstance(p, Problem)]
    assert len(bad) == 1 and bad[0].field == "StartDate" and bad[0].line == 8


def test_hostile_and_broken(tmp_path):
    f = tmp_path / "h.xml"
    f.write_text('<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><StudentPersonal RefId="1">&b;</StudentPersonal>')
    items = list(sif.convert(f))
    assert items and all(isinstance(p, Problem) and p.fatal for p in items)
    g = tmp_path / "b.xml"
    g.write_text("<StudentPersonal RefId='1'><Name>")
    assert any(isinstance(p, Problem) and "well-formed" in p.message for p in sif.convert(g))
    with pytest.raises(InputRefused):
        list(sif.convert(tmp_path / "none.xml"))
