"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gateway.store import schema


def test_migrations_match_the_declared_schema(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, schema.metadata)
    assert diff == [], f"migrations and gateway/store/schema.py disagree: {diff}"


def test_every_table_carries_a_tenant(engine):
    insp = inspect(engine)
    for table in schema.metadata.sorted_tables:
        if table.name == "tenant":  # the tenant table itself is keyed by the tenant id
            continue
        cols = {c["name"] for c in insp.get_columns(table.name)}
        assert "tenant_id" in cols, f"{table.name} has no tenant_id"


def test_migrating_twice_is_harmless(engine):
    from gateway.store import migrate
    migrate(engine)
    assert "resource" in inspect(engine).get_table_names()
