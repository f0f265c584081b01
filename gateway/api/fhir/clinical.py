"""Search and read of the youth's health resources, filtered to permitted categories.

`patient` is required: one youth per request, so every result has passed that youth's
decisions. `_include=<Type>:patient` adds the Patient only when demographics are permitted;
`_revinclude=Provenance:target` adds only Provenance whose targets are all released matches.
"""
from __future__ import annotations

from datetime import date

import orjson
from flask import abort, request
from sqlalchemy import and_, select

from ...auth import require
from ...ingest.sealing import unseal
from ...store import schema as s
from .. import engine
from . import CAPABILITIES, fhir
from .common import audit, disclose, page_params, searchset, tenant, youth_exists
from .release import label, redacted_away
from .wire import fhir_response, instant

SEARCHABLE = ("Immunization", "AllergyIntolerance", "MedicationStatement", "Condition", "Encounter",
              "Observation", "Procedure", "DocumentReference")
DATE_PATHS = {
    "Immunization": ("occurrenceDateTime",), "AllergyIntolerance": ("onsetDateTime", "recordedDate"),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "Condition": ("onsetDateTime", "recordedDate"), "Encounter": ("period.start",),
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "issued"), "Procedure": ("performedDateTime",
                                                                                           "performedPeriod.start"),
    "DocumentReference": ("date",),
}
_PARAMS = [{"name": "patient", "type": "reference"}, {"name": "category", "type": "token"},
           {"name": "date", "type": "date"}, {"name": "_count", "type": "number"}]
for _t in SEARCHABLE:
    CAPABILITIES[_t] = {"interaction": ["read", "search-type"], "searchParam": _PARAMS}


def _date_of(resource: dict, rtype: str) -> str | None:
    for path in DATE_PATHS.get(rtype, ()):
        node = resource
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str):
            return node[:10]
    return None


def _date_ok(value: str | None, filters: list[str]) -> bool:
    for f in filters:
        op, day = (f[:2], f[2:]) if f[:2] in ("eq", "ge", "le", "gt", "lt") else ("eq", f)
        try:
            date.fromisoformat(day[:10])
        except ValueError:
            abort(400, description=f"date {f!r} is not a date (use e.g. ge2025-01-01)")
        if value is None:
            return False
        v, d = value[:len(day[:10])], day[:10]
        if not {"eq": v == d, "ge": v >= d, "le": v <= d, "gt": v > d, "lt": v < d}[op]:
            return False
    return True


def _category_ok(resource: dict, data_category: str, wanted: str | None) -> bool:
    if not wanted:
        return True
    code = wanted.rpartition("|")[2]
    if code == data_category:
        return True
    cats = resource.get("category") or []
    cats = cats if isinstance(cats, list) else [cats]
    for cc in cats:
        if isinstance(cc, str):            # AllergyIntolerance.category is a list of codes
            if cc == code:
                return True
        elif isinstance(cc, dict) and any(c.get("code") == code for c in cc.get("coding") or []):
            return True
    return False


def _rows(conn, youth_id: str, rtype: str, categories):
    r = s.resource.c
    return conn.execute(select(r.id, r.category, r.body, r.key_id, r.version, r.updated_at).where(and_(
        r.tenant_id == tenant(), r.youth_id == youth_id, r.standard == "fhir", r.rtype == rtype,
        r.deleted.is_(False), r.category.in_(list(categories)))).order_by(r.id))


def _resource(row) -> dict:
    res = orjson.loads(unseal(tenant(), row.category, row.body, row.key_id))
    meta = res.setdefault("meta", {})
    meta["versionId"] = str(row.version)
    meta["lastUpdated"] = instant(row.updated_at)
    return res


def _search(rtype: str):
    youth_id = (request.args.get("patient") or request.args.get("subject") or "").removeprefix("Patient/")
    if not youth_id:
        abort(400, description=f"{rtype} search needs patient=<id> (whole-population access is Bulk Data $export)")
    unsupported = [k for k in request.args if k.startswith("_") and k not in ("_count", "_offset", "_include",
                                                                                "_revinclude", "_format")]
    if unsupported:
        abort(400, description=f"unsupported parameter(s): {', '.join(unsupported)}")
    count, offset = page_params()
    with engine().connect() as conn:
        if not youth_exists(conn, youth_id):
            return fhir_response(searchset(rtype, [], 0, count, offset))
        d = disclose(conn, youth_id)
        allowed = d.permitted()
        matches = []
        for row in _rows(conn, youth_id, rtype, allowed) if allowed else []:
            res = _resource(row)
            decision = allowed[row.category]
            if redacted_away(res, decision.get("redactions")):
                continue
            if not _category_ok(res, row.category, request.args.get("category")):
                continue
            if not _date_ok(_date_of(res, rtype), request.args.getlist("date")):
                continue
            matches.append(label(res, decision))
        page = matches[offset:offset + count]
        extra = _includes(conn, youth_id, rtype, page, allowed)
    body = searchset(rtype, page, len(matches), count, offset)
    for res in extra:
        body["entry"].append({"fullUrl": f"{res['resourceType']}/{res['id']}", "resource": res,
                              "search": {"mode": "include"}})
    audit("search", youth_id, "permit",
          {**d.audit_entry(), "resource_type": rtype, "returned": [r["id"] for r in page + extra]})
    return fhir_response(body)


def _includes(conn, youth_id: str, rtype: str, page: list[dict], allowed: dict) -> list[dict]:
    out = []
    if request.args.get("_include") in (f"{rtype}:patient", "*:patient", f"{rtype}:subject") and page:
        if "demographics_identity" in allowed:
            from .patient import _youth, patient_resource
            out.append(patient_resource(_youth(conn, youth_id), allowed["demographics_identity"]))
    elif request.args.get("_include"):
        abort(400, description="only _include=<Type>:patient is supported")
    rev = request.args.get("_revinclude")
    if rev == "Provenance:target" and page:
        released = {f"{r['resourceType']}/{r['id']}" for r in page}
        for row in _rows(conn, youth_id, "Provenance", allowed):
            prov = _resource(row)
            targets = {t.get("reference") for t in prov.get("target") or []}
            if targets and targets <= released:   # never reveal a Provenance of a withheld resource
                out.append(label(prov, allowed[row.category]))
    elif rev:
        abort(400, description="only _revinclude=Provenance:target is supported")
    return out


def _read(rtype: str, rid: str):
    r = s.resource.c
    with engine().connect() as conn:
        row = conn.execute(select(r.id, r.youth_id, r.category, r.body, r.key_id, r.version, r.updated_at).where(and_(
            r.tenant_id == tenant(), r.standard == "fhir", r.rtype == rtype, r.id == rid,
            r.deleted.is_(False)))).first()
        if row is None or row.youth_id is None:
            abort(404, description=f"{rtype}/{rid} is not known")
        d = disclose(conn, row.youth_id, (row.category,))
        decision = d.decisions[row.category]
        res = _resource(row) if decision["decision"] in ("permit", "permit-redacted") else None
    if res is None or redacted_away(res, decision.get("redactions")):
        audit("read", row.youth_id, "deny", {**d.audit_entry(), "resource": f"{rtype}/{rid}"})
        abort(404, description=f"{rtype}/{rid} is not known")   # a withheld resource does not exist for you
    audit("read", row.youth_id, "permit", {**d.audit_entry(), "resources": [f"{rtype}/{rid}"]})
    return fhir_response(label(res, decision), etag_version=row.version)


def _register(rtype: str) -> None:
    scopes = (f"system/{rtype}.read", f"system/{rtype}.rs", "system/*.read", "system/*.rs", f"system/{rtype}.s",
              "system/*.s", f"system/{rtype}.r", "system/*.r")
    fhir.add_url_rule(f"/{rtype}", f"search_{rtype}", require(*scopes)(lambda rtype=rtype: _search(rtype)))
    fhir.add_url_rule(f"/{rtype}/<rid>", f"read_{rtype}", require(*scopes)(lambda rid, rtype=rtype: _read(rtype, rid)))


for _t in SEARCHABLE:
    _register(_t)
