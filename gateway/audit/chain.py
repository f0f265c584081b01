"""Appending to the per-tenant, hash-chained audit log (`audit_event`, `audit_head`).

Every row's `hash` is SHA-256 (lower-case hex) over `canonical_bytes(row)`:

    orjson.dumps({"v": 1, "tenant": ..., "seq": ..., "recorded_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",
                  "actor_id": ..., "actor_role": ..., "client_id": ..., "youth_id": ...,
                  "action": ..., "purpose": ..., "outcome": ..., "entry": {...},
                  "prev_hash": ...}, option=OPT_SORT_KEYS)

i.e. UTF-8 JSON, object keys sorted at every depth, no whitespace, null for absent values,
`recorded_at` in UTC with exactly six fractional digits. `prev_hash` of a tenant's first row is
64 zeros. `entry` is normalised (an orjson round trip) before it is both hashed and stored, so
what the database returns hashes to the same bytes.

`seq` is the table's primary key and therefore unique across tenants; within one tenant it is
strictly increasing but not necessarily contiguous (other tenants' rows, and on PostgreSQL
sequence values burnt by rolled-back transactions, sit in between). Order and completeness of a
tenant's chain are proven by `prev_hash`, not by seq arithmetic.

Linearity: `append` runs inside the caller's write transaction and first locks the tenant's
`audit_head` row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite `write_tx` holds the database's
single write lock). The head row is created when absent. Two appends for one tenant therefore
never read the same head, and the audit row commits or rolls back with what it records.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import orjson
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection

from .. import clock
from ..store import schema as s

ZERO_HASH = "0" * 64
CANON_VERSION = 1
# Outcome vocabulary (the `outcome` column): the policy's decisions plus `error` (the request
# could not be decided / served). AuditEvent.outcome maps them to 0, 0, 4, 8.
OUTCOMES = ("permit", "permit-redacted", "deny", "error")
FIELDS = ("actor_id", "actor_role", "client_id", "youth_id", "action", "purpose", "outcome")
_REQUIRED = ("actor_id", "actor_role", "action", "outcome")
_LIMITS = {c: s.audit_event.c[c].type.length for c in FIELDS}


def iso_utc(ts: datetime) -> str:
    """The canonical form of a timestamp: UTC, microseconds, 'Z' (naive values are taken as UTC,
    which is how SQLite returns what we stored)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        return ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc)


def normalise_entry(entry: Mapping) -> dict:
    """The JSON value that will be stored (dates -> ISO strings, tuples -> lists, keys -> str)."""
    if not isinstance(entry, Mapping):
        raise TypeError(f"audit entry must be a mapping, not {type(entry).__name__}")
    return orjson.loads(orjson.dumps(entry, option=orjson.OPT_NON_STR_KEYS))


def canonical_bytes(*, tenant: str, seq: int, recorded_at: datetime | str, actor_id, actor_role, client_id,
                    youth_id, action, purpose, outcome, entry, prev_hash: str) -> bytes:
    return orjson.dumps({
        "v": CANON_VERSION, "tenant": tenant, "seq": int(seq),
        "recorded_at": recorded_at if isinstance(recorded_at, str) else iso_utc(recorded_at),
        "actor_id": actor_id, "actor_role": actor_role, "client_id": client_id, "youth_id": youth_id,
        "action": action, "purpose": purpose, "outcome": outcome, "entry": entry, "prev_hash": prev_hash,
    }, option=orjson.OPT_SORT_KEYS)


def row_hash(row: Mapping, *, prev_hash: str | None = None, seq: int | None = None) -> str:
    """SHA-256 hex of a stored row (a mapping with the audit_event columns). `prev_hash`/`seq`
    override the row's own values (used by verify to diagnose what was changed)."""
    data = canonical_bytes(
        tenant=row["tenant_id"], seq=row["seq"] if seq is None else seq, recorded_at=row["recorded_at"],
        actor_id=row["actor_id"], actor_role=row["actor_role"], client_id=row["client_id"],
        youth_id=row["youth_id"], action=row["action"], purpose=row["purpose"], outcome=row["outcome"],
        entry=row["entry"], prev_hash=row["prev_hash"] if prev_hash is None else prev_hash)
    return hashlib.sha256(data).hexdigest()


def in_tenant(tenant: str):
    """`audit_event.tenant_id = :tenant` written so that neither SQLite nor PostgreSQL answers a
    `seq > x ORDER BY seq LIMIT n` walk from ix_audit_event_youth (tenant_id, youth_id, seq) plus a
    sort of the whole tenant (quadratic over a full verify), but from the primary key."""
    return func.coalesce(s.audit_event.c.tenant_id, "") == tenant


def _check(ev: dict) -> None:
    for k in _REQUIRED:
        if not ev.get(k):
            raise ValueError(f"audit: {k} is required")
    if ev["outcome"] not in OUTCOMES:
        raise ValueError(f"audit: outcome {ev['outcome']!r} is not one of {OUTCOMES}")
    for k in FIELDS:
        v = ev.get(k)
        if v is not None and (not isinstance(v, str) or len(v) > _LIMITS[k]):
            raise ValueError(f"audit: {k} must be a string of at most {_LIMITS[k]} characters")


def _lock_head(conn: Connection, tenant: str) -> tuple[int, str, bool]:
    """(seq, hash, exists) of the tenant's head, locked for the rest of the transaction."""
    h = s.audit_head.c
    q = select(h.seq, h.hash).where(h.tenant_id == tenant)
    if conn.dialect.name == "postgresql":
        row = conn.execute(q.with_for_update()).first()
        if row is None:
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            conn.execute(pg_insert(s.audit_head).values(tenant_id=tenant, seq=0, hash=ZERO_HASH)
                         .on_conflict_do_nothing(index_elements=["tenant_id"]))
            row = conn.execute(q.with_for_update()).first()
        return int(row.seq), row.hash, True
    row = conn.execute(q).first()
    if row is None:
        return 0, ZERO_HASH, False
    return int(row.seq), row.hash, True


def _next_seqs(conn: Connection, head_seq: int, n: int) -> list[int]:
    """n new, increasing seq values, all above the tenant's head."""
    if conn.dialect.name == "postgresql":
        seqs = sorted(int(v) for (v,) in conn.execute(text(
            "SELECT nextval(pg_get_serial_sequence('audit_event', 'seq')) FROM generate_series(1, :n)"), {"n": n}))
        if seqs[0] <= head_seq:  # the sequence was reset behind the chain (restore): never go backwards
            conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_event', 'seq'), :v)"),
                         {"v": head_seq + n})
            seqs = [head_seq + i for i in range(1, n + 1)]
        return seqs
    # SQLite: the write lock is held (write_tx), so max()+1 cannot race.
    top = conn.execute(select(func.max(s.audit_event.c.seq))).scalar() or 0
    base = max(int(top), head_seq)
    return [base + i for i in range(1, n + 1)]


def prepare(events: Iterable[Mapping], **common: Any) -> list[dict]:
    """Checked, normalised events ready to be chained (see append_many for their shape)."""
    evs = []
    for e in events:
        ev = {k: None for k in FIELDS}
        ev.update(common)
        ev.update(e)
        unknown = set(ev) - set(FIELDS) - {"entry", "recorded_at"}
        if unknown:
            raise TypeError(f"audit: unknown fields {sorted(unknown)}")
        _check(ev)
        ev["entry"] = normalise_entry(ev.get("entry") or {})
        ev["recorded_at"] = _utc(ev.get("recorded_at") or clock.utcnow())
        evs.append(ev)
    return evs


def append_prepared(conn: Connection, tenant: str, evs: list[dict]) -> list[int]:
    """Chain already prepared events under one head lock; their seqs in order."""
    if not evs:
        return []
    head_seq, prev, exists = _lock_head(conn, tenant)
    seqs = _next_seqs(conn, head_seq, len(evs))
    rows = []
    for seq, ev in zip(seqs, evs):
        row = {"seq": seq, "tenant_id": tenant, "prev_hash": prev, **ev}
        row["hash"] = prev = row_hash(row)
        rows.append(row)
    conn.execute(insert(s.audit_event), rows)
    h = s.audit_head.c
    if exists:
        conn.execute(update(s.audit_head).where(h.tenant_id == tenant).values(seq=seqs[-1], hash=prev))
    else:
        conn.execute(insert(s.audit_head).values(tenant_id=tenant, seq=seqs[-1], hash=prev))
    return seqs


def append_many(conn: Connection, tenant: str, events: Iterable[Mapping], **common: Any) -> list[int]:
    """Append several rows (e.g. one per youth of a bulk export, or one per decision of a search)
    under a single head lock; returns their seqs in order. Each event is a mapping with the
    keyword arguments of `append` (actor_id, ..., entry, recorded_at); `common` supplies defaults
    (typically the actor, client, action and purpose of the request, and its recorded_at, so the
    rows of one request share a timestamp)."""
    return append_prepared(conn, tenant, prepare(events, **common))


def append(conn: Connection, tenant: str, *, actor_id: str, actor_role: str, client_id: str | None,
           youth_id: str | None, action: str, purpose: str | None, outcome: str, entry: Mapping,
           recorded_at: datetime | None = None) -> int:
    """Append one audit row inside the caller's write transaction (`with write_tx(engine) as conn`)
    and return its seq. Call it last in the transaction: on PostgreSQL the tenant's head row stays
    locked until commit.

    `entry` is the replayable decision record; see docs/audit.md for its keys (request, decision,
    reason, rules, released, denied, redactions, obligations, resources, resource_count, ...).
    """
    return append_many(conn, tenant, [{
        "actor_id": actor_id, "actor_role": actor_role, "client_id": client_id, "youth_id": youth_id,
        "action": action, "purpose": purpose, "outcome": outcome, "entry": entry, "recorded_at": recorded_at,
    }])[0]


def decision_entry(decision: Mapping, *, request: Mapping | None = None, released: Iterable[str] = (),
                   denied: Iterable[str] = (), resources: Iterable[str] | None = None,
                   resource_count: int | None = None, **extra: Any) -> dict:
    """Build an `entry` from a policy decision (`Policy.decide` output) and what was served:
    request facts, rules with citations, categories released/denied, redactions, obligations and
    the resource ids (or only their count, for large releases)."""
    entry: dict[str, Any] = {
        "decision": decision.get("decision"),
        "reason": decision.get("reason"),
        "rules": [{"id": r.get("id"), "citation": r.get("citation")} for r in decision.get("rules") or ()],
        "released": sorted(set(released)),
        "denied": sorted(set(denied)),
        "redactions": list(decision.get("redactions") or ()),
        "obligations": list(decision.get("obligations") or ()),
    }
    if decision.get("id") is not None:
        entry["decision_id"] = decision["id"]
    if request is not None:
        entry["request"] = dict(request)
    if resources is not None:
        resources = list(resources)
        entry["resources"] = resources
        entry["resource_count"] = len(resources) if resource_count is None else resource_count
    elif resource_count is not None:
        entry["resource_count"] = resource_count
    entry.update(extra)
    return entry
