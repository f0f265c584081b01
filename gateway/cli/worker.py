"""`hep worker`: run queued jobs (uploads, exports) until stopped."""
from __future__ import annotations

from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("worker", help="run queued jobs (file uploads, bulk exports)")
    p.add_argument("--once", action="store_true", help="run at most one job and exit")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between polls when idle")
    add_store_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..jobs.worker import run_one, run_worker
    from ..logging_setup import configure
    configure()
    engine = engine_from(args)
    if args.once:
        return 0 if run_one(engine) or True else 0
    run_worker(engine, poll=args.poll)
    return 0
