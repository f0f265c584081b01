"""The passport's Patient and the child-welfare case records rendered as FHIR R4.

  youth row + identifiers          -> Patient (demographics only when demographics_identity is released)
  placement (placement_case_info)  -> EpisodeOfCare (type = CWS placement type) + RelatedPerson (caregiver)
  assignment (placement_case_info) -> RelatedPerson (role) and one CareTeam listing them
  assignment ERH (erh_identity)    -> RelatedPerson (education rights holder, JV-535 date)
  consent (placement_case_info)    -> Consent (gateway.policy.consent_fhir)
  courtOrder (court_orders)        -> Basic (code court-order + the order type)
"""
from __future__ import annotations

from ..policy.consent_fhir import consent_to_fhir
from .rows import Row
from .vocab import (CASE, CWS_CASE_SYSTEM, CWS_CLIENT_SYSTEM, HEP_CS, PLACEMENT_TYPE_CS, ROLE_CS, SSID_SYSTEM,
                    BASE, uid)

GENDER = {"F": "female", "M": "male", "X": "other", "U": "unknown"}
ROLE_DISPLAY = {"social_worker": "Social worker", "probation_officer": "Probation officer", "attorney": "Attorney",
                "casa": "CASA volunteer", "caregiver": "Caregiver", "education_rights_holder": "Education rights holder"}
ORDER_DISPLAY = {"jv535_erh_appointment": "JV-535 appointment of education rights holder",
                 "jv535_restores_parent_ed_rights": "JV-535 order restoring parent's education rights",
                 "casa_appointment": "CASA appointment order", "part2_2.64_order": "42 CFR 2.64 order",
                 "wic827_release_order": "WIC 827 release order"}
ID_SYSTEMS = {"cws-client": CWS_CLIENT_SYSTEM, "cws-case": CWS_CASE_SYSTEM, "ssid": SSID_SYSTEM}


def _identifier_system(system: str) -> str:
    if system in ID_SYSTEMS:
        return ID_SYSTEMS[system]
    kind, _, qualifier = system.partition("|")
    if kind == "mrn" and qualifier:
        return f"urn:oid:{qualifier}" if qualifier[0].isdigit() else f"{BASE}/NamingSystem/mrn-{qualifier.lower()}"
    if kind == "lea-student" and qualifier:
        return f"{BASE}/NamingSystem/lea-student-{qualifier}"
    return f"{BASE}/NamingSystem/{kind}"


def patient(youth: dict, identifiers, *, demographics: bool) -> dict:
    """The passport subject. Without demographics: only its id (the document still needs a subject)."""
    p = {"resourceType": "Patient", "id": youth["id"]}
    if not demographics:
        return p
    ids = [{"system": _identifier_system(s), "value": v} for s, v in identifiers]
    if ids:
        p["identifier"] = ids
    given = [x for x in (youth.get("given"), youth.get("middle")) if x]
    names = []
    if youth.get("family") or given:
        n = {"use": "official"}
        if youth.get("family"):
            n["family"] = youth["family"]
        if given:
            n["given"] = given
        names.append(n)
    for a in youth.get("aliases") or ():
        if a.get("family"):
            names.append({"use": "anonymous" if a.get("type") == "AKA" else "old", "family": a["family"],
                          **({"given": [a["given"]]} if a.get("given") else {})})
    if names:
        p["name"] = names
    if youth.get("sex") in GENDER:
        p["gender"] = GENDER[youth["sex"]]
    if youth.get("birth_date"):
        p["birthDate"] = str(youth["birth_date"])[:10]
    return p


def _telecom(phone=None, email=None) -> list:
    out = []
    if phone:
        out.append({"system": "phone", "value": phone})
    if email:
        out.append({"system": "email", "value": email})
    return out


def _period(start, end) -> dict:
    p = {}
    if start:
        p["start"] = start
    if end:
        p["end"] = end
    return p


def _address(a: dict | None) -> list:
    if not a or not any(a.values()):
        return []
    out = {}
    if a.get("line"):
        out["line"] = [a["line"]]
    for k, f in (("city", "city"), ("state", "state"), ("zip", "postalCode")):
        if a.get(k):
            out[f] = a[k]
    return [out] if out else []


def _name(text: str | None) -> list:
    return [{"text": text}] if text else []


def related_person(tenant: str, youth_id: str, row: Row, body: dict) -> dict:
    role = body.get("role") or "other"
    rp = {"resourceType": "RelatedPerson", "id": uid(tenant, "case", row.id), "active": not body.get("end"),
          "patient": {"reference": f"Patient/{youth_id}"},
          "relationship": [{"coding": [{"system": ROLE_CS, "code": role, "display": ROLE_DISPLAY.get(role, role)}],
                            "text": ROLE_DISPLAY.get(role, role)}]}
    if body.get("name"):
        rp["name"] = _name(body["name"])
    tel = _telecom(body.get("phone"), body.get("email"))
    if tel:
        rp["telecom"] = tel
    per = _period(body.get("start"), body.get("end"))
    if per:
        rp["period"] = per
    if role == "education_rights_holder":
        extra = []
        if body.get("jv535_signed"):
            extra.append(f"JV-535 signed {body['jv535_signed']}")
        if body.get("erh_relationship"):
            extra.append(f"relationship: {body['erh_relationship']}")
        if extra:
            rp["relationship"][0]["text"] += " (" + "; ".join(extra) + ")"
    elif body.get("organization"):
        rp["relationship"][0]["text"] += f" ({body['organization']})"
    return rp


def placement(tenant: str, youth_id: str, row: Row, body: dict) -> list[dict]:
    """An EpisodeOfCare for the placement, and the placement's caregiver as a RelatedPerson."""
    ep = {"resourceType": "EpisodeOfCare", "id": uid(tenant, "case", row.id),
          "status": "finished" if body.get("end") else "active",
          "type": [{"coding": [{"system": HEP_CS, "code": "placement-episode", "display": CASE["placement-episode"]}]},
                   {"coding": [{"system": PLACEMENT_TYPE_CS, "code": body.get("placement_type") or "UNK",
                                "display": body.get("placement_type_display") or body.get("placement_type") or "unknown"}],
                    "text": body.get("placement_type_display") or body.get("placement_type")}],
          "patient": {"reference": f"Patient/{youth_id}"},
          "managingOrganization": {"display": "Los Angeles County DCFS"}}
    per = _period(body.get("start"), body.get("end"))
    if per:
        ep["period"] = per
    out = [ep]
    cg = body.get("caregiver") or {}
    if cg.get("name") or cg.get("phone") or body.get("address"):
        rp = {"resourceType": "RelatedPerson", "id": uid(tenant, "case-caregiver", row.id), "active": not body.get("end"),
              "patient": {"reference": f"Patient/{youth_id}"},
              "relationship": [{"coding": [{"system": ROLE_CS, "code": "placement_caregiver",
                                            "display": "Caregiver of a placement"}], "text": "Placement caregiver"}]}
        if cg.get("name"):
            rp["name"] = _name(cg["name"])
        if cg.get("phone"):
            rp["telecom"] = _telecom(cg["phone"])
        addr = _address(body.get("address"))
        if addr:
            rp["address"] = addr
        if per:
            rp["period"] = per
        out.append(rp)
    return out


def care_team(tenant: str, youth_id: str, members: list[dict]) -> dict:
    """One CareTeam of the youth's assigned people (participants reference their RelatedPerson)."""
    return {"resourceType": "CareTeam", "id": uid(tenant, "careteam", youth_id), "status": "active",
            "category": [{"coding": [{"system": HEP_CS, "code": "case-team", "display": CASE["case-team"]}]}],
            "name": "Child welfare case team", "subject": {"reference": f"Patient/{youth_id}"},
            "participant": [{"role": m["relationship"], "member": {"reference": f"RelatedPerson/{m['id']}"},
                             **({"period": m["period"]} if m.get("period") else {})} for m in members]}


def consent(tenant: str, youth_id: str, row: Row, body: dict) -> dict:
    res = consent_to_fhir({**body, "id": body.get("consent_id")}, patient_reference=f"Patient/{youth_id}")
    res["id"] = uid(tenant, "case", row.id)
    return res


def court_order(tenant: str, youth_id: str, row: Row, body: dict) -> dict:
    otype = body.get("type") or "court_order"
    text = ORDER_DISPLAY.get(otype, otype)
    return {"resourceType": "Basic", "id": uid(tenant, "case", row.id),
            "code": {"coding": [{"system": HEP_CS, "code": "court-order", "display": CASE["court-order"]},
                                {"system": f"{BASE}/CodeSystem/cws-court-order-type", "code": otype, "display": text}],
                     "text": f"{text} ({body.get('status')}; issued {body.get('issued')}"
                             + (f"; expires {body['expires']}" if body.get("expires") else "") + ")"},
            "subject": {"reference": f"Patient/{youth_id}"},
            **({"created": body["issued"]} if body.get("issued") else {})}
