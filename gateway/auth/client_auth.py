"""Client authentication at /oauth/token.

SMART Backend Services (private_key_jwt, RFC 7523 + SMART App Launch 2.x "client-confidential-
asymmetric"): the client signs a short-lived JWT with a key registered in its JWKS. Checked here:
size (<= 8 KB, before parsing), alg RS384|ES384 only, kid picks a registered key of the matching type,
jku (if sent) equals the registered JWKS URL, signature, iss == sub == an active smart_backend client,
aud == the token endpoint URL, exp present and <= 5 minutes ahead, nbf/iat not in the future, jti
present and never seen before for this client (table token_jti, kept until exp).

Ed-Fi style vendors (client_secret_basic / client_secret_post): the secret against its scrypt hash.

The assertion may bind a purpose of use and an acting user (IHE IUA): claims `purpose_of_use`,
`subject_id`, `subject_role`, or the same inside `extensions.ihe_iua`.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import jwt
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from ..store import write_tx
from ..store.schema import token_jti
from . import jwks as jwks_mod
from .config import AuthConfig
from .purpose import purpose_system, role_purposes
from .registry import Client, get_client
from .secrets_hash import verify_secret

ALGS = {"RS384": "RSA", "ES384": "EC"}
ACT_REASON_SYSTEMS = {"http://terminology.hl7.org/CodeSystem/v3-ActReason", "urn:oid:2.16.840.1.113883.5.8"}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def _client_error(msg: str) -> OAuthError:
    return OAuthError("invalid_client", msg, 401)


@dataclass
class Authenticated:
    client: Client
    claims: dict   # assertion claims ({} for secret clients)


# --- private_key_jwt ------------------------------------------------------------------------------

def _pick_key(client: Client, kid: str, alg: str, cfg: AuthConfig):
    try:
        jwk = jwks_mod.key_for(client, kid, cfg.jwks_timeout, cfg.jwks_max_bytes, cfg.jwks_ttl)
    except jwks_mod.JwksError as e:
        raise _client_error(f"client keys unavailable: {e}") from None
    if jwk is None:
        raise _client_error("kid does not name a key registered for this client")
    if jwk.get("kty") != ALGS[alg]:
        raise _client_error(f"key {kid} is not a {ALGS[alg]} key, as {alg} needs")
    if jwk.get("alg") not in (None, alg) or jwk.get("use") not in (None, "sig"):
        raise _client_error(f"key {kid} is not registered for {alg} signatures")
    if alg == "ES384" and jwk.get("crv") != "P-384":
        raise _client_error(f"key {kid} is not a P-384 key")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except Exception:  # noqa: BLE001 - any malformed registered key
        raise _client_error(f"key {kid} is unusable") from None
    if alg == "RS384" and key.key_size < 2048:
        raise _client_error(f"key {kid} is shorter than 2048 bits")
    return key


def authenticate_assertion(engine, cfg: AuthConfig, token_url: str, assertion: str,
                           now: float | None = None) -> Authenticated:
    now = time.time() if now is None else now
    if len(assertion.encode("utf-8", "surrogatepass")) > cfg.max_assertion_bytes:
        raise _client_error(f"client_assertion larger than {cfg.max_assertion_bytes} bytes")
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _client_error("client_assertion is not a well-formed JWT") from None
    alg = header.get("alg")
    if alg not in ALGS:
        raise _client_error(f"client_assertion alg {alg!r} not accepted (RS384 or ES384)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _client_error("client_assertion header lacks kid")
    iss = unverified.get("iss")
    client = get_client(engine, iss) if isinstance(iss, str) else None
    if client is None or client.kind != "smart_backend":
        raise _client_error("unknown client")
    if not client.active:
        raise _client_error("client is not active")
    if "jku" in header and header["jku"] != client.jwks_url:
        raise _client_error("jku does not match the registered JWKS URL")
    key = _pick_key(client, kid, alg, cfg)
    try:
        claims = jwt.decode(assertion, key, algorithms=[alg], audience=token_url, issuer=client.client_id,
                            leeway=cfg.clock_skew,
                            options={"require": ["iss", "sub", "aud", "exp", "jti"], "verify_iat": True,
                                     "verify_nbf": True})
    except jwt.ExpiredSignatureError:
        raise _client_error("client_assertion has expired") from None
    except jwt.InvalidAudienceError:
        raise _client_error("client_assertion aud is not this token endpoint") from None
    except jwt.PyJWTError as e:
        raise _client_error(f"client_assertion rejected: {type(e).__name__}: {e}") from None
    if claims["sub"] != client.client_id:
        raise _client_error("client_assertion sub must equal iss (the client_id)")
    exp = claims["exp"]
    if not isinstance(exp, (int, float)) or exp > now + cfg.max_assertion_lifetime + cfg.clock_skew:
        raise _client_error("client_assertion exp is more than 5 minutes ahead")
    iat = claims.get("iat")
    if iat is not None and (not isinstance(iat, (int, float)) or iat > now + cfg.clock_skew):
        raise _client_error("client_assertion iat is in the future")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 255:
        raise _client_error("client_assertion jti must be a string of 1-255 characters")
    record_jti(engine, client, jti, exp, now)
    return Authenticated(client, claims)


_last_purge = [0.0]


def record_jti(engine, client: Client, jti: str, exp: float, now: float) -> None:
    """Remember (client, jti) until the assertion expires; seen before -> invalid_client."""
    digest = hashlib.sha256(f"{client.client_id}\x00{jti}".encode()).hexdigest()
    expires = datetime.fromtimestamp(exp + 60, timezone.utc)  # + skew: kept past any accepted exp
    if now - _last_purge[0] > 60:
        _last_purge[0] = now
        with write_tx(engine) as conn:
            conn.execute(delete(token_jti).where(token_jti.c.expires_at < datetime.fromtimestamp(now, timezone.utc)))
    try:
        with write_tx(engine) as conn:
            conn.execute(insert(token_jti).values(tenant_id=client.tenant_id, jti=digest,
                                                  client_id=client.client_id, expires_at=expires))
    except IntegrityError:
        raise _client_error("client_assertion jti was already used (replay)") from None


# --- client secrets -------------------------------------------------------------------------------

def authenticate_secret(engine, client_id: str, secret: str) -> Authenticated:
    client = get_client(engine, client_id)
    stored = client.secret_hash if client is not None and client.kind == "sis_vendor" else None
    ok = verify_secret(secret, stored)   # same cost for unknown clients
    if not ok or client is None:
        raise _client_error("unknown client or wrong secret")
    if not client.active:
        raise _client_error("client is not active")
    return Authenticated(client, {})


# --- purpose of use and acting user (IHE IUA) -----------------------------------------------------

def _one(claims: dict, name: str):
    top = claims.get(name)
    iua = ((claims.get("extensions") or {}).get("ihe_iua") or {}) if isinstance(claims.get("extensions"), dict) else {}
    inner = iua.get(name) if isinstance(iua, dict) else None
    if top is not None and inner is not None and top != inner:
        raise OAuthError("invalid_grant", f"{name} differs between the claim and extensions.ihe_iua")
    return top if top is not None else inner


def _code(value) -> tuple[str | None, str | None]:
    """A purpose given as a code, or as a coding {"system", "code"} (IUA)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        return value["code"], value.get("system")
    if isinstance(value, list) and len(value) == 1:
        return _code(value[0])
    raise OAuthError("invalid_grant", "purpose_of_use must be one code")


def resolve_purpose(client: Client, requested) -> tuple[str, str]:
    """(code, system) bound into the token. A client registered with a fixed purpose gets it (asking
    for another is refused); otherwise the requested code must be in the vocabulary and one of the
    role's purposes; with none requested, the role's only purpose (SIS vendors: x-EDU-SUPPORT)."""
    code, system = _code(requested)
    allowed = role_purposes(client.role) or frozenset()
    if client.purpose_of_use:
        if code is not None and code != client.purpose_of_use:
            raise OAuthError("invalid_grant", f"this client is registered for purpose {client.purpose_of_use} only")
        code = client.purpose_of_use
    elif code is None:
        if len(allowed) == 1:
            code = next(iter(allowed))
        elif client.kind == "sis_vendor" and "x-EDU-SUPPORT" in allowed:
            code = "x-EDU-SUPPORT"
        else:
            raise OAuthError("invalid_grant", f"purpose_of_use is required (one of {', '.join(sorted(allowed))})")
    psys = purpose_system(code)
    if psys is None:
        raise OAuthError("invalid_grant", f"unknown purpose_of_use {code!r}")
    if system is not None and system not in ({"local", "urn:hep:purpose"} if psys == "local" else
                                            ACT_REASON_SYSTEMS | {"v3-ActReason"}):
        raise OAuthError("invalid_grant", f"purpose_of_use {code} is not in code system {system}")
    if code not in allowed:
        raise OAuthError("invalid_grant", f"purpose {code} is not a purpose role {client.role} may assert")
    return code, psys


def acting_user(claims: dict) -> tuple[str | None, str | None]:
    sid, srole = _one(claims, "subject_id"), _one(claims, "subject_role")
    for name, v, n in (("subject_id", sid, 120), ("subject_role", srole, 80)):
        if v is not None and (not isinstance(v, str) or not 0 < len(v) <= n):
            raise OAuthError("invalid_grant", f"{name} must be a string of 1-{n} characters")
    if srole is not None and sid is None:
        raise OAuthError("invalid_grant", "subject_role given without subject_id")
    return sid, srole
