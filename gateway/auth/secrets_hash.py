"""Client secrets: stored only as a salted scrypt hash; verified in constant time."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

# scrypt cost: N=2^14, r=8, p=1 (16 MiB, ~50 ms) - the RFC 7914 interactive setting
_N, _R, _P, _LEN = 2 ** 14, 8, 1, 32


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, n: int = _N) -> str:
    salt = os.urandom(16)
    dk = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=_R, p=_P, dklen=_LEN, maxmem=64 * 1024 * 1024)
    return f"scrypt${n}${_R}${_P}${_b64(salt)}${_b64(dk)}"


_DUMMY = None


def verify_secret(secret: str, stored: str | None) -> bool:
    """Constant-time check. With no stored hash (unknown client) the same work is done, so timing
    does not tell which client ids exist."""
    global _DUMMY
    if not stored:
        _DUMMY = _DUMMY or hash_secret("x")
        stored, ok = _DUMMY, False
    else:
        ok = True
    try:
        algo, n, r, p, salt, dk = stored.split("$")
        if algo != "scrypt":
            return False
        got = hashlib.scrypt(secret.encode()[:1024], salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(_unb64(dk)), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(dk)) and ok
