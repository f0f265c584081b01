"""Audit log speed: appends per second (one write transaction per append, as a request would do;
and batched with append_many) and verify rows per second, on SQLite and, when reachable,
PostgreSQL (HEP_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test; a throw-away
schema is created and dropped).

Entries look like real decision records (~0.8 KB of JSON: request facts, two rules with
citations, categories, obligations, a few resource ids). Last line of output is one JSON object
{"appends_per_s": N, "verify_rows_per_s": N, ...} for SQLite, with PostgreSQL figures nested under
"postgres". --quick runs in a few seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("HEP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _entry(i: int) -> dict:
    from gateway.audit import decision_entry
    return decision_entry(
        {"id": f"req-{i}", "decision": "permit-redacted", "reason": "Permitted: WIC 10850(a) case plan; HIV withheld.",
         "rules": [{"id": "SW-EDU-1", "citation": "WIC 10850(a); Ed. Code 49076(a)(1)(K)"},
                   {"id": "HIV-DENY-1", "citation": "H&S 120980(a)"}],
         "redactions": ["hiv"], "obligations": ["notice-ferpa-9933", "notice-wic-10850"]},
        request={"role": "county_social_worker", "purpose": "x-EDU-SUPPORT", "category": "education",
                 "on_caseload": True, "youth": {"age": 15, "jurisdiction": "dependent_300"}, "as_of": "2026-07-01"},
        released=["education", "immunizations"], denied=["hiv"],
        resources=[f"Immunization/im-{i}-{k}" for k in range(4)], organization="LAUSD")


def _kw(i: int) -> dict:
    return dict(actor_id=f"sw-{i % 50}", actor_role="county_social_worker", client_id="lausd-sis",
                youth_id=f"youth-{i % 3000}", action="$passport", purpose="x-EDU-SUPPORT",
                outcome="permit-redacted", entry=_entry(i))


def run(url: str, n_single: int, n_bulk: int) -> dict:
    from gateway.audit import append, append_many, verify
    from gateway.store import open_store, write_tx
    engine = open_store(url)
    try:
        t0 = time.perf_counter()
        for i in range(n_single):
            with write_tx(engine) as conn:
                append(conn, "la", **_kw(i))
        single = n_single / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for start in range(0, n_bulk, 500):
            with write_tx(engine) as conn:
                append_many(conn, "la", [_kw(i) for i in range(start, min(n_bulk, start + 500))])
        bulk = n_bulk / (time.perf_counter() - t0) if n_bulk else 0.0
        t0 = time.perf_counter()
        res = verify(engine, "la")
        dt = time.perf_counter() - t0
        assert res.ok, res.problem
        return {"appends_per_s": round(single), "append_many_rows_per_s": round(bulk),
                "verify_rows_per_s": round(res.checked / dt), "rows": res.checked}
    finally:
        engine.dispose()


def _pg():
    try:
        import psycopg
        with psycopg.connect(PG_URL, connect_timeout=3):
            pass
    except Exception:
        return None
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{name}"')
    sep = "&" if "?" in PG_URL else "?"

    def drop():
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    return f"{PG_URL}{sep}options=-csearch_path%3D{name}", drop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small run (a few seconds)")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    n_single, n_bulk = (500, 2000) if args.quick else (5000, 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("HEP_CERTS_DIR", str(Path(tmp) / "certs"))
        out = run(f"sqlite:///{tmp}/bench.sqlite3", n_single, n_bulk)
        print(f"sqlite:     {out['appends_per_s']:>8} appends/s (1 tx each)  {out['append_many_rows_per_s']:>8} rows/s "
              f"(append_many, 500/tx)  verify {out['verify_rows_per_s']:>8} rows/s over {out['rows']} rows")
        pg = None if args.no_postgres else _pg()
        if pg:
            url, drop = pg
            try:
                p = run(url, n_single, n_bulk)
            finally:
                drop()
            print(f"postgresql: {p['appends_per_s']:>8} appends/s (1 tx each)  {p['append_many_rows_per_s']:>8} rows/s "
                  f"(append_many, 500/tx)  verify {p['verify_rows_per_s']:>8} rows/s over {p['rows']} rows")
            out["postgres"] = p
        else:
            print("postgresql: not reachable (skipped)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
