"""File uploads: `POST /ingest/<format>` stores the file and queues an `ingest` job;
`GET /ingest/jobs/<id>` says how it went. See docs/edfi-api.md.

Who may upload what (scope `ingest` for all; decided by the token's Requester):
  * kind `sis_vendor`: SIS formats (calpads, oneroster, sif, edfi-xml, edfi-json) for its own
    districts: `?lea=<7-digit>` names the district (optional when the client has exactly one);
  * kind `smart_backend` (the county HIE): HIE formats (ccda, hl7v2, fhir);
  * the CWS case extract (`cws`) additionally needs scope `ingest:cws` (the child-welfare system).

The body is either multipart/form-data (one or more `file` parts) or the raw file (any other
content type; name it with `?filename=`). It is streamed to `var/uploads/<uuid>/<safe name>`: the
client's file name is reduced to its last path component and to [A-Za-z0-9._-], so it can never
leave that folder. Bodies over Settings.max_upload_bytes get 413 and leave nothing behind.
"""
from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request

import adapters

from .. import jobs
from ..auth import current_requester, require
from .errors import problem

bp = Blueprint("uploads", __name__)

SIS_FORMATS = ("calpads", "oneroster", "sif", "edfi-xml", "edfi-json")
HIE_FORMATS = ("ccda", "hl7v2", "fhir")
CASE_FORMATS = ("cws",)
CWS_SCOPE = "ingest:cws"
CHUNK = 1 << 20
MAX_PARTS = 50
FIRST_PROBLEMS = 20
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LEA = re.compile(r"^\d{7}$")


def safe_name(name: str | None, default: str = "upload") -> str:
    """The last path component of a client file name, restricted to [A-Za-z0-9._-], no leading
    dots, at most 100 characters ("../../etc/passwd" -> "passwd", "..\\x.txt" -> "x.txt")."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _SAFE.sub("_", base).lstrip(".")[:100].strip("_") or default
    return base if base not in (".", "..") else default


def allowed_formats(who) -> tuple[str, ...]:
    out: tuple[str, ...] = ()
    if who.kind == "sis_vendor":
        out = SIS_FORMATS
    elif who.kind == "smart_backend":
        out = HIE_FORMATS
    if CWS_SCOPE in who.scopes:
        out = out + CASE_FORMATS
    return out


def _too_large(limit: int):
    return problem(413, "Payload Too Large", f"an upload may be at most {limit:,} bytes; nothing was kept",
                   type_="urn:hep:problem:upload-too-large")


def _copy(src, dest: Path, budget: int) -> int:
    """Copy a stream to dest in chunks; returns bytes written, or -1 when over budget."""
    n = 0
    with open(dest, "xb") as out:
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                return n
            n += len(chunk)
            if n > budget:
                return -1
            out.write(chunk)


@bp.post("/ingest/<fmt>")
@require("ingest")
def upload(fmt: str):
    who = current_requester()
    settings = current_app.extensions["hep.settings"]
    if fmt not in adapters.FORMATS:
        return problem(404, "Not Found", f"unknown format {fmt!r}; known: {', '.join(sorted(adapters.FORMATS))}")
    allowed = allowed_formats(who)
    if fmt not in allowed:
        return problem(403, "Forbidden", f"a {who.kind} client may upload only: {', '.join(allowed) or 'nothing'}",
                       type_="urn:hep:problem:format-not-allowed")
    options: dict = {}
    lea = None
    if fmt in SIS_FORMATS:
        lea = request.args.get("lea")
        if lea is None and len(who.lea_ids) == 1:
            lea = who.lea_ids[0]
        if lea is None:
            return problem(400, "Bad Request", "name the district of this file with ?lea=<7-digit code>",
                           errors={"lea": [f"one of {', '.join(who.lea_ids) or '(none registered)'}"]})
        if not _LEA.match(lea) or lea not in who.lea_ids:
            return problem(403, "Forbidden", f"this client may not upload for district {lea!r}",
                           type_="urn:ed-fi:api:security:authorization")
        if fmt == "sif":
            options["lea_id"] = lea
    limit = settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(limit)
    upload_id = str(uuid.uuid4())
    folder = (Path(settings.var_dir) / "uploads" / upload_id).resolve()
    folder.mkdir(parents=True, exist_ok=False)
    saved: list[Path] = []
    try:
        if request.mimetype == "multipart/form-data":
            parts = request.files.getlist("file")
            if not parts:
                shutil.rmtree(folder, ignore_errors=True)
                return problem(400, "Bad Request", "multipart upload without a `file` part")
            if len(parts) > MAX_PARTS:
                shutil.rmtree(folder, ignore_errors=True)
                return problem(400, "Bad Request", f"at most {MAX_PARTS} files per upload")
            budget = limit
            for part in parts:
                dest = _unique(folder, safe_name(part.filename))
                n = _copy(part.stream, dest, budget)
                if n < 0:
                    shutil.rmtree(folder, ignore_errors=True)
                    return _too_large(limit)
                budget -= n
                saved.append(dest)
        else:
            dest = _unique(folder, safe_name(request.args.get("filename"), default=f"upload.{fmt}"))
            if _copy(request.stream, dest, limit) < 0:
                shutil.rmtree(folder, ignore_errors=True)
                return _too_large(limit)
            saved.append(dest)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if not any(p.stat().st_size for p in saved):
        shutil.rmtree(folder, ignore_errors=True)
        return problem(400, "Bad Request", "the upload is empty")
    for p in saved:   # belt and braces: every file is inside the upload folder
        assert p.resolve().parent == folder
    paths = [str(folder)] if len(saved) > 1 else [str(saved[0])]
    params = {"format": fmt, "paths": paths, "submitted_by": who.client_id,
              "source_system": f"{fmt}-upload:{who.client_id}"[:120], "options": options,
              "upload_id": upload_id, "files": [p.name for p in saved], "lea_id": lea,
              "allowed_leas": list(who.lea_ids)}
    job_id = jobs.enqueue(current_app.extensions["hep.engine"], settings.tenant, "ingest", params, who.client_id)
    href = f"/ingest/jobs/{job_id}"
    resp = jsonify({"jobId": job_id, "status": "queued", "format": fmt, "files": [p.name for p in saved],
                    "href": href})
    resp.status_code = 202
    resp.headers["Location"] = href
    resp.headers["Content-Location"] = href
    resp.headers["Retry-After"] = "2"
    return resp


def _unique(folder: Path, name: str) -> Path:
    dest = folder / name
    n = 1
    while dest.exists():
        stem, dot, ext = name.partition(".")
        dest = folder / f"{stem}-{n}{dot}{ext}"
        n += 1
    return dest


def _iso(ts):
    return ts.isoformat() if ts is not None else None


@bp.get("/ingest/jobs/<job_id>")
@require()
def job_status(job_id: str):
    who = current_requester()
    settings = current_app.extensions["hep.settings"]
    row = jobs.get(current_app.extensions["hep.engine"], settings.tenant, job_id[:36]) if len(job_id) <= 36 else None
    # only the client that submitted it may see it; anyone else gets the answer for a missing job
    if row is None or row.owner != who.client_id or row.kind != "ingest":
        return problem(404, "Not Found", f"no upload job {job_id}")
    body = {"jobId": row.id, "status": row.status, "format": (row.params or {}).get("format"),
            "files": (row.params or {}).get("files"), "createdAt": _iso(row.created_at),
            "startedAt": _iso(row.started_at), "finishedAt": _iso(row.finished_at), "progress": row.progress or {}}
    result = row.result or {}
    if result:
        body["batch"] = {k: result.get(k) for k in (
            "batch_id", "status", "records_read", "accepted", "created", "updated", "unchanged", "deleted",
            "rejected", "warnings", "out_of_scope", "pending_review", "duplicate_of", "error")}
        body["problems"] = [{k: p.get(k) for k in ("file", "line", "field", "severity", "message")}
                            for p in (result.get("problems") or [])[:FIRST_PROBLEMS]]
    if row.error:
        body["error"] = row.error
    resp = jsonify(body)
    if row.status in ("queued", "running"):
        resp.headers["Retry-After"] = "2"
    return resp
