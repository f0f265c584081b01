"""Throughput and memory of a Bulk Data system export for the state system (role state_cms,
purpose x-CW-ADMIN), through the real job handler (`hep worker`'s run_one), on SQLite.

  python bench/export.py                 # 30,000 youth (synthesized and ingested first: slow)
  python bench/export.py --quick         # 2,000 youth
  python bench/export.py --var DIR       # reuse the store in DIR (hep.sqlite3 + certs/) if it holds youth

The export runs in a child process so its peak RSS is the export's own, and RSS is sampled after
every chunk to show that memory stays flat as youth accumulate. Last line:
{"resources_per_s": ..., "peak_rss_mb": ..., "youth": ..., "resources": ..., "seconds": ..., "rss_mb_by_progress": [...]}
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AS_OF = date(2026, 11, 23)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def prepare(var: Path, youth: int, districts: int) -> int:
    os.environ["HEP_VAR_DIR"], os.environ["HEP_CERTS_DIR"] = str(var), str(var / "certs")
    from sqlalchemy import func, select

    from gateway.store import open_store
    from gateway.store import schema as s
    engine = open_store(f"sqlite:///{var / 'hep.sqlite3'}")
    with engine.connect() as c:
        have = c.execute(select(func.count()).select_from(s.youth)).scalar()
    if have:
        print(f"reusing {var}: {have:,} youth", flush=True)
        return have
    from gateway.demo import ingest_plan
    from gateway.ingest.pipeline import ingest
    from gateway.synth import generate
    county = var / "county"
    t0 = time.perf_counter()
    manifest = generate(county, youth=youth, districts=districts, seed=1, as_of=AS_OF, formats=["cws", "calpads", "hie"])
    print(f"synthesized {youth:,} youth in {time.perf_counter() - t0:.0f}s", flush=True)
    t0 = time.perf_counter()
    for fmt, paths, source, opts in ingest_plan(county, manifest):
        r = ingest(engine, fmt, paths, source_system=source, options=opts)
        if r.status != "committed":
            raise SystemExit(f"ingest of {fmt} failed: {r.error}")
    print(f"ingested in {time.perf_counter() - t0:.0f}s", flush=True)
    return youth


def run_export(var: Path) -> int:
    """Child: enqueue a state system export and run it through the worker's handler."""
    os.environ["HEP_VAR_DIR"], os.environ["HEP_CERTS_DIR"] = str(var), str(var / "certs")
    from gateway import jobs
    from gateway.auth import Requester
    from gateway.export import job as export_job
    from gateway.export.params import requester_to_params
    from gateway.jobs import worker
    from gateway.store import open_store
    engine = open_store(f"sqlite:///{var / 'hep.sqlite3'}")
    who = Requester("bench-state-cms", "smart_backend", "state_cms", "CDSS", None, None, "x-CW-ADMIN", "local",
                    frozenset({"system/*.read"}))
    params = {"requester": requester_to_params(who), "types": None, "since": None, "group": None,
              "output_format": "application/fhir+ndjson", "as_of": AS_OF.isoformat(),
              "transaction_time": "2026-11-23T00:00:00+00:00", "request": "bench:/fhir/$export", "base_url": "https://bench"}
    job_id = jobs.enqueue(engine, "la", "export", params, who.client_id)
    samples = []
    export_job.crash_hook = lambda point, n: samples.append(round(_rss_mb(), 1)) if point == "chunk" else None
    t0 = time.perf_counter()
    assert worker.run_one(engine, "bench", ["export"])
    secs = time.perf_counter() - t0
    row = jobs.get(engine, "la", job_id)
    if row.status != "completed":
        raise SystemExit(f"export {row.status}: {row.error}")
    res = row.result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # RSS after 10%, 25%, 50%, 75% and 100% of the chunks: flat means memory does not grow with youth
    picks = [samples[min(len(samples) - 1, int(len(samples) * q))] for q in (0.1, 0.25, 0.5, 0.75, 0.999)] if samples else []
    print(json.dumps({"youth": res["youth"], "resources": res["resources"], "seconds": round(secs, 2),
                      "resources_per_s": round(res["resources"] / secs), "peak_rss_mb": round(peak, 1),
                      "rss_mb_by_progress": picks, "files": len(res["output"])}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--youth", type=int, default=30000)
    ap.add_argument("--districts", type=int, default=80)
    ap.add_argument("--quick", action="store_true", help="2,000 youth")
    ap.add_argument("--var", type=Path, help="store directory to create or reuse")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.youth, args.districts = 2000, 12
    var = args.var or Path(tempfile.mkdtemp(prefix="hep-bench-export-"))
    var.mkdir(parents=True, exist_ok=True)
    if args.child:
        return run_export(var)
    youth = prepare(var, args.youth, args.districts)
    proc = subprocess.run([sys.executable, __file__, "--child", "--var", str(var)], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        print(proc.stderr[-4000:], file=sys.stderr)
        return proc.returncode
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{out['youth']:,} youth ({youth:,} in the store), {out['resources']:,} resources in {out['seconds']}s: "
          f"{out['resources_per_s']:,} resources/s, peak RSS {out['peak_rss_mb']} MB, "
          f"RSS by progress {out['rss_mb_by_progress']} MB")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
