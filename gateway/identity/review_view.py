"""The review queue as people read it: incoming person beside the candidate youth."""
from __future__ import annotations

from sqlalchemy import func, select

from ..store import schema as s


def review_rows(engine, tenant: str, limit: int = 50, review_id: int | None = None) -> list[dict]:
    ir, y, pr = s.identity_review.c, s.youth.c, s.pending_record.c
    held = (select(pr.review_id, func.count().label("n")).group_by(pr.review_id).subquery())
    q = (select(s.identity_review, y.given, y.middle, y.family, y.birth_date, y.sex, y.client_id, held.c.n)
         .join(s.youth, y.id == ir.candidate_youth_id)
         .outerjoin(held, held.c.review_id == ir.id)
         .where(ir.tenant_id == tenant))
    q = q.where(ir.id == review_id) if review_id is not None else q.where(ir.status == "open")
    out = []
    with engine.connect() as conn:
        for r in conn.execute(q.order_by(ir.id).limit(limit)):
            sub = r.subject
            out.append({
                "id": r.id, "score": r.score, "status": r.status, "source_system": r.source_system,
                "reasons": r.reasons, "held_records": r.n or 0, "created_at": r.created_at,
                "decided_by": r.decided_by,
                "incoming": {"name": " ".join(x for x in (sub.get("given"), sub.get("middle"), sub.get("family")) if x),
                             "birth_date": sub.get("birth_date"), "sex": sub.get("sex"),
                             "identifiers": ", ".join(f"{a}={b}" for a, b in sub.get("identifiers", []))},
                "candidate": {"youth_id": r.candidate_youth_id,
                              "name": " ".join(x for x in (r.given, r.middle, r.family) if x),
                              "birth_date": r.birth_date.isoformat() if r.birth_date else None, "sex": r.sex,
                              "client_id": r.client_id},
            })
    return out
