"""Possible identity matches: held with their records until a person links or rejects them."""
from __future__ import annotations

import orjson
from sqlalchemy import and_, delete, select, update

from adapters.base import Record, Subject

from ..store import schema as s
from ..store.engine import write_tx


def record_to_bytes(rec: Record, source_system: str) -> bytes:
    return orjson.dumps({"standard": rec.standard, "type": rec.type, "category": rec.category,
                         "resource": rec.resource, "source": rec.source, "key": rec.key, "action": rec.action,
                         "labels": rec.labels, "subject": rec.subject.to_dict() if rec.subject else None,
                         "source_system": source_system})


def record_from_bytes(data: bytes) -> tuple[Record, str]:
    d = orjson.loads(data)
    subject = Subject.from_dict(d["subject"]) if d.get("subject") else None
    return Record(d["standard"], d["type"], d["category"], d["resource"], d["source"], d["key"], subject,
                  d.get("labels") or {}, d.get("action", "upsert")), d["source_system"]


class ReviewQueue:
    """Within one batch: one review per distinct incoming person, holding every record about them."""

    def __init__(self, conn, tenant: str, batch_id: str, source_system: str, now):
        self.conn, self.tenant, self.batch_id, self.source_system, self.now = conn, tenant, batch_id, source_system, now
        self.by_identifier: dict[tuple[str, str], int] = {}
        self.by_subject: dict[Subject, int] = {}
        self.held = 0

    def review_for(self, subject: Subject) -> int | None:
        rid = self.by_subject.get(subject)
        if rid is None:
            rid = next((self.by_identifier[i] for i in subject.identifiers if i in self.by_identifier), None)
        return rid

    def open(self, subject: Subject, match) -> int:
        rid = self.review_for(subject)
        if rid is None:
            rid = self.conn.execute(s.identity_review.insert().values(
                tenant_id=self.tenant, batch_id=self.batch_id, source_system=self.source_system[:120],
                subject=subject.to_dict(), candidate_youth_id=match.youth_id, score=round(match.score, 2),
                reasons=match.reasons, status="open", created_at=self.now)).inserted_primary_key[0]
        self.by_subject[subject] = rid
        for ident in subject.identifiers:
            self.by_identifier.setdefault(ident, rid)
        return rid

    def hold(self, review_id: int, rec: Record) -> None:
        self.conn.execute(s.pending_record.insert().values(
            tenant_id=self.tenant, review_id=review_id, record=record_to_bytes(rec, self.source_system)))
        self.held += 1


def open_reviews(conn, tenant: str, limit: int = 100) -> list:
    ir = s.identity_review.c
    return list(conn.execute(select(s.identity_review).where(and_(ir.tenant_id == tenant, ir.status == "open"))
                             .order_by(ir.id).limit(limit)))


def decide(engine, tenant: str, review_id: int, decision: str, decided_by: str) -> dict:
    """Link (the held records are stored for the candidate youth, the identifiers learned) or
    reject (the held records are dropped as out of scope, the sender's batch says so)."""
    from ..clock import utcnow
    from ..identity.linker import Linker
    from .case import CaseWriter
    from .resources import ResourceWriter

    if decision not in ("link", "reject"):
        raise ValueError("decision must be link or reject")
    now = utcnow()
    ir = s.identity_review.c
    with write_tx(engine) as conn:
        review = conn.execute(select(s.identity_review).where(and_(ir.tenant_id == tenant, ir.id == review_id))
                              .with_for_update()).first()
        if review is None:
            raise LookupError(f"no identity review {review_id}")
        if review.status != "open":
            raise ValueError(f"review {review_id} was already decided ({review.status} by {review.decided_by})")
        pending = list(conn.execute(select(s.pending_record).where(s.pending_record.c.review_id == review_id)
                                    .order_by(s.pending_record.c.id)))
        stored = 0
        if decision == "link":
            linker = Linker.load(conn, tenant)
            case = CaseWriter(conn, tenant, linker, now)
            subject = Subject.from_dict(review.subject)
            for system, value in subject.identifiers:
                owner = linker.known(system, value)
                if owner is None:
                    case.add_identifier(system, value, review.candidate_youth_id, review.source_system, "reviewed",
                                        review.score)
            writer = ResourceWriter(conn, tenant, review.batch_id, review.source_system, now, before_flush=case.flush)
            for p in pending:
                rec, _ = record_from_bytes(p.record)
                writer.add(rec, review.candidate_youth_id)
                stored += 1
            writer.flush()
        else:
            first = record_from_bytes(pending[0].record)[0] if pending else None
            conn.execute(s.rejected_record.insert().values(
                tenant_id=tenant, batch_id=review.batch_id, kind="out_of_scope",
                file=(first.source.get("file") if first else None), line=(first.source.get("line") if first else None),
                severity="warning", message=f"{len(pending)} record(s) about a person a reviewer found is not a youth "
                                            f"in scope were not kept (review {review_id})"))
            conn.execute(update(s.ingest_batch).where(s.ingest_batch.c.id == review.batch_id)
                         .values(out_of_scope=s.ingest_batch.c.out_of_scope + len(pending)))
        conn.execute(delete(s.pending_record).where(s.pending_record.c.review_id == review_id))
        conn.execute(update(s.identity_review).where(ir.id == review_id).values(
            status="linked" if decision == "link" else "rejected", decided_by=decided_by, decided_at=now))
        conn.execute(update(s.ingest_batch).where(s.ingest_batch.c.id == review.batch_id)
                     .values(pending_review=s.ingest_batch.c.pending_review - len(pending)))
    return {"review": review_id, "decision": decision, "records_stored": stored, "records_dropped": len(pending) - stored}
