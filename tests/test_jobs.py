"""The table-backed job queue: claim order, cancel, stale jobs reclaimed after a worker dies."""
from datetime import timedelta

from sqlalchemy import update

from gateway import jobs
from gateway.jobs import worker
from gateway.store import schema as s


def test_claim_run_complete_and_cancel(engine, monkeypatch):
    calls = []

    def handler(engine_, job, report):
        calls.append(job.params["n"])
        assert report({"done": 1}) is True
        return {"n": job.params["n"] * 2}

    monkeypatch.setitem(worker.HANDLERS, "double", f"{__name__}:_handler")
    globals()["_handler"] = handler
    a = jobs.enqueue(engine, "la", "double", {"n": 1}, "client-a")
    b = jobs.enqueue(engine, "la", "double", {"n": 2}, "client-b")
    assert jobs.cancel(engine, "la", b)
    assert worker.run_one(engine, "w1", ["double"]) is True
    assert worker.run_one(engine, "w1", ["double"]) is False   # b was cancelled: nothing left
    done = jobs.get(engine, "la", a)
    assert done.status == "completed" and done.result == {"n": 2} and done.progress == {"done": 1}
    assert jobs.get(engine, "la", b).status == "cancelled" and calls == [1]
    assert jobs.get(engine, "other-county", a) is None          # jobs are tenant-scoped


def test_a_failing_job_fails_alone(engine, monkeypatch):
    def boom(engine_, job, report):
        raise RuntimeError("poison")

    globals()["_boom"] = boom
    monkeypatch.setitem(worker.HANDLERS, "boom", f"{__name__}:_boom")
    bad = jobs.enqueue(engine, "la", "boom", {}, "x")
    assert worker.run_one(engine, "w", ["boom"])
    row = jobs.get(engine, "la", bad)
    assert row.status == "failed" and "poison" in row.error


def test_a_job_whose_worker_died_is_claimed_again(engine):
    j = jobs.enqueue(engine, "la", "ingest", {"format": "cws", "paths": []}, "x")
    first = jobs.claim(engine, "dead-worker", ["ingest"])
    assert first.id == j and jobs.claim(engine, "other", ["ingest"]) is None   # still fresh: not reclaimed
    with engine.begin() as c:
        c.execute(update(s.job).where(s.job.c.id == j).values(heartbeat_at=first.heartbeat_at - timedelta(minutes=5)))
    again = jobs.claim(engine, "new-worker", ["ingest"])
    assert again.id == j and again.attempts == 2 and again.worker == "new-worker"


def test_a_reclaimed_job_is_finished_only_by_its_new_worker(engine):
    j = jobs.enqueue(engine, "la", "ingest", {}, "x")
    old = jobs.claim(engine, "old-worker", ["ingest"])
    with engine.begin() as c:
        c.execute(update(s.job).where(s.job.c.id == j).values(heartbeat_at=old.heartbeat_at - timedelta(minutes=5)))
    jobs.claim(engine, "new-worker", ["ingest"])
    assert jobs.fail(engine, j, "the old worker woke up and gave up", worker="old-worker") is False
    assert jobs.complete(engine, j, {"ok": True}, worker="new-worker") is True
    assert jobs.get(engine, "la", j).status == "completed"
