"""The Ed-Fi API SIS vendors push to: `/data/v3/ed-fi/<collection>[/<id>]` (and `/data/v3/hep/...`
for our extension collection), ODS/API conventions (notes/edfi-sis.md 3; docs/edfi-api.md).

    POST   /data/v3/ed-fi/{collection}        upsert on the natural key: 201 created / 200 updated
    GET    /data/v3/ed-fi/{collection}        query: field equality, offset/limit, totalCount
    GET    /data/v3/ed-fi/{collection}/{id}   one resource (ETag; 304 on If-None-Match)
    PUT    /data/v3/ed-fi/{collection}/{id}   full replacement: 204 (natural key change: 400)
    DELETE /data/v3/ed-fi/{collection}/{id}   204; the resource is marked deleted with a new version

Every error is RFC 9457 problem details with Ed-Fi `validationErrors` and `correlationId`. Writes
need scope `edfi` and a client registered for its districts (`hep clients add --kind sis_vendor
--lea ...`); a vendor reads and writes only its districts' records.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ...auth import current_requester, require
from . import common as c
from .query import run_query
from .refs import Access, EdOrgs, load_body
from .write import delete, find_row, read_json_body, write

SCOPE = "edfi"

bp = Blueprint("edfi_api", __name__)


def _engine():
    return current_app.extensions["hep.engine"]


def _unknown(namespace: str, resource: str) -> Response:
    return c.not_found(f"no Ed-Fi resource /{namespace}/{resource} here; collections: "
                       + ", ".join(f"/{ns}/{coll}" for coll, ns in sorted(c.COLLECTIONS.items())))


def _visible_row(coll: str, rid: str):
    """(row, body) of a live resource this requester may see, else (None, None). A resource of another
    district answers 404 like a missing one: ids are derived from natural keys, so a 403 would tell a
    vendor whether some other district's student is a youth in care."""
    tenant = c.tenant()
    if len(rid) > 36:
        return None, None
    with _engine().connect() as conn:
        row = find_row(conn, tenant, coll, rid=rid)
        if row is None:
            return None, None
        body = load_body(tenant, row)
        access = Access(conn, tenant, current_requester(), EdOrgs(conn, tenant))
        if not access.row_visible(coll, row, body):
            return None, None
    return row, body


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or f'"{etag}"' in tags or etag in tags or f'W/"{etag}"' in tags


def _target(namespace: str, resource: str, rid: str, hint: str = ""):
    """(collection, row, body, error): the resource this requester may address by id, or why not."""
    coll = c.collection_of(namespace, resource)
    if coll is None:
        return None, None, None, _unknown(namespace, resource)
    row, body = _visible_row(coll, rid)
    if row is None:
        return coll, None, None, c.not_found(f"no {coll} resource with id {rid}" + (f" ({hint})" if hint else ""))
    return coll, row, body, None


def _precondition(row):
    """412 when If-Match names another version (optimistic locking, as the Ed-Fi API does)."""
    wanted = request.headers.get("If-Match")
    if wanted and not _etag_matches(wanted, c.etag_of(row)):
        from ..errors import problem
        return problem(412, "Precondition Failed", "the resource changed since you read it (If-Match)",
                       type_=c.T_LOCK)
    return None


@bp.post(f"{c.API_ROOT}/<namespace>/<resource>")
@require(SCOPE)
def post(namespace: str, resource: str):
    coll = c.collection_of(namespace, resource)
    if coll is None:
        return _unknown(namespace, resource)
    body, err = read_json_body()
    if err is not None:
        return err
    return write(current_requester(), coll, body, method="POST")


@bp.get(f"{c.API_ROOT}/<namespace>/<resource>")
@require(SCOPE)
def query(namespace: str, resource: str):
    coll = c.collection_of(namespace, resource)
    if coll is None:
        return _unknown(namespace, resource)
    return run_query(_engine(), c.tenant(), current_requester(), coll, request.args)


@bp.get(f"{c.API_ROOT}/<namespace>/<resource>/<rid>")
@require(SCOPE)
def read(namespace: str, resource: str, rid: str):
    coll, row, body, err = _target(namespace, resource, rid)
    if err is not None:
        return err
    etag = c.etag_of(row)
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        resp = Response(status=304)
    else:
        resp = jsonify(c.as_json(row, body))
    resp.headers["ETag"] = f'"{etag}"'
    return resp


@bp.put(f"{c.API_ROOT}/<namespace>/<resource>/<rid>")
@require(SCOPE)
def replace(namespace: str, resource: str, rid: str):
    body, err = read_json_body()
    if err is not None:
        return err
    coll, row, _, err = _target(namespace, resource, rid, "PUT never creates: POST it")
    if err is None:
        err = _precondition(row)
    if err is not None:
        return err
    return write(current_requester(), coll, body, existing=row, method="PUT")


@bp.delete(f"{c.API_ROOT}/<namespace>/<resource>/<rid>")
@require(SCOPE)
def remove(namespace: str, resource: str, rid: str):
    coll, row, _, err = _target(namespace, resource, rid)
    if err is None:
        err = _precondition(row)
    if err is not None:
        return err
    return delete(current_requester(), coll, row)
