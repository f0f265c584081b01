"""The accounting of disclosures for one youth (FERPA 99.32, HIPAA 164.528, Part 2 2.24/2.25):
the youth's audit rows, newest first, for `GET /fhir/AuditEvent?patient=<id>` (render each with
`to_audit_event`) and `hep audit show --youth`.

Served from the `ix_audit_event_youth (tenant_id, youth_id, seq)` index. Denials are included by
default (every disclosure and denial is accountable); pass outcomes=("permit", "permit-redacted")
for disclosures only.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..store import schema as s


def accounting(conn: Connection, tenant: str, youth_id: str, *, since: datetime | None = None,
               count: int = 50, offset: int = 0, outcomes: Iterable[str] | None = None) -> tuple[list, int]:
    """(rows, total): a page of the youth's audit rows (newest first) and how many there are in all."""
    if count < 0 or offset < 0:
        raise ValueError("count and offset must not be negative")
    e = s.audit_event.c
    cond = [e.tenant_id == tenant, e.youth_id == youth_id]
    if since is not None:
        if since.tzinfo is not None:
            since = since.astimezone(timezone.utc)
        if since.tzinfo is not None and conn.dialect.name == "sqlite":
            since = since.replace(tzinfo=None)  # SQLite stores naive UTC
        cond.append(e.recorded_at >= since)
    if outcomes is not None:
        cond.append(e.outcome.in_(list(outcomes)))
    total = conn.execute(select(func.count()).select_from(s.audit_event).where(*cond)).scalar_one()
    rows = conn.execute(select(s.audit_event).where(*cond).order_by(e.seq.desc())
                        .limit(count).offset(offset)).all() if count else []
    return rows, int(total)
