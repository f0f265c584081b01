"""`hep batches list|show`: what came in, what was kept, and every problem with its reason."""
from __future__ import annotations

from sqlalchemy import desc, select

from . import CliError
from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("batches", help="list ingest batches, or show one batch's problems")
    s = p.add_subparsers(dest="action", required=True)
    l = s.add_parser("list")
    l.add_argument("--limit", type=int, default=20)
    add_store_args(l)
    sh = s.add_parser("show")
    sh.add_argument("batch_id")
    sh.add_argument("--limit", type=int, default=200)
    add_store_args(sh)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..store import schema as s
    engine = engine_from(args)
    b = s.ingest_batch.c
    with engine.connect() as conn:
        if args.action == "list":
            for r in conn.execute(select(s.ingest_batch).where(b.tenant_id == args.tenant)
                                  .order_by(desc(b.started_at)).limit(args.limit)):
                print(f"{r.id}  {r.started_at:%Y-%m-%d %H:%M}  {r.status:<9} {r.format:<9} {r.source_system or '':<24} "
                      f"read {r.records_read:>7}  new {r.created:>7}  upd {r.updated:>6}  rej {r.rejected:>5}  "
                      f"out {r.out_of_scope:>6}  review {r.pending_review:>4}")
            return 0
        batch = conn.execute(select(s.ingest_batch).where(b.tenant_id == args.tenant, b.id == args.batch_id)).first()
        if batch is None:
            raise CliError(f"no batch {args.batch_id}")
        print(f"batch {batch.id}: {batch.status} {batch.format} {batch.source_name}")
        if batch.error:
            print(f"  error: {batch.error}")
        rr = s.rejected_record.c
        for r in conn.execute(select(s.rejected_record).where(rr.batch_id == batch.id).order_by(rr.id).limit(args.limit)):
            where = f"{r.file}:{r.line}" if r.line else (r.file or "")
            print(f"  {r.kind:<12} {where} {r.field or ''}: {r.message}")
    return 0
