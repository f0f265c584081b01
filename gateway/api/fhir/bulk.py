"""FHIR Bulk Data export (HL7 Bulk Data Access IG): kick-off, status, files, cancel; and Groups.

  GET /fhir/$export                     system export (every youth)        } Prefer: respond-async
  GET /fhir/Group/<id>/$export          one office or caseload             } -> 202 + Content-Location
  GET /fhir/$export-status/<job>        202 (X-Progress, Retry-After) | 200 manifest | 500 OperationOutcome
  DELETE /fhir/$export-status/<job>     cancel, files deleted -> 202
  GET /fhir/$export-file/<job>/<name>   an NDJSON file (same bearer token; only the client that asked)
  GET /fhir/Group, GET /fhir/Group/<id> the Groups (members: youth whose identity the requester may see)

Parameters: _type, _since, _outputFormat (application/fhir+ndjson, application/ndjson, ndjson).
Scopes: without _type the export holds the types the token's scopes cover (system/*.read covers
all); with _type every named type needs system/<Type>.read (.rs, .r). The job (gateway/export/job.py)
decides per youth and category as a single read does. docs/bulk-export.md.
"""
from __future__ import annotations

import shutil

from flask import Response, abort, request, send_file
from sqlalchemy import and_, update

from ... import jobs
from ...auth import current_requester, require
from ...clock import utcnow
from ...export import groups
from ...export.params import (FHIR_TYPES, HEP_RECORD, OUTPUT_FORMATS, SUPPORTED_TYPES, export_dir, parse_since,
                              parse_types, requester_to_params)
from ...store import schema as s
from ...store.engine import write_tx
from .. import engine, settings
from ..errors import operation_outcome
from . import CAPABILITIES, SYSTEM_OPERATIONS, fhir
from .common import as_of, audit, disclose, tenant
from .wire import fhir_response

EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
GROUP_EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
SYSTEM_OPERATIONS.append({"name": "export", "definition": EXPORT_DEF})
CAPABILITIES["Group"] = {"interaction": ["read", "search-type"], "searchParam": [],
                         "operation": [{"name": "export", "definition": GROUP_EXPORT_DEF}]}
KNOWN_PARAMS = {"_type", "_since", "_outputFormat"}
RETRY_AFTER = "5"


def _scopes_for(rtype: str) -> tuple[str, ...]:
    return (f"system/{rtype}.read", f"system/{rtype}.rs", f"system/{rtype}.r")


def _base() -> str:
    return settings().base_url.rstrip("/") + "/fhir"


def _kick_off(group_id: str | None):
    who = current_requester()
    if "respond-async" not in request.headers.get("Prefer", ""):
        abort(400, description="a Bulk Data kick-off needs the header Prefer: respond-async")
    accept = request.headers.get("Accept", "application/fhir+json")
    if not any(a in accept for a in ("application/fhir+json", "application/json", "*/*")):
        abort(400, description="Accept must be application/fhir+json")
    unknown = sorted(k for k in request.args if k not in KNOWN_PARAMS and k != "_format")
    if unknown:
        abort(400, description=f"unsupported parameter(s): {', '.join(unknown)}; this server supports "
                               f"{', '.join(sorted(KNOWN_PARAMS))}")
    fmt = request.args.get("_outputFormat", "application/fhir+ndjson")
    if fmt not in OUTPUT_FORMATS:
        abort(400, description=f"_outputFormat {fmt!r} is not supported; use one of {', '.join(OUTPUT_FORMATS)}")
    try:
        types = parse_types(",".join(request.args.getlist("_type")))
    except ValueError as e:
        abort(400, description=str(e))
    since = None
    if request.args.get("_since"):
        try:
            since = parse_since(request.args["_since"]).isoformat()
        except ValueError:
            abort(400, description="_since must be a FHIR instant, e.g. 2026-01-01T00:00:00Z")
    if types is None:
        types = [t for t in FHIR_TYPES if who.has_scope(*_scopes_for(t))]
        if not types:
            return operation_outcome(403, "the access token holds no scope allowing a bulk export "
                                          "(system/*.read or system/<Type>.read)", "forbidden")
        if len(types) == len(FHIR_TYPES):
            types = None        # every FHIR type (HepRecord only when asked for by name)
    else:
        missing = [t for t in types if not who.has_scope(*_scopes_for(t))]
        if missing:
            return operation_outcome(403, f"the access token holds no scope for {', '.join(missing)} "
                                          f"(needs system/<Type>.read)", "forbidden")
    today = as_of()
    if group_id is not None:
        with engine().connect() as conn:
            try:
                groups.member_query(conn, tenant(), group_id, today)
            except groups.UnknownGroup:
                abort(404, description=f"Group/{group_id} is not known")
    now = utcnow()
    params = {"requester": requester_to_params(who), "types": types, "since": since, "group": group_id,
              "output_format": fmt, "as_of": today.isoformat(), "transaction_time": now.isoformat(),
              "request": settings().base_url.rstrip("/") + request.full_path.rstrip("?"), "base_url": settings().base_url}
    job_id = jobs.enqueue(engine(), tenant(), "export", params, who.client_id)
    audit("$export", None, "permit", {"job": job_id, "types": types, "since": since, "group": group_id,
                                      "query": request.query_string.decode()[:500]})
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational",
                                                           "diagnostics": f"export {job_id} accepted"}]}
    return fhir_response(body, status=202, headers={"Content-Location": f"{_base()}/$export-status/{job_id}"})


@fhir.get("/$export")
@require()
def system_export():
    return _kick_off(None)


@fhir.get("/Group/<group_id>/$export")
@require()
def group_export(group_id: str):
    return _kick_off(group_id)


def _own_job(job_id: str):
    """The export job of this client, or 404 (another client's job does not exist for you)."""
    try:
        export_dir(job_id)
    except ValueError:
        abort(404, description="no such export")
    job = jobs.get(engine(), tenant(), job_id)
    if job is None or job.kind != "export" or job.owner != current_requester().client_id[:120] \
            or job.status == "cancelled":
        abort(404, description="no such export")
    return job


def _manifest(job) -> dict:
    r = dict(job.result or {})
    base = _base()
    url = lambda name: f"{base}/$export-file/{job.id}/{name}"   # noqa: E731
    return {"transactionTime": r.get("transactionTime"), "request": r.get("request"), "requiresAccessToken": True,
            "output": [{"type": o["type"], "url": url(o["name"]), "count": o["count"]} for o in r.get("output", [])],
            "error": [{"type": o["type"], "url": url(o["name"]), "count": o["count"]} for o in r.get("error", [])],
            "extension": {"https://hep.lacounty.example/fhir/bulk/youth": r.get("youth")}}


@fhir.get("/$export-status/<job_id>")
@require()
def export_status(job_id: str):
    job = _own_job(job_id)
    if job.status in ("queued", "running"):
        p = job.progress or {}
        total, done = p.get("total"), p.get("done", 0)
        progress = f"{done} of {total} youth ({100 * done // total}%)" if total else job.status
        return Response(status=202, headers={"X-Progress": progress, "Retry-After": RETRY_AFTER})
    if job.status == "failed":
        return operation_outcome(500, f"the export failed: {job.error or 'unknown error'}", "exception")
    resp = Response(fhir_json(_manifest(job)), status=200, mimetype="application/json")
    return resp


def fhir_json(body: dict) -> bytes:
    import orjson
    return orjson.dumps(body)


@fhir.delete("/$export-status/<job_id>")
@require()
def export_cancel(job_id: str):
    job = _own_job(job_id)
    if not jobs.cancel(engine(), tenant(), job.id):
        with write_tx(engine()) as conn:   # a completed export: its files go, its status URL with them
            conn.execute(update(s.job).where(and_(s.job.c.id == job.id, s.job.c.tenant_id == tenant()))
                         .values(status="cancelled"))
    shutil.rmtree(export_dir(job.id), ignore_errors=True)   # a running worker also removes them when it notices
    audit("$export-cancel", None, "permit", {"job": job.id})
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational",
                                                           "diagnostics": f"export {job.id} cancelled; files deleted"}]}
    return fhir_response(body, status=202)


@fhir.get("/$export-file/<job_id>/<name>")
@require()
def export_file(job_id: str, name: str):
    job = _own_job(job_id)
    if job.status != "completed":
        abort(404, description="no such file")
    r = job.result or {}
    entry = next((o for o in list(r.get("output", [])) + list(r.get("error", [])) if o["name"] == name), None)
    if entry is None:          # only names the job wrote; nothing from the URL reaches the file system
        abort(404, description="no such file")
    path = export_dir(job.id) / entry["name"]
    if not path.is_file():
        abort(404, description="no such file")
    audit("$export-file", None, "permit", {"job": job.id, "file": name, "resource_type": entry["type"],
                                           "resource_count": entry["count"]})
    fmt = (job.params or {}).get("output_format") or "application/fhir+ndjson"
    mimetype = "application/fhir+ndjson" if fmt == "ndjson" else fmt
    return send_file(path, mimetype=mimetype, as_attachment=False, conditional=False, etag=False)


# --- Groups ----------------------------------------------------------------------------------

@fhir.get("/Group")
@require("system/Group.read", "system/Group.rs", "system/Group.s")
def list_groups():
    with engine().connect() as conn:
        found = groups.list_groups(conn, tenant(), as_of())
    name = request.args.get("name")
    if name:
        found = [g for g in found if name.lower() in g["name"].lower()]
    audit("search", None, "permit", {"resource_type": "Group", "returned": [g["id"] for g in found][:200]})
    return fhir_response({"resourceType": "Bundle", "type": "searchset", "total": len(found),
                          "entry": [{"fullUrl": f"{_base()}/Group/{g['id']}", "resource": g,
                                     "search": {"mode": "match"}} for g in found]})


@fhir.get("/Group/<group_id>")
@require("system/Group.read", "system/Group.rs", "system/Group.r")
def read_group(group_id: str):
    """The Group with the members whose identity this requester may see (decided per youth)."""
    today = as_of()
    with engine().connect() as conn:
        try:
            sub = groups.member_query(conn, tenant(), group_id, today).subquery()
        except groups.UnknownGroup:
            abort(404, description=f"Group/{group_id} is not known")
        from sqlalchemy import select
        ids = [r.id for r in conn.execute(select(sub.c.id).order_by(sub.c.id))]
        shown = [y for y in ids if disclose(conn, y, ("demographics_identity",)).permitted()]
        name = groups.group_name(conn, tenant(), group_id)
    audit("read", None, "permit", {"resource": f"Group/{group_id}", "members_shown": len(shown),
                                   "members_withheld": len(ids) - len(shown)})
    return fhir_response(groups.group_resource(group_id, name, len(ids), shown))


__all__ = ["SUPPORTED_TYPES", "HEP_RECORD"]
