"""A worker that dies mid-export: the job is claimed again, files go back to the last committed
chunk, and the export completes with exactly the lines of a clean run (no duplicates, nothing lost)
and one accounting row per youth."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from gateway import jobs
from gateway.export import job as export_job
from gateway.export.params import export_dir
from gateway.store import schema as s
from tests.fhir_api_support import Partner, app_for, load_county, make_county
from tests.test_bulk_export_support import STATE_PURPOSE, STATE_ROLE, export, kick_off, path, run_jobs


class WorkerKilled(BaseException):
    """Not an Exception: the worker loop does not catch it, so the job stays 'running' as after SIGKILL."""


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    return make_county(tmp_path_factory.mktemp("county"))


def files_of(job_id: str) -> dict[str, bytes]:
    root = export_dir(job_id)
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


def test_killed_worker_resumes_without_duplicates(engine, county_dir, monkeypatch):
    load_county(engine, county_dir)
    app = app_for(engine)
    state = Partner(app, engine, STATE_ROLE, None, STATE_PURPOSE, scopes=("system/*.read",))
    monkeypatch.setattr(export_job, "CHUNK", 7)
    clean_manifest, _ = export(state, engine, "/fhir/$export?_type=Patient,Immunization,Observation,Organization,"
                                              "RelatedPerson,CareTeam,HepRecord")
    clean_job = path(clean_manifest["output"][0]["url"]).split("/")[3]
    clean = files_of(clean_job)

    def die(point, youth_done):
        if point == "youth" and youth_done == 10:      # in the middle of the second chunk
            raise WorkerKilled()
    monkeypatch.setattr(export_job, "crash_hook", die)
    r = kick_off(state, "/fhir/$export?_type=Patient,Immunization,Observation,Organization,RelatedPerson,CareTeam,HepRecord")
    status = path(r.headers["Content-Location"])
    job_id = status.rsplit("/", 1)[1]
    with pytest.raises(WorkerKilled):
        run_jobs(engine)
    row = jobs.get(engine, "la", job_id)
    assert row.status == "running" and row.progress["done"] == 7 and row.progress["last_youth"]
    committed = {n: m["bytes"] for n, m in row.progress["files"].items()}
    on_disk = {p.name: p.stat().st_size for p in export_dir(job_id).iterdir()}
    assert any(on_disk[n] > committed.get(n, 0) for n in on_disk), "the crash should leave uncommitted lines behind"
    assert state.get(status).status_code == 202 and state.get(status).headers["X-Progress"].startswith("7 of 40")
    monkeypatch.setattr(export_job, "crash_hook", None)
    assert run_jobs(engine) == 0                      # heartbeat still fresh: nobody takes it over yet
    with engine.begin() as c:                         # ... a minute later the heartbeat is stale
        c.execute(update(s.job).where(s.job.c.id == job_id).values(heartbeat_at=row.heartbeat_at - timedelta(minutes=5)))
    assert run_jobs(engine) == 1
    row = jobs.get(engine, "la", job_id)
    assert row.status == "completed" and row.attempts == 2
    resumed = files_of(job_id)
    assert resumed == clean                           # byte for byte the clean run: nothing twice, nothing lost
    manifest = state.get(status).get_json()
    assert [(o["type"], o["count"]) for o in manifest["output"]] == [(o["type"], o["count"]) for o in clean_manifest["output"]]
    with engine.connect() as c:
        per_youth = c.execute(select(s.audit_event.c.youth_id, func.count()).where(
            s.audit_event.c.action == "$export", s.audit_event.c.youth_id.is_not(None),
            s.audit_event.c.entry["job"].as_string() == job_id).group_by(s.audit_event.c.youth_id)).all()
    assert len(per_youth) == 40 and all(n == 1 for _, n in per_youth)
