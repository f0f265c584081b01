"""Case-side resources: CareTeam and RelatedPerson from the CWS assignments, Consent (read,
search, create, revoke) from the consent table. A revoked consent counts from the next request:
decisions read the consent table every time."""
from __future__ import annotations

import uuid
from datetime import date

from flask import abort, request
from sqlalchemy import and_, select, update

from ...auth import current_requester, require
from ...clock import today, utcnow
from ...enforce.relationship import ASSIGNMENT_ROLE, requester_facts
from ...policy.consent_fhir import IDENTIFIER_SYSTEM, consent_to_fhir, fhir_to_consent
from ...store import schema as s
from ...store.engine import write_tx
from .. import engine
from . import CAPABILITIES, fhir
from .common import audit, disclose, json_body, page_params, searchset, tenant, youth_exists
from .release import label
from .wire import fhir_response

ROLE_CODES = {"social_worker": ("SW", "Social worker"), "probation_officer": ("PO", "Probation officer"),
              "attorney": ("ATTY", "Attorney of record"), "casa": ("CASA", "Court appointed special advocate"),
              "caregiver": ("CG", "Caregiver"), "education_rights_holder": ("ERH", "Education rights holder")}
ROLE_SYSTEM = "https://hep.lacounty.example/fhir/CodeSystem/hep-care-team-role"
for _t, inter in (("CareTeam", ["search-type"]), ("RelatedPerson", ["search-type"]),
                  ("Consent", ["read", "search-type", "create", "update"])):
    CAPABILITIES[_t] = {"interaction": inter, "searchParam": [{"name": "patient", "type": "reference"},
                                                              {"name": "_count", "type": "number"}]}


def _patient_param() -> str:
    youth_id = (request.args.get("patient") or "").removeprefix("Patient/")
    if not youth_id:
        abort(400, description="patient=<id> is required")
    return youth_id


def _assignments(conn, youth_id: str):
    a = s.care_assignment.c
    return list(conn.execute(select(s.care_assignment).where(and_(a.tenant_id == tenant(), a.youth_id == youth_id))
                             .order_by(a.start_date, a.id)))


def _participant(a) -> dict:
    code, display = ROLE_CODES.get(a.role, (a.role, a.role))
    p = {"role": [{"coding": [{"system": ROLE_SYSTEM, "code": code, "display": display}]}],
         "member": {"display": a.name}, "period": {"start": a.start_date.isoformat()}}
    if a.end_date:
        p["period"]["end"] = a.end_date.isoformat()
    if a.organization:
        p["onBehalfOf"] = {"display": a.organization}
    return p


@fhir.get("/CareTeam")
@require("system/CareTeam.read", "system/CareTeam.rs", "system/*.read", "system/*.rs")
def care_team():
    youth_id = _patient_param()
    count, offset = page_params()
    with engine().connect() as conn:
        if not youth_exists(conn, youth_id):
            return fhir_response(searchset("CareTeam", [], 0, count, offset))
        d = disclose(conn, youth_id, ("placement_case_information",))
        decision = d.decisions["placement_case_information"]
        teams = []
        if decision["decision"] in ("permit", "permit-redacted"):
            rows = [a for a in _assignments(conn, youth_id) if a.role != "education_rights_holder"]
            if rows:
                teams.append(label({"resourceType": "CareTeam", "id": f"{youth_id}-care-team", "status": "active",
                                    "subject": {"reference": f"Patient/{youth_id}"}, "name": "Child welfare care team",
                                    "participant": [_participant(a) for a in rows]}, decision))
    audit("search", youth_id, "permit", {**d.audit_entry(), "resource_type": "CareTeam"})
    return fhir_response(searchset("CareTeam", teams[offset:offset + count], len(teams), count, offset))


@fhir.get("/RelatedPerson")
@require("system/RelatedPerson.read", "system/RelatedPerson.rs", "system/*.read", "system/*.rs")
def related_person():
    youth_id = _patient_param()
    count, offset = page_params()
    out = []
    with engine().connect() as conn:
        if not youth_exists(conn, youth_id):
            return fhir_response(searchset("RelatedPerson", [], 0, count, offset))
        d = disclose(conn, youth_id, ("placement_case_information", "erh_identity"))
        for a in _assignments(conn, youth_id):
            category = "erh_identity" if a.role == "education_rights_holder" else "placement_case_information"
            decision = d.decisions[category]
            if a.role not in ("caregiver", "education_rights_holder") or decision["decision"] not in ("permit", "permit-redacted"):
                continue
            code, display = ROLE_CODES[a.role]
            rp = {"resourceType": "RelatedPerson", "id": f"{youth_id}-{a.id}"[:64], "active": a.end_date is None,
                  "patient": {"reference": f"Patient/{youth_id}"}, "name": [{"text": a.name}],
                  "relationship": [{"coding": [{"system": ROLE_SYSTEM, "code": code, "display": display}]}],
                  "period": {"start": a.start_date.isoformat(), **({"end": a.end_date.isoformat()} if a.end_date else {})}}
            if a.phone:
                rp["telecom"] = [{"system": "phone", "value": a.phone}]
            out.append(label(rp, decision))
    audit("search", youth_id, "permit", {**d.audit_entry(), "resource_type": "RelatedPerson"})
    return fhir_response(searchset("RelatedPerson", out[offset:offset + count], len(out), count, offset))


def _consent_rows(conn, youth_id: str):
    c = s.consent.c
    return list(conn.execute(select(s.consent).where(and_(c.tenant_id == tenant(), c.youth_id == youth_id))
                             .order_by(c.signed, c.id)))


def _visible_consents(conn, youth_id: str, d) -> list[dict]:
    """All consents with case information permitted; otherwise only those naming the requester."""
    role = current_requester().role
    case_ok = d.decisions["placement_case_information"]["decision"] in ("permit", "permit-redacted")
    return [consent_to_fhir(dict(r._mapping), patient_reference=f"Patient/{youth_id}")
            for r in _consent_rows(conn, youth_id) if case_ok or role in (r.recipients or [])]


@fhir.get("/Consent")
@require("system/Consent.read", "system/Consent.rs", "system/*.read", "system/*.rs")
def search_consent():
    youth_id = _patient_param()
    count, offset = page_params()
    with engine().connect() as conn:
        if not youth_exists(conn, youth_id):
            return fhir_response(searchset("Consent", [], 0, count, offset))
        d = disclose(conn, youth_id, ("placement_case_information",))
        out = _visible_consents(conn, youth_id, d)
    audit("search", youth_id, "permit", {**d.audit_entry(), "resource_type": "Consent"})
    return fhir_response(searchset("Consent", out[offset:offset + count], len(out), count, offset))


def _may_manage_consents(conn, youth_id: str) -> bool:
    """The youth themself, their assigned social worker, or their education rights holder (for
    education consents) may record or revoke consents on the youth's behalf."""
    who = current_requester()
    if who.role == "youth":
        y = conn.execute(select(s.youth.c.client_id).where(s.youth.c.id == youth_id)).scalar()
        return bool(who.user_id) and who.user_id in (youth_id, y)
    if who.role not in ASSIGNMENT_ROLE:
        return False
    facts = requester_facts(conn, tenant(), who, youth_id, [dict(a._mapping) for a in _assignments(conn, youth_id)],
                            today())
    return bool(facts.get("on_caseload") or facts.get("assigned_to_youth")) and who.role in (
        "county_social_worker", "education_rights_holder")


def _condition_id() -> str | None:
    """The consent id named by an If-None-Exist header (FHIR conditional create), if any.
    Supported: identifier=<value> or identifier=<hep-consent-id system>|<value>."""
    header = request.headers.get("If-None-Exist")
    if header is None:
        return None
    name, _, value = header.strip().partition("=")
    system, bar, code = value.rpartition("|")
    if name != "identifier" or not code or (bar and system != IDENTIFIER_SYSTEM) or len(code) > 64:
        abort(400, description=f"If-None-Exist supports identifier={IDENTIFIER_SYSTEM}|<value> (at most 64 characters)")
    return code


_CONSENT_FIELDS = ("grantor", "scope", "recipients", "status", "form", "expiration_event", "part2_compliant",
                   "purpose", "signed", "expires", "revoked_on", "single_disclosure")


@fhir.post("/Consent")
@require("system/Consent.write", "system/Consent.c", "system/Consent.cud", "system/*.write")
def create_consent():
    """Create a consent. Safe to retry: a Consent that carries an identifier (system
    .../NamingSystem/hep-consent-id, a value the sender chooses) is created once; sending it again
    answers 200 with the stored consent, or 409 if the content differs. `If-None-Exist:
    identifier=...` (conditional create) answers 200 with the match whatever the content."""
    body = json_body()
    if not isinstance(body, dict) or body.get("resourceType") != "Consent":
        abort(400, description="the body must be a FHIR Consent resource (application/fhir+json)")
    conditional = _condition_id()
    youth_id = ((body.get("patient") or {}).get("reference") or "").removeprefix("Patient/")
    try:
        row = fhir_to_consent(body)
    except Exception as e:
        abort(400, description=f"invalid Consent: {str(e)[:500]}")
    if conditional and row.get("id") not in (None, conditional):
        abort(400, description="the Consent's identifier and the If-None-Exist identifier differ")
    missing = [k for k in ("grantor", "form", "signed") if not row.get(k)] + ([] if row["scope"] else ["scope"]) + (
        [] if row["recipients"] else ["recipients"])
    if missing:
        abort(422, description=f"Consent lacks {', '.join(missing)} (see the consent extensions in docs/policy.md)")
    with write_tx(engine()) as conn:
        if not youth_exists(conn, youth_id):
            abort(404, description=f"Patient/{youth_id} is not known")
        if not _may_manage_consents(conn, youth_id):
            abort(403, description="only the youth, their assigned social worker or their education rights holder may record consents")
        row["id"] = row.get("id") or conditional or f"fhir-{uuid.uuid4().hex[:20]}"
        values = {k: row.get(k) for k in ("grantor", "scope", "recipients", "status", "form", "expiration_event",
                                          "part2_compliant", "purpose")}
        values.update(signed=date.fromisoformat(row["signed"]),
                      expires=date.fromisoformat(row["expires"]) if row.get("expires") else None,
                      revoked_on=date.fromisoformat(row["revoked_on"]) if row.get("revoked_on") else None,
                      single_disclosure=bool(row.get("single_disclosure")))
        prior = conn.execute(select(s.consent).where(s.consent.c.id == row["id"])).first()
        if prior is not None:
            same_youth = prior.tenant_id == tenant() and prior.youth_id == youth_id
            if not same_youth or not (conditional or all(getattr(prior, k) == values[k] for k in _CONSENT_FIELDS)):
                abort(409, description=f"a different consent already has the identifier {row['id']!r}")
            stored, created = dict(prior._mapping), False
        else:
            conn.execute(s.consent.insert().values(id=row["id"], tenant_id=tenant(), youth_id=youth_id, source="fhir",
                                                   version=1, updated_at=utcnow(), **values))
            stored = dict(conn.execute(select(s.consent).where(s.consent.c.id == row["id"])).one()._mapping)
            created = True
    audit("consent-create", youth_id, "permit", {"consent": row["id"], "scope": row["scope"],
                                                 "recipients": row["recipients"], "created": created})
    res = consent_to_fhir(stored, patient_reference=f"Patient/{youth_id}")
    return fhir_response(res, 201 if created else 200, etag_version=stored["version"],
                         headers={"Location": f"/fhir/Consent/{row['id']}"})


@fhir.post("/Consent/<consent_id>/$revoke")
@require("system/Consent.write", "system/Consent.u", "system/Consent.cud", "system/*.write")
def revoke_consent(consent_id: str):
    c = s.consent.c
    with write_tx(engine()) as conn:
        row = conn.execute(select(s.consent).where(and_(c.tenant_id == tenant(), c.id == consent_id))).first()
        if row is None or not _may_manage_consents(conn, row.youth_id):
            abort(404, description=f"Consent/{consent_id} is not known")
        if row.status != "revoked":
            conn.execute(update(s.consent).where(c.id == consent_id).values(
                status="revoked", revoked_on=today(), version=row.version + 1, updated_at=utcnow()))
        stored = dict(conn.execute(select(s.consent).where(c.id == consent_id)).one()._mapping)
    audit("consent-revoke", row.youth_id, "permit", {"consent": consent_id})
    return fhir_response(consent_to_fhir(stored, patient_reference=f"Patient/{row.youth_id}"),
                         etag_version=stored["version"])
