"""The store: youth, identifiers, versioned resources, case facts, batches, audit, outbox."""
from .engine import database_url, make_engine, migrate, open_store, write_tx  # noqa: F401
from . import schema  # noqa: F401
