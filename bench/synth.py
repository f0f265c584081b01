"""Time and peak memory of `hep synth` for an LA-scale county (30,000 youth, 80 districts).

Runs the real command in a child process and reads its peak RSS. Last line:
{"youth": N, "seconds": s, "peak_rss_mb": m}. `--quick` for 3,000 youth.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--youth", type=int, default=30000)
    ap.add_argument("--districts", type=int, default=80)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keep", type=Path, help="write the county here and keep it")
    args = ap.parse_args()
    if args.quick:
        args.youth, args.districts = 3000, 12
    out = args.keep or Path(tempfile.mkdtemp(prefix="hep-synth-"))
    cmd = [sys.executable, "-m", "gateway.cli", "synth", "--youth", str(args.youth), "--districts",
           str(args.districts), "--seed", "1", "--as-of", "2026-11-23", "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if proc.returncode:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(proc.stdout.strip())
    print(f"{args.youth:,} youth, {args.districts} districts: {secs:.1f}s, peak RSS {peak_kb / 1024:.0f} MB, "
          f"{size / 1e6:.0f} MB written to {out}")
    if not args.keep:
        import shutil
        shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"youth": args.youth, "seconds": round(secs, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
                      "bytes_written": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
