"""GET /data/v3/ed-fi/{collection}?field=value&offset=&limit=&totalCount=true

Field equality on the collection's top-level scalar properties and on the properties of its
references by bare name (`?schoolId=` matches `schoolReference.schoolId`, `?studentUniqueId=`
`studentReference.studentUniqueId`), as Ed-Fi does. A parameter the collection does not have is a
400 (a misspelt filter must not silently return everything). Sorted by first receipt, then id
(stable across pages). Only records the vendor may see are counted and returned.

Bodies are stored as (possibly encrypted) JSON bytes, so filters run on the decoded body; a
`studentUniqueId` filter is narrowed first to the rows of that student's youth.
"""
from __future__ import annotations

from flask import Response, jsonify
from marshmallow import fields
from sqlalchemy import and_, select

from adapters import edfi_schema

from ...store import schema as s
from . import common as c
from .refs import Access, EdOrgs, load_body
from .write import find_row

DEFAULT_LIMIT, MAX_LIMIT = 25, 500
RESERVED = {"offset", "limit", "totalcount"}
UNSUPPORTED = {"pagesize", "pagetoken", "minchangeversion", "maxchangeversion"}
_FIELDS_CACHE: dict[str, dict[str, list[tuple[str, ...]]]] = {}


def queryable(coll: str) -> dict[str, list[tuple[str, ...]]]:
    """{parameter name (lower case): [json paths]} of a collection."""
    hit = _FIELDS_CACHE.get(coll)
    if hit is not None:
        return hit
    out: dict[str, list[tuple[str, ...]]] = {"id": [("id",)]}
    declared = edfi_schema.schema_of(coll)._declared_fields
    for name, f in declared.items():
        if isinstance(f, fields.Nested):
            if name.endswith("Reference"):
                for sub in f.nested._declared_fields:
                    out.setdefault(sub.lower(), []).append((name, sub))
        elif not isinstance(f, fields.List) and not name.startswith("_"):
            out.setdefault(name.lower(), []).append((name,))
    _FIELDS_CACHE[coll] = out
    return out


def _matches(value, wanted: str) -> bool:
    if isinstance(value, bool):
        return wanted.lower() == ("true" if value else "false")
    if isinstance(value, (int, float)):
        try:
            return float(wanted) == float(value)
        except ValueError:
            return False
    return isinstance(value, str) and value == wanted


def _get(doc: dict, path: tuple[str, ...]):
    node = doc
    for p in path:
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


def _int_param(args, name: str, default: int, lo: int, hi: int | None):
    raw = args.get(name)
    if raw is None or raw == "":
        return default, None
    try:
        v = int(raw)
    except ValueError:
        return None, f"{name} must be an integer"
    if v < lo or (hi is not None and v > hi):
        return None, f"{name} must be between {lo} and {hi}" if hi is not None else f"{name} must be at least {lo}"
    return v, None


def run_query(engine, tenant: str, who, coll: str, args) -> Response:
    lower = {k.lower(): k for k in args}
    errors: dict[str, list[str]] = {}
    offset, e1 = _int_param(args, lower.get("offset", "offset"), 0, 0, None)
    limit, e2 = _int_param(args, lower.get("limit", "limit"), DEFAULT_LIMIT, 0, MAX_LIMIT)
    for name, e in (("offset", e1), ("limit", e2)):
        if e:
            errors[name] = [e]
    total_raw = args.get(lower.get("totalcount", "totalCount"), "false").lower()
    if total_raw not in ("true", "false"):
        errors["totalCount"] = ["totalCount must be true or false"]
    known = queryable(coll)
    filters: list[tuple[list[tuple[str, ...]], str]] = []
    for lk, k in lower.items():
        if lk in RESERVED:
            continue
        if lk in UNSUPPORTED:
            errors[k] = [f"{k} is not supported by this gateway: use offset/limit"]
        elif lk not in known:
            errors[k] = [f"{coll} has no property {k!r}"]
        else:
            filters.append((known[lk], args.get(k)))
    if errors:
        return c.bad("the query parameters are not valid", c.T_PARAMS, errors)
    r = s.resource.c
    cond = [r.tenant_id == tenant, r.standard == "edfi", r.rtype == coll, r.deleted.is_(False)]
    page, total = [], 0
    with engine.connect() as conn:
        uid = args.get(lower.get("studentuniqueid", "studentUniqueId"))
        if uid:
            student = find_row(conn, tenant, "students", body={"studentUniqueId": uid})
            if student is None:
                return _answer([], 0, total_raw == "true")
            if student.youth_id and coll != "students":
                cond.append(r.youth_id == student.youth_id)
        access = Access(conn, tenant, who, EdOrgs(conn, tenant))
        if not who.lea_ids:
            return _answer([], 0, total_raw == "true")
        if coll in ("students", "studentAssessments", "disciplineActions") and not uid:
            access.preload()
        rows = conn.execution_options(yield_per=500).execute(
            select(s.resource).where(and_(*cond)).order_by(r.received_at, r.id))
        for row in rows:
            body = load_body(tenant, row)
            doc = dict(body, id=row.id)
            if not all(any(_matches(_get(doc, p), v) for p in paths) for paths, v in filters):
                continue
            if not access.row_visible(coll, row, body):
                continue
            if total >= offset and len(page) < limit:
                page.append(c.as_json(row, body))
            total += 1
            if total_raw != "true" and len(page) >= limit:
                break
    return _answer(page, total, total_raw == "true")


def _answer(page: list, total: int, with_total: bool) -> Response:
    resp = jsonify(page)
    if with_total:
        resp.headers["Total-Count"] = str(total)
    return resp
