"""Feed data quality for operators: what each district / source feed sent, what was kept, what was
refused and why, and how complete the key fields of the stored records are.

Counts come straight from ingest_batch (so the page equals `hep batches list` summed); problems are
rejected_record rows grouped by field and message pattern (digits and quoted values folded) with an
example file:line; completeness reads stored bodies through ingest.sealing.unseal.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import orjson
from sqlalchemy import and_, case, func, or_, select

from adapters.edfi_common import ATTENDANCE_SUMMARY

from ...ingest.sealing import unseal
from ...passport.facts import school_year_of
from ...store import schema as s

WINDOW_DAYS = 30
TREND_DAYS = 14
TOP_PROBLEMS = 5
COUNTS = ("batches", "records_read", "accepted", "rejected", "out_of_scope", "pending_review", "warnings", "failed")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d+")
_LONG = 160


def pattern(message: str) -> str:
    """A message with its particulars folded: quoted values to '…', digit runs to #."""
    return _NUMBER.sub("#", _QUOTED.sub("'…'", message or ""))[:_LONG]


def lea_of(source_system: str | None) -> str | None:
    """The 7-digit district code a feed's source system names (calpads:1964733 -> 1964733)."""
    m = re.search(r"(?<!\d)(\d{7})(?!\d)", source_system or "")
    return m.group(1) if m else None


def _aware(ts):
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def feeds(conn, tenant: str, now: datetime) -> list[dict]:
    """Per source feed: last received, and counts over the last 30 days and all time."""
    b = s.ingest_batch.c
    src = func.coalesce(b.source_system, b.format)
    cols = [src.label("source"), func.max(b.format).label("format"), func.max(b.started_at).label("last"),
            func.count().label("batches"), func.sum(b.records_read).label("records_read"),
            func.sum(b.created + b.updated + b.unchanged).label("accepted"), func.sum(b.rejected).label("rejected"),
            func.sum(b.out_of_scope).label("out_of_scope"), func.sum(b.pending_review).label("pending_review"),
            func.sum(b.warnings).label("warnings"),
            func.sum(case((b.status != "committed", 1), else_=0)).label("failed")]
    out: dict[str, dict] = {}
    for since, key in ((None, "all"), (now - timedelta(days=WINDOW_DAYS), "recent")):
        q = select(*cols).where(b.tenant_id == tenant)
        if since is not None:
            q = q.where(b.started_at >= since)
        for r in conn.execute(q.group_by(src)):
            f = out.setdefault(r.source, {"source": r.source, "format": r.format, "lea": lea_of(r.source),
                                          "last": _aware(r.last), "all": dict.fromkeys(COUNTS, 0),
                                          "recent": dict.fromkeys(COUNTS, 0)})
            f[key] = {c: int(getattr(r, c) or 0) for c in COUNTS}
    return sorted(out.values(), key=lambda f: (f["lea"] is None, f["lea"] or "", f["source"]))


def problems(conn, tenant: str, now: datetime, *, source: str | None = None, limit: int = TOP_PROBLEMS,
             kinds=("problem", "warning")) -> dict[str, list[dict]]:
    """source -> the most frequent (kind, field, message pattern) of the last 30 days, with an example."""
    b, r = s.ingest_batch.c, s.rejected_record.c
    src = func.coalesce(b.source_system, b.format)
    q = (select(src.label("source"), r.kind, r.field, r.message, r.file, r.line, r.batch_id)
         .select_from(s.rejected_record.join(s.ingest_batch, b.id == r.batch_id))
         .where(and_(b.tenant_id == tenant, r.kind.in_(kinds), b.started_at >= now - timedelta(days=WINDOW_DAYS))))
    if source is not None:
        q = q.where(src == source)
    counts: dict[str, Counter] = defaultdict(Counter)
    example: dict[tuple, dict] = {}
    for row in conn.execution_options(yield_per=2000).execute(q.order_by(r.id)):
        k = (row.kind, row.field or "", pattern(row.message))
        counts[row.source][k] += 1
        example.setdefault((row.source, *k), {"file": row.file, "line": row.line, "batch_id": row.batch_id,
                                              "message": (row.message or "")[:300]})
    out = {}
    for source_, c in counts.items():
        out[source_] = [{"kind": k[0], "field": k[1], "pattern": k[2], "count": n, "example": example[(source_, *k)]}
                        for k, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
    return out


def trend(conn, tenant: str, today: date, days: int = TREND_DAYS) -> list[tuple[date, int]]:
    """Batches started per day (UTC) over the last `days` days, oldest first."""
    b = s.ingest_batch.c
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), timezone.utc)
    per = Counter()
    for (ts,) in conn.execute(select(b.started_at).where(and_(b.tenant_id == tenant, b.started_at >= start))):
        per[_aware(ts).date()] += 1
    return [(today - timedelta(days=k), per.get(today - timedelta(days=k), 0)) for k in range(days - 1, -1, -1)]


def _ratio(have: int, of: int) -> dict:
    return {"have": have, "of": of, "pct": round(100.0 * have / of, 1) if of else None}


def completeness(conn, tenant: str, today: date) -> list[dict]:
    """Key fields among stored records: [{check, source, have, of, pct}], per source feed where the
    records carry one (the SSID check is per youth in care)."""
    y, i, r = s.youth.c, s.youth_identifier.c, s.resource.c
    out = []
    in_care = conn.execute(select(func.count()).select_from(s.youth).where(and_(
        y.tenant_id == tenant, y.in_foster_care.is_(True)))).scalar_one()
    with_ssid = conn.execute(select(func.count()).select_from(s.youth).where(and_(
        y.tenant_id == tenant, y.in_foster_care.is_(True), or_(y.ssid.is_not(None), y.id.in_(
            select(i.youth_id).where(and_(i.tenant_id == tenant, func.lower(i.system) == "ssid"))))))).scalar_one()
    out.append({"check": "Youth in care with a statewide student id (SSID)", "source": "all sources",
                **_ratio(with_ssid, in_care)})

    def bodies(rtypes):
        q = select(r.rtype, r.category, r.body, r.key_id, r.source_system, r.youth_id).where(and_(
            r.tenant_id == tenant, r.rtype.in_(rtypes), r.deleted.is_(False)))
        for row in conn.execution_options(yield_per=2000).execute(q):
            yield row, orjson.loads(unseal(tenant, row.category, row.body, row.key_id))

    sy = school_year_of(today)
    exited, coded = Counter(), Counter()
    current, summarised = Counter(), Counter()
    current_keys: dict[tuple, str] = {}
    summaries: set[tuple] = set()
    for row, body in bodies(("studentSchoolAssociations", ATTENDANCE_SUMMARY)):
        sid = (body.get("schoolReference") or {}).get("schoolId")
        if row.rtype == ATTENDANCE_SUMMARY:
            if body.get("schoolYear") == sy:
                summaries.add((row.youth_id, sid))
            continue
        ext = (body.get("_ext") or {}).get("hep") or {}
        if body.get("exitWithdrawDate") or ext.get("exitDate"):
            exited[row.source_system] += 1
            coded[row.source_system] += bool(body.get("exitWithdrawTypeDescriptor") or ext.get("exitWithdrawTypeDescriptor"))
        year = (body.get("schoolYearTypeReference") or {}).get("schoolYear")
        if year == sy:
            current_keys[(row.youth_id, sid)] = row.source_system
    for key, source in current_keys.items():
        current[source] += 1
        summarised[source] += key in summaries
    for source in sorted(exited):
        out.append({"check": "Exited enrollments with an exit code", "source": source, **_ratio(coded[source], exited[source])})
    for source in sorted(current):
        out.append({"check": f"Enrollments this school year ({sy - 1}–{sy % 100:02d}) with an attendance summary",
                    "source": source, **_ratio(summarised[source], current[source])})
    shots, dated = Counter(), Counter()
    for row, body in bodies(("Immunization",)):
        shots[row.source_system] += 1
        dated[row.source_system] += bool(body.get("occurrenceDateTime") or body.get("occurrenceString"))
    for source in sorted(shots):
        out.append({"check": "Immunizations with a date", "source": source, **_ratio(dated[source], shots[source])})
    providers = set(conn.execute(select(r.youth_id, r.source_system).where(and_(
        r.tenant_id == tenant, r.rtype.in_(("PractitionerRole", "Practitioner")), r.deleted.is_(False)))).all())
    docs, named = Counter(), Counter()
    for row in conn.execute(select(r.youth_id, r.source_system).where(and_(
            r.tenant_id == tenant, r.rtype == "DocumentReference", r.deleted.is_(False)))):
        docs[row.source_system] += 1
        named[row.source_system] += (row.youth_id, row.source_system) in providers
    for source in sorted(docs):
        out.append({"check": "Health documents (C-CDA) naming a provider", "source": source, **_ratio(named[source], docs[source])})
    return out


def batch(conn, tenant: str, batch_id: str):
    b = s.ingest_batch.c
    return conn.execute(select(s.ingest_batch).where(and_(b.tenant_id == tenant, b.id == batch_id))).first()


def batch_problems(conn, tenant: str, batch_id: str, *, offset: int = 0, limit: int = 500) -> tuple[list, int]:
    """Every problem of one batch (file, line, field, message; never the raw input), paged."""
    r = s.rejected_record.c
    cond = and_(r.tenant_id == tenant, r.batch_id == batch_id)
    total = conn.execute(select(func.count()).select_from(s.rejected_record).where(cond)).scalar_one()
    rows = conn.execute(select(r.id, r.kind, r.severity, r.file, r.line, r.path, r.field, r.message)
                        .where(cond).order_by(r.id).offset(offset).limit(limit)).all()
    return [dict(x._mapping) for x in rows], total


def batches_of(conn, tenant: str, source: str, limit: int = 20) -> list:
    b = s.ingest_batch.c
    return conn.execute(select(s.ingest_batch).where(and_(
        b.tenant_id == tenant, func.coalesce(b.source_system, b.format) == source))
        .order_by(b.started_at.desc()).limit(limit)).all()
