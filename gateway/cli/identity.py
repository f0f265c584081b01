"""`hep identity review|link|reject`: the human review queue for possible identity matches."""
from __future__ import annotations

import json

from . import CliError
from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("identity", help="review possible identity matches (never merged automatically)")
    s = p.add_subparsers(dest="action", required=True)
    r = s.add_parser("review", help="list open possible matches side by side")
    r.add_argument("--limit", type=int, default=20)
    r.add_argument("--json", action="store_true")
    add_store_args(r)
    for name, helptext in (("link", "the incoming person IS the candidate youth: store their held records"),
                           ("reject", "the incoming person is NOT the candidate: drop their held records")):
        d = s.add_parser(name, help=helptext)
        d.add_argument("review_id", type=int)
        d.add_argument("--by", required=True, help="who decides (recorded)")
        add_store_args(d)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..identity.review_view import review_rows
    from ..ingest.review import decide
    engine = engine_from(args)
    if args.action == "review":
        rows = review_rows(engine, args.tenant, args.limit)
        if args.json:
            print(json.dumps(rows, indent=2, default=str))
            return 0
        if not rows:
            print("no open identity reviews")
        for r in rows:
            inc, cand = r["incoming"], r["candidate"]
            print(f"review {r['id']}  score {r['score']}  source {r['source_system']}  held records {r['held_records']}")
            print(f"  incoming : {inc['name']:<32} born {inc['birth_date']}  sex {inc['sex']}  ids {inc['identifiers']}")
            print(f"  candidate: {cand['name']:<32} born {cand['birth_date']}  sex {cand['sex']}  client {cand['client_id']}")
            print(f"  because  : {'; '.join(r['reasons'])}")
        return 0
    try:
        out = decide(engine, args.tenant, args.review_id, args.action, args.by)
    except (LookupError, ValueError) as e:
        raise CliError(str(e))
    print(f"review {out['review']}: {args.action}ed; {out['records_stored']} record(s) stored, "
          f"{out['records_dropped']} dropped")
    return 0
