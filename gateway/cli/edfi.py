"""`hep edfi pull`: read a district's changes from its Ed-Fi ODS/API (change queries) into the gateway."""
from __future__ import annotations

import json
import os
import sys
import threading

from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("edfi", help="Ed-Fi ODS/API connector (pull a district's changes)")
    esub = p.add_subparsers(dest="edfi_command", required=True, metavar="ACTION")
    pull = esub.add_parser("pull", help="pull changed students, enrollments, attendance, programs, grades")
    pull.add_argument("--base-url", required=True, help="API root, e.g. https://api.district.example/v7.1/api")
    pull.add_argument("--key", default=os.environ.get("HEP_EDFI_KEY"), help="client key (or HEP_EDFI_KEY)")
    pull.add_argument("--secret", default=os.environ.get("HEP_EDFI_SECRET"),
                      help="client secret (prefer HEP_EDFI_SECRET: arguments show in ps)")
    pull.add_argument("--lea", required=True, help="the district's 7-digit CDS code, e.g. 1964733")
    pull.add_argument("--data-path", default="data/v3", help="data path under the root (default: %(default)s; "
                      "e.g. data/v3/2027 for a year-specific ODS)")
    pull.add_argument("--once", action="store_true", help="one pull, then exit (default: every --interval seconds)")
    pull.add_argument("--interval", type=float, default=900.0, help="seconds between pulls (default: %(default)s)")
    add_store_args(pull)
    pull.set_defaults(func=run_pull)


def run_pull(args) -> int:
    from ..connectors.edfi_pull import PullError, pull
    from ..logging_setup import configure
    from . import CliError
    configure()
    if not args.key or not args.secret:
        raise CliError("--key and --secret (or HEP_EDFI_KEY / HEP_EDFI_SECRET) are required")
    engine = engine_from(args)
    stop = threading.Event()
    while True:
        try:
            result = pull(engine, base_url=args.base_url, key=args.key, secret=args.secret, lea=args.lea,
                          tenant=args.tenant, data_path=args.data_path)
        except PullError as e:
            raise CliError(str(e)) from None
        print(json.dumps(result.to_dict(), default=str))
        sys.stdout.flush()
        if args.once:
            return 0 if result.status in ("committed", "duplicate", "up-to-date") else 1
        stop.wait(args.interval)
