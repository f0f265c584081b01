"""The gateway's own signing keys (access tokens, audit checkpoints), kept under certs/.

Generated on first use (or by `hep certs init`) as PEM files readable only by the owner; never
committed. Each key has a stable key id (RFC 7638 JWK thumbprint) so verifiers can pick it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

_lock = threading.Lock()
_cache: dict[str, ec.EllipticCurvePrivateKey] = {}


def certs_dir() -> Path:
    return Path(os.environ.get("HEP_CERTS_DIR", "certs"))


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(48, "big")).rstrip(b"=").decode()


def signing_key(name: str) -> ec.EllipticCurvePrivateKey:
    """P-384 private key `certs/<name>.pem` (ES384), created on first use."""
    path = certs_dir() / f"{name}.pem"
    cache_key = str(path.resolve()) if path.exists() else str(path)
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        else:
            key = ec.generate_private_key(ec.SECP384R1())
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
        _cache[str(path.resolve())] = key
        return key


def public_jwk(name: str) -> dict:
    pub = signing_key(name).public_key().public_numbers()
    jwk = {"crv": "P-384", "kty": "EC", "x": _b64(pub.x), "y": _b64(pub.y)}
    thumb = hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest()
    return {**jwk, "kid": base64.urlsafe_b64encode(thumb).rstrip(b"=").decode(), "alg": "ES384", "use": "sig"}


def reset() -> None:
    with _lock:
        _cache.clear()
