"""`hep notify`: run the notification dispatcher, and look after its dead letters.

    hep notify run [--once]          fan out the outbox and deliver (loop until stopped; --once: one pass)
    hep notify status                deliveries by status, and the dead-lettered ones
    hep notify requeue [--id N ...]  send dead-lettered deliveries again
"""
from __future__ import annotations

import json

from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("notify", help="change notifications to subscribed partners (FHIR Subscription rest-hook)")
    nsub = p.add_subparsers(dest="notify_command", required=True, metavar="ACTION")

    r = nsub.add_parser("run", help="fan out outbox events and deliver notifications")
    r.add_argument("--once", action="store_true", help="one pass, then exit (for cron or tests)")
    r.add_argument("--poll", type=float, default=5.0, help="seconds to wait when there is nothing to do")
    r.add_argument("--all-tenants", action="store_true", help="deliver for every tenant, not only --tenant")
    add_store_args(r)
    r.set_defaults(func=run)

    st = nsub.add_parser("status", help="deliveries by status and the dead letters")
    st.add_argument("--limit", type=int, default=50)
    add_store_args(st)
    st.set_defaults(func=status)

    rq = nsub.add_parser("requeue", help="send dead-lettered deliveries again")
    rq.add_argument("--id", type=int, action="append", dest="ids", help="a delivery id (repeatable; default: all dead)")
    add_store_args(rq)
    rq.set_defaults(func=requeue)


def run(args) -> int:
    from ..logging_setup import configure
    from ..notify.dispatcher import run_forever, run_once
    configure()
    engine = engine_from(args)
    tenant = None if args.all_tenants else args.tenant
    if args.once:
        stats = run_once(engine, tenant=tenant)
        print(json.dumps(stats.to_dict()))
        return 1 if stats.errors else 0
    run_forever(engine, poll=args.poll, tenant=tenant)
    return 0


def status(args) -> int:
    from ..notify.dispatcher import dead_letters, status_counts
    engine = engine_from(args)
    out = {"deliveries": status_counts(engine, args.tenant),
           "dead": [{**d, "created_at": d["created_at"].isoformat()} for d in dead_letters(engine, args.tenant, args.limit)]}
    print(json.dumps(out, indent=2))
    return 0


def requeue(args) -> int:
    from ..clock import utcnow
    from ..notify.dispatcher import requeue as _requeue
    n = _requeue(engine_from(args), utcnow(), args.ids, args.tenant)
    print(json.dumps({"requeued": n}))
    return 0
