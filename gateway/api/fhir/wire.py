"""FHIR wire format: JSON responses with the FHIR media type, `_format` handling, ETags."""
from __future__ import annotations

from datetime import timezone

import orjson
from flask import Response, abort, request

FHIR_JSON = "application/fhir+json"
ACCEPTED_FORMATS = {None, "", "json", "application/json", "application/fhir+json"}


def instant(ts) -> str:
    """A FHIR instant: SQLite hands back naive UTC datetimes; FHIR requires the offset."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.isoformat()


def check_format() -> None:
    fmt = request.args.get("_format")
    if fmt not in ACCEPTED_FORMATS:
        abort(406, description=f"_format {fmt!r} is not supported; this server speaks application/fhir+json")


def fhir_response(body: dict | bytes, status: int = 200, etag_version: str | int | None = None,
                  headers: dict | None = None) -> Response:
    check_format()
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    resp = Response(data, status=status, mimetype=FHIR_JSON)
    if etag_version is not None:
        resp.headers["ETag"] = f'W/"{etag_version}"'
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp
