"""The `export` job (HANDLERS["export"]): youth in chunks -> NDJSON files, resumable.

params (set by the kick-off, gateway/api/fhir/bulk.py):
  requester   every field of the auth.Requester that asked (params.requester_to_params)
  types       list of resource types, or null for every FHIR type the client's scopes allow
  since       FHIR instant or null; group: Group id or null (system export)
  as_of       the decision date (the kick-off's date: a resumed job decides exactly as the first run)
  transaction_time, request, base_url

Per chunk of CHUNK youth (keyset order by youth id): facts in four queries, one decision set per
youth (render.decide_chunk), rows streamed per set of exportable categories, resources written to
`<Type>.ndjson`; then the files are flushed and fsync'ed and ONE write transaction records the
chunk's audit rows (one per youth: what left, or that nothing did) together with the progress:

  progress = {"total", "done", "last_youth", "resources", "files": {name: {"type", "bytes", "lines"}},
              "withheld": {category: youth}, "view_only": {category: youth}, "nothing": youth,
              "schools": [school ids written], "errors": n}

Resume: a job claimed again (its worker died: stale heartbeat) truncates every file to the
recorded bytes, deletes files created after the last commit, and continues after `last_youth` -
the lines of a chunk that was being written when the worker died are rewritten once, never
duplicated, and its audit rows were never committed. Cancelled (DELETE on the status URL): the
files are deleted at the next chunk boundary.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
from datetime import date

import orjson
from sqlalchemy import select, update

from ..clock import utcnow
from ..store import schema as s
from ..store.engine import write_tx
from . import groups, render
from .params import HEP_RECORD, export_dir, file_name, parse_since, requester_from_params

CHUNK = 500
ERROR_FILE = "OperationOutcome.ndjson"
crash_hook = None   # tests: called as crash_hook(point, youth_done_in_this_run); may raise BaseException


class JobLost(RuntimeError):
    """Another worker claimed this job (our heartbeat went stale): stop without touching its files."""


class Files:
    """Append-only NDJSON files with the sizes recorded at the last commit."""

    def __init__(self, root, recorded: dict):
        self.root = root
        self.meta = {k: dict(v) for k, v in recorded.items()}
        self.handles: dict[str, object] = {}
        root.mkdir(parents=True, exist_ok=True)
        for p in root.iterdir():                      # back to the last committed state
            m = self.meta.get(p.name)
            if m is None:
                p.unlink()
            elif p.stat().st_size != m["bytes"]:
                with open(p, "r+b") as f:
                    f.truncate(m["bytes"])
        for name in list(self.meta):
            if not (root / name).exists():            # recorded but gone: cannot resume honestly
                raise RuntimeError(f"export file {name} is missing; the export must be started again")

    def write(self, rtype: str, lines: list[bytes]) -> None:
        name = ERROR_FILE if rtype == "OperationOutcome" else file_name(rtype)
        f = self.handles.get(name)
        if f is None:
            f = self.handles[name] = open(self.root / name, "ab")
            self.meta.setdefault(name, {"type": rtype, "bytes": 0, "lines": 0})
        f.write(b"".join(lines))
        self.meta[name]["lines"] += len(lines)

    def sync(self) -> dict:
        for name, f in self.handles.items():
            f.flush()
            os.fsync(f.fileno())
            self.meta[name]["bytes"] = f.tell()
        return {k: dict(v) for k, v in self.meta.items()}

    def close(self) -> None:
        for f in self.handles.values():
            f.close()
        self.handles.clear()


def _line(res: dict) -> bytes:
    return orjson.dumps(res) + b"\n"


def _commit(engine, job, progress: dict, events: list[dict], common: dict) -> str:
    """Progress and the chunk's audit rows in one transaction: 'ok', 'cancelled' or raises JobLost."""
    from ..audit import append_many
    j = s.job.c
    with write_tx(engine) as conn:
        row = conn.execute(select(j.status, j.worker).where(j.id == job.id)).first()
        if row is None or row.status != "running":
            return "cancelled"
        if job.worker and row.worker != job.worker:
            raise JobLost(f"job {job.id} was claimed by {row.worker}")
        conn.execute(update(s.job).where(j.id == job.id).values(progress=progress, heartbeat_at=utcnow()))
        if events:
            append_many(conn, job.tenant_id, events, **common)   # last: it locks the audit head
    return "ok"


def _audit_event(job, yd, counts: dict, error: str | None) -> dict:
    d = yd.disclosure
    released = sorted(yd.exportable)
    outcome = ("deny" if not released else
               "permit-redacted" if any(d.decisions[c]["decision"] == "permit-redacted" for c in released) else "permit")
    rules, seen = [], set()
    for c in released:
        for r in d.decisions[c].get("rules") or ():
            if r.get("id") not in seen:
                seen.add(r.get("id"))
                rules.append({"id": r.get("id"), "citation": r.get("citation")})
    entry = {
        "job": job.id, "export": {k: job.params.get(k) for k in ("types", "since", "group")},
        "decision": outcome, "released": released, "denied": sorted(d.denied()),
        "withheld_view_only": yd.view_only,
        "decisions": {c: {"decision": x["decision"], "rules": [r.get("id") for r in x.get("rules") or ()],
                          "redactions": x.get("redactions") or [], "obligations": x.get("obligations") or []}
                      for c, x in d.decisions.items()},
        "rules": rules,
        "redactions": sorted({r for c in released for r in d.decisions[c].get("redactions") or ()}),
        "obligations": sorted({o for c in released for o in d.decisions[c].get("obligations") or ()}),
        "resource_count": sum(counts.values()), "counts": counts,
        # the full request facts are replayable from the store; their digest pins what was decided
        "requests_sha256": hashlib.sha256(orjson.dumps(d.requests, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)).hexdigest(),
    }
    if not released:
        first = next(iter(d.decisions.values()), None)
        entry["reason"] = (first or {}).get("reason") or "nothing exportable"
    if error:
        entry["error"] = error
    return {"youth_id": yd.youth_id, "outcome": outcome, "entry": entry}


def _outcome(severity: str, code: str, text: str) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


def run(engine, job, report) -> dict:
    p = job.params
    tenant = job.tenant_id
    who = requester_from_params(p["requester"])
    types = set(p["types"]) if p.get("types") else None
    since = parse_since(p["since"]) if p.get("since") else None
    as_of = date.fromisoformat(p["as_of"])
    group = p.get("group")
    root = export_dir(job.id)
    prog = dict(job.progress or {})
    prog.setdefault("files", {})
    for k in ("withheld", "view_only"):
        prog.setdefault(k, {})
    for k in ("done", "resources", "nothing", "errors"):
        prog.setdefault(k, 0)
    prog.setdefault("schools", [])
    if "total" not in prog:
        with engine.connect() as conn:
            prog["total"] = groups.member_count(conn, tenant, group, as_of)
    prog["stage"] = "exporting"
    emitted_schools = set(prog["schools"])
    common = {"actor_id": who.user_id or who.client_id, "actor_role": who.user_role or who.role,
              "client_id": who.client_id, "action": "$export", "purpose": who.purpose_of_use}
    schools = render.Schools(tenant)
    files = Files(root, prog["files"])
    started, this_run = time.monotonic(), 0
    try:
        while True:
            events = []
            with engine.connect() as conn:
                ids = groups.member_ids_after(conn, tenant, group, as_of, prog.get("last_youth"), CHUNK)
                if not ids:
                    break
                facts = render.load_chunk_facts(conn, tenant, ids)
                decisions = render.decide_chunk(conn, tenant, who, facts, as_of)
                by_id = {yd.youth_id: yd for yd in decisions}
                for yd in decisions:
                    for c in yd.disclosure.denied():
                        prog["withheld"][c] = prog["withheld"].get(c, 0) + 1
                    for c in yd.view_only:
                        prog["view_only"][c] = prog["view_only"].get(c, 0) + 1
                    if not yd.exportable:
                        prog["nothing"] += 1
                        events.append(_audit_event(job, yd, {}, None))
                for yid, rows in render.iter_rows(conn, tenant, decisions, types):
                    yd = by_id[yid]
                    try:
                        out = render.render_youth(conn, tenant, yd, facts[yid].youth, rows, types=types, since=since,
                                                  as_of=as_of, schools=schools, emitted_schools=emitted_schools)
                    except Exception as e:   # this youth alone: reported in error[], nothing of it written
                        prog["errors"] += 1
                        msg = f"Patient/{yid}: not exported ({type(e).__name__}); other youth are unaffected"
                        files.write("OperationOutcome", [_line(_outcome("error", "exception", msg))])
                        events.append(_audit_event(job, yd, {}, f"{type(e).__name__}: {str(e)[:200]}"))
                        continue
                    counts: dict[str, int] = {}
                    by_type: dict[str, list[bytes]] = {}
                    for rtype, res in out.resources:
                        by_type.setdefault(rtype, []).append(_line(res))
                        counts[rtype] = counts.get(rtype, 0) + 1
                    if out.hep_record is not None:
                        by_type.setdefault(HEP_RECORD, []).append(_line(out.hep_record))
                        counts[HEP_RECORD] = 1
                    for rtype, lines in by_type.items():
                        files.write(rtype, lines)
                    emitted_schools |= out.schools
                    prog["resources"] += sum(counts.values())
                    events.append(_audit_event(job, yd, counts, None))
                    this_run += 1
                    if crash_hook:
                        crash_hook("youth", this_run)
            prog["files"] = files.sync()
            prog["done"] += len(ids)
            prog["last_youth"] = ids[-1]
            prog["schools"] = sorted(emitted_schools)
            prog["seconds"] = round(prog.get("seconds", 0) + time.monotonic() - started, 3)
            started = time.monotonic()
            if _commit(engine, job, prog, events, common) == "cancelled":
                files.close()
                shutil.rmtree(root, ignore_errors=True)
                return {"cancelled": True}
            if crash_hook:
                crash_hook("chunk", this_run)
        # summary of what policy withheld, for the manifest's error[] (no youth named)
        notes = [_outcome("information", "suppressed",
                          f"category {c} withheld by the disclosure policy for {n} of {prog['total']} youth")
                 for c, n in sorted(prog["withheld"].items())]
        notes += [_outcome("information", "suppressed",
                           f"category {c} may be viewed but not exported (view_only_no_export) for {n} youth")
                  for c, n in sorted(prog["view_only"].items())]
        if prog["nothing"]:
            notes.append(_outcome("information", "suppressed",
                                  f"{prog['nothing']} youth: nothing may be exported to this requester"))
        if notes:
            files.write("OperationOutcome", [_line(n) for n in notes])
        final = files.sync()
    finally:
        files.close()
    outputs = [{"type": m["type"], "name": name, "count": m["lines"]} for name, m in sorted(final.items())
               if name != ERROR_FILE and m["lines"]]
    errors = [{"type": "OperationOutcome", "name": ERROR_FILE, "count": final[ERROR_FILE]["lines"]}] \
        if ERROR_FILE in final else []
    seconds = prog.get("seconds", 0) + time.monotonic() - started
    # progress keeps the files as of the last chunk: a re-run after a crash here rewrites the summary once
    report({**prog, "stage": "completed"})
    return {"transactionTime": p["transaction_time"], "request": p["request"], "requiresAccessToken": True,
            "output": outputs, "error": errors, "youth": prog["total"], "resources": prog["resources"],
            "seconds": round(seconds, 3)}
