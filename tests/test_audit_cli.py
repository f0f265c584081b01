"""`hep audit` through a real subprocess (python -m gateway.cli) against HEP_DATABASE_URL."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from gateway.audit import append, decision_entry
from gateway.store import write_tx

ROOT = Path(__file__).resolve().parent.parent


def hep(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HEP_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "gateway.cli", "audit", *args, "--tenant", "la"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _fill(engine, n):
    seqs = []
    with write_tx(engine) as conn:
        for i in range(n):
            seqs.append(append(
                conn, "la", actor_id="sw-17", actor_role="county_social_worker", client_id="dcfs-portal",
                youth_id="youth-a" if i % 2 else "youth-b", action="$passport", purpose="x-EDU-SUPPORT",
                outcome="deny" if i % 4 == 3 else "permit",
                entry=decision_entry({"decision": "permit", "rules": [{"id": "SW-EDU", "citation": "WIC 10850(a)"}]},
                                     released=["education"], denied=["hiv"] if i % 3 == 0 else [])))
    return seqs


def test_verify_exits_0_then_1_naming_the_row(engine, db_url):
    seqs = _fill(engine, 30)
    r = hep(db_url, "checkpoint")
    assert r.returncode == 0 and f"checkpoint at seq {seqs[-1]}" in r.stdout, r.stderr
    r = hep(db_url, "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "audit chain verified: 30 entries, 1 checkpoints"
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET outcome = 'permit' WHERE seq = :seq"), {"seq": seqs[11]})
    r = hep(db_url, "verify")
    assert r.returncode == 1
    assert r.stdout.startswith(f"audit chain BROKEN at seq {seqs[11]} "), r.stdout


def test_show_is_the_accounting_for_one_youth(engine, db_url):
    _fill(engine, 8)
    r = hep(db_url, "show", "--youth", "youth-a")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "youth-a" in lines[0] and "4 entries" in lines[0]
    assert lines[1].split()[:2] == ["seq", "recorded"]
    body = lines[2:]
    assert len(body) == 4 and all("sw-17 (county_social_worker)" in line and "SW-EDU" in line for line in body)
    assert sum(" deny " in line for line in body) == 2
    r = hep(db_url, "show", "--youth", "youth-a", "--fhir", "--limit", "2")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2
    assert all('"resourceType":"AuditEvent"' in line for line in r.stdout.splitlines())
