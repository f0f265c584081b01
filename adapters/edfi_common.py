"""Helpers every adapter that emits Ed-Fi Data Standard 5.x API JSON shares.

* Descriptors are URIs `uri://<namespace>/<DescriptorName>#<codeValue>` (never URL-encoded).
  Ed-Fi defaults use `uri://ed-fi.org`; a source code with no Ed-Fi equivalent keeps its own
  namespace (`uri://calpads.cde.ca.gov/ExitWithdrawTypeDescriptor#T160`) so no code is lost.
* References embed the referenced resource's natural key (`studentReference: {studentUniqueId}`).
  Ed-Fi ids in references are integers (`schoolId`, `educationOrganizationId`,
  `localEducationAgencyId`); `schoolYear` is the integer ending year (2025 for 2024-25).
* `category_of(collection, resource)` gives the ONE data category (mappings/categories.json) of
  an Ed-Fi resource; program associations depend on the program type.
* Attendance summaries (CALPADS STAS, SIF StudentAttendanceSummary) stay summaries: the
  extension collection `studentSchoolAttendanceSummaries` (namespace `hep`, see
  docs/formats/edfi-output.md). Never turn a summary into daily StudentSchoolAttendanceEvents.

Pure data helpers: no I/O, no gateway imports.
"""
from __future__ import annotations

import re
from typing import Any

EDFI_NS = "uri://ed-fi.org"
CALPADS_NS = "uri://calpads.cde.ca.gov"
HEP_NS = "uri://hep.gateway"          # descriptors we define ourselves (no source, no Ed-Fi value)
EXTENSION = "hep"                      # Ed-Fi extension namespace of our own resources / `_ext`

MAX_DESCRIPTOR = 306                   # JSON maxLength of every *Descriptor property (XML: 255)
DESCRIPTOR_RE = re.compile(r"^uri://[A-Za-z0-9.\-]+(?:/[A-Za-z0-9._\-]+)*/([A-Za-z0-9]+Descriptor)#(\S(?:.*\S)?)$")


def descriptor(name: str, code_value: str, namespace: str = EDFI_NS) -> str:
    """`descriptor("GradeLevelDescriptor", "Ninth grade")` -> "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade".

    `name` may be given with or without the "Descriptor" suffix."""
    if not name.endswith("Descriptor"):
        name += "Descriptor"
    if not code_value or code_value != code_value.strip():
        raise ValueError(f"descriptor code value {code_value!r} is empty or has surrounding spaces")
    return f"{namespace.rstrip('/')}/{name}#{code_value}"


def local_descriptor(name: str, code_value: str, namespace: str = CALPADS_NS) -> str:
    """A source-namespaced descriptor for a code with no Ed-Fi equivalent (or kept beside one)."""
    return descriptor(name, code_value, namespace)


def parse_descriptor(uri: str) -> tuple[str, str, str] | None:
    """"uri://ed-fi.org/GradeLevelDescriptor#Ninth grade" -> ("uri://ed-fi.org", "GradeLevelDescriptor", "Ninth grade")."""
    if not isinstance(uri, str):
        return None
    m = DESCRIPTOR_RE.match(uri)
    if not m:
        return None
    head = uri[: m.start(1) - 1]
    return head, m.group(1), m.group(2)


def is_descriptor(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_DESCRIPTOR and DESCRIPTOR_RE.match(value) is not None


def code_of(uri: str | None) -> str | None:
    """The codeValue part of a descriptor URI (None when absent or malformed)."""
    if not uri:
        return None
    i = uri.rfind("#")
    return uri[i + 1:] if i >= 0 else None


# --- identifiers and references ------------------------------------------------------------------

def edorg_id(value: str | int) -> int:
    """An education organization id as the integer Ed-Fi wants (7-digit CDS codes keep their value:
    "0123456" -> 123456; the natural key is the number, zero padding is presentation)."""
    if isinstance(value, int):
        return value
    v = value.strip()
    if not v.isdigit():
        raise ValueError(f"education organization id {value!r} is not numeric")
    return int(v)


def cds7(value: int | str) -> str:
    """The 7-digit CDS code text of an integer school / county-district id."""
    return f"{int(value):07d}"


def student_ref(student_unique_id: str) -> dict:
    return {"studentUniqueId": student_unique_id}


def school_ref(school_id: str | int) -> dict:
    return {"schoolId": edorg_id(school_id)}


def lea_ref(lea_id: str | int) -> dict:
    return {"localEducationAgencyId": edorg_id(lea_id)}


def edorg_ref(edorg: str | int) -> dict:
    return {"educationOrganizationId": edorg_id(edorg)}


def school_year_ref(year: int) -> dict:
    return {"schoolYear": int(year)}


def session_ref(school_id: str | int, year: int, session_name: str) -> dict:
    return {"schoolId": edorg_id(school_id), "schoolYear": int(year), "sessionName": session_name}


def program_ref(edorg: str | int, program_name: str, program_type: str) -> dict:
    """program_type: a full ProgramTypeDescriptor URI."""
    return {"educationOrganizationId": edorg_id(edorg), "programName": program_name,
            "programTypeDescriptor": program_type}


def course_ref(course_code: str, edorg: str | int) -> dict:
    return {"courseCode": course_code, "educationOrganizationId": edorg_id(edorg)}


def student_academic_record_ref(student_unique_id: str, edorg: str | int, year: int, term: str) -> dict:
    """term: a full TermDescriptor URI."""
    return {"educationOrganizationId": edorg_id(edorg), "schoolYear": int(year),
            "studentUniqueId": student_unique_id, "termDescriptor": term}


def discipline_incident_ref(incident_identifier: str, school_id: str | int) -> dict:
    return {"incidentIdentifier": incident_identifier, "schoolId": edorg_id(school_id)}


def behavior_association_ref(student_unique_id: str, incident_identifier: str, school_id: str | int,
                             behavior: str) -> dict:
    return {"behaviorDescriptor": behavior, "incidentIdentifier": incident_identifier,
            "schoolId": edorg_id(school_id), "studentUniqueId": student_unique_id}


_YEAR_RE = re.compile(r"^(\d{4})\s*[-/]\s*(\d{2}|\d{4})$")


def school_year(academic_year: str | int) -> int:
    """"2024-2025" / "2024-25" / "2025" / 2025 -> 2025 (Ed-Fi JSON schoolYear is the ending year)."""
    if isinstance(academic_year, int):
        return academic_year
    v = academic_year.strip()
    if v.isdigit() and len(v) == 4:
        return int(v)
    m = _YEAR_RE.match(v)
    if not m:
        raise ValueError(f"academic year {academic_year!r} is not YYYY-YYYY")
    start = int(m.group(1))
    end = m.group(2)
    end_year = int(end) if len(end) == 4 else (start // 100) * 100 + int(end)
    if end_year != start + 1:
        raise ValueError(f"academic year {academic_year!r} does not span two consecutive years")
    return end_year


def school_year_label(year: int) -> str:
    """2025 -> "2024-2025" (the Ed-Fi XML SchoolYear enumeration / CALPADS AcademicYearID)."""
    return f"{year - 1}-{year}"


# --- data categories -------------------------------------------------------------------------

#: Category of every Ed-Fi resource collection the gateway stores. Reference data (schools, LEAs)
#: is not about a person: it is filed under enrollment_school_placement (the category that needs
#: it to be readable) with `subject=None` and `labels={"reference_data": True}`.
CATEGORY_BY_COLLECTION: dict[str, str] = {
    "students": "demographics_identity",
    "studentEducationOrganizationAssociations": "demographics_identity",
    "studentSchoolAssociations": "enrollment_school_placement",
    "studentSchoolAttendanceEvents": "attendance",
    "studentSectionAttendanceEvents": "attendance",
    "studentSchoolAttendanceSummaries": "attendance",          # hep extension
    "studentSpecialEducationProgramAssociations": "special_education_iep_504",
    "studentSection504ProgramAssociations": "special_education_iep_504",
    "studentHomelessProgramAssociations": "enrollment_school_placement",
    "studentMigrantEducationProgramAssociations": "enrollment_school_placement",
    "studentSchoolFoodServiceProgramAssociations": "enrollment_school_placement",
    "courseTranscripts": "grades_transcripts_credits",
    "studentAcademicRecords": "grades_transcripts_credits",
    "grades": "grades_transcripts_credits",
    "studentSectionAssociations": "grades_transcripts_credits",
    "studentAssessments": "assessments",
    "disciplineIncidents": "discipline",
    "studentDisciplineIncidentBehaviorAssociations": "discipline",
    "disciplineActions": "discipline",
    "schools": "enrollment_school_placement",
    "localEducationAgencies": "enrollment_school_placement",
}
REFERENCE_COLLECTIONS = frozenset({"schools", "localEducationAgencies"})
ATTENDANCE_SUMMARY = "studentSchoolAttendanceSummaries"

#: studentProgramAssociations: category by ProgramTypeDescriptor code value (any namespace).
#: Section 504 and special education are disability data; homeless, migrant, foster, food service,
#: Title I and the rest are enrollment facts.
PROGRAM_CATEGORY: dict[str, str] = {
    "Section 504 Placement": "special_education_iep_504",
    "Special Education": "special_education_iep_504",
    "IDEA": "special_education_iep_504",
    "Preschool Special Education": "special_education_iep_504",
    "Early Intervention Services Part C": "special_education_iep_504",
    "101": "special_education_iep_504",   # CALPADS program code kept as a local descriptor
    "144": "special_education_iep_504",
}
DEFAULT_PROGRAM_CATEGORY = "enrollment_school_placement"


def program_category(program_type: str | None) -> str:
    """Category of a student program association from its programTypeDescriptor (URI or code)."""
    code = code_of(program_type) if program_type and "#" in program_type else program_type
    return PROGRAM_CATEGORY.get(code or "", DEFAULT_PROGRAM_CATEGORY)


def category_of(collection: str, resource: dict | None = None) -> str:
    """The one data category of an Ed-Fi resource of `collection` (plural camelCase name)."""
    if collection == "studentProgramAssociations":
        prog = (resource or {}).get("programReference") or {}
        return program_category(prog.get("programTypeDescriptor"))
    try:
        return CATEGORY_BY_COLLECTION[collection]
    except KeyError:
        raise KeyError(f"no data category known for Ed-Fi collection {collection!r}") from None


# --- attendance summaries ------------------------------------------------------------------------

SUMMARY_COUNTS = ("daysEnrolled", "daysAttended", "daysAbsentExcused", "daysAbsentUnexcused", "daysSuspended",
                  "daysInSchoolSuspension", "daysIncompleteIndependentStudy", "daysTardy")


def attendance_summary(student_unique_id: str, school_id: str | int, year: int, *,
                       days_enrolled: float | None = None, days_attended: float | None = None,
                       days_absent_excused: float | None = None, days_absent_unexcused: float | None = None,
                       days_suspended: float | None = None, days_in_school_suspension: float | None = None,
                       days_incomplete_independent_study: float | None = None, days_tardy: float | None = None,
                       begin_date: str | None = None, end_date: str | None = None,
                       hourly_attendance: bool | None = None, exempt: bool | None = None,
                       source_system: str | None = None) -> dict:
    """One `studentSchoolAttendanceSummaries` resource (hep extension): the counts a source reported
    for one student, school and school year (or the begin/end window the source gave). Counts the
    source did not report are omitted, never computed or guessed."""
    res: dict = {"studentReference": student_ref(student_unique_id), "schoolReference": school_ref(school_id),
                 "schoolYear": int(year)}
    for k, v in (("daysEnrolled", days_enrolled), ("daysAttended", days_attended),
                 ("daysAbsentExcused", days_absent_excused), ("daysAbsentUnexcused", days_absent_unexcused),
                 ("daysSuspended", days_suspended), ("daysInSchoolSuspension", days_in_school_suspension),
                 ("daysIncompleteIndependentStudy", days_incomplete_independent_study), ("daysTardy", days_tardy),
                 ("beginDate", begin_date), ("endDate", end_date), ("hourlyAttendance", hourly_attendance),
                 ("exempt", exempt), ("sourceSystem", source_system)):
        if v is not None:
            res[k] = v
    return res


def summary_key(resource: dict) -> tuple:
    """Natural key parts of an attendance summary (student, school, year[, begin date])."""
    return ("studentSchoolAttendanceSummaries", resource["studentReference"]["studentUniqueId"],
            resource["schoolReference"]["schoolId"], resource["schoolYear"], resource.get("beginDate"))


# --- natural keys --------------------------------------------------------------------------------

def key_parts(collection: str, r: dict) -> tuple:
    """The Ed-Fi natural key parts of a resource, for `adapters.base.natural_key(*parts)`."""
    if collection == "students":
        return (r["studentUniqueId"],)
    if collection == "studentSchoolAssociations":
        return (r["studentReference"]["studentUniqueId"], r["schoolReference"]["schoolId"], r["entryDate"])
    if collection == "studentEducationOrganizationAssociations":
        return (r["studentReference"]["studentUniqueId"], r["educationOrganizationReference"]["educationOrganizationId"])
    if collection in ("studentProgramAssociations", "studentSpecialEducationProgramAssociations"):
        p = r["programReference"]
        return (r["studentReference"]["studentUniqueId"], r["educationOrganizationReference"]["educationOrganizationId"],
                p["educationOrganizationId"], p["programName"], p["programTypeDescriptor"], r["beginDate"])
    if collection == "studentSchoolAttendanceEvents":
        s = r["sessionReference"]
        return (r["studentReference"]["studentUniqueId"], r["schoolReference"]["schoolId"], s["schoolYear"],
                s["sessionName"], r["eventDate"], r["attendanceEventCategoryDescriptor"])
    if collection == ATTENDANCE_SUMMARY:
        return summary_key(r)[1:]
    if collection == "studentAcademicRecords":
        return (r["studentReference"]["studentUniqueId"], r["educationOrganizationReference"]["educationOrganizationId"],
                r["schoolYearTypeReference"]["schoolYear"], r["termDescriptor"])
    if collection == "courseTranscripts":
        a, c = r["studentAcademicRecordReference"], r["courseReference"]
        return (a["studentUniqueId"], a["educationOrganizationId"], a["schoolYear"], a["termDescriptor"],
                c["courseCode"], c["educationOrganizationId"], r["courseAttemptResultDescriptor"])
    if collection == "grades":
        s, g = r["studentSectionAssociationReference"], r["gradingPeriodReference"]
        return (s["studentUniqueId"], s["schoolId"], s["schoolYear"], s["sessionName"], s["localCourseCode"],
                s["sectionIdentifier"], s["beginDate"], g["gradingPeriodDescriptor"], g["gradingPeriodName"],
                r["gradeTypeDescriptor"])
    if collection == "studentAssessments":
        a = r["assessmentReference"]
        return (r["studentReference"]["studentUniqueId"], a["namespace"], a["assessmentIdentifier"],
                r["studentAssessmentIdentifier"])
    if collection == "disciplineIncidents":
        return (r["schoolReference"]["schoolId"], r["incidentIdentifier"])
    if collection == "studentDisciplineIncidentBehaviorAssociations":
        d = r["disciplineIncidentReference"]
        return (r["studentReference"]["studentUniqueId"], d["schoolId"], d["incidentIdentifier"], r["behaviorDescriptor"])
    if collection == "disciplineActions":
        return (r["studentReference"]["studentUniqueId"], r["disciplineActionIdentifier"], r["disciplineDate"])
    if collection == "schools":
        return (r["schoolId"],)
    if collection == "localEducationAgencies":
        return (r["localEducationAgencyId"],)
    raise KeyError(f"no natural key known for Ed-Fi collection {collection!r}")


# --- reference data ------------------------------------------------------------------------------

GRADE_ORDER = ("Infant/toddler", "Preschool", "Prekindergarten", "Transitional Kindergarten", "Kindergarten",
               "First grade", "Second grade", "Third grade", "Fourth grade", "Fifth grade", "Sixth grade",
               "Seventh grade", "Eighth grade", "Ninth grade", "Tenth grade", "Eleventh grade", "Twelfth grade",
               "Adult Education", "Ungraded")


def school_resource(school_id: str | int, *, name: str | None = None, lea_id: str | int | None = None,
                    grade_levels: list[str] | tuple[str, ...] = (), cds_code: str | None = None) -> dict:
    """A minimal Ed-Fi School for a school a feed referenced. When the source gives no name, the
    name is the CDS code ("CDS 1234567"), a label rather than an invented name. grade_levels are
    GradeLevelDescriptor URIs (required by Ed-Fi: pass at least one)."""
    sid = edorg_id(school_id)
    res: dict = {
        "schoolId": sid,
        "nameOfInstitution": (name or f"CDS {cds7(sid)}")[:75],
        "educationOrganizationCategories": [
            {"educationOrganizationCategoryDescriptor": descriptor("EducationOrganizationCategoryDescriptor", "School")}],
        "gradeLevels": [{"gradeLevelDescriptor": g} for g in grade_levels],
    }
    if lea_id is not None:
        res["localEducationAgencyReference"] = lea_ref(lea_id)
    if cds_code:
        res["identificationCodes"] = [{
            "educationOrganizationIdentificationSystemDescriptor": descriptor(
                "EducationOrganizationIdentificationSystemDescriptor", "SEA"),
            "identificationCode": cds_code}]
    return res


def lea_resource(lea_id: str | int, *, name: str | None = None, cds_code: str | None = None) -> dict:
    """A minimal Ed-Fi LocalEducationAgency for a district a feed referenced."""
    lid = edorg_id(lea_id)
    res: dict = {
        "localEducationAgencyId": lid,
        "nameOfInstitution": (name or f"CDS {cds7(lid)}")[:75],
        "localEducationAgencyCategoryDescriptor": descriptor("LocalEducationAgencyCategoryDescriptor",
                                                             "Regular public school district"),
        "categories": [{"educationOrganizationCategoryDescriptor": descriptor(
            "EducationOrganizationCategoryDescriptor", "Local Education Agency")}],
    }
    if cds_code:
        res["identificationCodes"] = [{
            "educationOrganizationIdentificationSystemDescriptor": descriptor(
                "EducationOrganizationIdentificationSystemDescriptor", "SEA"),
            "identificationCode": cds_code}]
    return res
