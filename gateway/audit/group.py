"""Group commit for request audits: many request threads, one transaction.

Each API request appends its decision record before it answers. Done one transaction per
request, every request took the tenant's chain head lock and waited for its own commit, so
under load the requests queued behind each other's fsync. Here a request hands its prepared
event to the process's appender thread and waits until the row is committed (the answer still
leaves only after its audit row is durable); the thread writes whatever has queued meanwhile
under one head lock and one commit. With one request in flight it is one transaction, as before.
"""
from __future__ import annotations

import os
import queue
import threading
from collections import defaultdict
from concurrent.futures import Future

from ..store.engine import write_tx
from .chain import append_prepared, prepare

MAX_BATCH = 256
IDLE_EXIT_SECONDS = 10.0   # the thread ends when idle (tests make many engines) and restarts on demand
WAIT_SECONDS = 60.0


class GroupAppender:
    def __init__(self, engine):
        self.engine = engine
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None
        self._pid = None
        self.transactions = 0     # how many commits carried how many rows (docs/performance.md)
        self.rows = 0
        self.largest = 0

    def append(self, tenant: str, **event) -> int:
        """Append one audit row (append()'s keywords) and return its seq once committed."""
        ev = prepare([event])[0]            # bad input fails in the caller, not in the batch
        fut: Future = Future()
        self._submit((tenant, ev, fut))
        return fut.result(WAIT_SECONDS)

    def _submit(self, item) -> None:
        with self._lock:
            if self._pid != os.getpid():     # a forked worker starts its own thread and queue
                self._pid, self._queue, self._thread = os.getpid(), queue.SimpleQueue(), None
            self._queue.put(item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, args=(self._queue,), name="hep-audit", daemon=True)
                self._thread.start()

    def _run(self, q: queue.SimpleQueue) -> None:
        while True:
            try:
                first = q.get(timeout=IDLE_EXIT_SECONDS)
            except queue.Empty:
                with self._lock:
                    if q.empty():            # nothing slipped in while we timed out
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list) -> None:
        by_tenant: dict[str, list] = defaultdict(list)
        for item in batch:
            by_tenant[item[0]].append(item)
        for tenant, items in by_tenant.items():
            try:
                with write_tx(self.engine) as conn:
                    seqs = append_prepared(conn, tenant, [ev for _, ev, _ in items])
            except BaseException as e:       # every waiting request learns its row was not written
                for _, _, fut in items:
                    fut.set_exception(e)
            else:
                self.transactions += 1
                self.rows += len(items)
                self.largest = max(self.largest, len(items))
                for (_, _, fut), seq in zip(items, seqs):
                    fut.set_result(seq)


_create_lock = threading.Lock()


def appender(engine) -> GroupAppender:
    """The group appender of this engine (kept on the engine: one per engine per process)."""
    a = getattr(engine, "_hep_audit_appender", None)
    if a is None:
        with _create_lock:
            a = getattr(engine, "_hep_audit_appender", None)
            if a is None:
                a = engine._hep_audit_appender = GroupAppender(engine)
    return a
