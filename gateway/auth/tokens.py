"""Access tokens: JWTs signed ES384 with the gateway's "token-signing" key (gateway/crypto/signing.py).

Claims: iss (the gateway base URL), sub (client_id), aud (base URL + "/fhir"; accepted by every API
of the gateway), exp, iat, nbf, jti, scope, purpose_of_use, purpose_system, act {sub, role} (IHE IUA
acting user, when bound), kind, role, org, lea_ids, tenant, cnf {"x5t#S256"} (certificate-bound,
RFC 8705, when the token was requested over mutual TLS).
"""
from __future__ import annotations

import time
import uuid

import jwt

from ..crypto.signing import public_jwk, signing_key
from . import Requester

KEY_NAME = "token-signing"
ALG = "ES384"


class TokenError(Exception):
    """The access token is not acceptable (message safe to show the caller)."""


def issuer(base_url: str) -> str:
    return base_url.rstrip("/")


def audience(base_url: str) -> str:
    return issuer(base_url) + "/fhir"


def token_endpoint(base_url: str) -> str:
    return issuer(base_url) + "/oauth/token"


def issue(base_url: str, tenant: str, who: Requester, ttl: int, cnf_x5t: str | None = None,
          now: float | None = None) -> tuple[str, dict]:
    now = int(now if now is not None else time.time())
    claims = {
        "iss": issuer(base_url), "sub": who.client_id, "aud": audience(base_url),
        "iat": now, "nbf": now, "exp": now + ttl, "jti": who.token_id or uuid.uuid4().hex,
        "scope": " ".join(sorted(who.scopes)), "purpose_of_use": who.purpose_of_use,
        "purpose_system": who.purpose_system, "kind": who.kind, "role": who.role,
        "tenant": tenant, "lea_ids": list(who.lea_ids),
    }
    if who.organization:
        claims["org"] = who.organization
    if who.user_id:
        claims["act"] = {"sub": who.user_id, **({"role": who.user_role} if who.user_role else {})}
    if cnf_x5t:
        claims["cnf"] = {"x5t#S256": cnf_x5t}
    headers = {"kid": public_jwk(KEY_NAME)["kid"], "typ": "at+jwt"}
    return jwt.encode(claims, signing_key(KEY_NAME), algorithm=ALG, headers=headers), claims


def verify(token: str, base_url: str, max_bytes: int = 8192, leeway: int = 10) -> dict:
    """Claims of a token this gateway issued; TokenError otherwise. ES384 only, signature with the
    gateway key, iss, aud, exp (and nbf/iat) checked; every claim the Requester needs present."""
    if len(token) > max_bytes:
        raise TokenError("access token too large")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError("malformed access token") from None
    if header.get("alg") != ALG:
        raise TokenError("access token algorithm not accepted")
    try:
        claims = jwt.decode(token, signing_key(KEY_NAME).public_key(), algorithms=[ALG],
                            audience=audience(base_url), issuer=issuer(base_url), leeway=leeway,
                            options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"],
                                     "verify_signature": True, "verify_exp": True, "verify_aud": True,
                                     "verify_iss": True, "verify_iat": True, "verify_nbf": True})
    except jwt.ExpiredSignatureError:
        raise TokenError("access token expired") from None
    except jwt.PyJWTError as e:
        raise TokenError(f"access token rejected: {type(e).__name__}") from None
    for k in ("scope", "purpose_of_use", "purpose_system", "kind", "role", "tenant"):
        if not isinstance(claims.get(k), str):
            raise TokenError(f"access token lacks {k}")
    return claims


def requester_from(claims: dict) -> Requester:
    act = claims.get("act") or {}
    return Requester(
        client_id=claims["sub"], kind=claims["kind"], role=claims["role"], organization=claims.get("org"),
        user_id=act.get("sub"), user_role=act.get("role"), purpose_of_use=claims["purpose_of_use"],
        purpose_system=claims["purpose_system"], scopes=frozenset(claims["scope"].split()),
        lea_ids=tuple(claims.get("lea_ids") or ()), token_id=claims["jti"])
