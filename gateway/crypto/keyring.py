"""AES-256-GCM key ring for sensitive categories at rest.

Keys live outside the repository (`certs/keyring.json`, or HEP_KEYRING), written by `hep keys
init` / `hep keys rotate`. Every ciphertext names its key id, so rotation adds a new active key
and re-encrypts in the background while old keys still decrypt.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENCRYPTED_CATEGORIES = frozenset({
    "mental_health", "substance_use_disorder_part2", "reproductive_sexual_health_minor_consented", "hiv",
})
_lock = threading.Lock()
_cached: tuple[str, float, "KeyRing | None"] | None = None


def keyring_path() -> Path:
    if os.environ.get("HEP_KEYRING"):
        return Path(os.environ["HEP_KEYRING"])
    return Path(os.environ.get("HEP_CERTS_DIR", "certs")) / "keyring.json"


class KeyRing:
    def __init__(self, active: str, keys: dict[str, bytes]):
        if active not in keys:
            raise ValueError(f"active key {active} is not in the key ring")
        self.active = active
        self.keys = keys
        self._aead = {kid: AESGCM(k) for kid, k in keys.items()}

    @staticmethod
    def should_encrypt(category: str) -> bool:
        return category in ENCRYPTED_CATEGORIES

    def encrypt(self, plain: bytes, aad: bytes) -> tuple[bytes, str]:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead[self.active].encrypt(nonce, plain, aad), self.active

    def decrypt(self, body: bytes, key_id: str, aad: bytes) -> bytes:
        try:
            aead = self._aead[key_id]
        except KeyError:
            raise KeyError(f"key {key_id} is not in the key ring (was it removed before re-encryption finished?)") from None
        return aead.decrypt(body[:12], body[12:], aad)

    def to_json(self) -> dict:
        return {"active": self.active, "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "KeyRing":
        return cls(data["active"], {k: base64.b64decode(v) for k, v in data["keys"].items()})


def new_key_id(existing) -> str:
    n = 1
    while f"k{n}" in existing:
        n += 1
    return f"k{n}"


def save(ring: KeyRing, path: Path | None = None) -> Path:
    path = path or keyring_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(ring.to_json(), fh)
    os.replace(tmp, path)
    reset()
    return path


def init(path: Path | None = None) -> KeyRing:
    """Create a key ring with one key unless one exists."""
    path = path or keyring_path()
    if path.exists():
        return KeyRing.from_json(json.loads(path.read_text()))
    ring = KeyRing("k1", {"k1": AESGCM.generate_key(bit_length=256)})
    save(ring, path)
    return ring


def rotate(path: Path | None = None) -> KeyRing:
    path = path or keyring_path()
    ring = init(path)
    kid = new_key_id(ring.keys)
    keys = dict(ring.keys)
    keys[kid] = AESGCM.generate_key(bit_length=256)
    ring = KeyRing(kid, keys)
    save(ring, path)
    return ring


RECHECK_SECONDS = 2.0  # how stale a rotated key ring may be seen; checking per record cost ingest a stat()
_checked: tuple[str, float] | None = None


def current() -> KeyRing | None:
    """The configured key ring (re-read when the file changes), or None when there is none."""
    global _cached, _checked
    env = os.environ
    path = env.get("HEP_KEYRING") or os.path.join(env.get("HEP_CERTS_DIR", "certs"), "keyring.json")
    now = time.monotonic()
    if _cached is not None and _checked is not None and _checked[0] == path and now - _checked[1] < RECHECK_SECONDS:
        return _cached[2]
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        _cached, _checked = (path, -1.0, None), (path, now)
        return None
    with _lock:
        _checked = (path, now)
        if _cached and _cached[0] == path and _cached[1] == mtime:
            return _cached[2]
        ring = KeyRing.from_json(json.loads(Path(path).read_text()))
        _cached = (path, mtime, ring)
        return ring


def reset() -> None:
    global _cached, _checked
    with _lock:
        _cached = None
        _checked = None
