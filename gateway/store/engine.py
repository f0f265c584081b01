"""Opening the store: one code path for SQLite (default, a file under var/) and PostgreSQL.

`open_store(url)` returns an Engine with the schema migrated to head by Alembic.
"""
from __future__ import annotations

import os
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_SQLITE = "var/hep.sqlite3"


def database_url() -> str:
    url = os.environ.get("HEP_DATABASE_URL")
    if url:
        return url
    path = Path(os.environ.get("HEP_VAR_DIR", "var")) / "hep.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _json(value) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str | None = None, **kw) -> Engine:
    url = url or database_url()
    kw.setdefault("json_serializer", _json)       # JSON columns: orjson, several times faster than json
    kw.setdefault("json_deserializer", orjson.loads)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off (see _sqlite_pragmas); we issue BEGIN ourselves:
        # IMMEDIATE for writers (take the write lock up front, so two writers queue instead of
        # failing on lock upgrade), deferred for readers (WAL readers never wait).
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("hep_write") else "BEGIN"))
        return engine
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 10)
    return create_engine(url, **kw)


def write_tx(engine: Engine):
    """A transaction that writes: `with write_tx(engine) as conn: ...` (commits or rolls back)."""
    return engine.execution_options(hep_write=True).begin()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; SQLAlchemy issues BEGIN itself
    cur = dbapi_conn.cursor()
    # 8 KiB pages (a new file only; no effect on an existing one): ingest's inserts into the
    # resource indexes split fewer pages, ~15% faster at county scale (docs/performance.md)
    cur.execute("PRAGMA page_size=8192")
    cur.execute("PRAGMA journal_mode=WAL")       # readers never block the ingest writer
    cur.execute("PRAGMA synchronous=NORMAL")     # durable at checkpoints; safe with WAL
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")  # parallel branches are merged later; never wedge on two heads


def open_store(url: str | None = None, **kw) -> Engine:
    engine = make_engine(url, **kw)
    migrate(engine)
    return engine
