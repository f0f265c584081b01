"""How a resource body is kept at rest: the content hash is of the plain JSON (so unchanged
content is detected whatever the key), and the body of a sensitive category is encrypted.

Encryption is delegated to gateway.crypto.keyring when keys exist (`hep keys init`); without a
key ring (a bare test store) bodies are stored plain."""
from __future__ import annotations

import hashlib


def sealer(tenant: str):
    """(category, plain) -> (body, key id, content hash) for one tenant, bound to the key ring as
    it is now: a chunk of records looks the ring up once."""
    from ..crypto import keyring  # late: the key ring reads configuration on first use
    ring = keyring.current()
    sha256 = hashlib.sha256

    def seal_one(category: str, plain: bytes) -> tuple[bytes, str | None, str]:
        digest = sha256(plain).hexdigest()
        if ring is not None and ring.should_encrypt(category):
            body, key_id = ring.encrypt(plain, aad=f"{tenant}:{category}".encode())
            return body, key_id, digest
        return plain, None, digest
    return seal_one


def unseal(tenant: str, category: str, body: bytes, key_id: str | None) -> bytes:
    if key_id is None:
        return body
    from ..crypto import keyring
    ring = keyring.current()
    if ring is None:
        raise RuntimeError(f"resource encrypted with key {key_id} but no key ring is configured")
    return ring.decrypt(body, key_id, aad=f"{tenant}:{category}".encode())
