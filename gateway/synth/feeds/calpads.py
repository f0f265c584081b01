"""Writes each CALPADS district's caret-delimited upload files (no header, CRLF) for the synthetic
county: SENR, SINF, STAS, SPRG, SPED, CRSC, SCSC, SDIS under out_dir/sis/<lea_id>-calpads/.

Column order comes from the adapter's layout data (mappings/calpads/layouts/2019-20.json), so
writer, adapter and documentation share one definition. Every student with enrollments in the
district is written, in care or not (districts do not know who is in care; the gateway drops
the others). Rows are written as youth arrive; only the course catalog (one row per course
section, bounded by the county's course list) is kept until close().
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from adapters.calpads_layout import layouts

FORMATS = ("calpads",)
FILES = ("SENR", "SINF", "STAS", "SPRG", "SPED", "CRSC", "SCSC", "SDIS")
LAYOUT = "2019-20"


def _d(x: date | None) -> str:
    return x.strftime("%Y%m%d") if x else ""


def _ay(sy: int) -> str:
    return f"{sy - 1}-{sy}"


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


class Writer:
    def __init__(self, county, out_dir: Path):
        self.county = county
        self.out = Path(out_dir) / "sis"
        lay = next(l for l in layouts() if l.name == LAYOUT)
        self.fields = {rt: lay.fields[rt] for rt in FILES}
        self.index = {rt: lay.index[rt] for rt in FILES}
        self.leas = [d.lea_id for d in county.districts if d.feed_format == "calpads"]
        self.fhs: dict[tuple[str, str], object] = {}
        self.paths: list[Path] = []
        self.catalog: dict[str, dict] = {}    # lea -> {(school, course, section): row}
        self.seq = 0

    def _fh(self, lea: str, rt: str):
        fh = self.fhs.get((lea, rt))
        if fh is None:
            d = self.out / f"{lea}-calpads"
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"{lea}_{rt}.txt"
            fh = open(path, "w", encoding="utf-8", newline="")
            self.fhs[(lea, rt)] = fh
            self.paths.append(path)
        return fh

    def _write(self, lea: str, rt: str, values: dict) -> None:
        self.seq += 1
        values.setdefault("RecordTypeCode", rt)
        values.setdefault("LocalRecordID", f"{self.seq}")
        idx = self.index[rt]
        row = [""] * len(self.fields[rt])
        for k, v in values.items():
            i = idx.get(k)
            if i is not None:
                row[i] = "" if v is None else str(v).replace("^", " ")
        self._fh(lea, rt).write("^".join(row) + "\r\n")

    def add(self, y) -> None:
        leas = [l for l in dict.fromkeys(e.lea_id for e in y.enrollments) if l in self.leas]
        for lea in leas:
            p = self.county.present(y, f"calpads:{lea}")
            self._district(y, lea, p)

    def _person(self, y, p, lea: str) -> dict:
        return {"ReportingLEA": lea, "SSID": p.ssid or "", "LocalStudentID": p.local_id,
                "StudentLegalFirstName": p.given, "StudentLegalMiddleName": p.middle,
                "StudentLegalLastName": p.family, "StudentBirthDate": _d(p.birth_date), "StudentGenderCode": p.sex}

    def _district(self, y, lea: str, p) -> None:
        person = self._person(y, p, lea)
        enrs = [e for e in y.enrollments if e.lea_id == lea]
        for e in enrs:
            self._write(lea, "SENR", {**person, "SchoolOfAttendance": e.school_id, "AcademicYearID": _ay(e.school_year),
                                      "EnrollmentSchoolStartDate": _d(e.entry_date), "EnrollmentStatusCode": e.status,
                                      "GradeLevelCode": e.grade, "EnrollmentSchoolExitDate": _d(e.exit_date),
                                      "StudentExitReasonCode": e.exit_code or "",
                                      "StudentSchoolCompletionStatus": "100" if e.exit_code == "E230" else "",
                                      "StudentBirthCountryCode": "US", "StudentBirthStateProvinceCode": "CA"})
        last = enrs[-1]
        school = self.county.school(last.school_id)
        self._write(lea, "SINF", {**person, "EffectiveStartDate": _d(last.entry_date), "SchoolOfAttendance": last.school_id,
                                  "AcademicYearID": _ay(last.school_year),
                                  "StudentHispanicEthnicityIndicator": "Y" if y.hispanic else "N",
                                  "StudentRace1Code": y.race, "AddressLine1": f"{100 + y.index % 900} Main St",
                                  "AddressCityName": school.city, "AddressStateProvinceCode": "CA",
                                  "AddressZipCode": school.zip})
        for a in y.attendance:
            if a.lea_id != lea:
                continue
            self._write(lea, "STAS", {**person, "SchoolOfAttendance": a.school_id, "AcademicYearID": _ay(a.school_year),
                                      "StudentAbsenceSummaryDataCollectionExemptionIndicator": "N",
                                      "HourlyAttendanceSchoolTypeIndicator": "N",
                                      "ExpectedAttendanceDays": a.days_enrolled, "DaysAttended": a.days_attended,
                                      "DaysAbsentOut-of-SchoolSuspension": a.days_suspended,
                                      "DaysinAttendanceIn-SchoolSuspension": 0,
                                      "DaysAbsentExcusedNon-Suspension": a.days_absent_excused,
                                      "DaysAbsentUnexcusedNon-Suspension": a.days_absent_unexcused,
                                      "IncompleteIndependentStudyDays": 0})
        for pr in y.programs:
            if pr.lea_id != lea:
                continue
            self._write(lea, "SPRG", {**person, "SchoolOfAttendance": pr.school_id, "AcademicYearID": _ay(last.school_year),
                                      "EducationProgramCode": pr.program_code, "EducationProgramMembershipCode": "1",
                                      "EducationProgramMembershipStartDate": _d(pr.start_date),
                                      "EducationProgramMembershipEndDate": _d(pr.end_date),
                                      "UnaccompaniedYouthIndicator": "N" if pr.program_code == "191" else "",
                                      "RunawayYouthIndicator": "N" if pr.program_code == "191" else ""})
        s = y.special_education
        if s is not None and s.lea_id == lea:
            self._write(lea, "SPED", {**person, "SchoolOfAttendance": s.school_id, "AcademicYearID": _ay(last.school_year),
                                      "SpecialEducationMeetingDate": _d(s.last_meeting_date),
                                      "StudentSpecialEducationMeetingOrAmendmentIdentifier": f"M{y.index}",
                                      "EducationPlanTypeCode": s.plan_type,
                                      "SpecialEducationInitialEntryStartDate": _d(s.start_date),
                                      "Disability1Code": s.disability_code,
                                      "SpecialEducationProgramSettingCode": s.setting_code,
                                      "StudentHispanicEthnicityIndicator": "Y" if y.hispanic else "N",
                                      "StudentRace1Code": y.race})
        cat = self.catalog.setdefault(lea, {})
        for c in y.courses:
            if c.lea_id != lea:
                continue
            cat.setdefault((c.school_id, c.local_course_id, c.section_id), (c.school_year, c.term, c.state_course_code, c.title))
            self._write(lea, "SCSC", {**person, "SchoolOfAttendance": c.school_id, "AcademicYearID": _ay(c.school_year),
                                      "LocalCourseID": c.local_course_id, "CourseSectionID": c.section_id,
                                      "AcademicTermCode": c.term, "StudentCreditsAttempted": _num(c.credits_attempted),
                                      "StudentCreditsEarned": _num(c.credits_earned),
                                      "StudentCourseFinalGrade": c.grade, "MarkingPeriodCode": "FN"})
        for d in y.discipline:
            if d.lea_id != lea:
                continue
            sy = d.incident_date.year + (1 if d.incident_date.month >= 7 else 0)
            self._write(lea, "SDIS", {**person, "SchoolOfAttendance": d.school_id, "AcademicYearID": _ay(sy),
                                      "DisciplinaryIncidentIDLocal": d.incident_id,
                                      "DisciplinaryIncidentOccurrenceDate": _d(d.incident_date),
                                      "StudentOffenseCode": d.offense_code, "IncidentMostSevereOffenseCode": d.offense_code,
                                      "IncidentDisciplinaryActionTakenCode": d.action_code,
                                      "IncidentDisciplinaryActionDurationDays": _num(d.days)})

    def close(self) -> list[Path]:
        for lea, courses in self.catalog.items():
            for (school, course, section), (sy, term, state, title) in sorted(courses.items()):
                self._write(lea, "CRSC", {"ReportingLEA": lea, "SchoolofCourseDelivery": school, "AcademicYearID": _ay(sy),
                                          "CRS-StateCourseCode": state, "CRS-LocalCourseID": course,
                                          "CRS-CourseName": title, "CourseSectionID": section, "AcademicTermCode": term})
        for fh in self.fhs.values():
            fh.close()
        return list(self.paths)
