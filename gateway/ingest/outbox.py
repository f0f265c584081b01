"""Change events written in the same transaction as the data they describe (transactional outbox).

One `passport.changed` event per youth per batch, naming the categories that changed; the
notification dispatcher fans them out to subscribed partners."""
from __future__ import annotations

from ..store import schema as s


def passport_changed(conn, tenant: str, batch_id: str, changed: dict, now) -> int:
    rows = [{"tenant_id": tenant, "topic": "passport.changed", "youth_id": yid,
             "idempotency_key": f"{batch_id}:{yid}", "payload": {"youth_id": yid, "categories": sorted(cats),
                                                                 "batch_id": batch_id},
             "created_at": now, "status": "pending"} for yid, cats in changed.items()]
    for i in range(0, len(rows), 1000):
        conn.execute(s.outbox.insert(), rows[i:i + 1000])
    return len(rows)
