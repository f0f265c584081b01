"""The load test in one minute (what `make load` runs for LOAD_MINUTES): gunicorn over PostgreSQL on
127.0.0.1 with a `hep worker`, receiving Ed-Fi POSTs, CALPADS and C-CDA uploads, passport reads by
social workers and a state bulk export at the same time. Nothing may fail: no 5xx, no error at all,
every upload ingested, the export complete, and the audit chain verifies afterwards."""
from __future__ import annotations

import os
import time

import pytest

from load import prepare
from load.run import Http, Stack, audit_verify, drive, wait_jobs
from load.scenario import Context, export_poll
from tests.conftest import PostgresSchema, require_postgres

SECONDS = float(os.environ.get("HEP_LOAD_QUICK_SECONDS", "60"))
RATES = {"passport": 4.0, "edfi_post": 2.0, "calpads_upload": 1 / 15, "ccda_upload": 0.25}


@pytest.mark.slow
@pytest.mark.postgres
def test_one_minute_of_mixed_load_without_a_single_error(tmp_path):
    require_postgres()
    schema = PostgresSchema()
    try:
        env = prepare.use_dirs(tmp_path)
        county = prepare.ensure_county(120, 3, seed=7, root=tmp_path)
        engine = prepare.ensure_store(schema.url, county, tmp_path / "ready.json")
        p = prepare.partners(engine, county)
        assert p.workers and p.vendors and p.ccda
        stack = Stack(schema.url, env).start()
        try:
            ctx = Context(p, stack.base)
            res = drive(ctx, Http(stack.base), SECONDS, rates=RATES, clients=30, max_requests=2000)
            jobs = wait_jobs(engine, ctx.jobs, timeout=240)      # bounded; on a busy CI machine the worker lags
            deadline = time.time() + 240
            while ctx.export_done is None and time.time() < deadline:
                assert export_poll(Http(stack.base), ctx).status_code in (200, 202)
                time.sleep(1)
        finally:
            stack.stop()
        by = res["by_type"]
        problems = {k: (v["status"], v["sample_errors"]) for k, v in by.items() if v["errors"]}
        assert res["errors_5xx"] == 0 and res["errors"] == 0 and res["error_rate"] == 0.0, problems
        assert {"passport", "edfi_post", "calpads_upload", "ccda_upload", "export_kickoff"} <= set(by), by.keys()
        assert by["passport"]["count"] >= SECONDS * 2, by["passport"]      # the driver really drove
        assert ctx.jobs and jobs.get("completed") == len(ctx.jobs), jobs   # every upload was ingested
        assert ctx.export_done is not None and ctx.export_outputs > 0
        ok, out = audit_verify(schema.url, env)
        assert ok, out
        engine.dispose()
    finally:
        schema.drop()
