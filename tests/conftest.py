"""Shared fixtures: the official artifacts in ../shared/data, and the store on SQLite and PostgreSQL."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HEP_SHARED_DIR", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data. Skips when ../shared is absent, unless HEP_REQUIRE_SHARED is set
    (CI), where a missing file fails the test instead."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        if os.environ.get("HEP_REQUIRE_SHARED"):
            pytest.fail(f"required shared data is missing: {path}")
        pytest.skip(f"../shared not present ({path})")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


# --- the store on SQLite and PostgreSQL ------------------------------------------------------
import uuid  # noqa: E402

PG_URL = os.environ.get("HEP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_ok: bool | None = None


def postgres_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            import psycopg
            with psycopg.connect(PG_URL, connect_timeout=3):
                _pg_ok = True
        except Exception:
            _pg_ok = False
    return _pg_ok


def require_postgres() -> None:
    if not postgres_available():
        if os.environ.get("HEP_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required (HEP_REQUIRE_POSTGRES) but {PG_URL} does not answer")
        pytest.skip(f"PostgreSQL not available at {PG_URL}")


class PostgresSchema:
    """A throw-away schema per test so parallel workers never see each other's rows."""

    def __init__(self):
        import psycopg
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{self.name}"')
        sep = "&" if "?" in PG_URL else "?"
        self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        import psycopg
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Keys and var/ of a test live in its tmp dir, never in the checkout."""
    monkeypatch.setenv("HEP_CERTS_DIR", str(tmp_path / "certs"))
    monkeypatch.setenv("HEP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HEP_KEYRING", raising=False)
    monkeypatch.delenv("HEP_DATABASE_URL", raising=False)
    from gateway.crypto import keyring
    keyring.reset()
    yield
    keyring.reset()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hep.sqlite3"
        return
    require_postgres()
    schema = PostgresSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def engine(db_url):
    from gateway.store import open_store
    eng = open_store(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    from gateway.store import open_store
    eng = open_store(f"sqlite:///{tmp_path}/hep.sqlite3")
    yield eng
    eng.dispose()


HEP = str(ROOT / ".venv" / "bin" / "hep")
