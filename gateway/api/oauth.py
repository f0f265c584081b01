"""OAuth 2.0 token endpoint and discovery for partners (docs/auth.md).

POST /oauth/token                     client_credentials: private_key_jwt (SMART Backend Services) or
                                      client_secret_basic / client_secret_post (Ed-Fi style SIS vendors)
GET  /.well-known/smart-configuration SMART discovery
GET  /.well-known/jwks.json           the public key that verifies the gateway's access tokens
"""
from __future__ import annotations

import base64
import hmac
import logging
import math
import uuid
from urllib.parse import unquote_plus

from flask import Blueprint, current_app, g, jsonify, request

from ..auth import Requester
from ..auth import scopes as scope_mod
from ..auth.client_auth import (OAuthError, acting_user, authenticate_assertion, authenticate_secret,
                                resolve_purpose)
from ..auth.config import auth_config
from ..auth.mtls import peer_thumbprint
from ..auth.ratelimit import TokenBuckets
from ..auth.tokens import KEY_NAME, issue, token_endpoint
from ..crypto.signing import public_jwk

log = logging.getLogger("hep.auth")
bp = Blueprint("oauth", __name__)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_FORM_BYTES = 16384


def _oauth_error(e: OAuthError, basic: bool = False):
    resp = jsonify({"error": e.error, "error_description": e.description})
    resp.status_code = e.status
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Pragma"] = "no-cache"
    if e.status == 401:
        resp.headers["WWW-Authenticate"] = 'Basic realm="hep"' if basic else 'Bearer realm="hep"'
    return resp


def _limiters():
    ext = current_app.extensions
    if "hep.auth.limiters" not in ext:
        cfg = auth_config()
        ext["hep.auth.limiters"] = (TokenBuckets(cfg.rate_addr_burst, cfg.rate_addr_per_s),
                                    TokenBuckets(cfg.rate_client_burst, cfg.rate_client_per_s))
    return ext["hep.auth.limiters"]


def _throttled(wait: float, what: str):
    resp = jsonify({"error": "temporarily_unavailable", "error_description": f"too many token requests for this {what}"})
    resp.status_code = 429
    resp.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _basic_credentials() -> tuple[str, str] | None:
    h = request.headers.get("Authorization", "")
    scheme, _, value = h.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
    cid, sep, secret = raw.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401)
    return unquote_plus(cid), unquote_plus(secret)  # RFC 6749 2.3.1: form-encoded before Basic


@bp.post("/oauth/token")
def token():
    addr_limit, client_limit = _limiters()
    wait = addr_limit.take(request.remote_addr or "?")
    if wait:
        return _throttled(wait, "address")
    basic = False
    try:
        if (request.content_length or 0) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", f"token request larger than {MAX_FORM_BYTES} bytes")
        if request.mimetype != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "send the token request as application/x-www-form-urlencoded")
        request.max_content_length = MAX_FORM_BYTES
        form = request.form
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type" if form.get("grant_type") else "invalid_request",
                             "grant_type must be client_credentials")
        cfg = auth_config()
        settings = current_app.extensions["hep.settings"]
        engine = current_app.extensions["hep.engine"]
        creds = _basic_credentials()
        basic = creds is not None
        assertion = form.get("client_assertion")
        if sum(x is not None for x in (creds, assertion, form.get("client_secret"))) > 1:
            raise OAuthError("invalid_request", "use exactly one client authentication method")
        if assertion is not None:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise OAuthError("invalid_request", f"client_assertion_type must be {JWT_BEARER}")
            auth = authenticate_assertion(engine, cfg, token_endpoint(settings.base_url), assertion)
            if form.get("client_id") not in (None, auth.client.client_id):
                raise OAuthError("invalid_client", "client_id does not match the assertion", 401)
            requested_purpose = auth.claims.get("purpose_of_use")
            if requested_purpose is None and isinstance(auth.claims.get("extensions"), dict):
                requested_purpose = (auth.claims["extensions"].get("ihe_iua") or {}).get("purpose_of_use")
            user_id, user_role = acting_user(auth.claims)
        elif creds is not None or form.get("client_secret") is not None:
            cid, secret = creds or (form.get("client_id", ""), form.get("client_secret", ""))
            auth = authenticate_secret(engine, cid, secret)
            requested_purpose, user_id, user_role = form.get("purpose_of_use"), None, None
        else:
            raise OAuthError("invalid_client", "no client authentication (client_assertion or client secret)", 401)
        client = auth.client
        if client.tenant_id != settings.tenant:
            raise OAuthError("invalid_client", "client is registered with another tenant", 401)
        wait = client_limit.take(client.client_id)
        if wait:
            return _throttled(wait, "client")

        presented = peer_thumbprint(request.environ, cfg.trust_client_cert_header)
        if client.cert_x5t_s256 and not (presented and hmac.compare_digest(presented, client.cert_x5t_s256)):
            raise OAuthError("invalid_client", "this client must present its registered TLS client certificate", 401)

        if "scope" in form:
            requested = scope_mod.split(form.get("scope"))
            if not requested or len(requested) > scope_mod.MAX_SCOPES:
                raise OAuthError("invalid_scope", "scope must list 1-50 scopes")
        elif client.kind == "sis_vendor":
            requested = list(client.scopes)       # Ed-Fi clients do not send scope: all registered
        else:
            raise OAuthError("invalid_scope", "scope is required (e.g. system/*.rs)")
        granted = scope_mod.grant(requested, client.scopes)
        if not granted:
            raise OAuthError("invalid_scope", "none of the requested scopes is registered for this client")
        purpose, psys = resolve_purpose(client, requested_purpose)
    except OAuthError as e:
        log.info("token refused", extra={"request_id": g.get("request_id"), "error": e.error,
                                         "reason": e.description})
        return _oauth_error(e, basic)

    who = Requester(client_id=client.client_id, kind=client.kind, role=client.role,
                    organization=client.organization, user_id=user_id, user_role=user_role,
                    purpose_of_use=purpose, purpose_system=psys, scopes=frozenset(granted),
                    lea_ids=client.lea_ids, token_id=uuid.uuid4().hex)
    access, claims = issue(settings.base_url, settings.tenant, who, cfg.access_token_ttl, cnf_x5t=presented)
    log.info("token issued", extra={"request_id": g.get("request_id"), "client_id": client.client_id,
                                    "token_id": who.token_id, "purpose": purpose, "acting_user": user_id})
    resp = jsonify({"access_token": access, "token_type": "bearer", "expires_in": cfg.access_token_ttl,
                    "scope": claims["scope"]})
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Pragma"] = "no-cache"
    return resp


def _scopes_supported() -> list[str]:
    from .fhir import CAPABILITIES
    out = ["system/*.rs", "system/*.read"]
    out += [f"system/{r}.rs" for r in sorted(CAPABILITIES)]
    return out + ["edfi", "ingest"]


@bp.get("/.well-known/smart-configuration")
def smart_configuration():
    settings = current_app.extensions["hep.settings"]
    base = settings.base_url.rstrip("/")
    resp = jsonify({
        "issuer": base,
        "jwks_uri": base + "/.well-known/jwks.json",
        "token_endpoint": token_endpoint(base),
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": _scopes_supported(),
        "capabilities": ["client-confidential-asymmetric"],
    })
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


@bp.get("/.well-known/jwks.json")
def jwks():
    resp = jsonify({"keys": [public_jwk(KEY_NAME)]})
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp
