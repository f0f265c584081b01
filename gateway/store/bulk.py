"""Chunked inserts at driver speed.

SQLAlchemy's executemany compiles and processes parameters row by row, which costs more than
the insert itself at ingest volumes. Here the statement is built once per (table, columns) and
each value goes through the column type's own bind processor, so stored values are exactly what
SQLAlchemy would have stored (dates, JSON, booleans) and reads are unaffected.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import LargeBinary, Table


@lru_cache(maxsize=64)
def _plan(table: Table, cols: tuple[str, ...], dialect_name: str, dialect):
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) VALUES ({', '.join([mark] * len(cols))})"
    # bytes go to sqlite3 as they are; its Binary wrapper only copies them
    procs = tuple(None if isinstance(table.c[c].type, LargeBinary) else table.c[c].type._cached_bind_processor(dialect)
                  for c in cols)
    return sql, procs


def insert_rows(conn, table: Table, rows: list[dict]) -> None:
    if not rows:
        return
    dialect = conn.dialect
    if dialect.name != "sqlite":
        conn.execute(table.insert(), rows)  # psycopg's pipelined executemany is already fast
        return
    cols = tuple(rows[0])
    sql, procs = _plan(table, cols, dialect.name, dialect)
    converted = [(i, p) for i, p in enumerate(procs) if p is not None]
    # a chunk repeats values (its timestamp, empty labels): convert each distinct object once
    last_in: list = [_NOTHING] * len(cols)
    last_out: list = [None] * len(cols)
    data = []
    for r in rows:
        values = [r[c] for c in cols]
        for i, p in converted:
            v = values[i]
            if v is last_in[i]:
                values[i] = last_out[i]
            else:
                last_in[i] = v
                values[i] = last_out[i] = p(v)
        data.append(tuple(values))
    conn.exec_driver_sql(sql, data)


_NOTHING = object()
