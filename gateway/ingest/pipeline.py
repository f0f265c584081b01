"""`hep ingest`: one atomic, idempotent batch per call.

The whole batch is one transaction: a crash (or kill -9) mid-ingest leaves nothing behind, and
re-running the same input changes nothing (a committed batch with the same content hash is
reported, not repeated; record-level content hashes make overlapping inputs idempotent too).
Every problem is kept with its reason; records about people not in scope are not kept, and the
batch says so.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import and_, select, update

import adapters
from adapters.base import InputRefused, Problem, Record, Subject

from .. import faults
from ..clock import utcnow
from ..identity.linker import Linker
from ..store import schema as s
from ..store.bulk import insert_rows
from ..store.engine import write_tx
from .case import CaseWriter, close_absent
from .outbox import passport_changed
from .resources import ResourceWriter
from .review import ReviewQueue

log = logging.getLogger("hep.ingest")

PROBLEM_CHUNK = 1000
FAULT_AFTER = 5000
# PostgreSQL plans a batch's own lookups from statistics that predate it: on a new store (or a
# new kind of record) the tables look empty and the natural-key lookups walk the whole tenant
# (seconds per chunk). A batch refreshes the statistics (which inside the transaction count its
# own rows) after this many records and again each time its record count doubles: a few
# ANALYZEs of sampled rows, however large the batch.
PLANNER_REFRESH_AFTER = 10000
_PLANNED_TABLES = ("resource", "youth", "youth_identifier", "placement", "care_assignment", "consent", "court_order")
# below this an input (one clinical document, one message) looks identities up one by one instead
# of reading the whole roster
EAGER_IDENTITY_BYTES = 2 * 1024 * 1024
CASE_PROJECTED = ("placement", "assignment", "courtOrder", "consent")


@dataclass
class BatchResult:
    batch_id: str | None
    status: str                      # committed | duplicate | refused | failed
    format: str
    source_name: str
    records_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    warnings: int = 0
    out_of_scope: int = 0
    pending_review: int = 0
    care_closed: int = 0             # youth a case extract no longer lists (left care)
    problems: list[dict] = field(default_factory=list)   # the first few, for the sender
    duplicate_of: str | None = None
    error: str | None = None

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged + self.deleted

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["accepted"] = self.accepted
        return d


def hash_inputs(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        for f in files:
            h.update(f.name.encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def _ensure_tenant(conn, tenant: str, now) -> None:
    if conn.execute(select(s.tenant_table.c.id).where(s.tenant_table.c.id == tenant)).first() is None:
        conn.execute(s.tenant_table.insert().values(id=tenant, name=tenant, created_at=now))


class _Batch:
    """State of one running batch inside its transaction."""

    def __init__(self, conn, tenant, batch_id, source_system, now, result: BatchResult, eager_identity: bool = True):
        self.conn, self.tenant, self.batch_id, self.source_system, self.now = conn, tenant, batch_id, source_system, now
        self.result = result
        self.linker = Linker.load(conn, tenant, eager=eager_identity)
        self.case = CaseWriter(conn, tenant, self.linker, now)
        self.writer = ResourceWriter(conn, tenant, batch_id, source_system, now, before_flush=self.case.flush)
        self.review = ReviewQueue(conn, tenant, batch_id, source_system, now)
        self.problem_rows: list[dict] = []
        self.links: dict[Subject, tuple[str, object]] = {}   # subject -> (status, youth id | review id)
        self.out_ids: set[tuple[str, str]] = set()
        self.out_people: dict[tuple, dict] = {}   # identifier -> the person's tally (shared)
        self.deferred: list[Record] = []
        self.youth_listed: set[str] = set()   # youth a case extract lists (a snapshot of who is in care)

    # problems and out-of-scope people are both kept as rejected_record rows
    def problem(self, p: Problem) -> None:
        r = self.result
        if p.severity == "error":
            r.rejected += 1
        else:
            r.warnings += 1
        if len(r.problems) < 50:
            r.problems.append(p.contract_dict())
        self.problem_rows.append({
            "tenant_id": self.tenant, "batch_id": self.batch_id, "kind": "problem" if p.severity == "error" else "warning",
            "file": (p.file or "")[:500], "line": p.line, "path": None, "field": (p.field or "")[:200] or None,
            "severity": p.severity, "message": p.message, "raw": p.raw})
        if len(self.problem_rows) >= PROBLEM_CHUNK:
            self.flush_problems()

    def flush_problems(self) -> None:
        if self.problem_rows:
            insert_rows(self.conn, s.rejected_record, self.problem_rows)
            self.problem_rows = []

    def out_of_scope(self, rec: Record, reason: str) -> None:
        """Count it against the person it is about (one line per person for the sender)."""
        self.result.out_of_scope += 1
        ids = rec.subject.identifiers if rec.subject else ()
        entry = next((self.out_people[i] for i in ids if i in self.out_people), None)
        if entry is None:
            entry = {"file": str(rec.source.get("file", ""))[:500], "line": rec.source.get("line"),
                     "ids": ", ".join(f"{a}={b}" for a, b in ids[:3]), "count": 0, "reason": reason}
            if not ids:
                self.out_people[("subject", id(entry))] = entry
        entry["count"] += 1
        for i in ids:
            self.out_ids.add(i)
            self.out_people.setdefault(i, entry)

    def record(self, rec: Record, final: bool = False) -> None:
        if rec.standard == "case" and rec.type == "youth":
            yid, warnings = self.case.upsert_youth(rec, self.source_system)
            if rec.resource.get("in_foster_care", True):
                self.youth_listed.add(yid)
            for w in warnings:
                self.problem(Problem(rec.source.get("file", ""), rec.source.get("line"), "ssid", w, severity="warning"))
            self.writer.add(rec, yid)
            return
        if rec.subject is None:
            self.writer.add(rec, None)  # reference data: schools, districts
            return
        status, target = self._link(rec.subject, final)
        if status == "certain":
            if rec.standard == "case" and rec.type in CASE_PROJECTED:
                self.case.project(rec, target)
            self.writer.add(rec, target)
        elif status == "possible":
            self.review.hold(target, rec)
            self.result.pending_review += 1
        elif status == "defer":
            self.deferred.append(rec)
        else:
            self.out_of_scope(rec, target)

    def _link(self, subject: Subject, final: bool) -> tuple[str, object]:
        cached = self.links.get(subject)
        if cached is not None:
            return cached
        rid = self.review.review_for(subject)
        if rid is not None:
            return "possible", rid
        match = self.linker.resolve(subject)
        if match.status == "certain":
            for system, value in self.linker.learn(subject, match.youth_id):
                self.case.add_identifier(system, value, match.youth_id, self.source_system, match.method,
                                         round(match.score, 2))
            out = ("certain", match.youth_id)
        elif match.status == "possible":
            out = ("possible", self.review.open(subject, match))
        elif not subject.has_demographics and not final and not (set(subject.identifiers) & self.out_ids):
            return "defer", None  # the person record may come later in this batch
        else:
            reason = "; ".join(match.reasons[:3]) or "no youth in scope matches"
            out = ("none", f"not a youth in foster care in this county ({reason})")
        self.links[subject] = out
        return out

    def _close_absent(self) -> None:
        closed, refusal = close_absent(self.conn, self.tenant, self.youth_listed, self.now)
        if refusal:
            self.problem(Problem(self.result.source_name, None, "clients", refusal, severity="warning"))
            return
        if closed:
            self.result.care_closed = len(closed)
            shown = ", ".join(closed[:10]) + (f" and {len(closed) - 10} more" if len(closed) > 10 else "")
            self.problem(Problem(self.result.source_name, None, "clients",
                                 f"{len(closed)} youth no longer listed: marked as having left care ({shown})",
                                 severity="warning"))
            for yid in closed:
                self.writer.counts.touch(yid, "placement_case_information")

    def finish(self) -> None:
        for rec in self.deferred:
            self.record(rec, final=True)
        self.deferred = []
        self.writer.flush()
        if self.result.format == "cws" and self.youth_listed:
            self._close_absent()
        people = {id(e): e for e in self.out_people.values()}.values()
        for person in people:
            self.problem_rows.append({
                "tenant_id": self.tenant, "batch_id": self.batch_id, "kind": "out_of_scope", "file": person["file"],
                "line": person["line"], "path": None, "field": None, "severity": "warning", "raw": None,
                "message": f"{person['count']} record(s) not kept: {person['reason']} [{person['ids']}]"})
        self.flush_problems()
        c = self.writer.counts
        r = self.result
        r.created, r.updated, r.unchanged, r.deleted = c.created, c.updated, c.unchanged, c.deleted
        passport_changed(self.conn, self.tenant, self.batch_id, c.changed_youth, self.now)


def ingest(engine, fmt: str, paths: list, *, tenant: str = "la", submitted_by: str = "cli",
           source_system: str | None = None, options: dict | None = None, progress: bool = False) -> BatchResult:
    """Ingest files of one source format as one batch."""
    paths = [Path(p) for p in paths]
    adapter = adapters.get(fmt)

    def items():
        for path in paths:
            yield from adapter.convert(path, **(options or {}))

    return ingest_items(engine, fmt, items(), source_name=", ".join(p.name for p in paths)[:500],
                        digest=hash_inputs(paths), tenant=tenant, submitted_by=submitted_by,
                        source_system=source_system or f"{fmt}:{paths[0].name}", progress=progress,
                        eager_identity=_input_bytes(paths) > EAGER_IDENTITY_BYTES)


def _input_bytes(paths: list[Path]) -> int:
    return sum(f.stat().st_size for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())


def ingest_items(engine, fmt: str, items, *, source_name: str, digest: str, tenant: str = "la",
                 submitted_by: str = "cli", source_system: str, progress: bool = False,
                 eager_identity: bool = True) -> BatchResult:
    """Ingest already-converted records and problems (from files, or an API request) as one
    atomic batch. `digest` identifies the input: a committed batch with the same digest is
    reported as a duplicate instead of being applied again. `eager_identity=False` (a few
    records, e.g. one API request) looks identities up on demand instead of loading the roster."""
    result = BatchResult(None, "committed", fmt, source_name)
    b = s.ingest_batch.c
    with engine.connect() as conn:
        prior = conn.execute(select(b.id).where(and_(b.tenant_id == tenant, b.format == fmt, b.content_sha256 == digest,
                                                     b.status == "committed")).limit(1)).first()
    if prior:
        result.status, result.duplicate_of, result.batch_id = "duplicate", prior.id, prior.id
        return result
    batch_id = str(uuid.uuid4())
    result.batch_id = batch_id
    now = utcnow()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(unit=" records", desc=f"ingest {fmt}", mininterval=0.5, leave=False)
    try:
        with write_tx(engine) as conn:
            _ensure_tenant(conn, tenant, now)
            conn.execute(s.ingest_batch.insert().values(
                id=batch_id, tenant_id=tenant, format=fmt, source_name=source_name, source_system=source_system[:120],
                content_sha256=digest, submitted_by=submitted_by[:120], status="running", started_at=now))
            batch = _Batch(conn, tenant, batch_id, source_system, now, result, eager_identity)
            refresh_at = PLANNER_REFRESH_AFTER
            for item in items:
                if isinstance(item, Problem):
                    if item.fatal:
                        raise InputRefused(f"{item.file}: {item.message}")
                    batch.problem(item)
                else:
                    result.records_read += 1
                    batch.record(item)
                    if result.records_read == FAULT_AFTER:
                        batch.writer.flush()
                        faults.point("ingest-mid-batch")   # rows written, transaction still open
                    if result.records_read == refresh_at and conn.dialect.name == "postgresql":
                        refresh_at *= 2
                        batch.writer.flush()
                        conn.exec_driver_sql("ANALYZE " + ", ".join(_PLANNED_TABLES))
                if bar is not None:
                    bar.update(1)
            batch.finish()
            conn.execute(update(s.ingest_batch).where(b.id == batch_id).values(
                status="committed", finished_at=utcnow(), records_read=result.records_read, created=result.created,
                updated=result.updated, unchanged=result.unchanged, deleted=result.deleted, rejected=result.rejected,
                out_of_scope=result.out_of_scope, pending_review=result.pending_review, warnings=result.warnings))
    except (InputRefused, OSError) as e:
        _record_failure(engine, tenant, batch_id, fmt, source_name, source_system, digest, submitted_by, now,
                        "refused", str(e))
        result.status, result.error = "refused", str(e)
        result.records_read = result.created = result.updated = result.unchanged = result.deleted = 0
    except Exception as e:
        try:
            _record_failure(engine, tenant, batch_id, fmt, source_name, source_system, digest, submitted_by, now,
                            "failed", f"{type(e).__name__}: {e}")
        except Exception as again:   # a full disk refuses the failure row too: the batch's own error is the news
            log.warning("could not record the failed batch %s: %s", batch_id, again)
        raise
    finally:
        if bar is not None:
            bar.close()
    return result


def _record_failure(engine, tenant, batch_id, fmt, source_name, source_system, digest, submitted_by, now, status, error):
    """A refused or failed batch leaves one row saying why, and nothing else."""
    with write_tx(engine) as conn:
        _ensure_tenant(conn, tenant, now)
        conn.execute(s.ingest_batch.insert().values(
            id=batch_id, tenant_id=tenant, format=fmt, source_name=source_name, source_system=source_system[:120],
            content_sha256=digest, submitted_by=submitted_by[:120], status=status, started_at=now,
            finished_at=utcnow(), error=error[:4000]))
