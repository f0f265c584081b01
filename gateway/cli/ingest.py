"""`hep ingest FORMAT PATH...`: one atomic, idempotent batch per call."""
from __future__ import annotations

import json

from . import CliError
from ._common import add_store_args, engine_from, interactive


def register(sub) -> None:
    p = sub.add_parser("ingest", help="ingest source files as one atomic, idempotent batch")
    p.add_argument("format")
    p.add_argument("paths", nargs="+")
    p.add_argument("--source", help="source system name, e.g. calpads:1964733 (default: format:file)")
    p.add_argument("--submitted-by", default="cli")
    p.add_argument("--json", action="store_true", help="print the batch result as JSON")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="adapter option, e.g. part2_program=true (repeatable)")
    add_store_args(p)
    p.set_defaults(func=run)


def _options(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        k, _, v = pair.partition("=")
        out[k] = {"true": True, "false": False}.get(v.lower(), v)
    return out


def run(args) -> int:
    import adapters
    from ..ingest.pipeline import ingest
    try:
        adapters.get(args.format)
    except adapters.UnknownFormat as e:
        raise CliError(str(e))
    from sqlalchemy.exc import DBAPIError
    engine = engine_from(args)
    try:
        r = ingest(engine, args.format, args.paths, tenant=args.tenant, submitted_by=args.submitted_by,
                   source_system=args.source, options=_options(args.option), progress=interactive())
    except DBAPIError as e:     # disk full, database gone: one line, and what it means for the data
        raise CliError(f"the batch failed and nothing of it was stored ({str(e.orig).strip()[:300]}); "
                       "run the same command again once the database is back and writable", status=1) from None
    if args.json:
        print(json.dumps(r.to_dict(), indent=2, default=str))
    else:
        print(describe(r))
    return 2 if r.status == "refused" else 0


def describe(r) -> str:
    if r.status == "duplicate":
        return f"{r.source_name}: already ingested as batch {r.duplicate_of}; nothing changed"
    if r.status == "refused":
        return f"{r.source_name}: refused, nothing stored: {r.error}"
    lines = [f"batch {r.batch_id} ({r.format}, {r.source_name}): {r.records_read} records read",
             f"  accepted {r.accepted} (new {r.created}, updated {r.updated}, unchanged {r.unchanged}, deleted {r.deleted})",
             f"  rejected {r.rejected}, warnings {r.warnings}, out of scope {r.out_of_scope}, held for identity review {r.pending_review}"]
    if r.care_closed:
        lines.append(f"  left care (no longer listed in the case extract): {r.care_closed}")
    for p in r.problems[:15]:
        where = f"{p['file']}:{p['line']}" if p.get("line") else p["file"]
        lines.append(f"  {p['severity']}: {where} {p.get('field') or ''}: {p['message']}")
    if r.rejected + r.warnings > 15:
        lines.append(f"  … all problems: hep batches show {r.batch_id}")
    return "\n".join(lines)
