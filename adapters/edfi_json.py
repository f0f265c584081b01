"""Ed-Fi API JSON input -> validated Ed-Fi records.

Accepted: NDJSON (one `{"resource": "<collection>", ...body}` object per line), a JSON array of such
objects, or per-collection files named `<collection>.json` / `<collection>.ndjson` holding bodies
without the `resource` member (a folder of them is read in name order). Each body is validated with
adapters.edfi_schema; a bad line or body becomes a Problem with its line (NDJSON) or array index.
NDJSON is streamed line by line; a JSON array file is read whole (bounded by max_bytes).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import orjson

from .edfi_schema import COLLECTIONS as KNOWN_COLLECTIONS
from .base import InputRefused, Item, Problem, truncate
from .edfi_extra import edfi_record, student_subject, validate_and_prune

MAX_ARRAY_BYTES = 200 * 1024 * 1024


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".json", ".ndjson", ".jsonl") and p.is_file())
    return [path]


def convert(path, *, source: str = "edfi", unique_id_is_ssid: str | bool = "auto", **_options) -> Iterator[Item]:
    path = Path(path)
    if not path.exists():
        raise InputRefused(f"{path}: no such file or folder")
    for f in _files(path):
        default = f.stem if f.stem[:1].islower() and "." not in f.stem else None
        with open(f, "rb") as fh:
            head = fh.read(1).lstrip()
            while head in (b" ", b"\n", b"\r", b"\t", b"\xef"):
                head = fh.read(1)
        if head == b"[":
            if f.stat().st_size > MAX_ARRAY_BYTES:
                yield Problem(file=f.name, line=None, field=None, fatal=True,
                              message=f"JSON array over {MAX_ARRAY_BYTES:,} bytes: send NDJSON instead")
                continue
            try:
                items = orjson.loads(f.read_bytes())
            except orjson.JSONDecodeError as e:
                yield Problem(file=f.name, line=None, field=None, message=f"not JSON: {e}", fatal=True)
                continue
            for i, body in enumerate(items):
                yield from _one(body, f.name, {"file": f.name, "path": f"/{i}"}, None, default, source, unique_id_is_ssid)
        else:
            with open(f, "rb") as fh:
                for n, raw in enumerate(fh, start=1):
                    raw = raw.strip()
                    if not raw:
                        continue
                    try:
                        body = orjson.loads(raw)
                    except orjson.JSONDecodeError as e:
                        yield Problem(file=f.name, line=n, field=None, message=f"not JSON: {e}",
                                      raw=truncate(raw.decode("utf-8", "replace"), 500))
                        continue
                    yield from _one(body, f.name, {"file": f.name, "line": n}, n, default, source, unique_id_is_ssid)


def _one(body, fname, src, line, default, source, ssid_mode) -> Iterator[Item]:
    if not isinstance(body, dict):
        yield Problem(file=fname, line=line, field=None, message="not a JSON object")
        return
    body = dict(body)
    coll = body.pop("resource", None) or default
    action = "delete" if body.pop("_action", None) == "delete" else "upsert"
    if not coll or not isinstance(coll, str):
        yield Problem(file=fname, line=line, field="resource", message="no collection: add \"resource\": \"<collection>\"")
        return
    if coll not in KNOWN_COLLECTIONS:
        yield Problem(file=fname, line=line, field="resource",
                      message=f"{coll!r} is not an Ed-Fi collection the gateway keeps ({', '.join(sorted(KNOWN_COLLECTIONS))})")
        return
    for meta in ("id", "_etag", "_lastModifiedDate", "link"):
        body.pop(meta, None)
    errors, dropped = validate_and_prune(coll, body)
    if errors:
        fld, msg = errors[0]
        yield Problem(file=fname, line=line, field=fld, message=f"{coll}: {fld}: {msg}",
                      raw=truncate(orjson.dumps(body).decode(), 500))
        return
    if dropped:
        yield Problem(file=fname, line=line, field=",".join(dropped), severity="warning",
                      message=f"{coll}: properties not kept by the gateway's Ed-Fi profile: {', '.join(dropped)}")
    yield edfi_record(coll, body, src, student_subject(coll, body, source=source, ssid_mode=ssid_mode), action=action)
