"""The HEP field view: `GET /hep/v1/youth/<id>` -> the WIC 16010 fields as flat JSON.

For the social worker's phone and for systems that want the passport's fields without FHIR. The
record is gateway/export/hep_record.build over the categories the policy permits this requester
for this youth (decided as for any read, relationship checked against the store); fields of other
categories are absent. Errors are RFC 9457 problem details. Every request is audited. Schema:
docs/hep-api.yaml.
"""
from __future__ import annotations

from flask import Blueprint, Response

from ..auth import current_requester, require
from ..clock import today
from ..enforce import decide_categories
from ..export import hep_record
from ..passport.rows import load_rows, load_schools
from ..store import schema as s
from . import engine, settings
from .errors import problem

bp = Blueprint("hep", __name__, url_prefix="/hep/v1")
SCOPES = ("system/Patient.read", "system/Patient.rs", "system/Patient.r", "system/*.read", "system/*.rs", "system/*.r")


@bp.get("/youth/<youth_id>")
@require(*SCOPES)
def youth_record(youth_id: str):
    from sqlalchemy import and_, select

    from .fhir.common import audit
    import orjson
    tenant = settings().tenant
    as_of = today()
    who = current_requester()
    with engine().connect() as conn:
        y = conn.execute(select(s.youth).where(and_(s.youth.c.tenant_id == tenant, s.youth.c.id == youth_id))).first()
        if y is None:
            return problem(404, "Not Found", f"youth {youth_id} is not known")
        d = decide_categories(conn, tenant, who, youth_id, as_of=as_of)
        allowed = d.permitted()
        if not allowed:
            first = next(iter(d.decisions.values()), None)
            reason = (first or {}).get("reason") or "no decision"
            audit("hep-view", youth_id, "deny", d.audit_entry())
            return problem(403, "Forbidden", reason)
        rows = load_rows(conn, tenant, youth_id, allowed)
        schools = {}
        if "enrollment_school_placement" in allowed:
            schools = load_schools(conn, tenant, [(r.body.get("schoolReference") or {}).get("schoolId")
                                                  for r in rows if r.rtype == "studentSchoolAssociations"])
        rec = hep_record.build(dict(y._mapping), rows, allowed, as_of, schools)
    rec["obligations"] = sorted({o for dec in allowed.values() for o in dec.get("obligations") or ()})
    outcome = "permit-redacted" if any(dec["decision"] == "permit-redacted" for dec in allowed.values()) else "permit"
    audit("hep-view", youth_id, outcome, {**d.audit_entry(), "fields": sorted(k for k in rec if k in hep_record.FIELD_CATEGORIES)})
    return Response(orjson.dumps(rec), status=200, mimetype="application/json")
