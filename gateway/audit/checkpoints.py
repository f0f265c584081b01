"""Signed checkpoints of the audit chain (`audit_checkpoint`).

A checkpoint signs the tenant's head (seq, hash) with the gateway key "audit-signing" (ES384,
P-384). `signature` holds a compact JWS:

    BASE64URL({"alg":"ES384","kid":<key_id>,"typ":"hep-audit-checkpoint"}) . BASE64URL(payload) . BASE64URL(r||s)
    payload = orjson.dumps({"v":1,"tenant":..,"seq":..,"hash":..,"signed_at":"...Z"}, OPT_SORT_KEYS)

so anyone holding the public JWK can check it with any JOSE library. `key_id` is the key's
RFC 7638 thumbprint; verification looks the key up by it among the trusted public keys
(`trusted_keys()`): the current key, the retired keys kept in `<certs>/audit-signing.jwks.json`
and, for a verifier elsewhere, a JWKS file named by HEP_AUDIT_JWKS.

When: `hep audit checkpoint` (cron), or `maybe_checkpoint(engine, tenant, every=N, max_age=...)`
after a request or from a timer — the caller decides. A checkpoint is made from committed data in
its own transaction, never inside the caller's append transaction.
"""
from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from sqlalchemy import Engine, func, insert, select

from .. import clock
from ..crypto import signing
from ..store import schema as s
from ..store.engine import write_tx
from .chain import ZERO_HASH, _utc, in_tenant, iso_utc

KEY_NAME = "audit-signing"
TYP = "hep-audit-checkpoint"
DEFAULT_EVERY = 1000


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _b64d(t: str) -> bytes:
    return base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))


def payload_bytes(tenant: str, seq: int, hash_: str, signed_at: datetime | str) -> bytes:
    return orjson.dumps({"v": 1, "tenant": tenant, "seq": int(seq), "hash": hash_,
                         "signed_at": signed_at if isinstance(signed_at, str) else iso_utc(signed_at)},
                        option=orjson.OPT_SORT_KEYS)


def sign(payload: bytes, key_name: str = KEY_NAME) -> tuple[str, str]:
    """(compact JWS, kid) over payload with the named gateway key."""
    key = signing.signing_key(key_name)
    kid = signing.public_jwk(key_name)["kid"]
    header = orjson.dumps({"alg": "ES384", "kid": kid, "typ": TYP}, option=orjson.OPT_SORT_KEYS)
    signing_input = f"{_b64e(header)}.{_b64e(payload)}".encode()
    r, s_ = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA384())))
    return f"{signing_input.decode()}.{_b64e(r.to_bytes(48, 'big') + s_.to_bytes(48, 'big'))}", kid


def _jwk_public_key(jwk: dict) -> ec.EllipticCurvePublicKey:
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-384":
        raise ValueError("not a P-384 EC key")
    x = int.from_bytes(_b64d(jwk["x"]), "big")
    y = int.from_bytes(_b64d(jwk["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP384R1()).public_key()


def retired_jwks_path() -> Path:
    return signing.certs_dir() / f"{KEY_NAME}.jwks.json"


def _read_jwks(path: Path) -> list[dict]:
    try:
        return list(json.loads(path.read_text()).get("keys") or [])
    except FileNotFoundError:
        return []


def trusted_keys() -> dict[str, ec.EllipticCurvePublicKey]:
    """kid -> public key, for every audit-signing key this installation trusts. Never creates a key."""
    jwks = []
    if (signing.certs_dir() / f"{KEY_NAME}.pem").exists():
        jwks.append(signing.public_jwk(KEY_NAME))
    jwks += _read_jwks(retired_jwks_path())
    extra = os.environ.get("HEP_AUDIT_JWKS")
    if extra:
        jwks += _read_jwks(Path(extra))
    out = {}
    for jwk in jwks:
        try:
            out[jwk["kid"]] = _jwk_public_key(jwk)
        except (KeyError, ValueError):
            continue
    return out


def verify_signature(jws: str, keys: dict[str, ec.EllipticCurvePublicKey]) -> tuple[dict, dict]:
    """(header, payload) of a checkpoint JWS whose ES384 signature checks out; ValueError otherwise."""
    try:
        h64, p64, s64 = jws.split(".")
        header, payload, sig = json.loads(_b64d(h64)), json.loads(_b64d(p64)), _b64d(s64)
    except (ValueError, TypeError) as e:
        raise ValueError(f"signature is not a compact JWS ({e})") from None
    if header.get("alg") != "ES384" or header.get("typ") != TYP:
        raise ValueError(f"unexpected JWS header {header}")
    key = keys.get(header.get("kid"))
    if key is None:
        raise ValueError(f"signed with unknown key {header.get('kid')!r} (not among the trusted audit keys)")
    if len(sig) != 96:
        raise ValueError("signature has the wrong length for ES384")
    der = encode_dss_signature(int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big"))
    try:
        key.verify(der, f"{h64}.{p64}".encode(), ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise ValueError("signature does not verify") from None
    return header, payload


def _latest(conn, tenant: str):
    c = s.audit_checkpoint.c
    return conn.execute(select(s.audit_checkpoint).where(c.tenant_id == tenant)
                        .order_by(c.seq.desc()).limit(1)).first()


def checkpoint(engine: Engine, tenant: str, *, key_name: str = KEY_NAME):
    """Sign the tenant's current head; returns the checkpoint row (the existing one when the head
    has not moved since the last checkpoint), or None when the tenant has no audit rows."""
    h = s.audit_head.c
    with write_tx(engine) as conn:
        q = select(h.seq, h.hash).where(h.tenant_id == tenant)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()  # one checkpointer at a time; appends wait a millisecond
        head = conn.execute(q).first()
        if head is None or (head.seq == 0 and head.hash == ZERO_HASH):
            return None
        last = _latest(conn, tenant)
        if last is not None and last.seq >= head.seq:
            return last
        signed_at = clock.utcnow()
        jws, kid = sign(payload_bytes(tenant, head.seq, head.hash, signed_at), key_name)
        conn.execute(insert(s.audit_checkpoint).values(seq=head.seq, tenant_id=tenant, hash=head.hash,
                                                        signature=jws, key_id=kid, signed_at=signed_at))
        return conn.execute(select(s.audit_checkpoint).where(s.audit_checkpoint.c.seq == head.seq)).first()


def maybe_checkpoint(engine: Engine, tenant: str, *, every: int = DEFAULT_EVERY,
                     max_age: timedelta | None = None):
    """Checkpoint when at least `every` rows were appended since the last checkpoint, or when the
    last one is older than `max_age` and rows were appended since. Returns the new row or None."""
    with engine.connect() as conn:
        head = conn.execute(select(s.audit_head.c.seq).where(s.audit_head.c.tenant_id == tenant)).scalar()
        if not head:
            return None
        last = _latest(conn, tenant)
        since = last.seq if last is not None else 0
        if head <= since:
            return None
        due = False
        if max_age is not None:
            signed = last.signed_at if last is not None else None
            if signed is None or clock.utcnow() - _utc(signed) >= max_age:
                due = True
        if not due:
            e = s.audit_event.c
            n = conn.execute(select(func.count()).select_from(
                select(e.seq).where(in_tenant(tenant), e.seq > since).limit(every).subquery())).scalar()
            due = n >= every
    return checkpoint(engine, tenant) if due else None


def rotate_key(key_name: str = KEY_NAME) -> tuple[str, str]:
    """Retire the current audit-signing key: keep its public JWK in the trusted set
    (<certs>/audit-signing.jwks.json), delete the private key, and create a new one.
    Returns (old kid, new kid). Take a checkpoint first, so the old key's last signature covers
    everything it was responsible for."""
    old = signing.public_jwk(key_name)
    path = retired_jwks_path()
    keys = [k for k in _read_jwks(path) if k.get("kid") != old["kid"]]
    keys.append({k: old[k] for k in ("kty", "crv", "x", "y", "kid", "alg", "use")})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"keys": keys}, indent=1))
    tmp.replace(path)
    (signing.certs_dir() / f"{key_name}.pem").unlink()
    signing.reset()
    return old["kid"], signing.public_jwk(key_name)["kid"]
