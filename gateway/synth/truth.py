"""The ground-truth identity file: for every person record a feed presents, who it really is."""
from __future__ import annotations

from pathlib import Path

import orjson

from .model import PresentedPerson, Youth


class TruthLog:
    """Streams `truth.jsonl`: {"source", "subject": {...as presented}, "client_id" (null when the
    student is not in care), "noise": [...]}. Nothing is kept in memory."""

    def __init__(self, path: Path | None):
        self._fh = open(path, "wb") if path else None
        self.count = 0

    def add(self, source: str, p: PresentedPerson, y: Youth) -> None:
        self.count += 1
        if not self._fh:
            return
        self._fh.write(orjson.dumps({
            "source": source,
            "subject": {"given": p.given, "middle": p.middle, "family": p.family,
                        "birth_date": p.birth_date.isoformat(), "sex": p.sex, "ssid": p.ssid,
                        "local_id": p.local_id},
            "client_id": y.client_id if y.in_care else None,
            "noise": list(p.noise),
        }) + b"\n")

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None
