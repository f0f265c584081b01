"""Verifying a tenant's audit chain end to end.

One read transaction (a snapshot: REPEATABLE READ on PostgreSQL, a WAL read transaction on
SQLite) so concurrent appends neither disturb nor get blamed. Rows stream in seq order in chunks
(keyset pagination), so memory stays flat for millions of rows. Checks, stopping at the first
problem:
  - each row's prev_hash equals the previous row's hash (64 zeros for the first): a deleted or
    moved row breaks this;
  - each row hashes to its stored hash: an edited row breaks this; the diagnosis names what can
    be told apart (only the hash column edited, only prev_hash edited, content edited);
  - each checkpoint: its JWS verifies under a trusted key, its payload matches its columns, and
    its hash equals the hash of the row at its seq (a rewritten prefix, or a missing row);
  - the head row (`audit_head`) names the last row and its hash: a truncated tail, or rows
    appended around `append()`, break this.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, Text, cast, func, select

from ..store import schema as s
from .chain import ZERO_HASH, in_tenant, iso_utc, row_hash
from .checkpoints import trusted_keys, verify_signature

CHUNK = 2000


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None
    checkpoints: int = 0
    head_seq: int | None = None

    def __bool__(self) -> bool:
        return self.ok


def _loads(text: str):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # not expected for what append() stored; the stdlib is the reference
        return json.loads(text)


def _rows(conn, tenant: str, chunk: int, top: int):
    """The tenant's rows in seq order as dicts, at most `chunk` per query. Each query is bounded
    to a window of seq values (keyset pagination over the primary key), so no query reads or sorts
    more than a window whatever the planner decides: the walk is linear in the table. The entry is
    fetched as its stored JSON text and parsed with orjson (the stdlib decoder is 5x slower)."""
    e = s.audit_event.c
    cols = [c for c in s.audit_event.c if c.name != "entry"] + [cast(e.entry, Text).label("entry")]
    window = 2 * chunk
    lo = 0
    while lo < top:
        hi = lo + window
        batch = conn.execute(select(*cols).where(in_tenant(tenant), e.seq > lo, e.seq <= hi)
                             .order_by(e.seq).limit(chunk)).all()
        for r in batch:
            d = dict(r._mapping)
            d["entry"] = _loads(d["entry"])
            yield d
        lo = batch[-1].seq if len(batch) == chunk else hi


def _next_row(conn, tenant: str, seq: int):
    e = s.audit_event.c
    r = conn.execute(select(s.audit_event).where(in_tenant(tenant), e.seq > seq).order_by(e.seq).limit(1)).first()
    return r._mapping if r is not None else None


def _content_problem(conn, tenant: str, row, computed: str) -> str:
    seq = row["seq"]
    nxt = _next_row(conn, tenant, seq)
    if nxt is not None and nxt["prev_hash"] == computed:
        return (f"seq {seq}: the hash column was edited (the row's content still hashes to {computed[:16]}…, "
                f"which seq {nxt['seq']} links to; stored {row['hash'][:16]}…)")
    if nxt is not None and nxt["prev_hash"] == row["hash"]:
        return (f"seq {seq}: the row was edited after it was written: one of its recorded fields "
                f"(recorded_at, actor_id, actor_role, client_id, youth_id, action, purpose, outcome, entry) "
                f"no longer matches its hash {row['hash'][:16]}…, to which seq {nxt['seq']} still links")
    return (f"seq {seq}: the row no longer matches its hash (recomputed {computed[:16]}…, stored "
            f"{row['hash'][:16]}…): its fields, or its seq (rows reordered), were changed")


def _link_problem(row, prev, expected: str) -> str:
    seq = row["seq"]
    if row_hash(row, prev_hash=expected) == row["hash"]:
        return (f"seq {seq}: the prev_hash column was edited (the row hashes correctly with the previous "
                f"row's hash {expected[:16]}…)")
    consistent = row_hash(row) == row["hash"]
    if prev is None:
        if consistent:
            return (f"seq {seq}: the chain does not start at the first entry (prev_hash {row['prev_hash'][:16]}… "
                    f"instead of zeros): the rows before seq {seq} were deleted")
        return f"seq {seq}: the first row's prev_hash is not zeros and the row no longer matches its hash"
    if consistent:
        return (f"seq {seq}: prev_hash {row['prev_hash'][:16]}… does not match the hash of seq {prev['seq']} "
                f"({expected[:16]}…): the row(s) between seq {prev['seq']} and seq {seq} were deleted, "
                f"or rows were reordered")
    return (f"seq {seq}: neither links to seq {prev['seq']} nor matches its own hash: the row was moved "
            f"(seq changed, rows reordered) or rewritten")


def _checkpoint_problem(cp, row, keys, tenant: str) -> str | None:
    try:
        header, payload = verify_signature(cp.signature, keys)
    except ValueError as e:
        return f"checkpoint at seq {cp.seq}: {e}"
    if header.get("kid") != cp.key_id:
        return f"checkpoint at seq {cp.seq}: key_id column {cp.key_id!r} differs from the signing key {header.get('kid')!r}"
    want = {"v": 1, "tenant": tenant, "seq": int(cp.seq), "hash": cp.hash, "signed_at": iso_utc(cp.signed_at)}
    for k, v in want.items():
        if payload.get(k) != v:
            return f"checkpoint at seq {cp.seq}: the signed {k} ({payload.get(k)!r}) differs from the stored {v!r}"
    if row is None:
        return f"checkpoint at seq {cp.seq}: the signed row seq {cp.seq} is missing (deleted or truncated)"
    if row["hash"] != cp.hash:
        return (f"checkpoint at seq {cp.seq}: the signed hash {cp.hash[:16]}… differs from the row's hash "
                f"{row['hash'][:16]}…: the chain up to seq {cp.seq} was rewritten")
    return None


def verify(engine: Engine, tenant: str, *, chunk: int = CHUNK, keys: dict | None = None) -> VerifyResult:
    keys = trusted_keys() if keys is None else keys
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    with conn:
        with conn.begin():
            return _verify(conn, tenant, chunk, keys)


def _verify(conn, tenant: str, chunk: int, keys: dict) -> VerifyResult:
    c, h = s.audit_checkpoint.c, s.audit_head.c
    cps = conn.execute(select(s.audit_checkpoint).where(c.tenant_id == tenant).order_by(c.seq)).all()
    head = conn.execute(select(h.seq, h.hash).where(h.tenant_id == tenant)).first()
    head_seq = int(head.seq) if head is not None else None
    top = conn.execute(select(func.max(s.audit_event.c.seq))).scalar() or 0
    checked = ncp = 0
    ci = 0
    prev = None
    expected = ZERO_HASH

    def bad(seq, problem):
        return VerifyResult(False, checked, seq, problem, ncp, head_seq)

    for row in _rows(conn, tenant, chunk, top):
        seq = row["seq"]
        # checkpoints whose seq was skipped name a row that is gone
        while ci < len(cps) and cps[ci].seq < seq:
            p = _checkpoint_problem(cps[ci], None, keys, tenant)
            return bad(cps[ci].seq, p)
        if head is None:
            return bad(seq, f"seq {seq}: audit rows exist but the audit_head row for tenant {tenant!r} is missing")
        if seq > head_seq:
            return bad(seq, f"seq {seq}: row lies beyond the recorded head (seq {head_seq}): written around "
                            f"append(), or the head was rolled back")
        if row["prev_hash"] != expected:
            return bad(seq, _link_problem(row, prev, expected))
        computed = row_hash(row)
        if computed != row["hash"]:
            return bad(seq, _content_problem(conn, tenant, row, computed))
        if ci < len(cps) and cps[ci].seq == seq:
            p = _checkpoint_problem(cps[ci], row, keys, tenant)
            if p:
                return bad(seq, p)
            ncp += 1
            ci += 1
        checked += 1
        expected = row["hash"]
        prev = row

    last_seq = prev["seq"] if prev is not None else None
    if head is not None and not (head_seq == 0 and head.hash == ZERO_HASH and prev is None):
        if prev is None:
            return bad(head_seq, f"truncated: audit_head records seq {head_seq} but the tenant has no audit rows")
        if head_seq > last_seq:
            return bad(head_seq, f"truncated tail: the last row is seq {last_seq} but audit_head records seq "
                                 f"{head_seq}: the rows after seq {last_seq} were deleted")
        if head.hash != expected:
            return bad(last_seq, f"seq {last_seq}: audit_head's hash {head.hash[:16]}… differs from the last row's "
                                 f"hash {expected[:16]}…")
    if ci < len(cps):
        cp = cps[ci]
        where = f"the last row is seq {last_seq}" if last_seq is not None else "there are no rows"
        return bad(cp.seq, f"checkpoint at seq {cp.seq} lies beyond the chain ({where}): truncated tail")
    return VerifyResult(True, checked, None, None, ncp, head_seq)
