"""Re-encrypt sealed bodies under the active key after `hep keys rotate`, in chunks, so an old
key can be retired once nothing uses it. Safe to stop and re-run: rows already under the active
key are skipped."""
from __future__ import annotations

from sqlalchemy import and_, func, select, update

from ..store import schema as s
from ..store.engine import write_tx
from . import keyring

CHUNK = 500


def usage(engine) -> dict[str, int]:
    """How many stored bodies (current and history) each key id seals."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for table in (s.resource, s.resource_version):
            for kid, n in conn.execute(select(table.c.key_id, func.count()).where(table.c.key_id.is_not(None))
                                       .group_by(table.c.key_id)):
                out[kid] = out.get(kid, 0) + n
    return out


def reencrypt(engine, progress=None) -> int:
    ring = keyring.current()
    if ring is None:
        raise RuntimeError("no key ring: run `hep keys init` first")
    done = 0
    for table, key_cols in ((s.resource, ("tenant_id", "id")), (s.resource_version, ("id",))):
        t = table.c
        while True:
            with write_tx(engine) as conn:
                rows = conn.execute(select(*[t[c] for c in key_cols], t.tenant_id.label("tenant"), t.category,
                                           t.body, t.key_id)
                                    .where(and_(t.key_id.is_not(None), t.key_id != ring.active)).limit(CHUNK)).all()
                if not rows:
                    break
                for row in rows:
                    aad = f"{row.tenant}:{row.category}".encode()
                    body, kid = ring.encrypt(ring.decrypt(row.body, row.key_id, aad), aad)
                    where = and_(*[t[c] == getattr(row, c) for c in key_cols])
                    conn.execute(update(table).where(where).values(body=body, key_id=kid))
                done += len(rows)
            if progress:
                progress(done)
    return done


def retire(key_id: str, engine) -> None:
    """Drop an old key from the ring once no stored body uses it."""
    in_use = usage(engine).get(key_id, 0)
    if in_use:
        raise RuntimeError(f"key {key_id} still seals {in_use} bodies; run `hep keys rotate --reencrypt-only` first")
    ring = keyring.current()
    if ring is None or key_id not in ring.keys:
        raise KeyError(f"no key {key_id} in the key ring")
    if key_id == ring.active:
        raise RuntimeError("the active key cannot be retired; rotate first")
    keys = {k: v for k, v in ring.keys.items() if k != key_id}
    keyring.save(keyring.KeyRing(ring.active, keys))
