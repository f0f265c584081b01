"""Chunked inserts at driver speed.

SQLAlchemy's executemany compiles and processes parameters row by row, which costs more than
the insert itself at ingest volumes. Here the statement is built once per (table, columns) and
each value goes through the column type's own bind processor, so stored values are exactly what
SQLAlchemy would have stored (dates, JSON, booleans) and reads are unaffected.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Table


@lru_cache(maxsize=64)
def _plan(table: Table, cols: tuple[str, ...], dialect_name: str, dialect):
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) VALUES ({', '.join([mark] * len(cols))})"
    procs = tuple(table.c[c].type._cached_bind_processor(dialect) for c in cols)
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
    data = []
    for r in rows:
        values = [r[c] for c in cols]
        for i, p in converted:
            values[i] = p(values[i])
        data.append(tuple(values))
    conn.exec_driver_sql(sql, data)
