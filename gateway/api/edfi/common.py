"""Shared pieces of the Ed-Fi API views: collections, Ed-Fi problem types, row <-> JSON."""
from __future__ import annotations

from datetime import timezone

from flask import Response, current_app

from adapters import edfi_common, edfi_schema
from adapters.base import natural_key
from adapters.edfi_extra import key_of

from ..errors import problem

API_ROOT = "/data/v3"
EXTENSION_COLLECTIONS = {"studentSchoolAttendanceSummaries": "hep"}   # our `hep` extension namespace
COLLECTIONS = {c: EXTENSION_COLLECTIONS.get(c, "ed-fi") for c in edfi_schema.COLLECTIONS}
_BY_LOWER = {c.lower(): c for c in COLLECTIONS}

# Ed-Fi ODS/API 7.x problem types (notes/edfi-sis.md 3)
T_BAD = "urn:ed-fi:api:bad-request"
T_VALIDATION = "urn:ed-fi:api:bad-request:data-validation-failed"
T_KEY_CHANGE = "urn:ed-fi:api:bad-request:data-validation-failed:key-change-not-supported"
T_PARAMS = "urn:ed-fi:api:bad-request:parameter-validation-failed"
T_AUTHZ = "urn:ed-fi:api:security:authorization"
T_NOT_FOUND = "urn:ed-fi:api:not-found"
T_UNRESOLVED = "urn:ed-fi:api:data-conflict:unresolved-reference"
T_DEPENDENT = "urn:ed-fi:api:data-conflict:dependent-item-exists"
T_LOCK = "urn:ed-fi:api:optimistic-lock-failed"
T_MEDIA = "urn:ed-fi:api:unsupported-media-type"
T_TOO_LARGE = "urn:ed-fi:api:request-too-large"
# ours: the record is about someone who is not a youth in foster care in this county
T_NOT_IN_CARE = "urn:hep:edfi:not-a-youth-in-care"
T_HELD = "urn:hep:edfi:held-for-identity-review"


def collection_of(namespace: str, resource: str) -> str | None:
    """Canonical collection name (routes are case-insensitive), or None."""
    coll = _BY_LOWER.get(resource.lower())
    if coll is None or COLLECTIONS[coll] != namespace.lower():
        return None
    return coll


def path_of(coll: str, rid: str | None = None) -> str:
    base = f"{API_ROOT}/{COLLECTIONS[coll]}/{coll}"
    return f"{base}/{rid}" if rid else base


def etag_of(row) -> str:
    return f"{row.version}-{row.content_hash[:16]}"


def last_modified(row) -> str:
    ts = row.updated_at
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_json(row, body: dict) -> dict:
    out = {"id": row.id}
    out.update(body)
    out["_etag"] = etag_of(row)
    out["_lastModifiedDate"] = last_modified(row)
    return out


def json_path(field: str) -> str:
    """"otherNames.0.firstName" -> "$.otherNames[0].firstName" (Ed-Fi validationErrors keys)."""
    if field.startswith("$"):
        return field
    out = "$"
    for part in field.split("."):
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out


def validation_errors(errs) -> dict:
    out: dict[str, list[str]] = {}
    for field, msg in errs:
        out.setdefault(json_path(field), []).append(msg)
    return out


def bad(detail: str, type_: str = T_BAD, errors: dict | None = None) -> Response:
    return problem(400, "Bad Request", detail, type_=type_, errors=errors)


def not_found(detail: str = "the resource was not found") -> Response:
    return problem(404, "Not Found", detail, type_=T_NOT_FOUND)


def forbidden(detail: str) -> Response:
    return problem(403, "Forbidden", detail, type_=T_AUTHZ)


def conflict(detail: str, type_: str = T_UNRESOLVED, errors: dict | None = None) -> Response:
    return problem(409, "Conflict", detail, type_=type_, errors=errors)


def tenant() -> str:
    return current_app.extensions["hep.settings"].tenant


def keys_for(coll: str, body: dict) -> list[str]:
    """Natural keys under which this resource may be stored, canonical first.

    Canonical: `natural_key(*edfi_common.key_parts(...))`, as documented in edfi_common and computed
    by the CALPADS adapter. adapters.edfi_extra.key_of (OneRoster, SIF, Ed-Fi XML/JSON files) prefixes
    the collection name; a resource those adapters stored is found (and updated) under that key too,
    so the API never creates a second row for one Ed-Fi identity."""
    out = []
    try:
        out.append(natural_key(*edfi_common.key_parts(coll, body)))
    except (KeyError, TypeError):
        pass
    try:
        legacy = key_of(coll, body)
    except (KeyError, TypeError):
        legacy = None
    if legacy is not None and legacy not in out:
        out.append(legacy)
    return out
