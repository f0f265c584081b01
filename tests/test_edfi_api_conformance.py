"""Records conformance: what the Ed-Fi API stores equals what `hep ingest edfi-json` stores for the
same records (same bodies, categories, youth; the same people left out)."""
from __future__ import annotations

import glob
import json
import subprocess

import orjson
import pytest
from sqlalchemy import select

from adapters import edfi_common
from gateway.ingest.pipeline import ingest
from gateway.store import open_store
from gateway.store import schema as s
from tests.conftest import HEP
from tests.test_edfi_api_support import (API, county, enrollment, school_of, stranger, world,  # noqa: F401
                                         youth_not_yet_posted)


def _records(w) -> list[tuple[str, dict]]:
    out = []
    for i, student in enumerate(youth_not_yet_posted(w, 3) + [stranger()]):
        uid = student["studentUniqueId"]
        out.append(("students", student))
        out.append(("studentSchoolAssociations", enrollment(uid, school_of(w, i % 2), entry=f"2026-08-{17 + i}")))
        out.append(("studentEducationOrganizationAssociations", {
            "studentReference": {"studentUniqueId": uid},
            "educationOrganizationReference": {"educationOrganizationId": int(w.lea_a)},
            "sexDescriptor": "uri://ed-fi.org/SexDescriptor#Female", "hispanicLatinoEthnicity": False}))
    return out


def _stored(engine) -> dict:
    r, y = s.resource.c, s.youth.c
    with engine.connect() as c:
        rows = c.execute(select(r.rtype, r.body, r.content_hash, r.category, r.version, r.natural_key, y.client_id)
                         .select_from(s.resource.outerjoin(s.youth, s.youth.c.id == r.youth_id))
                         .where(r.standard == "edfi")).all()
    return {(row.rtype, edfi_common.key_parts(row.rtype, orjson.loads(row.body))): row for row in rows}


@pytest.fixture
def both(world, tmp_path):
    """The same records through the API (world's store) and through `hep ingest edfi-json` (a fresh
    SQLite store with the same CWS extract)."""
    w = world
    records = _records(w)
    before = _stored(w.engine)
    answers = [w.http.post(f"{API}/{coll}", json=body, headers=w.a.headers).status_code for coll, body in records]
    api = {k: v for k, v in _stored(w.engine).items() if k not in before}

    file_db = f"sqlite:///{tmp_path}/file.sqlite3"
    file_engine = open_store(file_db)
    ingest(file_engine, "cws", glob.glob(str(w.dir / "cws" / "*.zip")))
    ndjson = tmp_path / "records.ndjson"
    ndjson.write_bytes(b"\n".join(orjson.dumps({"resource": coll, **body}) for coll, body in records) + b"\n")
    out = subprocess.run([HEP, "ingest", "edfi-json", str(ndjson), "--database", file_db, "--json",
                          "--option", f"source=edfi-api:{w.a.client_id}"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    files = _stored(file_engine)
    file_engine.dispose()
    return answers, api, result, files


def test_api_and_file_ingest_store_the_same_records(both):
    answers, api, result, files = both
    assert answers == [201, 201, 201] * 3 + [422, 409, 409]
    assert result["created"] == len(api) == len(files) == 9
    assert result["out_of_scope"] == 3           # the stranger and their two records: not kept either way
    assert set(api) == set(files)
    for k in api:
        a, f = api[k], files[k]
        assert (a.content_hash, a.category, a.version, a.client_id) == (f.content_hash, f.category, f.version,
                                                                         f.client_id), k
        assert a.client_id is not None and orjson.loads(a.body) == orjson.loads(f.body)


def test_api_and_file_ingest_use_the_same_natural_key_strings(both):
    _, api, _, files = both
    assert {k: v.natural_key for k, v in api.items()} == {k: v.natural_key for k, v in files.items()}
