"""Queue operations. Claiming uses FOR UPDATE SKIP LOCKED on PostgreSQL so many workers can
poll one table; SQLite write transactions are serialized anyway."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from ..clock import utcnow
from ..store import schema as s
from ..store.engine import write_tx

STALE_AFTER = timedelta(seconds=60)


def enqueue(engine, tenant: str, kind: str, params: dict, owner: str, conn=None) -> str:
    job_id = str(uuid.uuid4())
    row = dict(id=job_id, tenant_id=tenant, kind=kind, status="queued", owner=owner[:120], params=params,
               progress={}, attempts=0, created_at=utcnow())
    if conn is not None:
        conn.execute(s.job.insert().values(**row))
    else:
        with write_tx(engine) as c:
            c.execute(s.job.insert().values(**row))
    return job_id


def claim(engine, worker: str, kinds: list[str] | None = None, stale_after: timedelta = STALE_AFTER):
    """Take the oldest queued job (or one whose worker stopped heartbeating); None when idle."""
    j = s.job.c
    now = utcnow()
    with write_tx(engine) as conn:
        q = select(s.job).where(or_(j.status == "queued",
                                    and_(j.status == "running", j.heartbeat_at < now - stale_after)))
        if kinds:
            q = q.where(j.kind.in_(kinds))
        q = q.order_by(j.created_at).limit(1)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        row = conn.execute(q).first()
        if row is None:
            return None
        conn.execute(update(s.job).where(j.id == row.id).values(
            status="running", worker=worker[:80], heartbeat_at=now, attempts=row.attempts + 1,
            started_at=row.started_at or now))
        return conn.execute(select(s.job).where(j.id == row.id)).first()


def heartbeat(engine, job_id: str, progress: dict | None = None) -> bool:
    """Record progress; False when the job was cancelled (the handler should stop)."""
    j = s.job.c
    with write_tx(engine) as conn:
        status = conn.execute(select(j.status).where(j.id == job_id)).scalar()
        if status != "running":
            return False
        values = {"heartbeat_at": utcnow()}
        if progress is not None:
            values["progress"] = progress
        conn.execute(update(s.job).where(j.id == job_id).values(**values))
    return True


def _owned(job_id: str, worker: str | None):
    """A worker finishes only a job it still holds: one presumed dead and reclaimed must not
    overwrite the outcome of the worker that took it over."""
    cond = and_(s.job.c.id == job_id, s.job.c.status == "running")
    return and_(cond, s.job.c.worker == worker[:80]) if worker else cond


def complete(engine, job_id: str, result: dict, worker: str | None = None) -> bool:
    with write_tx(engine) as conn:
        return bool(conn.execute(update(s.job).where(_owned(job_id, worker))
                                 .values(status="completed", result=result, finished_at=utcnow())).rowcount)


def fail(engine, job_id: str, error: str, worker: str | None = None) -> bool:
    with write_tx(engine) as conn:
        return bool(conn.execute(update(s.job).where(_owned(job_id, worker))
                                 .values(status="failed", error=error[:4000], finished_at=utcnow())).rowcount)


def cancel(engine, tenant: str, job_id: str) -> bool:
    j = s.job.c
    with write_tx(engine) as conn:
        n = conn.execute(update(s.job).where(and_(j.tenant_id == tenant, j.id == job_id,
                                                  j.status.in_(["queued", "running"])))
                         .values(status="cancelled", finished_at=utcnow())).rowcount
    return bool(n)


def get(engine, tenant: str, job_id: str):
    with engine.connect() as conn:
        return conn.execute(select(s.job).where(and_(s.job.c.tenant_id == tenant, s.job.c.id == job_id))).first()
