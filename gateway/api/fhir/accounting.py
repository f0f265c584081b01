"""GET /fhir/AuditEvent?patient=: the accounting of disclosures (HIPAA 164.528, FERPA 99.32,
42 CFR 2.24) for the youth, their education rights holder, or the people assigned to them."""
from __future__ import annotations

from datetime import datetime

from flask import abort, request

from ...audit import accounting, to_audit_event
from ...auth import current_requester, require
from ...clock import today
from ...enforce.relationship import requester_facts
from ...store import schema as s
from .. import engine
from . import CAPABILITIES, fhir
from .common import audit, page_params, searchset, tenant, youth_exists
from .wire import fhir_response

CAPABILITIES["AuditEvent"] = {"interaction": ["search-type"],
                              "searchParam": [{"name": "patient", "type": "reference"},
                                              {"name": "date", "type": "date"}, {"name": "_count", "type": "number"}]}
# who may read a youth's accounting, besides the youth: the ERH and those assigned to the youth
ACCOUNTING_ROLES = ("education_rights_holder", "youth_attorney", "county_social_worker", "casa", "probation_officer")


def _may_read(conn, youth_id: str) -> bool:
    who = current_requester()
    if who.role == "youth":
        client = conn.execute(s.youth.select().with_only_columns(s.youth.c.client_id)
                              .where(s.youth.c.id == youth_id)).scalar()
        return bool(who.user_id) and who.user_id in (youth_id, client)
    if who.role not in ACCOUNTING_ROLES:
        return False
    assignments = [dict(a._mapping) for a in conn.execute(
        s.care_assignment.select().where(s.care_assignment.c.youth_id == youth_id))]
    facts = requester_facts(conn, tenant(), who, youth_id, assignments, today())
    return bool(facts.get("on_caseload") or facts.get("assigned_to_youth"))


@fhir.get("/AuditEvent")
@require("system/AuditEvent.read", "system/AuditEvent.rs", "system/*.read", "system/*.rs")
def audit_events():
    youth_id = (request.args.get("patient") or request.args.get("entity") or "").removeprefix("Patient/")
    if not youth_id:
        abort(400, description="AuditEvent search needs patient=<id>")
    if len(youth_id) > 36:
        abort(404, description="no such patient")
    since = None
    if request.args.get("date"):
        try:
            since = datetime.fromisoformat(request.args["date"].removeprefix("ge"))
        except ValueError:
            abort(400, description="date must be ge<YYYY-MM-DD>")
    count, offset = page_params()
    with engine().connect() as conn:
        if not youth_exists(conn, youth_id) or not _may_read(conn, youth_id):
            allowed = False
        else:
            allowed = True
            rows, total = accounting(conn, tenant(), youth_id, since=since, count=count, offset=offset)
    if not allowed:
        audit("accounting", youth_id, "deny", {"resource_type": "AuditEvent"})
        abort(403, description="only the youth, their education rights holder, or people assigned to the youth "
                               "may read the accounting of disclosures")
    events = [to_audit_event(r) for r in rows]
    audit("accounting", youth_id, "permit", {"resource_type": "AuditEvent", "returned": len(events)})
    return fhir_response(searchset("AuditEvent", events, total, count, offset))
