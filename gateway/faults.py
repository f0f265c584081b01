"""Fault-injection points for crash tests: `HEP_FAULT=<name>` makes the process stop at that
point (it writes `HEP_FAULT_MARKER` if set, then waits to be killed), so a test can kill -9 it
at a known place instead of guessing with sleeps. Unset in production: a no-op."""
from __future__ import annotations

import os
import time


def point(name: str) -> None:
    if os.environ.get("HEP_FAULT") != name:
        return
    marker = os.environ.get("HEP_FAULT_MARKER")
    if marker:
        with open(marker, "w") as fh:
            fh.write(str(os.getpid()))
    time.sleep(float(os.environ.get("HEP_FAULT_WAIT", "300")))
