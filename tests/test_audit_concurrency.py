"""Concurrent appends stay one linear, verifiable chain per tenant: several threads, and on
PostgreSQL several connections from separate engines, all writing at once."""
from __future__ import annotations

import threading

from sqlalchemy import select

from gateway.audit import append, append_many, verify
from gateway.store import open_store, schema as s, write_tx

THREADS = 4
PER_THREAD = 30


def _worker(engine, tid: int, errors: list, barrier: threading.Barrier, tenants=("la",)):
    try:
        barrier.wait(timeout=30)
        for i in range(PER_THREAD):
            with write_tx(engine) as conn:
                tenant = tenants[i % len(tenants)]
                if i % 10 == 9:
                    append_many(conn, tenant, [{"youth_id": f"y{tid}-{i}-{k}"} for k in range(3)],
                                actor_id=f"t{tid}", actor_role="county_social_worker", client_id="c",
                                action="search", purpose="COC", outcome="permit", entry={"t": tid, "i": i})
                else:
                    append(conn, tenant, actor_id=f"t{tid}", actor_role="county_social_worker", client_id="c",
                           youth_id=f"y{tid}", action="read", purpose="COC", outcome="permit",
                           entry={"t": tid, "i": i})
    except Exception as e:  # pragma: no cover - reported by the assertion below
        errors.append(repr(e))


def _run(engines, tenants=("la",)):
    errors: list = []
    barrier = threading.Barrier(THREADS)
    threads = [threading.Thread(target=_worker, args=(engines[t % len(engines)], t, errors, barrier, tenants))
               for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)


def _expected_rows(tenants_count=1):
    # per thread: 27 single appends and 3 batches of 3
    return THREADS * (PER_THREAD - PER_THREAD // 10 + 3 * (PER_THREAD // 10)) // tenants_count


def _assert_linear(engine, tenant, expected):
    res = verify(engine, tenant)
    assert res.ok, res.problem
    assert res.checked == expected
    with engine.connect() as conn:
        rows = conn.execute(select(s.audit_event.c.seq, s.audit_event.c.prev_hash, s.audit_event.c.hash)
                            .where(s.audit_event.c.tenant_id == tenant).order_by(s.audit_event.c.seq)).all()
    assert len({r.seq for r in rows}) == len(rows) == expected
    assert len({r.prev_hash for r in rows}) == expected  # no two rows claim the same predecessor (no fork)


def test_threads_append_one_linear_chain(engine):
    _run([engine])
    _assert_linear(engine, "la", _expected_rows())


def test_two_tenants_concurrently(engine):
    _run([engine], tenants=("la", "sd"))
    for t in ("la", "sd"):
        res = verify(engine, t)
        assert res.ok, res.problem
    with engine.connect() as conn:
        n = conn.execute(select(s.audit_event.c.seq)).all()
    assert len(n) == _expected_rows() and len({r.seq for r in n}) == len(n)


def test_separate_engines_share_one_chain(db_url, engine):
    """Separate connection pools (as separate gateway workers would have) append to one chain."""
    other = open_store(db_url)
    try:
        _run([engine, other])
    finally:
        other.dispose()
    _assert_linear(engine, "la", _expected_rows())
