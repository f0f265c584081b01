"""`hep init`: create the store (migrated to head) and the key ring for sensitive data at rest."""
from __future__ import annotations

from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("init", help="create or migrate the store and generate keys under certs/")
    add_store_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..crypto import keyring
    engine = engine_from(args)
    ring = keyring.init()
    print(f"store ready: {engine.url.render_as_string(hide_password=True)}")
    print(f"key ring: {keyring.keyring_path()} (active key {ring.active})")
    return 0
