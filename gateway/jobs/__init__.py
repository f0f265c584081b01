"""A table-backed job queue (no extra broker): file-upload ingests, bulk exports.

Jobs survive restarts: a worker heartbeats while it runs a job; a job whose heartbeat went stale
(its worker died) is claimed again, and handlers are written to resume from their progress.
"""
from .queue import cancel, claim, complete, enqueue, fail, get, heartbeat  # noqa: F401
