"""Who the requester is to this youth, established from the store at the time of the request."""
from __future__ import annotations

from datetime import date

import orjson
from sqlalchemy import and_, select

from ..ingest.sealing import unseal
from ..store import schema as s

# policy requester role -> care_assignment role from the CWS extract
ASSIGNMENT_ROLE = {
    "county_social_worker": "social_worker",
    "probation_officer": "probation_officer",
    "youth_attorney": "attorney",
    "casa": "casa",
    "caregiver": "caregiver",
    "education_rights_holder": "education_rights_holder",
}
PROVIDER_ROLES = ("treating_provider", "mental_health_provider")
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def _active(a, as_of: date) -> bool:
    """In force on the day; an assignment added in the gateway counts only once approved."""
    if a.get("source") == "gateway" and not a.get("approved_by"):
        return False
    return a["start_date"] <= as_of and (a["end_date"] is None or as_of <= a["end_date"])


def _provider_of(conn, tenant: str, youth_id: str, npi: str) -> bool:
    """A treating relationship: the provider (by NPI) appears in the youth's health records."""
    r = s.resource.c
    rows = conn.execute(select(r.body, r.key_id, r.category).where(and_(
        r.tenant_id == tenant, r.youth_id == youth_id, r.standard == "fhir", r.deleted.is_(False),
        r.rtype.in_(["Practitioner", "PractitionerRole"]))))
    needle = npi.encode()
    for row in rows:
        body = unseal(tenant, row.category, row.body, row.key_id)
        if needle not in body:
            continue
        for ident in orjson.loads(body).get("identifier") or []:
            if ident.get("value") == npi and (ident.get("system") in (NPI_SYSTEM, None, "")
                                              or "2.16.840.1.113883.4.6" in str(ident.get("system"))):
                return True
    return False


def _school_relation(conn, tenant: str, youth_id: str, school_id: str | None, as_of: date) -> str:
    if not school_id:
        return "unrelated"
    r = s.resource.c
    rows = conn.execute(select(r.body, r.key_id, r.category).where(and_(
        r.tenant_id == tenant, r.youth_id == youth_id, r.standard == "edfi", r.deleted.is_(False),
        r.rtype == "studentSchoolAssociations")))
    relation = "unrelated"
    for row in rows:
        ssa = orjson.loads(unseal(tenant, row.category, row.body, row.key_id))
        if str((ssa.get("schoolReference") or {}).get("schoolId")) != str(school_id):
            continue
        exit_date = ssa.get("exitWithdrawDate")
        if exit_date is None or date.fromisoformat(exit_date) >= as_of:
            return "receiving"
        relation = "school_of_origin"
    return relation


def requester_facts(conn, tenant: str, requester, youth_id: str, assignments: list[dict], as_of: date) -> dict:
    """The `requester` object of the policy request, with its relationship flags."""
    out = {"role": requester.role, "organization": requester.organization or ""}
    role = requester.role
    if role in ASSIGNMENT_ROLE:
        wanted = ASSIGNMENT_ROLE[role]
        related = bool(requester.user_id) and any(
            a["role"] == wanted and a["person_id"] == requester.user_id and _active(a, as_of) for a in assignments)
        out["on_caseload" if role == "county_social_worker" else "assigned_to_youth"] = related
    elif role in PROVIDER_ROLES:
        out["assigned_to_youth"] = bool(requester.user_id) and _provider_of(conn, tenant, youth_id, requester.user_id)
    elif role == "school":
        out["school_relation"] = _school_relation(conn, tenant, youth_id, requester.organization, as_of)
    return out
