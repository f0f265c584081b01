"""The partner registry: clients in table `partner` (+ `partner_binding` for a fixed purpose and an
mTLS certificate), registered with `hep clients add`, revoked with `hep clients revoke`."""
from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import insert, select, update

from ..clock import utcnow
from ..store import write_tx
from ..store.schema import partner, partner_binding
from . import scopes as scope_mod
from .secrets_hash import hash_secret, new_secret

PARTNER_KINDS = ("smart_backend", "sis_vendor")
LEA_RE = re.compile(r"^\d{7}$")


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Client:
    client_id: str
    tenant_id: str
    name: str
    kind: str
    role: str
    organization: str | None
    secret_hash: str | None
    jwks: dict | None
    jwks_url: str | None
    scopes: tuple[str, ...]
    lea_ids: tuple[str, ...]
    status: str
    purpose_of_use: str | None
    cert_x5t_s256: str | None

    @property
    def active(self) -> bool:
        return self.status == "active"


def _row_to_client(r) -> Client:
    m = r._mapping
    return Client(m["client_id"], m["tenant_id"], m["name"], m["kind"], m["role"], m["organization"],
                  m["secret_hash"], m["jwks"], m["jwks_url"], tuple(m["scopes"] or ()), tuple(m["lea_ids"] or ()),
                  m["status"], m["purpose_of_use"], m["cert_x5t_s256"])


def _query():
    return (select(partner, partner_binding.c.purpose_of_use, partner_binding.c.cert_x5t_s256)
            .select_from(partner.outerjoin(partner_binding, partner_binding.c.client_id == partner.c.client_id)))


def get_client(engine, client_id: str) -> Client | None:
    if not client_id or len(client_id) > 80:
        return None
    with engine.connect() as conn:
        r = conn.execute(_query().where(partner.c.client_id == client_id)).first()
    return _row_to_client(r) if r else None


def list_clients(engine, tenant: str | None = None) -> list[Client]:
    q = _query().order_by(partner.c.created_at, partner.c.client_id)
    if tenant:
        q = q.where(partner.c.tenant_id == tenant)
    with engine.connect() as conn:
        return [_row_to_client(r) for r in conn.execute(q)]


# --- validation of what a client registers ------------------------------------------------------

def validate_jwks(jwks) -> dict:
    """A public JWK Set (a single JWK is wrapped): every key has a kid, is RSA (>= 2048 bits) or
    EC P-384, and carries no private part."""
    if isinstance(jwks, dict) and "keys" not in jwks and "kty" in jwks:
        jwks = {"keys": [jwks]}
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise RegistryError("JWKS must be an object with a non-empty 'keys' array")
    import jwt
    kids = set()
    for k in jwks["keys"]:
        if not isinstance(k, dict) or not k.get("kid"):
            raise RegistryError("every key in the JWKS needs a 'kid'")
        if k["kid"] in kids:
            raise RegistryError(f"duplicate kid {k['kid']!r}")
        kids.add(k["kid"])
        if any(p in k for p in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise RegistryError(f"key {k['kid']!r} contains private or symmetric key material: register public keys only")
        if k.get("kty") == "EC" and k.get("crv") != "P-384":
            raise RegistryError(f"key {k['kid']!r}: EC keys must be P-384 (ES384)")
        if k.get("kty") not in ("EC", "RSA"):
            raise RegistryError(f"key {k['kid']!r}: kty must be EC or RSA")
        try:
            key = jwt.PyJWK(k, algorithm="ES384" if k["kty"] == "EC" else "RS384").key
        except Exception as e:  # noqa: BLE001
            raise RegistryError(f"key {k['kid']!r} unusable: {e}") from None
        if k["kty"] == "RSA" and key.key_size < 2048:
            raise RegistryError(f"key {k['kid']!r}: RSA keys must be at least 2048 bits")
    return {"keys": jwks["keys"]}


def validate_jwks_url(url: str) -> str:
    u = urlparse(url)
    if u.scheme == "https" and u.hostname:
        return url
    if u.scheme == "http" and u.hostname in ("localhost", "127.0.0.1", "::1"):
        return url  # development only
    raise RegistryError("JWKS URL must be https:// (http only for localhost)")


def cert_thumbprint(pem_or_der: bytes) -> str:
    """RFC 8705 x5t#S256: base64url SHA-256 of the certificate's DER encoding."""
    if b"-----BEGIN" in pem_or_der:
        cert = x509.load_pem_x509_certificate(pem_or_der)
    else:
        cert = x509.load_der_x509_certificate(pem_or_der)
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def _client_id_for(name: str) -> str:
    import secrets
    slug = re.sub(r"[^a-z0-9]+", "-", re.sub(r"['’]", "", name.lower())).strip("-")[:40] or "client"
    return f"{slug}-{secrets.token_hex(6)}"


def add_client(engine, tenant: str, name: str, kind: str, role: str, organization: str | None = None,
               jwks: dict | None = None, jwks_url: str | None = None, scopes: list[str] | None = None,
               lea_ids: list[str] | None = None, purpose: str | None = None,
               cert_x5t_s256: str | None = None, client_id: str | None = None) -> tuple[Client, str | None]:
    """Register a client. Returns (client, secret) - the secret (sis_vendor only) is never stored in
    clear and cannot be shown again."""
    from .purpose import purpose_system, role_purposes
    if kind not in PARTNER_KINDS:
        raise RegistryError(f"kind must be one of {', '.join(PARTNER_KINDS)}")
    allowed = role_purposes(role)
    if allowed is None:
        raise RegistryError(f"unknown role {role!r} (see profiles/disclosure/vocabulary.yaml)")
    if purpose is not None:
        if purpose_system(purpose) is None:
            raise RegistryError(f"unknown purpose of use {purpose!r}")
        if purpose not in allowed:
            raise RegistryError(f"purpose {purpose} is not one of role {role}'s purposes: {sorted(allowed)}")
    scopes = list(dict.fromkeys(scopes or ([] if kind == "smart_backend" else ["edfi"])))
    if not scopes:
        raise RegistryError("give at least one --scope (e.g. system/*.rs)")
    bad = [s for s in scopes if not scope_mod.valid(s)]
    if bad:
        raise RegistryError(f"malformed scope(s): {bad}")
    lea_ids = list(lea_ids or [])
    if any(not LEA_RE.match(x) for x in lea_ids):
        raise RegistryError("LEA ids are 7-digit county-district codes")
    secret = None
    secret_hash = None
    if kind == "smart_backend":
        if bool(jwks) == bool(jwks_url):
            raise RegistryError("a smart_backend client registers exactly one of --jwks FILE or --jwks-url URL")
        jwks = validate_jwks(jwks) if jwks else None
        jwks_url = validate_jwks_url(jwks_url) if jwks_url else None
    else:
        if jwks or jwks_url:
            raise RegistryError("a sis_vendor client authenticates with a secret, not a JWKS")
        secret = new_secret()
        secret_hash = hash_secret(secret)
    client_id = client_id or _client_id_for(name)
    now = utcnow()
    with write_tx(engine) as conn:
        conn.execute(insert(partner).values(
            client_id=client_id, tenant_id=tenant, name=name, kind=kind, role=role, organization=organization,
            secret_hash=secret_hash, jwks=jwks, jwks_url=jwks_url, scopes=scopes, lea_ids=lea_ids,
            status="active", created_at=now))
        if purpose or cert_x5t_s256:
            conn.execute(insert(partner_binding).values(client_id=client_id, tenant_id=tenant,
                                                        purpose_of_use=purpose, cert_x5t_s256=cert_x5t_s256))
    return get_client(engine, client_id), secret


def revoke_client(engine, client_id: str) -> bool:
    with write_tx(engine) as conn:
        n = conn.execute(update(partner).where(partner.c.client_id == client_id, partner.c.status == "active")
                         .values(status="revoked", revoked_at=utcnow())).rowcount
    forget(client_id)
    return bool(n)


# --- "is this client still active?" for every API request, cached briefly ------------------------

_status: dict[tuple[int, str], tuple[float, bool]] = {}
_status_lock = threading.Lock()
_monotonic = time.monotonic  # tests may replace


def is_active(engine, client_id: str, ttl: float = 30.0) -> bool:
    """True while the client is registered and not revoked. Cached `ttl` seconds per process, so a
    revocation takes effect everywhere within `ttl` (at once in the process that revoked)."""
    key = (id(engine), client_id)
    now = _monotonic()
    with _status_lock:
        hit = _status.get(key)
        if hit and now - hit[0] < ttl:
            return hit[1]
    with engine.connect() as conn:
        status = conn.execute(select(partner.c.status).where(partner.c.client_id == client_id)).scalar()
    ok = status == "active"
    with _status_lock:
        if len(_status) > 10000:
            _status.clear()
        _status[key] = (now, ok)
    return ok


def forget(client_id: str | None = None) -> None:
    with _status_lock:
        if client_id is None:
            _status.clear()
        else:
            for k in [k for k in _status if k[1] == client_id]:
                del _status[k]
