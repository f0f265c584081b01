"""`hep keys init|rotate|status|retire`: the data-encryption key ring for sensitive categories."""
from __future__ import annotations

from . import CliError
from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("keys", help="manage the AES-GCM key ring that seals sensitive categories at rest")
    s = p.add_subparsers(dest="action", required=True)
    s.add_parser("init", help="create the key ring (certs/keyring.json) if missing")
    r = s.add_parser("rotate", help="add a new active key and re-encrypt every sealed body under it")
    r.add_argument("--reencrypt-only", action="store_true", help="re-encrypt under the current active key, no new key")
    add_store_args(r)
    st = s.add_parser("status", help="keys in the ring and how many stored bodies each seals")
    add_store_args(st)
    rt = s.add_parser("retire", help="remove an old key once nothing uses it")
    rt.add_argument("key_id")
    add_store_args(rt)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..crypto import keyring, rotation
    if args.action == "init":
        ring = keyring.init()
        print(f"key ring {keyring.keyring_path()}: active key {ring.active}")
        return 0
    engine = engine_from(args)
    if args.action == "rotate":
        if not args.reencrypt_only:
            ring = keyring.rotate()
            print(f"new active key {ring.active}")
        n = rotation.reencrypt(engine)
        print(f"re-encrypted {n} bodies under {keyring.current().active}")
        return 0
    if args.action == "status":
        ring = keyring.current()
        if ring is None:
            print("no key ring (sensitive categories are stored unsealed): run `hep keys init`")
            return 1
        used = rotation.usage(engine)
        for kid in ring.keys:
            print(f"{kid}{' (active)' if kid == ring.active else ''}: seals {used.get(kid, 0)} bodies")
        return 0
    try:
        rotation.retire(args.key_id, engine)
    except (RuntimeError, KeyError) as e:
        raise CliError(str(e))
    print(f"retired key {args.key_id}")
    return 0
