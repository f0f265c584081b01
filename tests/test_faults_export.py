"""kill -9 of a real `hep worker` process in the middle of a Bulk Data export, then a new worker.

tests/test_bulk_export_restart.py proves the resume logic in-process (an exception that the worker
loop does not catch, standing in for the kill). This is the same story with a real process and a
real SIGKILL: the worker runs the export job with small chunks and stops at a fault point in the
middle of its second chunk (HEP_FAULT via the job's crash_hook, so the kill lands at a known place,
with uncommitted lines already written to the NDJSON files); the test kills it -9, lets the
heartbeat go stale, starts a new worker, and the job completes with files byte-identical to a
clean run: no NDJSON line twice, none missing, one accounting row per youth, the chain verifies.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import func, select, update

from gateway import jobs
from gateway.export.params import export_dir
from gateway.store import schema as s
from tests.fhir_api_support import Partner, app_for, load_county, make_county
from tests.test_bulk_export_support import STATE_PURPOSE, STATE_ROLE, kick_off, path

TYPES = "Patient,Immunization,Observation,Organization,RelatedPerson,CareTeam,HepRecord"
# a worker whose export job writes chunks of 7 youth and, when HEP_FAULT=export-mid-chunk, stops
# (gateway.faults.point) after the 10th youth of its run: in the middle of the second chunk
WORKER = ("import sys, gateway.export.job as j, gateway.faults as f\n"
          "j.CHUNK = 7\n"
          "j.crash_hook = lambda point, n: f.point('export-mid-chunk') if (point, n) == ('youth', 10) else None\n"
          "from gateway.cli import main\n"
          "sys.exit(main(['worker', '--once']))\n")


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    return make_county(tmp_path_factory.mktemp("county"))


def worker(env: dict, **extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER], env={**env, **extra}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def files_of(job_id: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(export_dir(job_id).iterdir())}


def test_kill_9_export_worker_mid_chunk_then_a_new_worker_finishes_without_duplicates(engine, db_url, county_dir,
                                                                                      tmp_path):
    load_county(engine, county_dir)
    app = app_for(engine)
    state = Partner(app, engine, STATE_ROLE, None, STATE_PURPOSE, scopes=("system/*.read",))
    env = {**os.environ, "HEP_DATABASE_URL": db_url}

    def start_export() -> str:
        r = kick_off(state, f"/fhir/$export?_type={TYPES}")
        assert r.status_code == 202, r.get_json()
        return path(r.headers["Content-Location"]).rsplit("/", 1)[1]

    clean_job = start_export()
    clean = worker(env)
    _, err = clean.communicate(timeout=300)
    assert clean.returncode == 0, err.decode()[-2000:]
    assert jobs.get(engine, "la", clean_job).status == "completed"
    reference = files_of(clean_job)

    job_id = start_export()
    marker = tmp_path / "stopped"
    doomed = worker(env, HEP_FAULT="export-mid-chunk", HEP_FAULT_MARKER=str(marker))
    deadline = time.time() + 300
    while not marker.exists():
        assert doomed.poll() is None, doomed.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "the worker never reached the middle of the second chunk"
        time.sleep(0.05)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    assert doomed.returncode == -signal.SIGKILL
    row = jobs.get(engine, "la", job_id)
    assert row.status == "running" and row.progress["done"] == 7
    committed = {n: m["bytes"] for n, m in row.progress["files"].items()}
    on_disk = {p.name: p.stat().st_size for p in export_dir(job_id).iterdir()}
    assert any(on_disk[n] > committed.get(n, 0) for n in on_disk), "the kill should leave uncommitted lines"

    # while the heartbeat is fresh nobody takes the job over; a minute later it is stale
    idle = worker(env)
    idle.communicate(timeout=120)
    assert jobs.get(engine, "la", job_id).status == "running"
    with engine.begin() as c:
        c.execute(update(s.job).where(s.job.c.id == job_id).values(heartbeat_at=row.heartbeat_at - timedelta(minutes=5)))
    again = worker(env)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()[-2000:]
    row = jobs.get(engine, "la", job_id)
    assert row.status == "completed" and row.attempts == 2

    resumed = files_of(job_id)
    assert resumed == reference                              # byte for byte: nothing twice, nothing lost
    for name, data in resumed.items():
        lines = [x for x in data.splitlines() if x.strip()]
        ids = [orjson.loads(x).get("id") or x for x in lines]       # OperationOutcome lines carry no id
        assert len(ids) == len(set(ids)), f"duplicate NDJSON lines in {name}"
    with engine.connect() as c:
        per_youth = c.execute(select(s.audit_event.c.youth_id, func.count()).where(
            s.audit_event.c.action == "$export", s.audit_event.c.youth_id.is_not(None),
            s.audit_event.c.entry["job"].as_string() == job_id).group_by(s.audit_event.c.youth_id)).all()
    assert len(per_youth) == 40 and all(n == 1 for _, n in per_youth)
    verify = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and "verified" in verify.stdout, verify.stdout + verify.stderr
