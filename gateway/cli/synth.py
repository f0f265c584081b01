"""`hep synth`: write a deterministic synthetic county (CWS extract, district feeds, HIE documents)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from ._common import interactive


def register(sub) -> None:
    p = sub.add_parser("synth", help="generate a synthetic county: case extract, SIS feeds, HIE documents, truth file")
    p.add_argument("--youth", type=int, default=1000, help="youth in care (default: %(default)s)")
    p.add_argument("--districts", type=int, default=8, help="school districts (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--as-of", type=date.fromisoformat, default=None, help="the county's 'today' (default: today)")
    p.add_argument("--format", action="append", dest="formats", help="only these feeds (repeatable)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=run)


def run(args) -> int:
    import time
    from ..clock import today
    from ..synth import generate
    t0 = time.perf_counter()
    m = generate(args.out, youth=args.youth, districts=args.districts, seed=args.seed,
                 as_of=args.as_of or today(), progress=interactive(), formats=args.formats)
    n_files = sum(len(v) for v in m["files"].values())
    print(f"wrote {n_files} files for {m['youth_in_care']} youth in care and {m['students_not_in_care']} students "
          f"not in care ({len(m['districts'])} districts) to {args.out} in {time.perf_counter() - t0:.1f}s")
    for fmt, files in sorted(m["files"].items()):
        print(f"  {fmt}: {len(files)} file(s)")
    print(f"  ground truth: {args.out / m['truth']} ({m['truth_records']} presented person records)")
    return 0
