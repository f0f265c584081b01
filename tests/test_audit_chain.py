"""The audit hash chain on SQLite and PostgreSQL: appends verify; every kind of tampering is
caught and the first bad row is named; a rolled-back transaction leaves nothing behind."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text

from gateway.audit import ZERO_HASH, append, append_many, decision_entry, verify
from gateway.store import schema as s
from gateway.store import write_tx

T = "la"


def _entry(i: int) -> dict:
    return decision_entry(
        {"id": f"req-{i}", "decision": "permit-redacted" if i % 5 else "deny", "reason": f"case {i}",
         "rules": [{"id": f"R-{i % 7}", "citation": "WIC 10850(a)"}], "redactions": ["hiv"] if i % 5 else [],
         "obligations": ["notice-ferpa-9933"]},
        request={"role": "county_social_worker", "purpose": "x-EDU-SUPPORT", "category": "education", "i": i},
        released=["education", "immunizations"] if i % 5 else [], denied=["hiv"],
        resources=[f"Observation/o{i}-{k}" for k in range(i % 3)])


def _append(conn, i: int, tenant: str = T) -> int:
    return append(conn, tenant, actor_id=f"user-{i % 4}", actor_role="county_social_worker",
                  client_id="lausd-sis", youth_id=f"youth-{i % 9}", action="$passport",
                  purpose="x-EDU-SUPPORT", outcome="permit-redacted" if i % 5 else "deny", entry=_entry(i))


def fill(engine, n: int, tenant: str = T, per_tx: int = 1) -> list[int]:
    seqs = []
    for start in range(0, n, per_tx):
        with write_tx(engine) as conn:
            seqs += [_append(conn, i, tenant) for i in range(start, min(n, start + per_tx))]
    return seqs


def raw(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def _json_param(engine) -> str:
    return "CAST(:v AS JSON)" if engine.dialect.name == "postgresql" else ":v"


def test_a_few_hundred_appends_verify(engine):
    seqs = fill(engine, 300)
    assert seqs == sorted(seqs) and len(set(seqs)) == 300
    res = verify(engine, T, chunk=64)  # several chunks
    assert res.ok, res.problem
    assert (res.checked, res.first_bad_seq, res.problem) == (300, None, None)
    with engine.connect() as conn:
        head = conn.execute(select(s.audit_head).where(s.audit_head.c.tenant_id == T)).one()
        last = conn.execute(select(s.audit_event).order_by(s.audit_event.c.seq.desc()).limit(1)).one()
        first = conn.execute(select(s.audit_event).order_by(s.audit_event.c.seq).limit(1)).one()
    assert (head.seq, head.hash) == (last.seq, last.hash)
    assert first.prev_hash == ZERO_HASH


def test_hash_is_the_documented_canonical_form(engine):
    """docs/audit.md: SHA-256 over sorted-key, whitespace-free UTF-8 JSON of the listed fields."""
    fill(engine, 3)
    with engine.connect() as conn:
        rows = conn.execute(select(s.audit_event).order_by(s.audit_event.c.seq)).all()
    prev = ZERO_HASH
    for r in rows:
        ts = r.recorded_at if r.recorded_at.tzinfo else r.recorded_at.replace(tzinfo=timezone.utc)
        doc = {"v": 1, "tenant": r.tenant_id, "seq": r.seq,
               "recorded_at": ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
               "actor_id": r.actor_id, "actor_role": r.actor_role, "client_id": r.client_id,
               "youth_id": r.youth_id, "action": r.action, "purpose": r.purpose, "outcome": r.outcome,
               "entry": r.entry, "prev_hash": prev}
        data = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert hashlib.sha256(data).hexdigest() == r.hash
        prev = r.hash


def test_entry_values_round_trip_to_the_same_hash(engine):
    """Dates, tuples, non-ASCII and nested keys are normalised once, so the stored JSON re-hashes."""
    with write_tx(engine) as conn:
        append(conn, T, actor_id="u", actor_role="youth_attorney", client_id=None, youth_id=None,
               action="read", purpose=None, outcome="permit",
               entry={"z": {"b": 1, "a": (1, 2)}, "when": datetime(2026, 1, 2, tzinfo=timezone.utc),
                      "name": "José \u2028 Ñ", 3: "int key", "score": 0.1},
               recorded_at=datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=timezone.utc))
    assert verify(engine, T).ok


def test_tenants_have_separate_chains(engine):
    with write_tx(engine) as conn:
        for i in range(10):
            _append(conn, i, "la")
            _append(conn, i, "sd")
    fill(engine, 40, "sd", per_tx=40)  # a long run of another tenant: empty verify windows for "la"
    fill(engine, 3, "la")
    for t, n in (("la", 13), ("sd", 50)):
        for chunk in (3, 1000):
            res = verify(engine, t, chunk=chunk)
            assert res.ok and res.checked == n, res.problem
    raw(engine, "UPDATE audit_event SET outcome = 'permit' WHERE tenant_id = 'sd' AND seq = "
                "(SELECT max(seq) FROM audit_event WHERE tenant_id = 'sd')")
    assert verify(engine, "la").ok
    assert not verify(engine, "sd").ok


def test_append_many_is_one_linear_run(engine):
    with write_tx(engine) as conn:
        seqs = append_many(conn, T, [{"youth_id": f"y{k}", "entry": {"k": k}} for k in range(25)],
                           actor_id="bulk-client", actor_role="state_cws", client_id="bulk-client",
                           action="$export", purpose="x-CW-ADMIN", outcome="permit")
    assert len(seqs) == 25 and seqs == sorted(seqs)
    res = verify(engine, T)
    assert res.ok and res.checked == 25, res.problem


def test_bad_arguments_are_refused(engine):
    with write_tx(engine) as conn:
        with pytest.raises(ValueError, match="outcome"):
            append(conn, T, actor_id="u", actor_role="r", client_id=None, youth_id=None, action="read",
                   purpose=None, outcome="maybe", entry={})
        with pytest.raises(ValueError, match="actor_id"):
            append(conn, T, actor_id="", actor_role="r", client_id=None, youth_id=None, action="read",
                   purpose=None, outcome="permit", entry={})
        with pytest.raises(ValueError, match="purpose"):
            append(conn, T, actor_id="u", actor_role="r", client_id=None, youth_id=None, action="read",
                   purpose="x" * 41, outcome="permit", entry={})
        with pytest.raises(TypeError):
            append(conn, T, actor_id="u", actor_role="r", client_id=None, youth_id=None, action="read",
                   purpose=None, outcome="permit", entry=["not", "a", "mapping"])


def test_rolled_back_transaction_leaves_no_audit_row(engine):
    fill(engine, 5)
    with pytest.raises(RuntimeError):
        with write_tx(engine) as conn:
            _append(conn, 99)
            raise RuntimeError("the disclosure failed after the audit row was written")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.audit_event)).scalar() == 5
    assert verify(engine, T).ok
    fill(engine, 3)  # the chain continues from the committed head
    res = verify(engine, T)
    assert res.ok and res.checked == 8, res.problem


# --- tampering ---------------------------------------------------------------------------------

@pytest.fixture
def chain(engine):
    seqs = fill(engine, 120, per_tx=10)
    assert verify(engine, T).ok
    return engine, seqs


@pytest.mark.parametrize("column,value", [("purpose", "TREAT"), ("youth_id", "youth-other"), ("client_id", None)])
def test_edited_column_is_named(chain, column, value):
    engine, seqs = chain
    bad = seqs[57]
    raw(engine, f"UPDATE audit_event SET {column} = :v WHERE seq = :seq", v=value, seq=bad)
    res = verify(engine, T)
    assert not res.ok
    assert res.first_bad_seq == bad and res.checked == 57
    assert f"seq {bad}" in res.problem and "edited" in res.problem


def test_edited_entry_is_named(chain):
    engine, seqs = chain
    bad = seqs[10]
    with engine.connect() as conn:
        entry = conn.execute(select(s.audit_event.c.entry).where(s.audit_event.c.seq == bad)).scalar()
    entry["released"] = ["education", "immunizations", "hiv"]
    raw(engine, f"UPDATE audit_event SET entry = {_json_param(engine)} WHERE seq = :seq", v=json.dumps(entry), seq=bad)
    res = verify(engine, T)
    assert (res.ok, res.first_bad_seq) == (False, bad)


def test_edited_timestamp_is_named(chain):
    engine, seqs = chain
    bad = seqs[0]
    with write_tx(engine) as conn:
        conn.execute(s.audit_event.update().where(s.audit_event.c.seq == bad)
                     .values(recorded_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))
    res = verify(engine, T)
    assert (res.ok, res.first_bad_seq, res.checked) == (False, bad, 0)


def test_edited_hash_column_is_told_apart(chain):
    engine, seqs = chain
    bad = seqs[30]
    raw(engine, "UPDATE audit_event SET hash = :v WHERE seq = :seq", v="ab" * 32, seq=bad)
    res = verify(engine, T)
    assert res.first_bad_seq == bad and "hash column was edited" in res.problem


def test_edited_prev_hash_is_told_apart(chain):
    engine, seqs = chain
    bad = seqs[31]
    raw(engine, "UPDATE audit_event SET prev_hash = :v WHERE seq = :seq", v="cd" * 32, seq=bad)
    res = verify(engine, T)
    assert res.first_bad_seq == bad and "prev_hash column was edited" in res.problem


@pytest.mark.parametrize("chunk", [2000, 5])  # also where the gap straddles query windows
def test_deleted_row_names_where_the_gap_is(chain, chunk):
    engine, seqs = chain
    raw(engine, "DELETE FROM audit_event WHERE seq = :seq", seq=seqs[40])
    res = verify(engine, T, chunk=chunk)
    assert not res.ok and res.first_bad_seq == seqs[41] and res.checked == 40
    assert "deleted" in res.problem and f"seq {seqs[39]}" in res.problem


def test_deleted_first_row(chain):
    engine, seqs = chain
    raw(engine, "DELETE FROM audit_event WHERE seq = :seq", seq=seqs[0])
    res = verify(engine, T)
    assert res.first_bad_seq == seqs[1] and "deleted" in res.problem


def test_swapped_entries_are_caught(chain):
    engine, seqs = chain
    a, b = seqs[20], seqs[70]
    with engine.connect() as conn:
        ea, eb = (conn.execute(select(s.audit_event.c.entry).where(s.audit_event.c.seq == q)).scalar() for q in (a, b))
    p = _json_param(engine)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_event SET entry = {p} WHERE seq = :seq"), {"v": json.dumps(eb), "seq": a})
        conn.execute(text(f"UPDATE audit_event SET entry = {p} WHERE seq = :seq"), {"v": json.dumps(ea), "seq": b})
    res = verify(engine, T)
    assert (res.ok, res.first_bad_seq, res.checked) == (False, a, 20)


def test_reordered_rows_are_caught(chain):
    """Swapping two rows' positions (their seq values) breaks the chain at the earlier one."""
    engine, seqs = chain
    a, b = seqs[50], seqs[51]
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET seq = -1 WHERE seq = :a"), {"a": a})
        conn.execute(text("UPDATE audit_event SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE audit_event SET seq = :b WHERE seq = -1"), {"b": b})
    res = verify(engine, T)
    assert (res.ok, res.first_bad_seq, res.checked) == (False, a, 50)


def test_truncated_tail_is_caught(chain):
    engine, seqs = chain
    raw(engine, "DELETE FROM audit_event WHERE seq > :seq", seq=seqs[99])
    res = verify(engine, T)
    assert not res.ok and res.checked == 100
    assert res.first_bad_seq == seqs[-1]
    assert "truncated" in res.problem and f"seq {seqs[99]}" in res.problem


def test_everything_deleted_is_caught(chain):
    engine, _ = chain
    raw(engine, "DELETE FROM audit_event")
    res = verify(engine, T)
    assert not res.ok and "truncated" in res.problem


def test_missing_head_row_is_caught(chain):
    engine, seqs = chain
    raw(engine, "DELETE FROM audit_head")
    res = verify(engine, T)
    assert (res.ok, res.first_bad_seq) == (False, seqs[0]) and "audit_head" in res.problem


def test_row_forged_past_the_head_is_caught(chain):
    """A row inserted around append() (head not moved), even with a correct hash."""
    engine, seqs = chain
    from gateway.audit import row_hash
    with engine.connect() as conn:
        last = dict(conn.execute(select(s.audit_event).where(s.audit_event.c.seq == seqs[-1])).one()._mapping)
    forged = {**last, "seq": seqs[-1] + 1000, "prev_hash": last["hash"], "outcome": "permit"}
    forged["hash"] = row_hash(forged)
    with write_tx(engine) as conn:
        conn.execute(s.audit_event.insert().values(**forged))
    res = verify(engine, T)
    assert (res.ok, res.first_bad_seq) == (False, seqs[-1] + 1000) and "beyond the recorded head" in res.problem
