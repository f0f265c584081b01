"""`hep demo`: set up everything (store, keys, synthetic county, ingest) and serve on 127.0.0.1:8080."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from ._common import interactive


def register(sub) -> None:
    p = sub.add_parser("demo", help="init + synthetic county + ingest all + serve on 127.0.0.1:8080")
    p.add_argument("--youth", type=int, default=int(os.environ.get("HEP_DEMO_YOUTH", 2000)))
    p.add_argument("--districts", type=int, default=int(os.environ.get("HEP_DEMO_DISTRICTS", 12)))
    p.add_argument("--seed", type=int, default=16010)
    p.add_argument("--as-of", type=date.fromisoformat, default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--no-serve", action="store_true", help="set up and ingest, then exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..clock import today
    from ..demo import run_demo
    var = Path(os.environ.get("HEP_VAR_DIR", "var"))
    result = run_demo(var, args.youth, args.districts, args.seed, args.as_of or today(), progress=interactive())
    t = result["totals"]
    print(f"ingested {t.get('records_read', 0):,} records in {sum(v for k, v in t.items() if k.startswith('batches_'))} "
          f"batches: {t.get('created', 0):,} stored, {t.get('rejected', 0):,} rejected, "
          f"{t.get('out_of_scope', 0):,} about students not in care (not kept), "
          f"{t.get('pending_review', 0):,} held for identity review")
    base = f"http://{args.host}:{args.port}"
    print(f"\nHEP Gateway demo on {base}\n"
          f"  FHIR CapabilityStatement   {base}/fhir/metadata\n"
          f"  health                     {base}/healthz\n"
          f"  identity review queue      .venv/bin/hep identity review\n"
          f"  ingest batches             .venv/bin/hep batches list\n", flush=True)
    for line in _extra_lines(base):
        print(line, flush=True)
    if args.no_serve:
        return 0
    from .serve import serve
    serve(args.host, args.port)
    return 0


def _extra_lines(base: str) -> list[str]:
    """Capabilities that add demo instructions (sign-in accounts, tokens) list them here."""
    from ..demo_hints import hints
    return hints(base)
