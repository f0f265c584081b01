"""The disk fills up in the middle of an ingest. Simulated without privileges: the `hep ingest`
child process runs with RLIMIT_FSIZE (the largest file it may write) below what the batch needs and
SIGXFSZ ignored, so its writes fail with EFBIG where a full disk gives ENOSPC (SQLite reports
ENOSPC as "database or disk is full", EFBIG as "disk I/O error"; both abort the transaction). The batch fails as a whole (no record of it is kept), the
error is reported, and once there is room again the same command lands the batch completely.

SQLite only: the store's own file is the one that fills. (PostgreSQL on a full disk raises
53100 disk_full inside the transaction, which aborts it the same way; it cannot be simulated
unprivileged for a server process, see docs/performance.md.)"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select, text

from gateway.ingest.pipeline import ingest
from gateway.store import open_store
from gateway.store import schema as s
from tests.helpers import synth_county

LIMIT = 256 * 1024     # bytes any one file of the child may reach: far less than the batch's write-ahead log


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    d = tmp_path_factory.mktemp("county")
    manifest = synth_county(d, youth=80, districts=2, seed=7, formats=["cws", "calpads"])
    lea = next(x["lea_id"] for x in manifest["districts"] if x["format"] == "calpads")
    return d, lea


def _limited(limit: int):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


def counts(engine) -> dict:
    with engine.connect() as c:
        return {t.name: c.execute(select(func.count()).select_from(t)).scalar()
                for t in (s.resource, s.resource_version, s.youth_identifier, s.outbox)}


def test_disk_full_mid_ingest_fails_the_whole_batch_and_a_retry_lands_it(county, tmp_path):
    d, lea = county
    url = f"sqlite:///{tmp_path}/hep.sqlite3"
    engine = open_store(url)
    assert ingest(engine, "cws", sorted((d / "cws").glob("*.zip"))).status == "committed"
    with engine.connect() as c:
        c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    before = counts(engine)
    env = {**os.environ, "HEP_DATABASE_URL": url}
    cmd = [sys.executable, "-m", "gateway.cli", "ingest", "calpads", str(d / "sis" / f"{lea}-calpads"),
           "--source", f"calpads:{lea}"]
    full = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, preexec_fn=_limited(LIMIT))
    said = (full.stdout + full.stderr).lower()
    assert full.returncode != 0, said[-2000:]
    # the error is reported (EFBIG reads "disk I/O error" in SQLite, ENOSPC "database or disk is full")
    assert "disk i/o error" in said or "disk is full" in said, said[:2000]
    assert "traceback" not in said and "nothing of it was stored" in said, said[-2000:]   # one clear line
    assert counts(engine) == before                                           # nothing of the batch kept
    with engine.connect() as c:
        batches = c.execute(select(s.ingest_batch.c.status).where(
            s.ingest_batch.c.source_system == f"calpads:{lea}")).scalars().all()
    assert "committed" not in batches and "running" not in batches, batches

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)   # room again
    assert again.returncode == 0, again.stdout + again.stderr
    after = counts(engine)
    assert after["resource"] > before["resource"]
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(s.ingest_batch).where(
            s.ingest_batch.c.source_system == f"calpads:{lea}", s.ingest_batch.c.status == "committed")).scalar() == 1
    # and the result is the same as a batch that never met a full disk
    clean = open_store(f"sqlite:///{tmp_path}/clean.sqlite3")
    assert ingest(clean, "cws", sorted((d / "cws").glob("*.zip"))).status == "committed"
    assert ingest(clean, "calpads", [d / "sis" / f"{lea}-calpads"], source_system=f"calpads:{lea}").status == "committed"
    assert counts(clean) == after
    clean.dispose()
    verify = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    engine.dispose()
