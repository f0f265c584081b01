"""File uploads: POST /ingest/<format> -> an ingest job a worker runs -> GET /ingest/jobs/<id>."""
from __future__ import annotations

import glob
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.api.uploads import allowed_formats, safe_name
from gateway.auth import Requester
from gateway.ingest.pipeline import ingest
from gateway.jobs import worker
from gateway.store import schema as s
from tests.test_edfi_api_support import BASE, county, vendor  # noqa: F401


@pytest.fixture
def up(engine, county, tmp_path):
    """CWS extract ingested (who is in care); no SIS data yet; vendor A of the CALPADS district."""
    from gateway.app import create_app
    from gateway.auth import registry
    from gateway.config import Settings
    d, _, dist_a, dist_b = county
    ingest(engine, "cws", glob.glob(str(d / "cws" / "*.zip")))
    registry.forget()
    var = tmp_path / "var"
    app = create_app(Settings(base_url=BASE, tenant="la", log_json=False, var_dir=var), engine=engine)
    a = vendor(app, engine, "vendor a", [dist_a["lea_id"]])
    b = vendor(app, engine, "vendor b", [dist_b["lea_id"]])
    files = sorted(Path(p) for p in glob.glob(str(d / "sis" / f"{dist_a['lea_id']}-calpads" / "*")))
    return app, app.test_client(), engine, var, a, b, files, dist_a, dist_b


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_calpads_upload_end_to_end(up):
    app, http, engine, var, a, b, files, dist_a, _ = up
    senr = next(f for f in files if f.name.endswith("_SENR.txt"))
    contents = [(f.read_bytes() + (b"SENR^garbage line\n" if f == senr else b""), f.name) for f in files]
    r = http.post("/ingest/calpads", data={"file": [(io.BytesIO(b), n) for b, n in contents]}, headers=a.headers,
                  content_type="multipart/form-data")
    assert r.status_code == 202, r.get_json()
    job = r.get_json()["jobId"]
    assert r.headers["Location"] == r.headers["Content-Location"] == f"/ingest/jobs/{job}"
    assert sorted(r.get_json()["files"]) == sorted(f.name for f in files)
    queued = http.get(f"/ingest/jobs/{job}", headers=a.headers)
    assert queued.status_code == 200 and queued.get_json()["status"] == "queued" and "batch" not in queued.get_json()
    assert http.get(f"/ingest/jobs/{job}", headers=b.headers).status_code == 404     # only the submitter
    assert http.get(f"/ingest/jobs/{job}").status_code == 401

    assert worker.run_one(engine) is True
    done = http.get(f"/ingest/jobs/{job}", headers=a.headers).get_json()
    assert done["status"] == "completed" and done["finishedAt"]
    batch = done["batch"]
    assert batch["status"] == "committed" and batch["created"] > 100 and batch["out_of_scope"] > 0
    assert batch["rejected"] >= 1
    bad = [p for p in done["problems"] if p["severity"] == "error"]
    assert bad and bad[0]["file"] == senr.name and bad[0]["line"] == senr.read_bytes().count(b"\n") + 1
    assert set(bad[0]) == {"file", "line", "field", "severity", "message"} and bad[0]["message"]
    with engine.connect() as c:
        row = c.execute(select(s.ingest_batch).where(s.ingest_batch.c.id == batch["batch_id"])).one()
        kept = c.execute(select(s.resource.c.id).where(s.resource.c.batch_id == batch["batch_id"])).all()
    assert row.source_system == f"calpads-upload:{a.client_id}" and row.submitted_by == a.client_id
    assert len(kept) == batch["created"]

    again = http.post("/ingest/calpads", data={"file": [(io.BytesIO(b), n) for b, n in contents]},
                      headers=a.headers, content_type="multipart/form-data")
    assert again.status_code == 202 and worker.run_one(engine)
    twice = http.get(again.headers["Location"], headers=a.headers).get_json()
    assert twice["batch"]["status"] == "duplicate" and twice["batch"]["duplicate_of"] == batch["batch_id"]


def test_client_file_names_cannot_escape_the_upload_folder(up):
    app, http, engine, var, a, *_ = up
    evil = ["../../../escaped.txt", "..\\..\\escaped2.txt", "/etc/passwd", "..", ".hidden", "a/../../b c;rm.txt"]
    for name in evil:
        r = http.post("/ingest/calpads", data={"file": (io.BytesIO(b"SENR^x\n"), name)}, headers=a.headers,
                      content_type="multipart/form-data")
        assert r.status_code == 202, name
        saved = r.get_json()["files"][0]
        assert "/" not in saved and "\\" not in saved and not saved.startswith(".")
    raw = http.post("/ingest/calpads?filename=..%2F..%2Fraw-escape.txt", data=b"SENR^x\n", headers=a.headers,
                    content_type="application/octet-stream")
    assert raw.status_code == 202 and raw.get_json()["files"] == ["raw-escape.txt"]
    uploads = (var / "uploads").resolve()
    everything = _files_under(var.parent)
    outside = [p for p in everything if uploads not in p.resolve().parents and p.suffix == ".txt"]
    assert outside == []
    assert len(_files_under(uploads)) == len(evil) + 1
    assert all(p.resolve().parent.parent == uploads for p in _files_under(uploads))
    assert safe_name("../../etc/passwd") == "passwd" and safe_name("..") == "upload" and safe_name("") == "upload"


def test_oversized_upload_is_refused_and_nothing_kept(engine, up):
    from gateway.app import create_app
    from gateway.config import Settings
    _, _, _, var, a, *_ = up
    small = create_app(Settings(base_url=BASE, tenant="la", log_json=False, var_dir=var, max_upload_bytes=4096),
                       engine=engine).test_client()
    big = b"SENR^" + b"x" * 5000 + b"\n"
    raw = small.post("/ingest/calpads", data=big, headers=a.headers, content_type="text/plain")
    assert raw.status_code == 413 and raw.mimetype == "application/problem+json"
    multi = small.post("/ingest/calpads", data={"file": (io.BytesIO(big), "x.txt")}, headers=a.headers,
                       content_type="multipart/form-data")
    assert multi.status_code == 413
    assert not (var / "uploads").exists() or _files_under(var / "uploads") == []
    assert small.post("/ingest/calpads", data=b"SENR^ok\n", headers=a.headers, content_type="text/plain").status_code == 202


def test_who_may_upload_what(up, engine):
    app, http, engine, var, a, b, files, dist_a, dist_b = up
    body = {"data": b"x\n", "content_type": "text/plain"}
    assert http.post("/ingest/ccda", headers=a.headers, **body).status_code == 403          # SIS vendor, HIE format
    assert http.post("/ingest/cws", headers=a.headers, **body).status_code == 403
    assert http.post(f"/ingest/calpads?lea={dist_b['lea_id']}", headers=a.headers, **body).status_code == 403
    assert http.post("/ingest/nonsense", headers=a.headers, **body).status_code == 404
    assert http.post("/ingest/calpads", **body).status_code == 401
    two = vendor(app, engine, "two districts", [dist_a["lea_id"], dist_b["lea_id"]])
    assert http.post("/ingest/calpads", headers=two.headers, **body).status_code == 400      # which district?
    ok = http.post(f"/ingest/calpads?lea={dist_b['lea_id']}", headers=two.headers, **body)
    assert ok.status_code == 202
    no_scope = vendor(app, engine, "edfi only", [dist_a["lea_id"]], scopes=("edfi",))
    assert http.post("/ingest/calpads", headers=no_scope.headers, **body).status_code == 403
    assert http.post("/ingest/calpads", headers=a.headers, data=b"", content_type="text/plain").status_code == 400

    def who(kind, scopes=("ingest",)):
        return Requester("c", kind, "school", None, None, None, "x", "local", frozenset(scopes), ("1964733",))
    assert allowed_formats(who("sis_vendor")) == ("calpads", "oneroster", "sif", "edfi-xml", "edfi-json")
    assert allowed_formats(who("smart_backend")) == ("ccda", "hl7v2", "fhir")
    assert "cws" in allowed_formats(who("smart_backend", ("ingest", "ingest:cws")))
    assert allowed_formats(who("staff")) == ()
