"""`hep indicators compute|show`: precompute today's county indicators (as analysts will see them,
small cells suppressed) into insight_cache, e.g. nightly from cron, so no page view waits for them."""
from __future__ import annotations

from datetime import date

from . import CliError
from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("indicators", help="compute (and cache) the county outcome indicators, or show them")
    s = p.add_subparsers(dest="action", required=True)
    for name, text in (("compute", "compute now and replace the cached day"), ("show", "print the published tables")):
        a = s.add_parser(name, help=text)
        a.add_argument("--as-of", metavar="YYYY-MM-DD", help="the day computed for (default: today, UTC)")
        add_store_args(a)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..clock import today
    from ..web.insights import cache
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else today()
    except ValueError:
        raise CliError("--as-of must be a date (YYYY-MM-DD)")
    engine = engine_from(args)
    if args.action == "compute":
        pub = cache.refresh(engine, args.tenant, as_of)
        print(f"indicators for {args.tenant} on {as_of}: {pub['youth']} youth in care, "
              f"{sum(len(i['tables']) for i in pub['indicators'])} tables, computed in {pub['seconds']:.2f} s")
        return 0
    pub = cache.indicators(engine, args.tenant, as_of)
    for ind in pub["indicators"]:
        for t in ind["tables"]:
            print(f"\n{ind['title']} by {t['title']}")
            cols = ind["columns"]
            print("  " + " | ".join(["Group"] + [label for _, label in cols]))
            for r in t["rows"] + [t["total"]]:
                print("  " + " | ".join([r["label"]] + [str(r["cells"][c]) for c, _ in cols]))
    return 0
