"""A process killed (kill -9) in the middle of an ingest leaves no partial batch, and a retry lands it."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.store import open_store
from gateway.store import schema as s
from tests.helpers import synth_county


@pytest.fixture(scope="module")
def big_extract(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("big")
    synth_county(d, youth=5000, districts=4, seed=5, formats=["cws"])
    return Path(glob.glob(str(d / "cws" / "*.zip"))[0])


def _counts(url):
    eng = open_store(url)
    with eng.connect() as c:
        out = {t.name: c.execute(select(func.count()).select_from(t)).scalar()
               for t in (s.youth, s.resource, s.youth_identifier, s.ingest_batch, s.care_assignment)}
    eng.dispose()
    return out


@pytest.mark.slow
def test_kill_mid_ingest_leaves_nothing_then_retry_lands(db_url, big_extract, tmp_path):
    open_store(db_url).dispose()  # migrated before the ingest starts, as in production
    env = {**os.environ, "HEP_DATABASE_URL": db_url}
    marker = tmp_path / "mid-batch"
    # stop inside the batch, after 5,000 records are written but before the commit, then kill -9
    killable = {**env, "HEP_FAULT": "ingest-mid-batch", "HEP_FAULT_MARKER": str(marker)}
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "ingest", "cws", str(big_extract)], env=killable,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "the ingest never reached the middle of its batch"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after_kill = _counts(db_url)
    assert after_kill == {"youth": 0, "resource": 0, "youth_identifier": 0, "ingest_batch": 0, "care_assignment": 0}
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "ingest", "cws", str(big_extract)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = _counts(db_url)
    assert final["youth"] == 5000 and final["ingest_batch"] == 1
