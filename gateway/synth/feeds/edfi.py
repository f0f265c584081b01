"""Writes the Ed-Fi districts of the synthetic county (docs/formats/edfi-input.md):

* feed_format "edfi-xml": Ed-Fi Data Standard 5.2 interchange XML under out_dir/sis/<lea_id>-edfi-xml/
  (EducationOrganization.xml, Student.xml, StudentEnrollment.xml, StudentAttendance.xml,
  StudentTranscript.xml, StudentProgram.xml), valid against the 5.2.0 bulk XSD;
* feed_format "edfi-json": one NDJSON file of Ed-Fi API JSON resources (`{"resource": collection,
  ...body}`) under out_dir/sis/<lea_id>-edfi-json/<lea_id>-edfi.ndjson, valid against
  resources-ds-5.0.yml (and the hep `studentSchoolAttendanceSummaries` extension).

studentUniqueId is the SSID the district presents, else its local student id. Per youth and district:
Student, StudentEducationOrganizationAssociation (SSID and local id as identification codes, sex,
races), one StudentSchoolAssociation per enrollment, one StudentSchoolAttendanceEvent per day absent
(the same dates as the SIF feed, gateway.synth.feeds.sif.absence_dates), StudentAcademicRecord per
school/year/term and CourseTranscripts for high-school courses, special education and Section 504 /
food service / homeless program associations. The yearly attendance counts are JSON-only
(studentSchoolAttendanceSummaries is a hep extension with no Ed-Fi XML element). Files are opened
at construction and written as youth arrive; close() writes the end tags.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import orjson

from adapters import edfi_common as ec
from mappings import translate

from .sif import absence_dates

FORMATS = ("edfi-xml", "edfi-json")
NS = "http://ed-fi.org/5.2.0"
INTERCHANGES = {   # file stem -> root element
    "EducationOrganization": "InterchangeEducationOrganization",
    "Student": "InterchangeStudent",
    "StudentEnrollment": "InterchangeStudentEnrollment",
    "StudentAttendance": "InterchangeStudentAttendance",
    "StudentTranscript": "InterchangeStudentTranscript",
    "StudentProgram": "InterchangeStudentProgram",
}
LEVEL_GRADES = {"elementary": ("PS", "KN", "01", "02", "03", "04", "05"), "middle": ("06", "07", "08"),
                "high": ("09", "10", "11", "12")}
TERM = {"FA": "Fall Semester", "SP": "Spring Semester"}
ABSENCE = {"excused": ("Excused Absence", "Excused absence"), "unexcused": ("Unexcused Absence", "Unexcused absence"),
           "suspended": ("Unexcused Absence", "Out-of-school suspension")}
SEX = {"F": "Female", "M": "Male"}


def _d(x: date | None) -> str | None:
    return x.isoformat() if x else None


def grade_desc(calpads_grade: str) -> str:
    return ec.descriptor("GradeLevelDescriptor", translate("calpads-grade-level", calpads_grade).code)


def _desc(name: str, conceptmap: str, code: str) -> str | None:
    t = translate(conceptmap, code) if code else None
    return ec.descriptor(name, t.code) if t is not None and t.code else None


def session_name(sy: int) -> str:
    return f"{sy - 1}-{sy} School Year"


def unique_id(p) -> str:
    return p.ssid or p.local_id


# --- JSON resources (also the source of the XML rendering) -----------------------------------------

def reference_resources(district) -> list[tuple[str, dict]]:
    out = [("localEducationAgencies", ec.lea_resource(district.lea_id, name=district.name, cds_code=district.lea_id))]
    for s in district.schools:
        out.append(("schools", ec.school_resource(s.school_id, name=s.name, lea_id=district.lea_id,
                                                  grade_levels=[grade_desc(g) for g in LEVEL_GRADES[s.level]],
                                                  cds_code=s.school_id)))
    return out


def youth_resources(county, y, p, lea: str) -> list[tuple[str, dict]]:
    """Every Ed-Fi resource of youth y as district `lea` (presenting them as p) reports them."""
    uid = unique_id(p)
    sref = ec.student_ref(uid)
    out: list[tuple[str, dict]] = []
    student = {"studentUniqueId": uid, "firstName": p.given, "lastSurname": p.family, "birthDate": _d(p.birth_date)}
    if p.middle:
        student["middleName"] = p.middle
    out.append(("students", student))
    codes = []
    if p.ssid:
        codes.append({"studentIdentificationSystemDescriptor": ec.descriptor("StudentIdentificationSystemDescriptor", "State"),
                      "assigningOrganizationIdentificationCode": "State", "identificationCode": p.ssid})
    codes.append({"studentIdentificationSystemDescriptor": ec.descriptor("StudentIdentificationSystemDescriptor", "District"),
                  "assigningOrganizationIdentificationCode": "District", "identificationCode": p.local_id})
    seoa = {"studentReference": sref, "educationOrganizationReference": ec.edorg_ref(lea),
            "studentIdentificationCodes": codes, "sexDescriptor": ec.descriptor("SexDescriptor", SEX[p.sex]),
            "hispanicLatinoEthnicity": bool(y.hispanic)}
    race = _desc("RaceDescriptor", "calpads-race", y.race)
    if race:
        seoa["races"] = [{"raceDescriptor": race}]
    out.append(("studentEducationOrganizationAssociations", seoa))
    pairs = [(e, a) for e, a in zip(y.enrollments, y.attendance) if e.lea_id == lea]
    for e, _ in pairs:
        ssa = {"studentReference": sref, "schoolReference": ec.school_ref(e.school_id),
               "schoolYearTypeReference": ec.school_year_ref(e.school_year), "entryDate": _d(e.entry_date),
               "entryGradeLevelDescriptor": grade_desc(e.grade)}
        if e.exit_date:
            ssa["exitWithdrawDate"] = _d(e.exit_date)
            # an Ed-Fi SIS says "End of school year" where CALPADS says E155 (which is not an exit there)
            xt = (ec.descriptor("ExitWithdrawTypeDescriptor", "End of school year") if e.exit_code in ("E150", "E155")
                  else _desc("ExitWithdrawTypeDescriptor", "calpads-exit-reason", e.exit_code or ""))
            if xt:
                ssa["exitWithdrawTypeDescriptor"] = xt
        out.append(("studentSchoolAssociations", ssa))
    for e, a in pairs:
        last = min(e.exit_date or county.as_of, county.as_of)
        out.append((ec.ATTENDANCE_SUMMARY, ec.attendance_summary(
            uid, e.school_id, a.school_year, days_enrolled=a.days_enrolled, days_attended=a.days_attended,
            days_absent_excused=a.days_absent_excused, days_absent_unexcused=a.days_absent_unexcused,
            days_suspended=a.days_suspended, begin_date=_d(e.entry_date), end_date=_d(last), source_system="SIS")))
        for day, kind in absence_dates(county.seed, y.index, e, a, county.as_of):
            cat, reason = ABSENCE[kind]
            out.append(("studentSchoolAttendanceEvents", {
                "studentReference": sref, "schoolReference": ec.school_ref(e.school_id),
                "sessionReference": ec.session_ref(e.school_id, a.school_year, session_name(a.school_year)),
                "eventDate": _d(day), "attendanceEventCategoryDescriptor": ec.descriptor("AttendanceEventCategoryDescriptor", cat),
                "attendanceEventReason": reason}))
    grade_of = {(e.school_id, e.school_year): e.grade for e in y.enrollments}
    seen_sar = set()
    for c in y.courses:
        if c.lea_id != lea:
            continue
        term = ec.descriptor("TermDescriptor", TERM[c.term])
        school = int(c.school_id)
        if (school, c.school_year, term) not in seen_sar:
            seen_sar.add((school, c.school_year, term))
            out.append(("studentAcademicRecords", {"studentReference": sref, "educationOrganizationReference": ec.edorg_ref(school),
                                                   "schoolYearTypeReference": ec.school_year_ref(c.school_year),
                                                   "termDescriptor": term}))
        ct = {"courseAttemptResultDescriptor": ec.descriptor("CourseAttemptResultDescriptor",
                                                             "Pass" if c.credits_earned > 0 else "Fail"),
              "attemptedCredits": c.credits_attempted, "earnedCredits": c.credits_earned,
              "finalLetterGradeEarned": c.grade,
              "courseReference": ec.course_ref(c.local_course_id, school),
              "studentAcademicRecordReference": ec.student_academic_record_ref(uid, school, c.school_year, term),
              "courseTitle": c.title}
        g = grade_of.get((c.school_id, c.school_year))
        if g:
            ct["whenTakenGradeLevelDescriptor"] = grade_desc(g)
        out.append(("courseTranscripts", ct))
    s = y.special_education
    if s is not None and s.lea_id == lea:
        sped = {"studentReference": sref, "educationOrganizationReference": ec.edorg_ref(lea),
                "programReference": ec.program_ref(lea, "Special Education", ec.descriptor("ProgramTypeDescriptor", "Special Education")),
                "beginDate": _d(s.start_date), "iepBeginDate": _d(s.last_meeting_date)}
        setting = _desc("SpecialEducationSettingDescriptor", "calpads-special-ed-setting", s.setting_code)
        if setting:
            sped["specialEducationSettingDescriptor"] = setting
        dis = _desc("DisabilityDescriptor", "calpads-disability", s.disability_code)
        if dis:
            sped["disabilities"] = [{"disabilityDescriptor": dis, "orderOfDisability": 1}]
        out.append(("studentSpecialEducationProgramAssociations", sped))
    for pr in y.programs:
        if pr.lea_id != lea:
            continue
        t = translate("calpads-education-program", pr.program_code)
        if t is None or not t.code:
            continue
        ptype = ec.descriptor("ProgramTypeDescriptor", t.code)
        res = {"studentReference": sref, "educationOrganizationReference": ec.edorg_ref(lea),
               "programReference": ec.program_ref(lea, t.code[:60], ptype), "beginDate": _d(pr.start_date)}
        if pr.end_date:
            res["endDate"] = _d(pr.end_date)
        out.append(("studentProgramAssociations", res))
    return out


# --- XML rendering ---------------------------------------------------------------------------------

def _t(tag: str, value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _student_ref(r: dict) -> str:
    return f"<StudentReference><StudentIdentity>{_t('StudentUniqueId', r['studentUniqueId'])}</StudentIdentity></StudentReference>"


def _school_ref(school_id, tag="SchoolReference") -> str:
    return f"<{tag}><SchoolIdentity>{_t('SchoolId', school_id)}</SchoolIdentity></{tag}>"


def _edorg_ref(edorg_id) -> str:
    return (f"<EducationOrganizationReference><EducationOrganizationIdentity>{_t('EducationOrganizationId', edorg_id)}"
            "</EducationOrganizationIdentity></EducationOrganizationReference>")


def _sy(year: int) -> str:
    return f"{year - 1}-{year}"


def _credits(tag: str, value) -> str:
    return f"<{tag}>{_t('Credits', f'{value:.3f}')}</{tag}>" if value is not None else ""


def _program_ref(p: dict) -> str:
    return (f"<ProgramReference><ProgramIdentity>{_edorg_ref(p['educationOrganizationId'])}"
            f"{_t('ProgramName', p['programName'])}{_t('ProgramType', p['programTypeDescriptor'])}"
            "</ProgramIdentity></ProgramReference>")


def to_xml(coll: str, r: dict) -> tuple[str, str]:
    """(interchange file stem, element XML) of a resource built above, in XSD element order."""
    if coll == "localEducationAgencies":
        return "EducationOrganization", (
            "<LocalEducationAgency>" + "".join(
                f"<EducationOrganizationIdentificationCode>{_t('IdentificationCode', c['identificationCode'])}"
                f"{_t('EducationOrganizationIdentificationSystem', c['educationOrganizationIdentificationSystemDescriptor'])}"
                "</EducationOrganizationIdentificationCode>" for c in r.get("identificationCodes", ()))
            + _t("NameOfInstitution", r["nameOfInstitution"])
            + "".join(_t("EducationOrganizationCategory", c["educationOrganizationCategoryDescriptor"]) for c in r["categories"])
            + _t("LocalEducationAgencyId", r["localEducationAgencyId"])
            + _t("LocalEducationAgencyCategory", r["localEducationAgencyCategoryDescriptor"]) + "</LocalEducationAgency>")
    if coll == "schools":
        lea = r.get("localEducationAgencyReference", {}).get("localEducationAgencyId")
        return "EducationOrganization", (
            "<School>" + "".join(
                f"<EducationOrganizationIdentificationCode>{_t('IdentificationCode', c['identificationCode'])}"
                f"{_t('EducationOrganizationIdentificationSystem', c['educationOrganizationIdentificationSystemDescriptor'])}"
                "</EducationOrganizationIdentificationCode>" for c in r.get("identificationCodes", ()))
            + _t("NameOfInstitution", r["nameOfInstitution"])
            + "".join(_t("EducationOrganizationCategory", c["educationOrganizationCategoryDescriptor"])
                      for c in r["educationOrganizationCategories"])
            + _t("SchoolId", r["schoolId"]) + "".join(_t("GradeLevel", g["gradeLevelDescriptor"]) for g in r["gradeLevels"])
            + (f"<LocalEducationAgencyReference><LocalEducationAgencyIdentity>{_t('LocalEducationAgencyId', lea)}"
               "</LocalEducationAgencyIdentity></LocalEducationAgencyReference>" if lea else "") + "</School>")
    if coll == "students":
        return "Student", (
            f"<Student>{_t('StudentUniqueId', r['studentUniqueId'])}<Name>{_t('FirstName', r['firstName'])}"
            f"{_t('MiddleName', r.get('middleName'))}{_t('LastSurname', r['lastSurname'])}</Name>"
            f"<BirthData>{_t('BirthDate', r['birthDate'])}</BirthData></Student>")
    if coll == "studentEducationOrganizationAssociations":
        return "StudentEnrollment", (
            f"<StudentEducationOrganizationAssociation>{_student_ref(r['studentReference'])}"
            f"{_edorg_ref(r['educationOrganizationReference']['educationOrganizationId'])}"
            + "".join(f"<StudentIdentificationCode>{_t('IdentificationCode', c['identificationCode'])}"
                      f"{_t('StudentIdentificationSystem', c['studentIdentificationSystemDescriptor'])}"
                      f"{_t('AssigningOrganizationIdentificationCode', c['assigningOrganizationIdentificationCode'])}"
                      "</StudentIdentificationCode>" for c in r["studentIdentificationCodes"])
            + _t("Sex", r.get("sexDescriptor")) + _t("HispanicLatinoEthnicity", r.get("hispanicLatinoEthnicity"))
            + "".join(_t("Race", x["raceDescriptor"]) for x in r.get("races", ()))
            + "</StudentEducationOrganizationAssociation>")
    if coll == "studentSchoolAssociations":
        return "StudentEnrollment", (
            f"<StudentSchoolAssociation>{_student_ref(r['studentReference'])}{_school_ref(r['schoolReference']['schoolId'])}"
            f"{_t('SchoolYear', _sy(r['schoolYearTypeReference']['schoolYear']))}{_t('EntryDate', r['entryDate'])}"
            f"{_t('EntryGradeLevel', r['entryGradeLevelDescriptor'])}{_t('ExitWithdrawDate', r.get('exitWithdrawDate'))}"
            f"{_t('ExitWithdrawType', r.get('exitWithdrawTypeDescriptor'))}</StudentSchoolAssociation>")
    if coll == "studentSchoolAttendanceEvents":
        s = r["sessionReference"]
        return "StudentAttendance", (
            f"<StudentSchoolAttendanceEvent><AttendanceEvent>{_t('EventDate', r['eventDate'])}"
            f"{_t('AttendanceEventCategory', r['attendanceEventCategoryDescriptor'])}"
            f"{_t('AttendanceEventReason', r.get('attendanceEventReason'))}</AttendanceEvent>"
            f"{_student_ref(r['studentReference'])}{_school_ref(r['schoolReference']['schoolId'])}"
            f"<SessionReference><SessionIdentity>{_t('SessionName', s['sessionName'])}{_t('SchoolYear', _sy(s['schoolYear']))}"
            f"{_school_ref(s['schoolId'])}</SessionIdentity></SessionReference></StudentSchoolAttendanceEvent>")
    if coll == "studentAcademicRecords":
        return "StudentTranscript", (
            f"<StudentAcademicRecord>{_student_ref(r['studentReference'])}"
            f"{_edorg_ref(r['educationOrganizationReference']['educationOrganizationId'])}"
            f"{_t('SchoolYear', _sy(r['schoolYearTypeReference']['schoolYear']))}{_t('Term', r['termDescriptor'])}"
            "</StudentAcademicRecord>")
    if coll == "courseTranscripts":
        a, c = r["studentAcademicRecordReference"], r["courseReference"]
        return "StudentTranscript", (
            f"<CourseTranscript>{_t('CourseAttemptResult', r['courseAttemptResultDescriptor'])}"
            f"{_credits('AttemptedCredits', r.get('attemptedCredits'))}{_credits('EarnedCredits', r.get('earnedCredits'))}"
            f"{_t('WhenTakenGradeLevel', r.get('whenTakenGradeLevelDescriptor'))}"
            f"{_t('FinalLetterGradeEarned', r.get('finalLetterGradeEarned'))}"
            f"<CourseReference><CourseIdentity>{_t('CourseCode', c['courseCode'])}{_edorg_ref(c['educationOrganizationId'])}"
            "</CourseIdentity></CourseReference>"
            f"<StudentAcademicRecordReference><StudentAcademicRecordIdentity>"
            f"{_student_ref({'studentUniqueId': a['studentUniqueId']})}{_edorg_ref(a['educationOrganizationId'])}"
            f"{_t('SchoolYear', _sy(a['schoolYear']))}{_t('Term', a['termDescriptor'])}"
            "</StudentAcademicRecordIdentity></StudentAcademicRecordReference>"
            f"{_t('CourseTitle', r.get('courseTitle'))}</CourseTranscript>")
    if coll == "studentSpecialEducationProgramAssociations":
        return "StudentProgram", (
            f"<StudentSpecialEducationProgramAssociation>{_student_ref(r['studentReference'])}{_program_ref(r['programReference'])}"
            f"{_t('BeginDate', r['beginDate'])}{_t('EndDate', r.get('endDate'))}"
            f"{_edorg_ref(r['educationOrganizationReference']['educationOrganizationId'])}"
            f"{_t('SpecialEducationSetting', r.get('specialEducationSettingDescriptor'))}"
            f"{_t('IEPBeginDate', r.get('iepBeginDate'))}"
            + "".join(f"<Disability>{_t('Disability', d['disabilityDescriptor'])}{_t('OrderOfDisability', d.get('orderOfDisability'))}"
                      "</Disability>" for d in r.get("disabilities", ()))
            + "</StudentSpecialEducationProgramAssociation>")
    if coll == "studentProgramAssociations":
        return "StudentProgram", (
            f"<StudentProgramAssociation>{_student_ref(r['studentReference'])}{_program_ref(r['programReference'])}"
            f"{_t('BeginDate', r['beginDate'])}{_t('EndDate', r.get('endDate'))}"
            f"{_edorg_ref(r['educationOrganizationReference']['educationOrganizationId'])}</StudentProgramAssociation>")
    raise ValueError(f"no Ed-Fi XML rendering for {coll}")


class _XmlDistrict:
    kind = "edfi-xml"

    def __init__(self, county, district, folder: Path):
        self.county, self.district = county, district
        folder.mkdir(parents=True, exist_ok=True)
        self.fhs = {}
        self.paths = []
        for stem, root in INTERCHANGES.items():
            path = folder / f"{stem}.xml"
            fh = open(path, "w", encoding="utf-8")
            fh.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NS}">\n')
            self.fhs[stem] = fh
            self.paths.append(path)
        self.write(reference_resources(district))

    def write(self, resources) -> None:
        for coll, r in resources:
            if coll == ec.ATTENDANCE_SUMMARY:
                continue        # no Ed-Fi XML element: counts travel only in Ed-Fi JSON
            stem, xml = to_xml(coll, r)
            self.fhs[stem].write(xml + "\n")

    def close(self) -> list[Path]:
        for stem, fh in self.fhs.items():
            fh.write(f"</{INTERCHANGES[stem]}>\n")
            fh.close()
        return self.paths


class _JsonDistrict:
    kind = "edfi-json"

    def __init__(self, county, district, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{district.lea_id}-edfi.ndjson"
        self.fh = open(self.path, "wb")
        self.write(reference_resources(district))

    def write(self, resources) -> None:
        for coll, r in resources:
            self.fh.write(orjson.dumps({"resource": coll, **r}) + b"\n")

    def close(self) -> list[Path]:
        self.fh.close()
        return [self.path]


class Writer:
    def __init__(self, county, out_dir: Path):
        self.county = county
        self.districts = {}
        self.kinds: dict[Path, str] = {}
        for d in county.districts:
            cls = {"edfi-xml": _XmlDistrict, "edfi-json": _JsonDistrict}.get(d.feed_format)
            if cls is not None:
                self.districts[d.lea_id] = cls(county, d, Path(out_dir) / "sis" / f"{d.lea_id}-{d.feed_format}")

    def add(self, y) -> None:
        for lea in dict.fromkeys(e.lea_id for e in y.enrollments):
            d = self.districts.get(lea)
            if d is not None:
                p = self.county.present(y, f"{d.kind}:{lea}")
                d.write(youth_resources(self.county, y, p, lea))

    def close(self) -> list[Path]:
        out = []
        for d in self.districts.values():
            for path in d.close():
                self.kinds[Path(path)] = d.kind
                out.append(path)
        return out

    def format_of(self, path) -> str:
        return self.kinds[Path(path)]
