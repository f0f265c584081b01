"""Who is asking: partner authentication (OAuth 2.0 client credentials, SMART Backend Services) and
the `Requester` every protected view works with.

Contract used by the enforcement layer and the APIs:

    from gateway.auth import require, current_requester

    @bp.get("/fhir/Patient/<pid>")
    @require("system/Patient.read")
    def read(pid):
        who = current_requester()     # a Requester: role, purpose of use, acting user, scopes, ...

`require()` verifies the bearer access token issued by `POST /oauth/token` (gateway/api/oauth.py).
The token says *who* the client is, which scopes it holds, the purpose of use and the acting user it
asserted. It does NOT prove any relationship with a youth (caseload, attorney of record): the
enforcement layer checks that against the store on every request.
"""
from __future__ import annotations

from dataclasses import dataclass

KINDS = ("smart_backend", "sis_vendor", "staff")


@dataclass(frozen=True)
class Requester:
    client_id: str
    kind: str                  # "smart_backend" | "sis_vendor" | "staff"
    role: str                  # the policy's requester role (profiles/disclosure/vocabulary.yaml roles)
    organization: str | None
    user_id: str | None        # acting user (IHE IUA subject): a person id in the CWS extract, an NPI, ...
    user_role: str | None
    purpose_of_use: str        # e.g. HLEGAL, TREAT, x-CW-ADMIN
    purpose_system: str        # "v3-ActReason" | "local"
    scopes: frozenset[str]
    lea_ids: tuple[str, ...] = ()   # SIS vendors: the 7-digit districts it may write for
    token_id: str | None = None

    def has_scope(self, *wanted: str) -> bool:
        """True when a granted scope satisfies any of `wanted` (SMART v1/v2 syntax or exact match)."""
        from .scopes import satisfies_any
        return satisfies_any(self.scopes, wanted)


def require(*scopes: str):
    """Flask view decorator: a valid bearer access token from an active client, holding a scope that
    satisfies any of `scopes` (none given: any authenticated client). Sets `flask.g.requester`.

    401 (with `WWW-Authenticate: Bearer`) when the token is missing or invalid, 403 when no granted
    scope satisfies any of `scopes`; an OperationOutcome under /fhir and /oauth, RFC 9457 problem
    details under /data, /ingest and /hep.
    """
    from .guard import require as _require
    return _require(*scopes)


def current_requester() -> Requester:
    """The Requester of the current request (set by `require`). Raises RuntimeError outside one."""
    from flask import g
    who = g.get("requester")
    if who is None:
        raise RuntimeError("no authenticated requester: decorate the view with gateway.auth.require()")
    return who


__all__ = ["Requester", "require", "current_requester", "KINDS"]
