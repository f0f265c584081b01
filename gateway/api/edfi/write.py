"""POST (upsert on the natural key), PUT (replace by id) and DELETE of Ed-Fi resources.

A write is one atomic ingest batch (`gateway.ingest.pipeline.ingest_items`, source system
`edfi-api:<client_id>`), so an API record goes through exactly the path a file record takes:
the same validation and Record as `hep ingest edfi-json` (adapters.edfi_extra), identity linking,
versioning, the passport outbox. Before the batch, the view checks what the pipeline cannot:
references that must resolve (409), the vendor's districts (403) and, for PUT, the natural key.
"""
from __future__ import annotations

import hashlib
import uuid

import orjson
from flask import Response, current_app, g, jsonify, request
from sqlalchemy import and_, select

from adapters.base import Record, Subject
from adapters.edfi_extra import edfi_record, student_subject, validate_and_prune

from ...ingest.pipeline import ingest_items
from ...store import schema as s
from ..errors import problem
from . import common as c
from .refs import Access, EdOrgs, dependency_refs, edorg_refs, load_body, source_system_of, student_uid

FORMAT = "edfi-api"
META = ("_etag", "_lastModifiedDate", "link")
_ID_PREFERENCE = ("cws-client", "ssid")


def find_row(conn, tenant: str, coll: str, *, rid: str | None = None, key: str | None = None,
             body: dict | None = None, live: bool = True):
    """The stored row by id, by natural key, or by the natural keys of `body` (c.keys_for)."""
    r = s.resource.c
    cond = [r.tenant_id == tenant, r.standard == "edfi", r.rtype == coll]
    if rid is not None:
        cond.append(r.id == rid)
    elif key is not None:
        cond.append(r.natural_key == key)
    else:
        keys = c.keys_for(coll, body or {})
        if not keys:
            return None
        cond.append(r.natural_key.in_(keys))
    if live:
        cond.append(r.deleted.is_(False))
    rows = conn.execute(select(s.resource).where(and_(*cond))).all()
    if len(rows) > 1 and rid is None and key is None:
        keys = c.keys_for(coll, body or {})
        rows.sort(key=lambda row: keys.index(row.natural_key))
    return rows[0] if rows else None


def _engine():
    return current_app.extensions["hep.engine"]


def read_json_body():
    """(dict, None) or (None, problem response)."""
    settings = current_app.extensions["hep.settings"]
    ctype = (request.mimetype or "").lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        return None, problem(415, "Unsupported Media Type", "send the resource as application/json",
                             type_=c.T_MEDIA)
    limit = settings.max_json_bytes
    if request.content_length is not None and request.content_length > limit:
        return None, problem(413, "Payload Too Large", f"a resource body may be at most {limit:,} bytes",
                             type_=c.T_TOO_LARGE)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        return None, problem(413, "Payload Too Large", f"a resource body may be at most {limit:,} bytes",
                             type_=c.T_TOO_LARGE)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        return None, c.bad(f"the request body is not valid JSON: {e}", c.T_VALIDATION)
    if not isinstance(body, dict):
        return None, c.bad("the request body must be a JSON object", c.T_VALIDATION)
    return body, None


def _subject_for(conn, tenant: str, coll: str, body: dict, source: str, student_row) -> Subject | None:
    """The file adapter's Subject; when the referenced student is already linked to a youth, one of
    that youth's identifiers is added, so a record about a student another source sent (e.g. a
    CALPADS district id as studentUniqueId) links to the same youth instead of being lost."""
    subject = student_subject(coll, body, source=source, ssid_mode="auto")
    if subject is None or coll == "students" or student_row is None or not student_row.youth_id:
        return subject
    yi = s.youth_identifier.c
    rows = conn.execute(select(yi.system, yi.value).where(and_(
        yi.tenant_id == tenant, yi.youth_id == student_row.youth_id, yi.system.in_(_ID_PREFERENCE)))).all()
    rows.sort(key=lambda r: _ID_PREFERENCE.index(r.system))
    if not rows:
        return subject
    extra = (rows[0].system, rows[0].value)
    if extra in subject.identifiers:
        return subject
    return Subject(identifiers=subject.identifiers + (extra,), given=subject.given, family=subject.family,
                   middle=subject.middle, birth_date=subject.birth_date, sex=subject.sex,
                   postal_code=subject.postal_code, aliases=subject.aliases)


def _authorize(conn, tenant, who, coll, body, existing):
    """(None, the referenced student's row) when the vendor may write `body`; else (the problem
    response (400/403/409), None)."""
    denied = _check(conn, tenant, who, coll, body, existing)
    if isinstance(denied, Response):
        return denied, None
    return None, denied


def _check(conn, tenant, who, coll, body, existing):
    if not who.lea_ids:
        return c.forbidden("this client is registered for no district (hep clients add --lea); it may not write")
    edorgs = EdOrgs(conn, tenant)
    access = Access(conn, tenant, who, edorgs)
    if coll == "schools":
        lea = edorgs.districts_of("schools", body)
        if not lea:
            return c.bad("the gateway needs the school's district to authorize the write",
                         c.T_VALIDATION, {"$.localEducationAgencyReference": [
                             "required: the district (7-digit county-district code) the school belongs to"]})
        if not lea & access.leas:
            return c.forbidden(f"school {body['schoolId']} belongs to district {min(lea):07d}, not one of yours")
    else:
        for path, kind, edorg in edorg_refs(coll, body):
            state, lea = edorgs.lea_of(kind, edorg)
            what = "school" if kind == "school" else "education organization"
            if state == "unknown":
                return c.conflict(
                    f"{what} {edorg} ({path}) is not known to the gateway: POST it to "
                    f"{c.path_of('schools' if kind == 'school' else 'localEducationAgencies')} first",
                    errors={path: [f"{what} {edorg} does not exist"]})
            if state == "no-district":
                return c.conflict(f"school {edorg} ({path}) names no district (localEducationAgencyReference); "
                                  "update the school first", errors={path: ["school has no district"]})
            if lea not in access.leas:
                return c.forbidden(f"{what} {edorg} ({path}) belongs to district {lea:07d}, not one of yours")
    if existing is not None and existing.rtype in ("schools",):
        old = edorgs.districts_of("schools", load_body(tenant, existing)) or set()
        if old and not old & access.leas:
            return c.forbidden(f"school {body['schoolId']} belongs to another district")
    uid = student_uid(coll, body)
    student_row = None
    if uid and coll != "students":
        student_row = find_row(conn, tenant, "students", body={"studentUniqueId": uid})
        if student_row is None:
            return c.conflict(
                f"student {uid} is not known to the gateway: POST the student first (a student who is not a "
                "youth in foster care in this county is not kept, so records about them cannot be stored)",
                errors={"$.studentReference": [f"student {uid} does not exist"]})
    if coll == "students" and existing is not None:
        if existing.source_system != access.own_source and not access.youth_visible(existing.youth_id):
            return c.forbidden(f"student {uid} has no enrollment in your districts: POST the "
                               "studentSchoolAssociation first, then the student")
    for path, target, ref in dependency_refs(coll, body):
        if find_row(conn, tenant, target, body=ref) is None:
            return c.conflict(f"the {target} resource referenced by {path} does not exist: POST it first",
                              errors={path: [f"{target} resource does not exist"]})
    return student_row


def write(who, coll: str, body: dict, *, existing=None, method: str = "POST") -> Response:
    """Validate, authorize and store one resource. existing: the row PUT replaces."""
    tenant = c.tenant()
    engine = _engine()
    body = dict(body)
    for m in META:
        body.pop(m, None)
    if "id" in body:
        rid = body.pop("id")
        if method == "POST":
            return c.bad("resource identifiers are assigned by the server: POST without \"id\", or PUT to "
                         f"{c.path_of(coll, '{id}')}", c.T_VALIDATION, {"$.id": ["not allowed on POST"]})
        if existing is not None and rid != existing.id:
            return c.bad("the body's id differs from the id in the URL", c.T_VALIDATION,
                         {"$.id": ["must equal the id in the URL"]})
    errors, dropped = validate_and_prune(coll, body)
    if errors:
        return c.bad(f"the {coll} resource is not valid ({len(errors)} problem(s))", c.T_VALIDATION,
                     c.validation_errors(errors))
    source = source_system_of(who)
    record = edfi_record(coll, body, {"file": source, "path": request.path}, None)
    keys = c.keys_for(coll, body)
    if existing is not None and existing.natural_key not in keys:
        return c.bad("the natural key of a resource cannot be changed with PUT: DELETE it and POST the new one",
                     c.T_KEY_CHANGE)
    record.key = keys[0]
    recreated = False
    with engine.connect() as conn:
        if existing is None:
            existing = find_row(conn, tenant, coll, body=body, live=False)
        if existing is not None:
            record.key = existing.natural_key      # update the row that holds this identity
            if existing.deleted:
                existing, recreated = None, True
        denied, student_row = _authorize(conn, tenant, who, coll, body, existing)
        if denied is not None:
            return denied
        record.subject = _subject_for(conn, tenant, coll, body, source, student_row)
    result = _ingest(engine, tenant, who, [record], f"{method} {request.path}"[:500])
    return _respond(engine, tenant, coll, record, result, method, dropped, recreated)


def delete(who, coll: str, row) -> Response:
    tenant = c.tenant()
    engine = _engine()
    body = None
    with engine.connect() as conn:
        body = load_body(tenant, row)
        if coll == "students" and row.youth_id:
            uid = body.get("studentUniqueId")
            r = s.resource.c
            for dep in conn.execute(select(r.rtype, r.body, r.key_id, r.category).where(and_(
                    r.tenant_id == tenant, r.youth_id == row.youth_id, r.standard == "edfi", r.rtype != "students",
                    r.deleted.is_(False)))):
                if student_uid(dep.rtype, load_body(tenant, dep)) == uid:
                    return c.conflict(f"student {uid} is referenced by {dep.rtype}: delete those first",
                                      type_=c.T_DEPENDENT)
    record = Record(standard="edfi", type=coll, category=row.category, resource=body,
                    source={"file": source_system_of(who), "path": request.path}, key=row.natural_key,
                    subject=None, action="delete")
    result = _ingest(engine, tenant, who, [record], f"DELETE {request.path}"[:500])
    if result.status != "committed":
        return problem(500, "Internal Server Error", f"the delete was not applied: {result.error or result.status}")
    return Response(status=204)


def _ingest(engine, tenant, who, records, source_name):
    digest = hashlib.sha256(f"{who.client_id}\x1f{g.get('request_id')}\x1f{uuid.uuid4()}".encode()).hexdigest()
    return ingest_items(engine, FORMAT, iter(records), source_name=source_name, digest=digest, tenant=tenant,
                        submitted_by=who.client_id, source_system=source_system_of(who), eager_identity=False)


def _respond(engine, tenant, coll, record, result, method, dropped, recreated=False) -> Response:
    if result.status != "committed":
        return problem(500, "Internal Server Error", f"the write was not applied: {result.error or result.status}")
    if result.out_of_scope:
        return problem(422, "Unprocessable Content",
                       "not a youth in foster care in this county; not stored. The gateway keeps education "
                       "records only for youth in care (data minimisation); nothing about this student was kept.",
                       type_=c.T_NOT_IN_CARE, batchId=result.batch_id)
    if result.pending_review:
        resp = jsonify({"status": "held-for-identity-review", "type": c.T_HELD, "batchId": result.batch_id,
                        "correlationId": g.get("request_id"),
                        "detail": "the student may be a youth in care but the identity match is uncertain: the "
                                  "record is held until a person at the county confirms or rejects the match, and "
                                  "is stored only if confirmed"})
        resp.status_code = 202
        return resp
    if result.rejected:
        return c.bad("; ".join(p["message"] for p in result.problems[:5]), c.T_VALIDATION)
    with engine.connect() as conn:
        row = find_row(conn, tenant, coll, key=record.key)
    if row is None:  # pragma: no cover - a committed upsert always leaves the row
        return problem(500, "Internal Server Error", "the resource was not found after the write")
    status = 201 if (result.created or recreated) else (204 if method == "PUT" else 200)
    resp = Response(status=status)
    resp.headers["Location"] = c.path_of(coll, row.id)
    resp.headers["ETag"] = f'"{c.etag_of(row)}"'
    if dropped:
        resp.headers["HEP-Ignored-Properties"] = ",".join(c.json_path(p) for p in dropped)[:1000]
    return resp
