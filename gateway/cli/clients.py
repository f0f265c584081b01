"""`hep clients add|list|revoke`: register partners allowed to get access tokens (docs/auth.md)."""
from __future__ import annotations

import json
from pathlib import Path

from . import CliError
from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("clients", help="register, list and revoke partner clients (OAuth)")
    s = p.add_subparsers(dest="clients_command", required=True, metavar="ACTION")

    a = s.add_parser("add", help="register a client; prints its client_id (and, for sis_vendor, its secret ONCE)")
    a.add_argument("name")
    a.add_argument("--kind", required=True, choices=["smart_backend", "sis_vendor"])
    a.add_argument("--role", required=True, help="the policy's requester role (profiles/disclosure/vocabulary.yaml)")
    a.add_argument("--organization")
    keys = a.add_mutually_exclusive_group()
    keys.add_argument("--jwks", metavar="FILE", help="the client's public JWK Set (or one JWK), JSON")
    keys.add_argument("--jwks-url", metavar="URL", help="where the client publishes its JWK Set (https)")
    a.add_argument("--scope", action="extend", nargs="+", default=[], metavar="S",
                   help="scopes it may hold, e.g. system/*.rs (sis_vendor default: edfi)")
    a.add_argument("--lea", action="extend", nargs="+", default=[], metavar="LEA",
                   help="7-digit districts a SIS vendor may write for")
    a.add_argument("--purpose", metavar="CODE", help="fixed purpose of use (e.g. x-CW-ADMIN for the state system)")
    a.add_argument("--cert", metavar="FILE", help="the client's TLS certificate (PEM): tokens require it (mTLS)")
    a.add_argument("--json", action="store_true", help="print the registration as JSON")
    add_store_args(a)
    a.set_defaults(func=add)

    ls = s.add_parser("list", help="list clients")
    ls.add_argument("--json", action="store_true")
    add_store_args(ls)
    ls.set_defaults(func=list_)

    r = s.add_parser("revoke", help="revoke a client: no new tokens; its tokens stop working within 30 s")
    r.add_argument("client_id")
    add_store_args(r)
    r.set_defaults(func=revoke)


def add(args) -> int:
    from ..auth.registry import RegistryError, add_client, cert_thumbprint
    jwks = None
    if args.jwks:
        try:
            jwks = json.loads(Path(args.jwks).read_text())
        except (OSError, ValueError) as e:
            raise CliError(f"cannot read JWKS {args.jwks}: {e}") from None
    x5t = None
    if args.cert:
        try:
            x5t = cert_thumbprint(Path(args.cert).read_bytes())
        except (OSError, ValueError) as e:
            raise CliError(f"cannot read certificate {args.cert}: {e}") from None
    try:
        client, secret = add_client(engine_from(args), args.tenant, args.name, args.kind, args.role,
                                    organization=args.organization, jwks=jwks, jwks_url=args.jwks_url,
                                    scopes=args.scope, lea_ids=args.lea, purpose=args.purpose, cert_x5t_s256=x5t)
    except RegistryError as e:
        raise CliError(str(e)) from None
    if args.json:
        out = {"client_id": client.client_id, "kind": client.kind, "role": client.role,
               "scopes": list(client.scopes), "purpose_of_use": client.purpose_of_use,
               "cert_x5t#S256": client.cert_x5t_s256}
        if secret:
            out["client_secret"] = secret
        print(json.dumps(out))
        return 0
    print(f"client_id: {client.client_id}")
    if secret:
        print(f"client_secret: {secret}")
        print("(the secret is shown once and stored only as a hash: keep it now)")
    return 0


def list_(args) -> int:
    from ..auth.registry import list_clients
    clients = list_clients(engine_from(args), args.tenant)
    if args.json:
        print(json.dumps([{"client_id": c.client_id, "name": c.name, "kind": c.kind, "role": c.role,
                           "organization": c.organization, "scopes": list(c.scopes), "lea_ids": list(c.lea_ids),
                           "purpose_of_use": c.purpose_of_use, "status": c.status,
                           "keys": "jwks_url" if c.jwks_url else ("jwks" if c.jwks else "secret"),
                           "cert_bound": bool(c.cert_x5t_s256)} for c in clients], indent=2))
        return 0
    print(f"{'CLIENT_ID':<34} {'KIND':<14} {'ROLE':<24} {'STATUS':<8} {'PURPOSE':<12} SCOPES")
    for c in clients:
        print(f"{c.client_id:<34} {c.kind:<14} {c.role:<24} {c.status:<8} {c.purpose_of_use or '-':<12} "
              f"{' '.join(c.scopes)}")
    return 0


def revoke(args) -> int:
    from ..auth.registry import get_client, revoke_client
    engine = engine_from(args)
    if get_client(engine, args.client_id) is None:
        raise CliError(f"no client {args.client_id}", 1)
    if not revoke_client(engine, args.client_id):
        print(f"{args.client_id} was already revoked")
        return 0
    print(f"revoked {args.client_id}: no new tokens; issued tokens are refused within 30 s")
    return 0
