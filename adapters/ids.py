"""Name-based (version 5) UUIDs as text, the hot path of every deterministic id we mint.

Identical to str(uuid.uuid5(namespace, name)) (tests/test_ingest_writes.py checks it) without
building UUID objects: ingest and passport assembly make one or more per record.
"""
from __future__ import annotations

import hashlib
import uuid


def uuid5_str(namespace: uuid.UUID, name: str) -> str:
    h = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50   # version 5
    h[8] = (h[8] & 0x3F) | 0x80   # RFC 4122 variant
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"
