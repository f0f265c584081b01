"""Errors: FHIR OperationOutcome under /fhir, RFC 9457 problem details for the Ed-Fi and other APIs."""
from __future__ import annotations

import logging

from flask import Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("hep.errors")

ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
               406: "not-supported", 409: "conflict", 410: "deleted", 412: "conflict", 413: "too-costly",
               415: "not-supported", 422: "processing", 429: "throttled", 500: "exception", 503: "transient"}


def operation_outcome(status: int, diagnostics: str, code: str | None = None, expression: list[str] | None = None,
                      severity: str = "error") -> Response:
    issue = {"severity": severity, "code": code or ISSUE_CODES.get(status, "processing"), "diagnostics": diagnostics}
    if expression:
        issue["expression"] = expression
    resp = jsonify({"resourceType": "OperationOutcome", "issue": [issue]})
    resp.status_code = status
    resp.mimetype = "application/fhir+json"
    return resp


def problem(status: int, title: str, detail: str, type_: str | None = None, errors: dict | None = None,
            **extra) -> Response:
    body = {"type": type_ or f"urn:hep:problem:{status}", "title": title, "status": status, "detail": detail,
            "correlationId": g.get("request_id")}
    if errors:
        body["validationErrors"] = errors
    body.update(extra)
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    return resp


def _database_unavailable(e: Exception) -> bool:
    """A lost or refused database connection (sqlalchemy marks it so), not a query error."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    if isinstance(e, DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, OperationalError):
        text = str(e.orig if getattr(e, "orig", None) is not None else e).lower()
        return any(w in text for w in ("connection", "server closed", "could not connect", "terminating",
                                       "shutting down", "the database system is", "database is locked"))
    return False


def _is_api() -> bool:
    return request.path.startswith(("/data/", "/ingest", "/hep/"))


def _is_fhir() -> bool:
    return request.path.startswith("/fhir") or request.path.startswith("/oauth") or request.path.startswith("/.well-known")


def register(app) -> None:
    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if _is_fhir():
            resp = operation_outcome(e.code or 500, e.description or e.name)
        elif request.path.startswith("/data/") or request.path.startswith("/ingest") or request.path.startswith("/hep/"):
            resp = problem(e.code or 500, e.name, e.description or e.name)
        else:
            return e
        for k, v in (e.get_headers() or []):
            if k.lower() not in ("content-type", "content-length"):
                resp.headers[k] = v
        return resp

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if _database_unavailable(e):
            # an outage, not a bug: partners should retry, and nothing was disclosed
            log.warning("store unavailable", extra={"request_id": g.get("request_id")})
            msg = "the gateway's store is unavailable; retry shortly (nothing was disclosed)"
            resp = operation_outcome(503, msg, "transient") if _is_fhir() else (
                problem(503, "Service Unavailable", msg) if _is_api() else Response(msg, status=503, mimetype="text/plain"))
            resp.headers["Retry-After"] = "5"
            return resp
        log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        msg = f"internal error (request {g.get('request_id')}); nothing was disclosed"
        if _is_fhir():
            return operation_outcome(500, msg, "exception")
        if request.path.startswith("/data/") or request.path.startswith("/ingest") or request.path.startswith("/hep/"):
            return problem(500, "Internal Server Error", msg)
        return Response(msg, status=500, mimetype="text/plain")
