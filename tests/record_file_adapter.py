"""A test-only source format: NDJSON lines of {"standard","type","category","resource","key","subject"}.

Lets identity and ingest tests present exactly the people they need without a real SIS file;
the records still go through the real pipeline, linker, store and review queue."""
from __future__ import annotations

import orjson

from adapters.base import Problem, Record, Subject


def convert(path, **options):
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = orjson.loads(line)
                subject = Subject.from_dict(d["subject"]) if d.get("subject") else None
                yield Record(d["standard"], d["type"], d["category"], d["resource"], {"file": str(path), "line": n},
                             d["key"], subject, action=d.get("action", "upsert"))
            except (ValueError, KeyError) as e:
                yield Problem(str(path), n, None, f"bad test record: {e}")
