"""CALPADS adapter: hand-written lines, bad input, ODS extracts, layouts, E150/E155, deletes."""
from __future__ import annotations

import pytest

from adapters import calpads
from adapters.base import Problem, Record
from adapters.calpads_layout import layouts
from adapters.edfi_schema_openapi import validate_against_openapi
from tests.conftest import shared_path

LAY = {l.name: l for l in layouts()}


def line(rt: str, layout: str = "2019-20", extract: bool = False, **values) -> str:
    lay = LAY[layout]
    row = [""] * len(lay.fields[rt])
    for k, v in values.items():
        if k in lay.index[rt]:
            row[lay.index[rt][k]] = v
    row[0] = rt + ("-R" if extract else "")
    if extract:
        row += ["20250101", "20250102"]
    return "^".join(row)


PERSON = dict(ReportingLEA="1964733", SSID="3000000097", LocalStudentID="555123", StudentLegalFirstName="Ana",
              StudentLegalMiddleName="Luz", StudentLegalLastName="Diaz", StudentBirthDate="20100203",
              StudentGenderCode="F")


def senr(**kw) -> dict:
    base = dict(PERSON, SchoolOfAttendance="0123456", AcademicYearID="2024-2025", EnrollmentSchoolStartDate="20240814",
                EnrollmentStatusCode="10", GradeLevelCode="09")
    base.update(kw)
    return base


def run(tmp_path, *lines, name="f.txt", encoding="utf-8", **options):
    p = tmp_path / name
    p.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding) if isinstance(lines[0], str) else b"\r\n".join(lines))
    items = list(calpads.convert(p, **options))
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Problem)]


def by(records, t):
    return [r for r in records if r.type == t]


def test_senr_line_to_student_and_enrollment(tmp_path):
    recs, probs = run(tmp_path, line("SENR", **senr(EnrollmentSchoolExitDate="20241101", StudentExitReasonCode="T160")))
    assert not [p for p in probs if p.severity == "error"]
    stu = by(recs, "students")[0]
    assert stu.resource["studentUniqueId"] == "3000000097" and stu.resource["birthDate"] == "2010-02-03"
    assert stu.resource["birthSexDescriptor"] == "uri://ed-fi.org/SexDescriptor#Female"
    assert stu.category == "demographics_identity"
    ssa = by(recs, "studentSchoolAssociations")[0]
    r = ssa.resource
    assert r["schoolReference"] == {"schoolId": 123456} and r["entryDate"] == "2024-08-14"
    assert r["entryGradeLevelDescriptor"] == "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade"
    assert r["primarySchool"] is True and r["schoolYearTypeReference"] == {"schoolYear": 2025}
    assert r["exitWithdrawDate"] == "2024-11-01"
    assert r["exitWithdrawTypeDescriptor"] == "uri://ed-fi.org/ExitWithdrawTypeDescriptor#Transferred"
    assert r["_ext"]["hep"]["exitWithdrawTypeDescriptor"] == "uri://calpads.cde.ca.gov/ExitWithdrawTypeDescriptor#T160"
    assert ssa.category == "enrollment_school_placement" and ssa.source == {"file": "f.txt", "line": 1}
    assert ssa.subject.identifiers == (("ssid", "3000000097"), ("lea-student|1964733", "555123"))
    assert ssa.subject.given == "Ana" and ssa.subject.birth_date == "2010-02-03" and ssa.subject.sex == "F"
    schools = by(recs, "schools")
    assert schools and schools[0].subject is None and schools[0].labels == {"reference_data": True}
    assert by(recs, "localEducationAgencies")[0].resource["localEducationAgencyId"] == 1964733


@pytest.mark.parametrize("code", ["E150", "E155"])
def test_not_an_exit_codes_do_not_produce_exits(tmp_path, code):
    recs, probs = run(tmp_path, line("SENR", **senr(EnrollmentSchoolExitDate="20250612", StudentExitReasonCode=code)))
    r = by(recs, "studentSchoolAssociations")[0].resource
    assert "exitWithdrawDate" not in r and "exitWithdrawTypeDescriptor" not in r
    assert r["_ext"]["hep"]["exitDate"] == "2025-06-12"
    assert r["_ext"]["hep"]["exitWithdrawTypeDescriptor"].endswith("#" + code)


def test_e230_with_completion_status_is_graduated(tmp_path):
    recs, _ = run(tmp_path, line("SENR", **senr(GradeLevelCode="12", EnrollmentSchoolExitDate="20250612",
                                                StudentExitReasonCode="E230", StudentSchoolCompletionStatus="100")))
    r = by(recs, "studentSchoolAssociations")[0].resource
    assert r["exitWithdrawTypeDescriptor"] == "uri://ed-fi.org/ExitWithdrawTypeDescriptor#Graduated"


def test_unknown_exit_code_is_kept_local_with_warning(tmp_path):
    recs, probs = run(tmp_path, line("SENR", **senr(EnrollmentSchoolExitDate="20241101", StudentExitReasonCode="T999")))
    r = by(recs, "studentSchoolAssociations")[0].resource
    assert r["exitWithdrawTypeDescriptor"] == "uri://calpads.cde.ca.gov/ExitWithdrawTypeDescriptor#T999"
    assert [(p.severity, p.field, p.line) for p in probs] == [("warning", "StudentExitReasonCode", 1)]


def test_unknown_grade_is_a_problem_and_good_rows_still_come(tmp_path):
    recs, probs = run(tmp_path, line("SENR", **senr(GradeLevelCode="13")),
                      line("SENR", **senr(SSID="3000000194", EnrollmentSchoolStartDate="20240901")))
    assert [(p.line, p.field) for p in probs] == [(1, "GradeLevelCode")]
    assert [r.resource["studentReference"]["studentUniqueId"] for r in by(recs, "studentSchoolAssociations")] == ["3000000194"]


def test_bad_input_problems_have_file_line_field(tmp_path):
    header = "^".join(LAY["2019-20"].fields["SENR"])
    short = "SENR^^1^1964733^0123456"
    bad_date = line("SENR", **senr(EnrollmentSchoolStartDate="20241345"))
    slash_ok = line("SENR", **senr(SSID="3000000291", EnrollmentSchoolStartDate="08/14/2024"))
    unknown = "XXXX^a^b"
    recs, probs = run(tmp_path, header, short, bad_date, slash_ok, unknown)
    got = {(p.line, p.field) for p in probs}
    assert (1, "RecordTypeCode") in got and "header" in probs[0].message
    assert any(p.line == 2 and "columns" in p.message for p in probs)
    assert (3, "EnrollmentSchoolStartDate") in got
    assert (5, "RecordTypeCode") in got
    assert all(p.file == "f.txt" and p.line for p in probs)
    assert all(p.field for p in probs if p.line != 2)
    assert by(recs, "studentSchoolAssociations")[0].resource["entryDate"] == "2024-08-14"


def test_broken_encoding_is_read_as_cp1252_with_a_warning(tmp_path):
    text = line("SENR", **senr(StudentLegalLastName="Peña"))
    recs, probs = run(tmp_path, text, encoding="cp1252")
    assert by(recs, "students")[0].resource["lastSurname"] == "Peña"
    assert [(p.severity, p.line) for p in probs] == [("warning", 1)]


def test_comma_file_and_ods_extract_variant(tmp_path):
    comma = line("SENR", **senr()).replace("^", ",")
    recs, probs = run(tmp_path, comma)
    assert by(recs, "studentSchoolAssociations") and not probs
    recs, probs = run(tmp_path, line("SENR", extract=True, **senr()), line("STAS", extract=True, **dict(
        PERSON, SchoolOfAttendance="0123456", AcademicYearID="2024-2025", ExpectedAttendanceDays="170",
        DaysAttended="150", **{"DaysAbsentExcusedNon-Suspension": "12", "DaysAbsentUnexcusedNon-Suspension": "7",
                               "DaysAbsentOut-of-SchoolSuspension": "1"})), name="x.txt")
    assert not probs
    s = by(recs, "studentSchoolAttendanceSummaries")[0]
    assert s.category == "attendance" and s.resource["daysAttended"] == 150 and s.resource["daysSuspended"] == 1
    assert not by(recs, "studentSchoolAttendanceEvents")


def test_newer_layout_is_chosen_by_column_count_and_year(tmp_path):
    vals = senr(AcademicYearID="2025-2026", EnrollmentSchoolStartDate="20250814")
    recs, probs = run(tmp_path, line("SENR", layout="2024-25", **vals))
    assert not probs and by(recs, "studentSchoolAssociations")[0].resource["entryDate"] == "2025-08-14"
    recs, probs = run(tmp_path, line("SENR", layout="2024-25", **vals), layout="2019-20")
    assert probs and "columns" in probs[0].message


def test_transaction_delete(tmp_path):
    recs, _ = run(tmp_path, line("SENR", TransactionTypeCode="D", **senr()))
    assert [r.action for r in by(recs, "studentSchoolAssociations")] == ["delete"]
    assert not by(recs, "students")


def test_programs_special_education_and_discipline(tmp_path):
    common = dict(PERSON, SchoolOfAttendance="0123456", AcademicYearID="2024-2025")
    lines = [line("SPRG", **common, EducationProgramCode="101", EducationProgramMembershipCode="1",
                  EducationProgramMembershipStartDate="20240901"),
             line("SPRG", **common, EducationProgramCode="191", EducationProgramMembershipCode="1",
                  EducationProgramMembershipStartDate="20240901", UnaccompaniedYouthIndicator="Y"),
             line("SPED", **common, EducationPlanTypeCode="100", SpecialEducationMeetingDate="20240910",
                  SpecialEducationInitialEntryStartDate="20200101", Disability1Code="290", Disability2Code="240",
                  SpecialEducationProgramSettingCode="400", StudentSpecialEducationMeetingOrAmendmentIdentifier="M1"),
             line("SSRV", ReportingLEA="1964733", SSID="3000000097", AcademicYearID="2024-2025",
                  StudentSpecialEducationMeetingOrAmendmentIdentifier="M1", SpecialEducationServiceCode="415"),
             line("SDIS", **common, DisciplinaryIncidentIDLocal="INC-1", DisciplinaryIncidentOccurrenceDate="20241005",
                  StudentOffenseCode="500", IncidentDisciplinaryActionTakenCode="100",
                  IncidentDisciplinaryActionDurationDays="2")]
    (tmp_path / "d_SSRV.txt").write_text(lines.pop(3) + "\r\n")
    recs, probs = run(tmp_path, *lines, name="d_MIX.txt")
    assert not [p for p in probs if p.severity == "error"], probs
    progs = by(recs, "studentProgramAssociations")
    assert [p.category for p in progs] == ["special_education_iep_504", "enrollment_school_placement"]
    assert progs[1].resource["_ext"]["hep"]["unaccompaniedYouth"] is True
    sped = by(recs, "studentSpecialEducationProgramAssociations")[0].resource
    assert [d["disabilityDescriptor"] for d in sped["disabilities"]] == [
        "uri://ed-fi.org/DisabilityDescriptor#Specific Learning Disability",
        "uri://ed-fi.org/DisabilityDescriptor#Speech or Language Impairment"]
    assert sped["ideaEligibility"] is True and sped["specialEducationProgramServices"]
    assert {r.type for r in recs if r.category == "discipline"} == {
        "disciplineIncidents", "studentDisciplineIncidentBehaviorAssociations", "disciplineActions"}


def test_hand_written_records_validate_against_openapi(tmp_path):
    spec = shared_path("edfi", "openapi", "resources-ds-5.0.yml")
    common = dict(PERSON, SchoolOfAttendance="0123456", AcademicYearID="2024-2025")
    lines = [line("SENR", **senr(EnrollmentSchoolExitDate="20241101", StudentExitReasonCode="T160")),
             line("SINF", **common, StudentHispanicEthnicityIndicator="Y", StudentRace1Code="201",
                  AddressLine1="1 Main St", AddressCityName="Pasadena", AddressStateProvinceCode="CA",
                  AddressZipCode="91101", EffectiveStartDate="20240801"),
             line("SCSC", **common, LocalCourseID="240309", CourseSectionID="S1", AcademicTermCode="FA",
                  StudentCreditsAttempted="5", StudentCreditsEarned="5", StudentCourseFinalGrade="B+")]
    recs, probs = run(tmp_path, *lines)
    assert not probs
    assert {r.type for r in recs} >= {"students", "studentSchoolAssociations", "studentEducationOrganizationAssociations",
                                      "courseTranscripts", "studentAcademicRecords", "schools", "localEducationAgencies"}
    for r in recs:
        assert validate_against_openapi(r.type, r.resource, spec) == [], r.type
