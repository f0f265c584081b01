"""Group commit of request audits (gateway/audit/group.py): callers return only once their row is
committed, rows queued behind a busy chain are written together under one head lock, the chain
stays linear and verifiable, and a failed write fails every caller of that batch."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from gateway.audit import group, verify
from gateway.store import schema as s, write_tx

EVENT = dict(actor_id="w1", actor_role="county_social_worker", client_id="cms", action="passport",
             purpose="COC", outcome="permit")


def _hold_chain(engine):
    """A transaction that keeps the chain busy (PostgreSQL: the head row; SQLite: the write lock)."""
    tx = write_tx(engine)
    conn = tx.__enter__()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT 1 FROM audit_head WHERE tenant_id = 'la' FOR UPDATE"))
    return tx


def test_rows_queued_behind_a_busy_chain_commit_together(engine):
    a = group.appender(engine)
    assert group.appender(engine) is a
    a.append("la", **EVENT, youth_id="y0", entry={"i": 0})   # creates the head row
    assert (a.transactions, a.rows) == (1, 1)
    held = _hold_chain(engine)
    seqs: dict[int, int] = {}
    errors: list = []

    def one(i):
        try:
            seqs[i] = a.append("la", **EVENT, youth_id=f"y{i}", entry={"i": i})
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(1, 11)]
    threads[0].start()
    time.sleep(0.3)             # the first is taken and now waits on the busy chain ...
    for t in threads[1:]:
        t.start()
    time.sleep(0.5)             # ... while the other nine queue
    assert not seqs, "nobody may return before its row is committed"
    held.__exit__(None, None, None)
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(seqs) == 10 and len(set(seqs.values())) == 10
    assert a.transactions == 3 and a.rows == 11 and a.largest == 9
    res = verify(engine, "la")
    assert res.ok and res.checked == 11
    with engine.connect() as c:
        got = {r.youth_id: r.seq for r in c.execute(select(s.audit_event.c.youth_id, s.audit_event.c.seq))}
    assert all(got[f"y{i}"] == seq for i, seq in seqs.items())


def test_a_failed_write_fails_every_caller_of_the_batch(engine, monkeypatch):
    a = group.appender(engine)

    def broken(conn, tenant, evs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(group, "append_prepared", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        a.append("la", **EVENT, youth_id="y1", entry={})
    monkeypatch.undo()
    assert a.append("la", **EVENT, youth_id="y2", entry={}) > 0   # the appender goes on afterwards
    with engine.connect() as c:
        assert [r.youth_id for r in c.execute(select(s.audit_event.c.youth_id))] == ["y2"]


def test_bad_events_fail_in_the_caller_and_not_the_batch(engine):
    a = group.appender(engine)
    with pytest.raises(ValueError):
        a.append("la", **{**EVENT, "outcome": "maybe"}, youth_id="y1", entry={})
    assert a.transactions == 0
