"""The `ingest` job: a file uploaded through `POST /ingest/{format}` becomes one batch.

params: {"format", "paths": [...], "source_system", "submitted_by", "options"}; the batch's
content hash makes a re-run after a crash a no-op, so the job is safe to claim again."""
from __future__ import annotations

from ..ingest.pipeline import ingest


def run(engine, job, report) -> dict:
    p = job.params
    report({"stage": "ingesting"})
    r = ingest(engine, p["format"], p["paths"], tenant=job.tenant_id, submitted_by=p.get("submitted_by", job.owner),
               source_system=p.get("source_system"), options=p.get("options") or {})
    return r.to_dict()
