"""CALPADS record type -> Ed-Fi resources (docs/formats/calpads.md has the mapping table).

Each mapper takes a `Row` and the conversion context and returns a list of
(collection, resource, subject) plus warnings; row-level faults raise RowError(field, message)
naming the CALPADS field. Codes go through the ConceptMaps in mappings/conceptmaps/calpads-*.json;
a code the map lacks is kept as a `uri://calpads.cde.ca.gov/<Name>Descriptor#<code>` descriptor
with a warning (never lost), except grade level, which Ed-Fi requires to be a real grade.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from mappings import translate

from .base import Subject
from .calpads_layout import RowError, parse_date, parse_number, parse_yn
from .edfi_common import (descriptor, discipline_incident_ref, edorg_ref, local_descriptor, program_ref,
                          school_ref, school_year, student_academic_record_ref, student_ref, course_ref,
                          behavior_association_ref, attendance_summary)

MAPS = Path(__file__).resolve().parent.parent / "mappings" / "conceptmaps"
TERMS = {"FA": "Fall Semester", "S1": "Fall Semester", "SP": "Spring Semester", "S2": "Spring Semester",
         "SU": "Summer Semester", "SS": "Summer Semester", "Q1": "First Quarter", "Q2": "Second Quarter",
         "Q3": "Third Quarter", "Q4": "Fourth Quarter", "T1": "First Trimester", "T2": "Second Trimester",
         "T3": "Third Trimester", "FY": "Year Round", "YR": "Year Round"}
MEMBERSHIP = {"1": "Eligible", "3": "Participating"}
SEX = {"F": "F", "M": "M", "X": "X"}


class Row:
    """Field access by CALPADS field name for one split line."""

    __slots__ = ("vals", "idx")

    def __init__(self, vals: list[str], idx: dict[str, int]):
        self.vals, self.idx = vals, idx

    def __call__(self, name: str) -> str:
        i = self.idx.get(name)
        return self.vals[i].strip() if i is not None else ""


@lru_cache(maxsize=None)
def source_display(map_name: str, code: str) -> str | None:
    """The source code's own display (element.display) in a ConceptMap, e.g. the CALPADS program name."""
    data = json.loads((MAPS / f"{map_name}.json").read_text())
    for g in data["group"]:
        for el in g["element"]:
            if el["code"] == code:
                return el.get("display")
    return None


def mapped(map_name: str, code: str, name: str) -> str | None:
    """Ed-Fi descriptor URI for a CALPADS code through a ConceptMap; None when the map lacks it or
    it is unmatched (the caller decides: local descriptor + warning, or RowError)."""
    t = translate(map_name, code)
    if t is None or not t.code:
        return None
    return f"{t.system}#{t.code}"


def _digits(row: Row, field: str, n: int, required: bool = True) -> str:
    v = row(field)
    if not v:
        if required:
            raise RowError(field, f"{field} is required")
        return ""
    if len(v) != n or not v.isdigit():
        raise RowError(field, f"{field} {v!r} must be {n} digits")
    return v


def ids(row: Row, warn: list) -> tuple[str, str, str]:
    """(student unique id, reporting LEA, school of attendance or ''). The student unique id is the
    SSID; a row without one (not yet assigned) falls back to "<lea>-<LocalStudentID>" with a warning."""
    lea = _digits(row, "ReportingLEA", 7)
    ssid = _digits(row, "SSID", 10, required=False)
    if not ssid:
        local = row("LocalStudentID")
        if not local:
            raise RowError("SSID", "SSID is required (and no LocalStudentID to fall back on)")
        ssid = f"{lea}-{local}"[:32]
        warn.append(("SSID", f"no SSID; studentUniqueId is the district id {ssid}"))
    school_field = "SchoolOfAttendance" if "SchoolOfAttendance" in row.idx else "SchoolofCourseDelivery"
    school = _digits(row, school_field, 7, required=False)
    return ssid, lea, school


def year_of(row: Row) -> int:
    v = row("AcademicYearID")
    try:
        return school_year(v)
    except ValueError:
        raise RowError("AcademicYearID", f"AcademicYearID {v!r} is not YYYY-YYYY") from None


def subject(row: Row, ssid: str, lea: str) -> Subject:
    idents = [("ssid", ssid)] if "-" not in ssid else []
    local = row("LocalStudentID")
    if local:
        idents.append((f"lea-student|{lea}", local))
    birth = parse_date(row("StudentBirthDate"), "StudentBirthDate") if "StudentBirthDate" in row.idx else None
    alias = (row("StudentAliasFirstName"), row("StudentAliasLastName"))
    return Subject(identifiers=tuple(idents), given=row("StudentLegalFirstName") or None,
                   family=row("StudentLegalLastName") or None, middle=row("StudentLegalMiddleName") or None,
                   birth_date=birth, sex=SEX.get(row("StudentGenderCode").upper()),
                   postal_code=row("AddressZipCode")[:5] or None if "AddressZipCode" in row.idx else None,
                   aliases=((alias[0], alias[1]),) if alias[1] else ())


def _sex(row: Row, warn: list) -> str | None:
    g = row("StudentGenderCode").upper()
    if not g:
        return None
    d = mapped("calpads-sex", g, "SexDescriptor")
    if d is None:
        warn.append(("StudentGenderCode", f"unknown StudentGenderCode {g!r}; kept as a CALPADS descriptor"))
        return local_descriptor("SexDescriptor", g)
    return d


def student(row: Row, ssid: str, warn: list) -> dict:
    first, last = row("StudentLegalFirstName"), row("StudentLegalLastName")
    if not first:
        raise RowError("StudentLegalFirstName", "StudentLegalFirstName is required")
    if not last:
        raise RowError("StudentLegalLastName", "StudentLegalLastName is required")
    res = {"studentUniqueId": ssid, "firstName": first, "lastSurname": last,
           "birthDate": parse_date(row("StudentBirthDate"), "StudentBirthDate", required=True)}
    for field, key in (("StudentLegalMiddleName", "middleName"), ("StudentLegalNameSuffix", "generationCodeSuffix")):
        v = row(field)
        if v:
            res[key] = v
    sex = _sex(row, warn)
    if sex:
        res["birthSexDescriptor"] = sex
    city = row("StudentBirthCity")
    if len(city) >= 2:
        res["birthCity"] = city[:30]
    st = row("StudentBirthStateProvinceCode").upper()
    if st:
        res["birthStateAbbreviationDescriptor"] = local_descriptor("StateProvinceDescriptor", st)
    country = row("StudentBirthCountryCode").upper()
    if country:
        res["birthCountryDescriptor"] = local_descriptor("CountryDescriptor", country)
    af, al = row("StudentAliasFirstName"), row("StudentAliasLastName")
    if af and al:
        other = {"otherNameTypeDescriptor": descriptor("OtherNameTypeDescriptor", "Alias"), "firstName": af,
                 "lastSurname": al}
        if row("StudentAliasMiddleName"):
            other["middleName"] = row("StudentAliasMiddleName")
        res["otherNames"] = [other]
    return res


def grade_descriptor(code: str, field: str = "GradeLevelCode") -> str:
    d = mapped("calpads-grade-level", code, "GradeLevelDescriptor")
    if d is None:
        raise RowError(field, f"unknown {field} {code!r}" if code else f"{field} is required")
    return d


def enrollment(row: Row, ssid: str, school: str, warn: list) -> dict:
    if not school:
        raise RowError("SchoolOfAttendance", "SchoolOfAttendance is required")
    year = year_of(row)
    status = row("EnrollmentStatusCode")
    if translate("calpads-enrollment-status", status) is None:
        raise RowError("EnrollmentStatusCode", f"unknown EnrollmentStatusCode {status!r}")
    res = {"studentReference": student_ref(ssid), "schoolReference": school_ref(school),
           "entryDate": parse_date(row("EnrollmentSchoolStartDate"), "EnrollmentSchoolStartDate", required=True),
           "entryGradeLevelDescriptor": grade_descriptor(row("GradeLevelCode")),
           "schoolYearTypeReference": {"schoolYear": year}}
    primary = translate("calpads-enrollment-status", status).code
    if primary in ("true", "false"):
        res["primarySchool"] = primary == "true"
    ext = {"enrollmentStatusDescriptor": local_descriptor("EnrollmentStatusDescriptor", status)}
    exit_code = row("StudentExitReasonCode").upper()
    exit_date = parse_date(row("EnrollmentSchoolExitDate"), "EnrollmentSchoolExitDate")
    completion = row("StudentSchoolCompletionStatus")
    if exit_code:
        ext["exitWithdrawTypeDescriptor"] = local_descriptor("ExitWithdrawTypeDescriptor", exit_code)
        t = translate("calpads-exit-reason", exit_code)
        if not exit_date:
            raise RowError("EnrollmentSchoolExitDate", f"exit reason {exit_code} without EnrollmentSchoolExitDate")
        if exit_date < res["entryDate"]:
            raise RowError("EnrollmentSchoolExitDate", f"exit date {exit_date} is before start date {res['entryDate']}")
        if t is not None and t.equivalence == "unmatched":
            ext["exitDate"] = exit_date            # E150 / E155: not an exit
        else:
            res["exitWithdrawDate"] = exit_date
            if t is None:
                warn.append(("StudentExitReasonCode", f"unknown StudentExitReasonCode {exit_code!r}; kept as a CALPADS descriptor"))
                res["exitWithdrawTypeDescriptor"] = ext["exitWithdrawTypeDescriptor"]
            else:
                res["exitWithdrawTypeDescriptor"] = f"{t.system}#{t.code}"
        if exit_code == "E230":
            if not completion:
                warn.append(("StudentSchoolCompletionStatus", "exit E230 requires StudentSchoolCompletionStatus"))
            else:
                refined = mapped("calpads-completion-status", completion, "ExitWithdrawTypeDescriptor")
                if refined:
                    res["exitWithdrawTypeDescriptor"] = refined
                else:
                    warn.append(("StudentSchoolCompletionStatus", f"unknown StudentSchoolCompletionStatus {completion!r}"))
        if status == "20" and exit_code != "E170":
            warn.append(("StudentExitReasonCode", f"secondary enrollment (status 20) exit must be blank or E170, not {exit_code}"))
    elif exit_date:
        raise RowError("StudentExitReasonCode", "EnrollmentSchoolExitDate without StudentExitReasonCode")
    if completion:
        ext["completionStatusDescriptor"] = local_descriptor("CompletionStatusDescriptor", completion)
    res["_ext"] = {"hep": ext}
    return res


def seoa(row: Row, ssid: str, lea: str, warn: list) -> dict:
    res: dict = {"educationOrganizationReference": edorg_ref(lea), "studentReference": student_ref(ssid)}
    sex = _sex(row, warn)
    if sex:
        res["sexDescriptor"] = sex
    h = parse_yn(row("StudentHispanicEthnicityIndicator"), "StudentHispanicEthnicityIndicator")
    if h is not None:
        res["hispanicLatinoEthnicity"] = h
    races, seen = [], set()
    for k in range(1, 6):
        code = row(f"StudentRace{k}Code")
        if not code:
            continue
        d = mapped("calpads-race", code, "RaceDescriptor")
        if d is None:
            warn.append((f"StudentRace{k}Code", f"unknown race code {code!r}; kept as a CALPADS descriptor"))
            d = local_descriptor("RaceDescriptor", code)
        if d not in seen:
            seen.add(d)
            races.append({"raceDescriptor": d})
    if races:
        res["races"] = races
    line1, city, zip_, state = row("AddressLine1"), row("AddressCityName"), row("AddressZipCode"), row("AddressStateProvinceCode").upper()
    if line1 and len(city) >= 2 and zip_ and state:
        addr = {"addressTypeDescriptor": descriptor("AddressTypeDescriptor", "Home"),
                "stateAbbreviationDescriptor": descriptor("StateAbbreviationDescriptor", state),
                "city": city[:30], "postalCode": zip_[:17], "streetNumberName": line1[:150]}
        if row("AddressLine2"):
            addr["apartmentRoomSuiteNumber"] = row("AddressLine2")[:50]
        start = parse_date(row("EffectiveStartDate"), "EffectiveStartDate")
        if start:
            period = {"beginDate": start}
            end = parse_date(row("EffectiveEndDate"), "EffectiveEndDate")
            if end:
                period["endDate"] = end
            addr["periods"] = [period]
        res["addresses"] = [addr]
    elif line1 or city or zip_:
        warn.append(("AddressLine1", "incomplete address (line 1, city, state and ZIP are all needed) not kept"))
    codes = [{"studentIdentificationSystemDescriptor": descriptor("StudentIdentificationSystemDescriptor", "State"),
              "assigningOrganizationIdentificationCode": "CA-SSID", "identificationCode": ssid}]
    local = row("LocalStudentID")
    if local:
        codes.append({"studentIdentificationSystemDescriptor": descriptor("StudentIdentificationSystemDescriptor", "District"),
                      "assigningOrganizationIdentificationCode": lea, "identificationCode": local[:60]})
    res["studentIdentificationCodes"] = codes
    return res


def stas(row: Row, ssid: str, school: str) -> dict:
    if not school:
        raise RowError("SchoolOfAttendance", "SchoolOfAttendance is required")
    n = {f: parse_number(row(f), f) for f in (
        "ExpectedAttendanceDays", "DaysAttended", "DaysAbsentOut-of-SchoolSuspension", "DaysinAttendanceIn-SchoolSuspension",
        "DaysAbsentExcusedNon-Suspension", "DaysAbsentUnexcusedNon-Suspension", "IncompleteIndependentStudyDays")}
    exp, att = n["ExpectedAttendanceDays"], n["DaysAttended"]
    if exp is not None and att is not None and att > exp:
        raise RowError("DaysAttended", f"DaysAttended {att} exceeds ExpectedAttendanceDays {exp}")
    return attendance_summary(
        ssid, school, year_of(row), days_enrolled=exp, days_attended=att,
        days_absent_excused=n["DaysAbsentExcusedNon-Suspension"], days_absent_unexcused=n["DaysAbsentUnexcusedNon-Suspension"],
        days_suspended=n["DaysAbsentOut-of-SchoolSuspension"], days_in_school_suspension=n["DaysinAttendanceIn-SchoolSuspension"],
        days_incomplete_independent_study=n["IncompleteIndependentStudyDays"],
        hourly_attendance=parse_yn(row("HourlyAttendanceSchoolTypeIndicator"), "HourlyAttendanceSchoolTypeIndicator"),
        exempt=parse_yn(row("StudentAbsenceSummaryDataCollectionExemptionIndicator"),
                        "StudentAbsenceSummaryDataCollectionExemptionIndicator"),
        source_system="CALPADS STAS")


def program(row: Row, ssid: str, lea: str, warn: list) -> dict:
    code = row("EducationProgramCode")
    if not code:
        raise RowError("EducationProgramCode", "EducationProgramCode is required")
    ptype = mapped("calpads-education-program", code, "ProgramTypeDescriptor")
    name = source_display("calpads-education-program", code)
    if ptype is None:
        warn.append(("EducationProgramCode", f"unknown EducationProgramCode {code!r}; kept as a CALPADS descriptor"))
        ptype = local_descriptor("ProgramTypeDescriptor", code)
    begin = parse_date(row("EducationProgramMembershipStartDate"), "EducationProgramMembershipStartDate", required=True)
    end = parse_date(row("EducationProgramMembershipEndDate"), "EducationProgramMembershipEndDate")
    if end and end < begin:
        raise RowError("EducationProgramMembershipEndDate", f"end date {end} is before start date {begin}")
    res = {"studentReference": student_ref(ssid), "educationOrganizationReference": edorg_ref(lea),
           "programReference": program_ref(lea, f"{code} {name or 'CALPADS program'}"[:60], ptype), "beginDate": begin}
    if end:
        res["endDate"] = end
    ext: dict = {}
    m = row("EducationProgramMembershipCode")
    if m:
        ext["membershipDescriptor"] = local_descriptor("EducationProgramMembershipDescriptor", m)
        if m in MEMBERSHIP:
            status = {"participationStatusDescriptor": local_descriptor("ParticipationStatusDescriptor", MEMBERSHIP[m]),
                      "statusBeginDate": begin}
            if end:
                status["statusEndDate"] = end
            res["programParticipationStatuses"] = [status]
    if row("HomelessDwellingTypeCode"):
        ext["homelessDwellingTypeDescriptor"] = local_descriptor("HomelessDwellingTypeDescriptor", row("HomelessDwellingTypeCode"))
    for field, key in (("UnaccompaniedYouthIndicator", "unaccompaniedYouth"), ("RunawayYouthIndicator", "runawayYouth")):
        v = parse_yn(row(field), field)
        if v is not None:
            ext[key] = v
    if row("MigrantStudentID"):
        ext["migrantStudentId"] = row("MigrantStudentID")[:60]
    if ext:
        res["_ext"] = {"hep": ext}
    return res


def special_education(row: Row, ssid: str, lea: str, warn: list, services: list | None) -> dict:
    begin = (parse_date(row("SpecialEducationInitialEntryStartDate"), "SpecialEducationInitialEntryStartDate")
             or parse_date(row("SpecialEducationMeetingDate"), "SpecialEducationMeetingDate"))
    if not begin:
        raise RowError("SpecialEducationInitialEntryStartDate", "SpecialEducationInitialEntryStartDate or SpecialEducationMeetingDate is required")
    res: dict = {"studentReference": student_ref(ssid), "educationOrganizationReference": edorg_ref(lea),
                 "programReference": program_ref(lea, "Special Education", descriptor("ProgramTypeDescriptor", "Special Education")),
                 "beginDate": begin}
    ext: dict = {}
    plan = row("EducationPlanTypeCode")
    if plan:
        ext["educationPlanTypeDescriptor"] = local_descriptor("EducationPlanTypeDescriptor", plan)
        t = translate("calpads-education-plan-type", plan)
        if t is None:
            warn.append(("EducationPlanTypeCode", f"unknown EducationPlanTypeCode {plan!r}"))
        elif t.code in ("true", "false"):
            res["ideaEligibility"] = t.code == "true"
    meeting = parse_date(row("SpecialEducationMeetingDate"), "SpecialEducationMeetingDate")
    if meeting and plan == "100":
        res["iepBeginDate"] = meeting
    disabilities = []
    for order, field in ((1, "Disability1Code"), (2, "Disability2Code")):
        code = row(field)
        if not code:
            continue
        d = mapped("calpads-disability", code, "DisabilityDescriptor")
        if d is None:
            warn.append((field, f"unknown disability code {code!r}; kept as a CALPADS descriptor"))
            d = local_descriptor("DisabilityDescriptor", code)
        disabilities.append({"disabilityDescriptor": d, "orderOfDisability": order})
    if disabilities:
        res["disabilities"] = disabilities
    setting = row("SpecialEducationProgramSettingCode")
    if setting:
        res["specialEducationSettingDescriptor"] = (mapped("calpads-special-ed-setting", setting, "SpecialEducationSettingDescriptor")
                                                    or local_descriptor("SpecialEducationSettingDescriptor", setting))
        if translate("calpads-special-ed-setting", setting) is None:
            warn.append(("SpecialEducationProgramSettingCode", f"unknown setting code {setting!r}; kept as a CALPADS descriptor"))
    exit_date = parse_date(row("SpecialEducationProgramExitDate"), "SpecialEducationProgramExitDate")
    if exit_date:
        res["specialEducationExitDate"] = exit_date
        res["endDate"] = exit_date
        reason = row("SpecialEducationProgramExitReasonCode")
        if reason:
            res["specialEducationExitReasonDescriptor"] = (
                mapped("calpads-special-ed-exit-reason", reason, "SpecialEducationExitReasonDescriptor")
                or local_descriptor("SpecialEducationExitReasonDescriptor", reason))
    mid = row("StudentSpecialEducationMeetingOrAmendmentIdentifier")
    if mid:
        ext["meetingIdentifier"] = mid[:60]
    if services:
        res["specialEducationProgramServices"] = [
            {"specialEducationProgramServiceDescriptor": local_descriptor("SpecialEducationProgramServiceDescriptor", s["code"])}
            for s in services]
        ext["servicesReported"] = services
    if ext:
        res["_ext"] = {"hep": ext}
    return res


def service(row: Row) -> dict:
    code = row("SpecialEducationServiceCode")
    if not code:
        raise RowError("SpecialEducationServiceCode", "SpecialEducationServiceCode is required")
    out = {"code": code}
    for field, key in (("SpecialEducationServiceProviderCode", "provider"), ("SpecialEducationServiceLocationCode", "location"),
                       ("ServiceFrequencyCode", "frequency"), ("ServiceDuration", "duration")):
        if row(field):
            out[key] = row(field)
    return out


def term_descriptor(code: str, warn: list) -> str:
    c = code.upper()
    if not c:
        raise RowError("AcademicTermCode", "AcademicTermCode is required")
    if c in TERMS:
        return descriptor("TermDescriptor", TERMS[c])
    warn.append(("AcademicTermCode", f"unknown AcademicTermCode {code!r}; kept as a CALPADS descriptor"))
    return local_descriptor("TermDescriptor", c)


def transcript(row: Row, ssid: str, school: str, catalog: dict, warn: list) -> tuple[dict, dict]:
    if not school:
        raise RowError("SchoolOfAttendance", "SchoolOfAttendance is required")
    year = year_of(row)
    term = term_descriptor(row("AcademicTermCode"), warn)
    course = row("LocalCourseID")
    if not course:
        raise RowError("LocalCourseID", "LocalCourseID is required")
    attempted = parse_number(row("StudentCreditsAttempted"), "StudentCreditsAttempted")
    earned = parse_number(row("StudentCreditsEarned"), "StudentCreditsEarned")
    grade = row("StudentCourseFinalGrade")
    if earned is not None and attempted is not None and earned > attempted:
        warn.append(("StudentCreditsEarned", f"credits earned {earned} exceed credits attempted {attempted}"))
    g = grade.upper()
    result = ("Incomplete" if g in ("I", "INC") else "Withdrawn" if g in ("W", "WF", "WP") else
              "Pass" if (earned or 0) > 0 or g in ("P", "CR") else "Fail")
    sar = {"studentReference": student_ref(ssid), "educationOrganizationReference": edorg_ref(school),
           "schoolYearTypeReference": {"schoolYear": year}, "termDescriptor": term}
    ct: dict = {"courseAttemptResultDescriptor": descriptor("CourseAttemptResultDescriptor", result),
                "courseReference": course_ref(course[:60], school),
                "studentAcademicRecordReference": student_academic_record_ref(ssid, school, year, term)}
    if attempted is not None:
        ct["attemptedCredits"] = attempted
    if earned is not None:
        ct["earnedCredits"] = earned
    if grade:
        ct["finalLetterGradeEarned"] = grade[:20]
    info = catalog.get((school, course, row("CourseSectionID"))) or catalog.get((school, course, None))
    if info:
        state_code, title = info
        if title:
            ct["courseTitle"] = title[:60]
        if state_code:
            ct["alternativeCourseIdentificationCodes"] = [{
                "courseIdentificationSystemDescriptor": descriptor("CourseIdentificationSystemDescriptor", "State course code"),
                "identificationCode": state_code}]
    return sar, ct


def catalog_entry(row: Row) -> tuple[tuple, tuple]:
    school = _digits(row, "SchoolofCourseDelivery", 7)
    course = row("CRS-LocalCourseID")
    if not course:
        raise RowError("CRS-LocalCourseID", "CRS-LocalCourseID is required")
    return (school, course, row("CourseSectionID") or None), (row("CRS-StateCourseCode"), row("CRS-CourseName"))


def discipline(row: Row, ssid: str, school: str, warn: list) -> list[tuple[str, dict]]:
    if not school:
        raise RowError("SchoolOfAttendance", "SchoolOfAttendance is required")
    incident = row("DisciplinaryIncidentIDLocal")
    if not incident:
        raise RowError("DisciplinaryIncidentIDLocal", "DisciplinaryIncidentIDLocal is required")
    if len(incident) > 36:
        raise RowError("DisciplinaryIncidentIDLocal", "DisciplinaryIncidentIDLocal is longer than 36 characters")
    day = parse_date(row("DisciplinaryIncidentOccurrenceDate"), "DisciplinaryIncidentOccurrenceDate", required=True)
    offense = row("StudentOffenseCode")
    if not offense:
        raise RowError("StudentOffenseCode", "StudentOffenseCode is required")
    behavior = local_descriptor("BehaviorDescriptor", offense)
    inc: dict = {"incidentIdentifier": incident, "schoolReference": school_ref(school), "incidentDate": day,
                 "behaviors": [{"behaviorDescriptor": behavior}]}
    if row("WeaponCategoryCode"):
        inc["weapons"] = [{"weaponDescriptor": local_descriptor("WeaponDescriptor", row("WeaponCategoryCode"))}]
    assoc = {"behaviorDescriptor": behavior, "disciplineIncidentReference": discipline_incident_ref(incident, school),
             "studentReference": student_ref(ssid),
             "disciplineIncidentParticipationCodes": [{"disciplineIncidentParticipationCodeDescriptor":
                                                       descriptor("DisciplineIncidentParticipationCodeDescriptor", "Perpetrator")}]}
    out = [("disciplineIncidents", inc), ("studentDisciplineIncidentBehaviorAssociations", assoc)]
    action = row("IncidentDisciplinaryActionTakenCode")
    if action:
        d = mapped("calpads-discipline-action", action, "DisciplineDescriptor")
        if d is None:
            warn.append(("IncidentDisciplinaryActionTakenCode", f"unknown action code {action!r}; kept as a CALPADS descriptor"))
            d = local_descriptor("DisciplineDescriptor", action)
        ident = f"{incident}-{ssid}-{action}"
        if len(ident) > 36:
            ident = hashlib.sha1(ident.encode()).hexdigest()[:36]
        act = {"disciplineActionIdentifier": ident, "disciplineDate": day, "disciplines": [{"disciplineDescriptor": d}],
               "studentReference": student_ref(ssid), "responsibilitySchoolReference": school_ref(school),
               "studentDisciplineIncidentBehaviorAssociations": [{"studentDisciplineIncidentBehaviorAssociationReference":
                                                                  behavior_association_ref(ssid, incident, school, behavior)}]}
        days = parse_number(row("IncidentDisciplinaryActionDurationDays"), "IncidentDisciplinaryActionDurationDays")
        if days is not None:
            act["actualDisciplineActionLength"] = days
        out.append(("disciplineActions", act))
    return out
