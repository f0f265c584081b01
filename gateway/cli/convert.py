"""`hep convert FORMAT PATH...`: run an adapter with no database and print NDJSON records."""
from __future__ import annotations

import sys

import orjson


def register(sub) -> None:
    p = sub.add_parser("convert", help="convert source files to Ed-Fi / FHIR / case NDJSON (no database)")
    p.add_argument("format", help="source format (cws, calpads, oneroster, sif, edfi-xml, edfi-json, ccda, hl7v2, fhir)")
    p.add_argument("paths", nargs="+", help="files (or folders / zips where the format allows)")
    p.add_argument("--problems", metavar="FILE", help="write problems here as NDJSON instead of stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    import adapters
    from adapters.base import InputRefused, Problem

    from . import CliError

    try:
        adapter = adapters.get(args.format)
    except adapters.UnknownFormat as e:
        raise CliError(str(e))
    out = sys.stdout.buffer
    problems = open(args.problems, "wb") if args.problems else sys.stderr.buffer
    unreadable = False
    try:
        for path in args.paths:
            try:
                for item in adapter.convert(path):
                    if isinstance(item, Problem):
                        problems.write(orjson.dumps(item.contract_dict()) + b"\n")
                        unreadable |= item.fatal
                    else:
                        out.write(orjson.dumps(item.contract_dict()) + b"\n")
            except (InputRefused, OSError) as e:
                unreadable = True
                problems.write(orjson.dumps(
                    {"file": str(path), "line": None, "field": None, "severity": "error", "message": str(e)}) + b"\n")
    finally:
        out.flush()
        if args.problems:
            problems.close()
        else:
            problems.flush()
    return 2 if unreadable else 0
