"""`require()`: the bearer-token check in front of every partner API view."""
from __future__ import annotations

import functools
import hmac
import logging

from flask import current_app, g, request

from .config import auth_config
from .registry import is_active
from .scopes import satisfies_any
from .tokens import TokenError, requester_from, verify

log = logging.getLogger("hep.auth")


def _problem_path() -> bool:
    p = request.path
    return p.startswith("/data/") or p.startswith("/ingest") or p.startswith("/hep/")


def deny(status: int, detail: str, error: str | None = None, scope: str | None = None):
    """401/403 in the dialect of the API: OperationOutcome (FHIR, OAuth) or problem details (Ed-Fi)."""
    from ..api.errors import operation_outcome, problem
    if _problem_path():
        resp = problem(status, "Unauthorized" if status == 401 else "Forbidden", detail)
    else:
        resp = operation_outcome(status, detail, "login" if status == 401 else "forbidden")
    params = ['realm="hep"']
    if error:
        params.append(f'error="{error}"')
        params.append('error_description="%s"' % detail.replace('"', "'"))
    if scope:
        params.append(f'scope="{scope}"')
    resp.headers["WWW-Authenticate"] = "Bearer " + ", ".join(params)
    return resp


def bearer_token() -> str | None:
    h = request.headers.get("Authorization", "")
    scheme, _, token = h.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate():
    """(Requester, None) or (None, error response)."""
    settings = current_app.extensions["hep.settings"]
    cfg = auth_config()
    token = bearer_token()
    if token is None:
        return None, deny(401, "a bearer access token is required (POST /oauth/token)")
    try:
        claims = verify(token, settings.base_url, cfg.max_token_bytes, cfg.clock_skew)
    except TokenError as e:
        log.info("access token refused", extra={"request_id": g.get("request_id"), "reason": str(e)})
        return None, deny(401, str(e), "invalid_token")
    if claims["tenant"] != settings.tenant:
        return None, deny(401, "access token issued for another tenant", "invalid_token")
    engine = current_app.extensions["hep.engine"]
    if not is_active(engine, claims["sub"], cfg.client_status_ttl):
        return None, deny(401, "client is not active", "invalid_token")
    bound = (claims.get("cnf") or {}).get("x5t#S256")
    if bound:
        from .mtls import peer_thumbprint
        presented = peer_thumbprint(request.environ, cfg.trust_client_cert_header)
        if not presented or not hmac.compare_digest(presented, bound):
            return None, deny(401, "access token is bound to a client certificate that was not presented",
                              "invalid_token")
    return requester_from(claims), None


def require(*scopes: str):
    wanted = tuple(scopes)

    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            who, err = authenticate()
            if err is not None:
                return err
            if not satisfies_any(who.scopes, wanted):
                return deny(403, f"the access token holds no scope allowing this: needs one of {' '.join(wanted)}",
                            "insufficient_scope", " ".join(wanted))
            g.requester = who
            return view(*args, **kwargs)
        return wrapped
    return deco
