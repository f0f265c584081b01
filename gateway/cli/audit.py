"""`hep audit verify|checkpoint|show|rotate-key|keys`: the tamper-evident audit log.

verify:     recompute the tenant's hash chain and check every signed checkpoint; exit 0 and
            "audit chain verified: N entries, M checkpoints", or exit 1 naming the first bad row.
checkpoint: sign the current head (run from cron, e.g. hourly; the service may also call
            gateway.audit.maybe_checkpoint).
show:       the accounting of disclosures (and denials) for one youth, as a table or AuditEvents.
rotate-key: checkpoint with the old key, retire it (public half kept), create a new one.
keys:       the trusted audit public keys as JWKS (give it to an external verifier: HEP_AUDIT_JWKS).
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone

import orjson

from . import CliError
from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("audit", help="verify, checkpoint and show the tamper-evident audit log")
    s = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = s.add_parser("verify", help="verify the hash chain and checkpoint signatures (exit 1 if broken)")
    add_store_args(v)
    c = s.add_parser("checkpoint", help="sign the current head of the chain")
    add_store_args(c)
    sh = s.add_parser("show", help="accounting of disclosures for one youth")
    sh.add_argument("--youth", required=True, metavar="ID", help="youth id")
    sh.add_argument("--since", metavar="DATE", help="only entries recorded on or after this date (YYYY-MM-DD)")
    sh.add_argument("--limit", type=int, default=100)
    sh.add_argument("--offset", type=int, default=0)
    sh.add_argument("--fhir", action="store_true", help="print FHIR AuditEvent resources (NDJSON)")
    add_store_args(sh)
    r = s.add_parser("rotate-key", help="retire the audit-signing key and start a new one")
    add_store_args(r)
    k = s.add_parser("keys", help="print the trusted audit-signing public keys (JWKS)")
    k.set_defaults(func=run_keys)
    for sp in (v, c, sh, r):
        sp.set_defaults(func=run)


def run(args) -> int:
    from .. import audit
    engine = engine_from(args)
    try:
        if args.audit_command == "verify":
            res = audit.verify(engine, args.tenant)
            if res.ok:
                print(f"audit chain verified: {res.checked} entries, {res.checkpoints} checkpoints")
                return 0
            print(f"audit chain BROKEN at seq {res.first_bad_seq} ({res.checked} entries verified before it): "
                  f"{res.problem}")
            return 1
        if args.audit_command == "checkpoint":
            row = audit.checkpoint(engine, args.tenant)
            if row is None:
                print(f"no audit entries for tenant {args.tenant}: nothing to sign")
            else:
                print(f"checkpoint at seq {row.seq} (hash {row.hash[:16]}…) signed with key {row.key_id}")
            return 0
        if args.audit_command == "rotate-key":
            row = audit.checkpoint(engine, args.tenant)
            old, new = audit.rotate_key()
            if row is not None:
                print(f"final checkpoint with the old key at seq {row.seq}")
            print(f"audit-signing key rotated: {old} retired (public key kept), {new} now signs")
            return 0
        return _show(engine, args)
    finally:
        engine.dispose()


def _show(engine, args) -> int:
    from ..audit import accounting, to_audit_event
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).replace(tzinfo=timezone.utc)
        except ValueError:
            raise CliError(f"--since {args.since!r} is not a date (YYYY-MM-DD)") from None
    with engine.connect() as conn:
        rows, total = accounting(conn, args.tenant, args.youth, since=since, count=args.limit, offset=args.offset)
    if args.fhir:
        for r in rows:
            sys.stdout.buffer.write(orjson.dumps(to_audit_event(r)) + b"\n")
        return 0
    print(f"accounting of disclosures for youth {args.youth} (tenant {args.tenant}): {total} entries"
          + (f", showing {args.offset + 1}-{args.offset + len(rows)}" if total > len(rows) else ""))
    if not rows:
        return 0
    head = ("seq", "recorded (UTC)", "requester (role)", "client", "action", "purpose", "outcome",
            "released", "denied", "rules")
    table = [head]
    for r in rows:
        e = r.entry or {}
        rules = ", ".join(str(x.get("id") if isinstance(x, dict) else x) for x in e.get("rules") or ())
        table.append((str(r.seq), r.recorded_at.strftime("%Y-%m-%d %H:%M:%S"), f"{r.actor_id} ({r.actor_role})",
                      r.client_id or "", r.action, r.purpose or "", r.outcome,
                      ", ".join(e.get("released") or ()), ", ".join(e.get("denied") or ()), rules))
    widths = [min(max(len(row[i]) for row in table), 48) for i in range(len(head))]
    for row in table:
        print("  ".join(cell[:w].ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def run_keys(args) -> int:
    from ..audit.checkpoints import retired_jwks_path
    from ..crypto import signing
    keys = []
    if (signing.certs_dir() / "audit-signing.pem").exists():
        keys.append(signing.public_jwk("audit-signing"))
    keys += [k for k in (orjson.loads(retired_jwks_path().read_bytes()).get("keys", [])
                         if retired_jwks_path().exists() else []) if k["kid"] not in {x["kid"] for x in keys}]
    print(orjson.dumps({"keys": keys}, option=orjson.OPT_INDENT_2).decode())
    return 0
