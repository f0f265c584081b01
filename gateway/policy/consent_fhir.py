"""Consent rows <-> FHIR R4 Consent resources (the youth's and ERH's consents on the FHIR API).

The row is what decide() reads (policy/README.md consents[]); the resource is what partners see.
Everything the decision needs survives the round trip: data categories ride in provision.class
(local CodeSystem), recipient roles in provision.actor, grantor/form/Part 2 compliance in
extensions, revocation in status + extension.
"""
from __future__ import annotations

from fhir.resources.R4B.consent import Consent

BASE = "https://hep.lacounty.example/fhir"
CATEGORY_SYSTEM = f"{BASE}/CodeSystem/hep-data-category"
ROLE_SYSTEM = f"{BASE}/CodeSystem/hep-requester-role"
GRANTOR_SYSTEM = f"{BASE}/CodeSystem/hep-consent-grantor"
FORM_SYSTEM = f"{BASE}/CodeSystem/hep-consent-form"
IDENTIFIER_SYSTEM = f"{BASE}/NamingSystem/hep-consent-id"
EXT = f"{BASE}/StructureDefinition/consent-"
LOCAL_PURPOSE_SYSTEM = f"{BASE}/CodeSystem/hep-purpose-of-use"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC = "http://loinc.org"

# Legal text each form implements (Consent.policy.uri).
FORM_POLICY = {
    "ferpa_99.30": "https://www.ecfr.gov/current/title-34/subtitle-A/part-99/subpart-D/section-99.30",
    "cmia_56.11": "https://leginfo.legislature.ca.gov/faces/codes_displaySection.xhtml?lawCode=CIV&sectionNum=56.11",
    "part2_2.31": "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2/subpart-C/section-2.31",
    "part2_2.31_tpo": "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2/subpart-C/section-2.31",
    "hiv_120980g": "https://leginfo.legislature.ca.gov/faces/codes_displaySection.xhtml?lawCode=HSC&sectionNum=120980",
    "general_written": f"{BASE}/policy/general-written-authorization",
}
# Sensitivity labels (HL7 v3 ActCode) that travel with sensitive categories.
SENSITIVITY = {
    "substance_use_disorder_part2": [("ETH", "substance abuse information sensitivity"),
                                     ("42CFRPart2", "42 CFR Part2")],
    "hiv": [("HIV", "HIV/AIDS information sensitivity")],
    "mental_health": [("PSY", "psychiatry information sensitivity")],
    "reproductive_sexual_health_minor_consented": [("SEX", "sexuality and reproductive health information sensitivity")],
}
LOCAL_PURPOSES = {"x-EDU-SUPPORT", "x-CW-CASEMGT", "x-CW-ADMIN"}
# Row status -> FHIR status. A revoked or expired consent is "inactive" (terminated).
STATUS_TO_FHIR = {"active": "active", "revoked": "inactive", "expired": "inactive"}


def _ext(name: str, kind: str, value) -> dict:
    return {"url": EXT + name, kind: value}


def consent_to_fhir(row: dict, *, patient_reference: str) -> dict:
    """A consent row as a FHIR R4 Consent (validated by fhir.resources R4B)."""
    form = row["form"]
    categories = [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}]
    if form.startswith("part2"):
        categories.append({"coding": [{"system": LOINC, "code": "64292-6",
                                       "display": "Release of information consent"}]})
    extensions = [
        _ext("grantor", "valueCoding", {"system": GRANTOR_SYSTEM, "code": row["grantor"]}),
        _ext("form", "valueCoding", {"system": FORM_SYSTEM, "code": form}),
        _ext("status", "valueCode", row["status"]),
    ]
    for key in ("part2_compliant", "single_disclosure"):
        if row.get(key) is not None:
            extensions.append(_ext(key.replace("_", "-"), "valueBoolean", bool(row[key])))
    if row.get("expiration_event"):
        extensions.append(_ext("expiration-event", "valueString", row["expiration_event"]))
    if row.get("revoked_on"):
        extensions.append(_ext("revoked-on", "valueDate", row["revoked_on"]))
    if row.get("purpose"):
        extensions.append(_ext("purpose", "valueString", row["purpose"]))

    provision: dict = {
        "type": "permit",
        "actor": [{"role": {"coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                         "code": "IRCP", "display": "information recipient"},
                        {"system": ROLE_SYSTEM, "code": role}]},
                   "reference": {"display": role.replace("_", " ")}}
                  for role in row.get("recipients") or ()],
        "class": [{"system": CATEGORY_SYSTEM, "code": c} for c in row.get("scope") or ()],
    }
    period = {}
    if row.get("signed"):
        period["start"] = row["signed"]
    if row.get("expires"):
        period["end"] = row["expires"]
    if period:
        provision["period"] = period
    labels = [{"system": ACT_CODE, "code": code, "display": display}
              for c in row.get("scope") or () for code, display in SENSITIVITY.get(c, ())]
    if labels:
        provision["securityLabel"] = labels
    purpose = row.get("purpose")
    if purpose:
        system = LOCAL_PURPOSE_SYSTEM if purpose in LOCAL_PURPOSES else ACT_REASON
        if purpose in LOCAL_PURPOSES or purpose.isupper():
            provision["purpose"] = [{"system": system, "code": purpose}]

    resource = {
        "resourceType": "Consent",
        "status": STATUS_TO_FHIR[row["status"]],
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy", "display": "Privacy Consent"}]},
        "category": categories,
        "patient": {"reference": patient_reference},
        "performer": [{"display": row["grantor"]}],
        "policy": [{"uri": FORM_POLICY[form]}],
        "provision": provision,
        "extension": extensions,
    }
    if row.get("id") is not None:
        resource["identifier"] = [{"system": IDENTIFIER_SYSTEM, "value": str(row["id"])}]
    if row.get("signed"):
        resource["dateTime"] = row["signed"]
    Consent.model_validate(resource)   # refuse to emit an invalid resource
    return resource


def _ext_value(resource: dict, name: str):
    for e in resource.get("extension") or ():
        if e.get("url") == EXT + name:
            for k, v in e.items():
                if k.startswith("value"):
                    return v
    return None


def fhir_to_consent(resource: dict) -> dict:
    """A FHIR Consent (as produced above, or by a partner using the same extensions) as a row.
    Anything not active in FHIR terms never becomes an active row."""
    Consent.model_validate(resource)
    provision = resource.get("provision") or {}
    grantor = (_ext_value(resource, "grantor") or {}).get("code")
    form = (_ext_value(resource, "form") or {}).get("code")
    status = _ext_value(resource, "status")
    if resource.get("status") != "active":
        # rejected / entered-in-error / inactive: never usable, whatever the extension says.
        status = status if status in ("revoked", "expired") else "revoked"
    elif status not in ("revoked", "expired"):
        status = "active"         # an extension may only narrow an active FHIR status
    row = {
        "grantor": grantor,
        "scope": [c["code"] for c in provision.get("class") or () if c.get("system") == CATEGORY_SYSTEM],
        "recipients": [c["code"] for a in provision.get("actor") or ()
                       for c in (a.get("role") or {}).get("coding") or () if c.get("system") == ROLE_SYSTEM],
        "status": status,
        "form": form,
    }
    ids = [i["value"] for i in resource.get("identifier") or () if i.get("system") == IDENTIFIER_SYSTEM]
    if ids:
        row["id"] = ids[0]
    if resource.get("dateTime"):
        row["signed"] = resource["dateTime"][:10]
    end = (provision.get("period") or {}).get("end")
    if end:
        row["expires"] = end[:10]
    for key, name in (("part2_compliant", "part2-compliant"), ("single_disclosure", "single-disclosure"),
                      ("expiration_event", "expiration-event"), ("revoked_on", "revoked-on"),
                      ("purpose", "purpose")):
        v = _ext_value(resource, name)
        if v is not None:
            row[key] = v
    return row
