"""assemble_edfi(): the passport as Ed-Fi JSON for education partners (permitted education categories only)."""
from __future__ import annotations

from datetime import date

from .document import notices
from .facts import compute as compute_facts
from .redact import IDENTIFIER_REDACTIONS, redactions_of
from .rows import load_rows, load_schools, load_youth
from .vocab import EDUCATION, permitted

STUDENT_IDENTIFYING = ("firstName", "middleName", "lastSurname", "generationCodeSuffix", "personalTitlePrefix",
                       "birthCity", "birthCountryDescriptor", "birthStateAbbreviationDescriptor", "otherNames",
                       "personalIdentificationDocuments", "studentUniqueId")
SEOA_IDENTIFYING = ("addresses", "electronicMails", "telephones", "studentIdentificationCodes", "internationalAddresses")


def _deidentify(rtype: str, body: dict) -> dict:
    body = dict(body)
    if rtype == "students":
        for k in STUDENT_IDENTIFYING:
            body.pop(k, None)
        if body.get("birthDate"):
            body["birthDate"] = body["birthDate"][:4]
    elif rtype == "studentEducationOrganizationAssociations":
        for k in SEOA_IDENTIFYING:
            body.pop(k, None)
    body.pop("studentReference", None)
    return body


def assemble_edfi(conn, tenant: str, youth_id: str, decisions: dict[str, dict], *, as_of: date) -> dict:
    """{"student": ..., "<collection>": [...], "derivedFacts": {...}, "notices": [...]} holding only the
    permitted education categories (and the student record when demographics are permitted)."""
    allowed = permitted(decisions)
    cats = [c for c in allowed if c in EDUCATION or c == "demographics_identity"]
    youth = load_youth(conn, tenant, youth_id, demographics=False, removal="enrollment_school_placement" in allowed)
    if youth is None:
        raise LookupError(f"no youth {youth_id} in tenant {tenant}")
    rows = [r for r in load_rows(conn, tenant, youth_id, cats) if r.standard == "edfi"]
    out: dict = {}
    for r in rows:
        body = r.body
        if redactions_of(allowed.get(r.category)) & IDENTIFIER_REDACTIONS:
            body = _deidentify(r.rtype, body)
        if r.rtype == "students":
            out["student"] = body
        else:
            out.setdefault(r.rtype, []).append(body)
    for k, v in out.items():
        if isinstance(v, list):
            v.sort(key=lambda b: (str(b.get("entryDate") or b.get("beginDate") or b.get("eventDate") or ""),
                                  str(b.get("schoolReference") or b.get("studentAcademicRecordReference") or "")))
    schools = {}
    if "enrollment_school_placement" in allowed:
        ids = [(b.get("schoolReference") or {}).get("schoolId") for b in out.get("studentSchoolAssociations", [])]
        schools = load_schools(conn, tenant, ids)
        if schools:
            out["schools"] = [schools[k].body for k in sorted(schools)]
    out["derivedFacts"] = compute_facts(rows, youth, as_of, [c for c in cats if c in EDUCATION], schools)
    released = sorted({r.category for r in rows})
    out["notices"] = notices(allowed, released)
    return out
