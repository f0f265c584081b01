"""Ed-Fi records rendered as FHIR R4 for the passport (profile hep-education-observation).

Why Observation for everything, enrollment included: an enrollment is a dated assertion about the
youth (this school, this grade, from/to) made by the school — Observation carries that with
effectivePeriod, performer (the school as an Organization with its CDS code) and components,
under one profile and one search model (code/date). EpisodeOfCare is a care-management episode
of a healthcare provider (status, care manager, referral) and would misstate a school enrollment.
No HL7 or Ed-Fi guide maps Ed-Fi to FHIR (notes/fhir-ccda.md §6), so codes are our own HEP codes;
Ed-Fi descriptors travel as codings with system = descriptor namespace + name.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from adapters.edfi_common import parse_descriptor

from .facts import school_year_of
from .rows import Row
from .vocab import CDS_SYSTEM, EDU_CATEGORY_CODE, HEP_CS, OBS, PROFILE_EDU_OBS, UCUM, uid

ORG_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "edu",
            "display": "Educational Institution"}


def descriptor_coding(uri: str | None) -> dict | None:
    if not uri:
        return None
    c = _coding(uri) if type(uri) is str else _coding_of(uri)
    return dict(c) if c is not None else None   # a copy: the caller's resource may be edited later


@lru_cache(maxsize=8192)
def _coding(uri: str) -> dict | None:
    """Descriptors repeat across every record of a passport and across passports: parsed once."""
    return _coding_of(uri)


def _coding_of(uri) -> dict | None:
    p = parse_descriptor(uri)
    if p is None:
        return {"code": str(uri)[:200]} if str(uri).strip() else None
    ns, name, code = p
    return {"system": f"{ns}/{name}", "code": code, "display": code}


def concept(*uris, text: str | None = None) -> dict | None:
    codings = [c for c in (descriptor_coding(u) for u in uris) if c]
    if not codings and not text:
        return None
    out: dict = {}
    if codings:
        out["coding"] = codings
    if text or codings:
        out["text"] = text or codings[0]["code"]
    return out


def school_org_id(tenant: str, school_id: int) -> str:
    return uid(tenant, "school", int(school_id))


def school_reference(tenant: str, school_id, *, literal: bool, name: str | None = None) -> dict:
    ref: dict = {"identifier": {"system": CDS_SYSTEM, "value": f"{int(school_id):07d}"}}
    if literal:
        ref["reference"] = f"Organization/{school_org_id(tenant, school_id)}"
    if name:
        ref["display"] = name
    return ref


def school_organization(tenant: str, row: Row) -> dict:
    b = row.body
    sid = int(b["schoolId"])
    org = {"resourceType": "Organization", "id": school_org_id(tenant, sid),
           "identifier": [{"system": CDS_SYSTEM, "value": f"{sid:07d}"}], "active": True,
           "type": [{"coding": [ORG_TYPE]}], "name": b.get("nameOfInstitution") or f"CDS {sid:07d}"}
    lea = (b.get("localEducationAgencyReference") or {}).get("localEducationAgencyId")
    if lea is not None:
        org["partOf"] = {"identifier": {"system": CDS_SYSTEM, "value": f"{int(lea):07d}"}, "display": f"LEA {int(lea):07d}"}
    return org


def _qty(v, unit="d", code="d") -> dict:
    return {"value": float(v), "unit": unit, "system": UCUM, "code": code}


def _component(code: str, display: str, **value) -> dict:
    return {"code": {"coding": [{"system": HEP_CS, "code": code, "display": display}], "text": display}, **value}


def _year_period(sy) -> dict:
    return {"start": f"{int(sy) - 1}-07-01", "end": f"{int(sy)}-06-30"}


def _obs(tenant: str, row: Row, youth_id: str, code: str, effective: dict, text: str | None = None) -> dict:
    return {
        "resourceType": "Observation", "id": uid(tenant, "edfi-obs", row.id),
        "meta": {"profile": [PROFILE_EDU_OBS]},
        "status": "final",
        "category": [{"coding": [{"system": HEP_CS, "code": EDU_CATEGORY_CODE, "display": "Education"}]}],
        "code": {"coding": [{"system": HEP_CS, "code": code, "display": OBS[code]}], "text": text or OBS[code]},
        "subject": {"reference": f"Patient/{youth_id}"},
        **effective,
    }


def _first_date(b: dict, *keys) -> str | None:
    for k in keys:
        v = b.get(k)
        if isinstance(v, str) and len(v) >= 10:
            return v[:10]
    return None


def render(tenant: str, youth_id: str, row: Row, *, schools_literal: bool, school_names: dict) -> dict | None:
    """One Ed-Fi row as one FHIR resource (None for records with nothing to say on their own)."""
    b, t = row.body, row.rtype
    sid = (b.get("schoolReference") or {}).get("schoolId")
    perf = ([school_reference(tenant, sid, literal=schools_literal, name=school_names.get(int(sid)))]
            if sid is not None else None)
    if t == "studentSchoolAssociations":
        ext = (b.get("_ext") or {}).get("hep") or {}
        period = {"start": b["entryDate"]}
        end = b.get("exitWithdrawDate") or ext.get("exitDate")
        if end:
            period["end"] = end
        o = _obs(tenant, row, youth_id, "school-enrollment", {"effectivePeriod": period})
        grade = concept(b.get("entryGradeLevelDescriptor"))
        if grade:
            o["valueCodeableConcept"] = grade
        comps = []
        if (b.get("schoolYearTypeReference") or {}).get("schoolYear"):
            comps.append(_component("school-year", "School year (ending year)",
                                    valueInteger=int(b["schoolYearTypeReference"]["schoolYear"])))
        exit_c = concept(ext.get("exitWithdrawTypeDescriptor"), b.get("exitWithdrawTypeDescriptor"))
        if exit_c:
            comps.append(_component("exit-reason", "Exit or withdrawal reason", valueCodeableConcept=exit_c))
        if "primarySchool" in b:
            comps.append(_component("primary-school", "Primary school of attendance", valueBoolean=bool(b["primarySchool"])))
        if comps:
            o["component"] = comps
    elif t == "studentSchoolAttendanceSummaries":
        period = ({"start": b["beginDate"], **({"end": b["endDate"]} if b.get("endDate") else {})}
                  if b.get("beginDate") else _year_period(b["schoolYear"]))
        o = _obs(tenant, row, youth_id, "attendance-summary", {"effectivePeriod": period})
        absent = sum(float(b.get(k) or 0) for k in ("daysAbsentExcused", "daysAbsentUnexcused", "daysSuspended"))
        o["valueQuantity"] = _qty(absent)
        o["component"] = [_component(k, k, valueQuantity=_qty(b[k])) for k in
                          ("daysEnrolled", "daysAttended", "daysAbsentExcused", "daysAbsentUnexcused", "daysSuspended",
                           "daysInSchoolSuspension", "daysTardy") if isinstance(b.get(k), (int, float))]
    elif t in ("studentSchoolAttendanceEvents", "studentSectionAttendanceEvents"):
        o = _obs(tenant, row, youth_id, "attendance-event", {"effectiveDateTime": b["eventDate"][:10]})
        v = concept(b.get("attendanceEventCategoryDescriptor"))
        if v:
            o["valueCodeableConcept"] = v
    elif t == "courseTranscripts":
        ref = b.get("studentAcademicRecordReference") or {}
        sy = ref.get("schoolYear")
        o = _obs(tenant, row, youth_id, "course-transcript",
                 {"effectivePeriod": _year_period(sy)} if sy else {"effectiveDateTime": row.received_at.date().isoformat()},
                 text=b.get("courseTitle") or (b.get("courseReference") or {}).get("courseCode"))
        if b.get("finalLetterGradeEarned"):
            o["valueString"] = str(b["finalLetterGradeEarned"])
        comps = [_component(k, k, valueQuantity=_qty(b[k], "{credit}", "{credit}"))
                 for k in ("attemptedCredits", "earnedCredits") if isinstance(b.get(k), (int, float))]
        term = concept(ref.get("termDescriptor"))
        if term:
            comps.append(_component("term", "Term", valueCodeableConcept=term))
        course = (b.get("courseReference") or {}).get("courseCode")
        if course:
            comps.append(_component("course-code", "Course code", valueString=str(course)))
        if comps:
            o["component"] = comps
        edorg = ref.get("educationOrganizationId")
        if edorg is not None:
            o["performer"] = [school_reference(tenant, edorg, literal=False)]
    elif t == "studentAcademicRecords":
        credits = {k: b[k] for k in ("cumulativeEarnedCredits", "sessionEarnedCredits", "cumulativeAttemptedCredits")
                   if isinstance(b.get(k), (int, float))}
        if not credits:
            return None      # a bare term key; its course transcripts carry the content
        sy = (b.get("schoolYearTypeReference") or {}).get("schoolYear")
        o = _obs(tenant, row, youth_id, "academic-record", {"effectivePeriod": _year_period(sy)} if sy else
                 {"effectiveDateTime": row.received_at.date().isoformat()})
        o["component"] = [_component(k, k, valueQuantity=_qty(v, "{credit}", "{credit}")) for k, v in credits.items()]
    elif t == "studentAssessments":
        when = _first_date(b, "administrationDate", "administrationEndDate") or row.received_at.date().isoformat()
        o = _obs(tenant, row, youth_id, "assessment-result", {"effectiveDateTime": when},
                 text=(b.get("assessmentReference") or {}).get("assessmentIdentifier"))
        for sr in b.get("scoreResults") or ():
            if str(sr.get("result", "")).replace(".", "", 1).isdigit():
                o["valueQuantity"] = {"value": float(sr["result"]), "unit": "score"}
                break
        comps = [_component("performance-level", "Performance level", valueCodeableConcept=concept(pl.get("performanceLevelDescriptor")))
                 for pl in b.get("performanceLevels") or () if pl.get("performanceLevelDescriptor")]
        if comps:
            o["component"] = comps
    elif t in ("studentSpecialEducationProgramAssociations", "studentSection504ProgramAssociations",
               "studentProgramAssociations", "studentHomelessProgramAssociations",
               "studentMigrantEducationProgramAssociations", "studentSchoolFoodServiceProgramAssociations"):
        prog = b.get("programReference") or {}
        ptype = prog.get("programTypeDescriptor")
        code = ("special-education-program" if t == "studentSpecialEducationProgramAssociations" else
                "section-504-plan" if t == "studentSection504ProgramAssociations" or
                (descriptor_coding(ptype) or {}).get("code") in ("Section 504 Placement", "101") else
                "program-participation")
        period = {"start": b.get("beginDate") or row.received_at.date().isoformat()}
        if b.get("endDate"):
            period["end"] = b["endDate"]
        o = _obs(tenant, row, youth_id, code, {"effectivePeriod": period}, text=prog.get("programName"))
        if t == "studentSpecialEducationProgramAssociations":
            dis = concept(*[d.get("disabilityDescriptor") for d in b.get("disabilities") or ()])
            if dis:
                o["valueCodeableConcept"] = dis
            comps = []
            setting = concept(b.get("specialEducationSettingDescriptor"))
            if setting:
                comps.append(_component("special-education-setting", "Special education setting", valueCodeableConcept=setting))
            plan = concept(((b.get("_ext") or {}).get("hep") or {}).get("educationPlanTypeDescriptor"))
            if plan:
                comps.append(_component("education-plan-type", "Education plan type", valueCodeableConcept=plan))
            for k in ("iepBeginDate", "iepEndDate", "lastEvaluationDate", "iepReviewDate"):
                if b.get(k):
                    comps.append(_component(k, k, valueDateTime=b[k][:10]))
            if comps:
                o["component"] = comps
        else:
            v = concept(ptype)
            if v:
                o["valueCodeableConcept"] = v
        edorg = prog.get("educationOrganizationId") or (b.get("educationOrganizationReference") or {}).get("educationOrganizationId")
        if edorg is not None:
            o["performer"] = [school_reference(tenant, edorg, literal=False)]
    elif t in ("disciplineIncidents", "studentDisciplineIncidentBehaviorAssociations", "disciplineActions"):
        code = "discipline-action" if t == "disciplineActions" else "discipline-incident"
        when = _first_date(b, "disciplineDate", "incidentDate")
        o = _obs(tenant, row, youth_id, code, {"effectiveDateTime": when or row.received_at.date().isoformat()})
        v = concept(*[x.get("disciplineDescriptor") for x in b.get("disciplines") or ()],
                    *[x.get("behaviorDescriptor") for x in b.get("behaviors") or ()], b.get("behaviorDescriptor"))
        if v:
            o["valueCodeableConcept"] = v
        if isinstance(b.get("actualDisciplineActionLength"), (int, float)):
            o["component"] = [_component("action-length", "Action length (days)",
                                         valueQuantity=_qty(b["actualDisciplineActionLength"]))]
        rs = (b.get("responsibilitySchoolReference") or {}).get("schoolId")
        if rs is not None:
            perf = [school_reference(tenant, rs, literal=schools_literal, name=school_names.get(int(rs)))]
    else:
        when = _first_date(b, "beginDate", "entryDate", "eventDate", "administrationDate") or row.received_at.date().isoformat()
        o = _obs(tenant, row, youth_id, "education-record", {"effectiveDateTime": when}, text=t)
    if perf and "performer" not in o:
        o["performer"] = perf
    return o


def current_school_year(as_of: date) -> int:
    return school_year_of(as_of)
