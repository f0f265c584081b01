"""Ingest throughput on an LA-scale synthetic district feed (CALPADS), beside the raw floor.

Phases, each in its own process so peak RSS belongs to that phase:
  convert          adapter only (records/s)
  ingest-sqlite    hep ingest into SQLite (CWS extract loaded first, untimed)
  ingest-postgres  the same into PostgreSQL (skipped when it does not answer)
  raw-floor        read the same rows with csv and insert them as JSON with no mapping (SQLite)
Last line: {"ingest_sqlite_rps", "ingest_postgres_rps", "raw_floor_rps", "peak_rss_mb", …}.
`--quick` uses a 3,000-youth county.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("HEP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def biggest_calpads(county: Path) -> Path:
    dirs = [d for d in (county / "sis").iterdir() if d.name.endswith("-calpads")]
    return max(dirs, key=lambda d: sum(f.stat().st_size for f in d.iterdir()))


def phase(name: str, county: Path, db: str | None) -> dict:
    import adapters
    from gateway.ingest.pipeline import ingest
    from gateway.store import open_store
    feed = biggest_calpads(county)
    rows = sum(1 for f in feed.iterdir() for _ in open(f, encoding="utf-8"))
    if name == "convert":
        t = time.perf_counter()
        n = sum(1 for item in adapters.get("calpads").convert(feed) if isinstance(item, adapters.Record))
        secs = time.perf_counter() - t
        return {"records": n, "rows": rows, "seconds": secs, "rps": n / secs}
    if name == "raw-floor":
        import sqlite3
        con = sqlite3.connect(db)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, file TEXT, line INTEGER, body TEXT)")
        t = time.perf_counter()
        n = 0
        with con:
            for f in sorted(feed.iterdir()):
                batch = []
                with open(f, newline="", encoding="utf-8") as fh:
                    for line, row in enumerate(csv.reader(fh, delimiter="^"), 1):
                        batch.append((f.name, line, json.dumps(row)))
                        if len(batch) >= 2000:
                            con.executemany("INSERT INTO raw (file, line, body) VALUES (?, ?, ?)", batch)
                            n += len(batch)
                            batch = []
                con.executemany("INSERT INTO raw (file, line, body) VALUES (?, ?, ?)", batch)
                n += len(batch)
        secs = time.perf_counter() - t
        return {"rows": n, "seconds": secs, "rps": n / secs}
    engine = open_store(db)
    cws = next((county / "cws").glob("*.zip"))
    ingest(engine, "cws", [cws], source_system="cws:la")
    t = time.perf_counter()
    r = ingest(engine, "calpads", [feed], source_system=f"calpads:{feed.name[:7]}")
    secs = time.perf_counter() - t
    return {"records": r.records_read, "rows": rows, "created": r.created, "out_of_scope": r.out_of_scope,
            "rejected": r.rejected, "pending_review": r.pending_review, "seconds": secs, "rps": r.records_read / secs}


def run_phase(name: str, county: Path, db: str | None) -> dict | None:
    cmd = [sys.executable, __file__, "--phase", name, "--county", str(county)] + (["--db", db] if db else [])
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode:
        print(p.stderr[-3000:], file=sys.stderr)
        return None
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return out


def pg_schema_url() -> str | None:
    try:
        import psycopg
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE SCHEMA "{name}"')
        return f"{PG}?options=-csearch_path%3D{name}"
    except Exception:
        return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--youth", type=int, default=30000)
    ap.add_argument("--districts", type=int, default=80)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench-ingest")
    ap.add_argument("--phase")
    ap.add_argument("--county", type=Path)
    ap.add_argument("--db")
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.county, args.db)))
        return 0
    if args.quick:
        args.youth, args.districts = 3000, 12
    county = args.workdir / f"county-{args.youth}-{args.districts}"
    if not (county / "manifest.json").exists():
        from gateway.synth import generate
        print(f"generating a {args.youth:,}-youth county …", flush=True)
        generate(county, youth=args.youth, districts=args.districts, seed=1, as_of=date(2026, 11, 23),
                 formats=["cws", "calpads"])
    dbdir = args.workdir / f"db-{uuid.uuid4().hex[:6]}"
    dbdir.mkdir(parents=True)
    results = {}
    for name, db in (("convert", None), ("ingest-sqlite", f"sqlite:///{dbdir}/hep.sqlite3"),
                     ("ingest-postgres", pg_schema_url()), ("raw-floor", str(dbdir / "raw.sqlite3"))):
        if name == "ingest-postgres" and db is None:
            print("PostgreSQL not reachable: skipped")
            continue
        res = run_phase(name, county, db)
        results[name] = res
        if res:
            print(f"{name:<16} {res.get('records', res.get('rows')):>9,} in {res['seconds']:6.1f}s = "
                  f"{res['rps']:>9,.0f}/s   (peak RSS so far {res['peak_rss_mb']} MB)  "
                  + ", ".join(f"{k} {v:,}" for k, v in res.items() if k in ("rows", "created", "out_of_scope", "rejected")))
    feed = biggest_calpads(county)
    summary = {
        "feed": feed.name, "feed_bytes": sum(f.stat().st_size for f in feed.iterdir()),
        "convert_rps": round((results.get("convert") or {}).get("rps", 0)),
        "ingest_sqlite_rps": round((results.get("ingest-sqlite") or {}).get("rps", 0)),
        "ingest_postgres_rps": round((results.get("ingest-postgres") or {}).get("rps", 0)),
        "raw_floor_rps": round((results.get("raw-floor") or {}).get("rps", 0)),
        "peak_rss_mb": max((r or {}).get("peak_rss_mb", 0) for r in results.values()),
    }
    if summary["raw_floor_rps"]:
        summary["ingest_vs_raw_floor"] = round(summary["ingest_sqlite_rps"] / summary["raw_floor_rps"], 3)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
