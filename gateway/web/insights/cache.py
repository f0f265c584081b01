"""The published indicators, computed at most once a day per county and kept in insight_cache.

A request finds today's row or computes it (streaming, see compute.py) and stores it; `hep
indicators compute` does the same ahead of time (e.g. from cron at 05:00) so no analyst waits.
Only the suppressed tables are stored: the cache holds nothing an analyst may not see.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, delete, select
from sqlalchemy.exc import IntegrityError

from ...clock import utcnow
from ...store import schema as s
from ...store.engine import write_tx
from .compute import compute
from .publish import publish

KIND = "indicators"
KEEP_DAYS = 60
C = s.insight_cache.c


def cached(engine, tenant: str, as_of: date) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(C.payload).where(and_(C.tenant_id == tenant, C.kind == KIND, C.as_of == as_of))).first()
    return row.payload if row else None


def refresh(engine, tenant: str, as_of: date) -> dict:
    raw = compute(engine, tenant, as_of)
    out = publish(raw)
    now = utcnow()
    out.update(computed_at=now.isoformat(timespec="seconds"), seconds=round(raw.seconds, 3))
    try:
        with write_tx(engine) as conn:
            conn.execute(delete(s.insight_cache).where(and_(C.tenant_id == tenant, C.kind == KIND, or_day(as_of))))
            conn.execute(s.insight_cache.insert().values(tenant_id=tenant, kind=KIND, as_of=as_of, computed_at=now,
                                                         seconds=raw.seconds, payload=out))
    except IntegrityError:      # another worker stored the same day meanwhile: theirs is as good
        pass
    return out


def or_day(as_of: date):
    """Today's row (replaced) and rows older than KEEP_DAYS (dropped)."""
    from sqlalchemy import or_
    return or_(C.as_of == as_of, C.as_of < as_of - timedelta(days=KEEP_DAYS))


def indicators(engine, tenant: str, as_of: date) -> dict:
    """Today's published indicators: from the cache, else computed now (and cached)."""
    return cached(engine, tenant, as_of) or refresh(engine, tenant, as_of)
