"""Helpers shared by the sub-commands."""
from __future__ import annotations

import os
import sys

DEFAULT_TENANT = os.environ.get("HEP_TENANT", "la")


def add_store_args(p) -> None:
    p.add_argument("--database", metavar="URL", help="database URL (default: HEP_DATABASE_URL or sqlite:///var/hep.sqlite3)")
    p.add_argument("--tenant", default=DEFAULT_TENANT, help="county (tenant) id (default: %(default)s)")


def engine_from(args):
    from ..store import open_store
    return open_store(getattr(args, "database", None))


def interactive() -> bool:
    return sys.stderr.isatty()
