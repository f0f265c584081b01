"""The passport's vocabulary: code systems, profile URLs, categories and parameters.

Codes live in profiles/fhir/CodeSystem-hep.json and CodeSystem-hep-obligation.json (validated in
tests against these constants); numbers a county may tune live in profiles/passport.json.
"""
from __future__ import annotations

import json
import uuid
from functools import lru_cache
from pathlib import Path

import orjson

from adapters.ids import uuid5_str

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
FHIR_DIR = PROFILES / "fhir"

BASE = "https://hep.lacounty.example/fhir"
HEP_CS = f"{BASE}/CodeSystem/hep"
OBLIGATION_CS = f"{BASE}/CodeSystem/hep-obligation"
ROLE_CS = f"{BASE}/CodeSystem/hep-case-role"
PLACEMENT_TYPE_CS = f"{BASE}/CodeSystem/cws-placement-type"
SD = f"{BASE}/StructureDefinition"
PROFILE_COMPOSITION = f"{SD}/hep-passport-composition"
PROFILE_EDU_OBS = f"{SD}/hep-education-observation"
NOTICE_EXT = f"{SD}/hep-notice"
CDS_SYSTEM = "https://www.cde.ca.gov/ds/si/ds/"
SSID_SYSTEM = "https://www.cde.ca.gov/ds/sp/cl/ssid"
CWS_CLIENT_SYSTEM = f"{BASE}/NamingSystem/cws-client-id"
CWS_CASE_SYSTEM = f"{BASE}/NamingSystem/cws-case-id"
LOINC = "http://loinc.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
UCUM = "http://unitsofmeasure.org"
PROV_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
XHTML = "http://www.w3.org/1999/xhtml"

DOC_CODE = "hep-passport"
NOTICES_CODE = "notices"
EDU_CATEGORY_CODE = "education"

#: Education observation codes (HEP CodeSystem), by what they say.
OBS = {
    "school-enrollment": "School enrollment",
    "attendance-summary": "Attendance summary for a school year",
    "attendance-event": "Attendance event",
    "course-transcript": "Course transcript entry (grade and credits)",
    "academic-record": "Academic record for a term (credits)",
    "assessment-result": "Assessment result",
    "special-education-program": "Special education program (IEP)",
    "section-504-plan": "Section 504 plan",
    "program-participation": "Education program participation",
    "discipline-incident": "Discipline incident",
    "discipline-action": "Discipline action",
    "education-record": "Other education record",
}
#: Case codes (HEP CodeSystem).
CASE = {
    "court-order": "Juvenile court order",
    "placement-episode": "Out-of-home placement episode",
    "case-team": "Child welfare case team",
}

#: Obligations as HL7 v3 ActCode where one fits; every obligation also gets its local code.
OBLIGATION_V3 = {
    "part2_2.32_notice": ("NORDSCLCD", "no redisclosure without consent directive"),
    "part2_consent_copy": ("NORDSCLCD", "no redisclosure without consent directive"),
    "ferpa_redisclosure_notice": ("NORDSCLCD", "no redisclosure without consent directive"),
    "log_disclosure": ("AUDIT", "audit"),
}
OBLIGATION_DISPLAY = {
    "log_disclosure": "Record the disclosure",
    "ferpa_redisclosure_notice": "FERPA 99.33 / Ed. Code 49075 redisclosure notice",
    "cmia_56.103_redisclosure_and_inadmissibility_notice": "Civ. Code 56.103(d) / WIC 5328.04 notice",
    "part2_2.32_notice": "42 CFR 2.32 notice",
    "part2_consent_copy": "Copy of the Part 2 consent attached",
    "part2_2.51_documentation": "Medical-emergency disclosure documented (42 CFR 2.51)",
    "view_only_no_export": "View only; no copy, print or export",
    "ab352_in_state_only": "Do not disclose outside California",
}

EDUCATION = ("enrollment_school_placement", "attendance", "grades_transcripts_credits", "assessments", "discipline",
             "special_education_iep_504")
CASE_CATEGORIES = ("placement_case_information", "erh_identity", "court_orders")
_NS = uuid.UUID("2b0e7d4c-5a1f-4c55-9d1e-6b7f3c9a0e11")


def uid(*parts) -> str:
    """A deterministic resource id for something the passport renders (same input, same id)."""
    return uuid5_str(_NS, "\x1f".join(str(p) for p in parts))


@lru_cache(maxsize=1)
def categories() -> dict[str, dict]:
    data = json.loads((ROOT / "mappings" / "categories.json").read_text())
    return {c["code"]: c for c in data["categories"]}


def category_display(code: str) -> str:
    c = categories().get(code)
    return c["display"] if c else code.replace("_", " ")


@lru_cache(maxsize=1)
def params() -> dict:
    return orjson.loads((PROFILES / "passport.json").read_bytes())


def permitted(decisions: dict | None) -> dict[str, dict]:
    """category -> decision for the categories that may be released (permit / permit-redacted).
    Anything else — deny, error, unknown words, missing — is not released."""
    out = {}
    for cat, d in (decisions or {}).items():
        if cat in categories() and isinstance(d, dict) and d.get("decision") in ("permit", "permit-redacted"):
            out[cat] = d
    return out
