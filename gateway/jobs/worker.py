"""`hep worker`: claims jobs and runs the handler registered for their kind.

Handlers: HANDLERS maps a job kind to "module:function"; the function is called as
fn(engine, job, report) where report(progress: dict) -> bool records progress and returns False
once the job is cancelled. Whatever it returns becomes the job's result.
"""
from __future__ import annotations

import importlib
import logging
import os
import socket
import threading

from . import queue

log = logging.getLogger("hep.worker")

HANDLERS: dict[str, str] = {
    "ingest": "gateway.jobs.ingest_job:run",
    "export": "gateway.export.job:run",
}


def handler_for(kind: str):
    mod, _, fn = HANDLERS[kind].partition(":")
    return getattr(importlib.import_module(mod), fn)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_one(engine, name: str | None = None, kinds: list[str] | None = None) -> bool:
    """Claim and run one job; False when there was nothing to do."""
    name = name or worker_name()
    job = queue.claim(engine, name, kinds or list(HANDLERS))
    if job is None:
        return False
    try:
        fn = handler_for(job.kind)
        result = fn(engine, job, lambda progress: queue.heartbeat(engine, job.id, progress))
        queue.complete(engine, job.id, result or {}, worker=name)
        log.info("job completed", extra={"batch_id": job.id})
    except Exception as e:  # a poison job fails alone; the worker goes on with the next
        log.exception("job failed", extra={"batch_id": job.id})
        queue.fail(engine, job.id, f"{type(e).__name__}: {e}", worker=name)
    return True


def run_worker(engine, poll: float = 1.0, stop: threading.Event | None = None, kinds=None) -> None:
    stop = stop or threading.Event()
    name = worker_name()
    while not stop.is_set():
        if not run_one(engine, name, kinds):
            stop.wait(poll)
