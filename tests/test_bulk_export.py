"""FHIR Bulk Data $export end to end (real tokens, real policy, the worker, SQLite and PostgreSQL):
the state system's export holds exactly what the policy lets it see, nothing else; files belong
to the client that asked; every line is a valid R4B resource."""
from __future__ import annotations

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select, update

from gateway import jobs
from gateway.clock import utcnow
from gateway.store import schema as s
from tests.fhir_api_support import Partner, app_for, load_county, make_county
from tests.test_bulk_export_support import (STATE_FORBIDDEN, STATE_PURPOSE, STATE_ROLE, export, kick_off, labels,
                                            path, run_jobs, store_ids)

# stored FHIR types the export serves as stored (their counts must equal the store's)
STORED_ONLY = ("AllergyIntolerance", "Condition", "DocumentReference", "Encounter", "Immunization",
               "MedicationStatement", "Practitioner", "PractitionerRole")


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    return make_county(tmp_path_factory.mktemp("county"))


@pytest.fixture
def store(engine, county_dir):
    load_county(engine, county_dir)
    return engine


def test_state_export_holds_exactly_the_permitted_categories(store):
    app = app_for(store)
    state = Partner(app, store, STATE_ROLE, None, STATE_PURPOSE, scopes=("system/*.read",))
    r = kick_off(state)
    assert r.status_code == 202 and "/fhir/$export-status/" in r.headers["Content-Location"]
    status = path(r.headers["Content-Location"])
    waiting = state.get(status)
    assert waiting.status_code == 202 and waiting.headers["Retry-After"] and "X-Progress" in waiting.headers
    # another client can neither poll nor download, nor cancel
    other = Partner(app, store, STATE_ROLE, None, STATE_PURPOSE, scopes=("system/*.read",))
    assert other.get(status).status_code == 404
    assert other.http.delete(status, headers={"Authorization": f"Bearer {other.token}"}).status_code == 404
    assert run_jobs(store) == 1
    done = state.get(status)
    assert done.status_code == 200
    manifest = done.get_json()
    assert manifest["requiresAccessToken"] is True and manifest["transactionTime"]
    assert manifest["request"].endswith("/fhir/$export")
    assert all(o["url"].startswith("https://hep.test/fhir/$export-file/") for o in manifest["output"])
    assert other.get(path(manifest["output"][0]["url"])).status_code == 404
    assert state.get(path(manifest["output"][0]["url"]).rsplit("/", 1)[0] + "/..%2Fhep.sqlite3").status_code == 404

    out: dict[str, list[dict]] = {}
    for o in manifest["output"]:
        f = state.get(path(o["url"]))
        assert f.status_code == 200 and f.mimetype == "application/fhir+ndjson"
        lines = f.data.splitlines()
        assert len(lines) == o["count"] > 0
        for line in lines:
            res = orjson.loads(line)
            assert res["resourceType"] == o["type"]
            get_fhir_model_class(o["type"]).model_validate(res)   # every line is a valid R4B resource
            out.setdefault(o["type"], []).append(res)
    ids = {res["id"] for rs in out.values() for res in rs}
    assert sum(len(v) for v in out.values()) == len(ids), "a resource was written twice"

    # nothing of HIV, Part 2 (no consent on file for the state) or minor-consented services
    forbidden = store_ids(store, categories=STATE_FORBIDDEN)
    assert forbidden, "the county should hold such records"
    assert not forbidden & ids
    for rs in out.values():
        for res in rs:
            assert not {"HIV", "42CFRPart2", "ADOL"} & labels(res), res["id"]
            assert "log_disclosure" in labels(res)       # the decision's obligation travels with it
    # every permitted stored resource is there
    with store.connect() as c:
        cats = {x for (x,) in c.execute(select(s.resource.c.category).distinct())} - set(STATE_FORBIDDEN)
    for rtype in STORED_ONLY:
        expected = store_ids(store, categories=cats, rtype=rtype)
        assert {r["id"] for r in out.get(rtype, [])} == expected, rtype
    with store.connect() as c:
        youth = {y for (y,) in c.execute(select(s.youth.c.id))}
    assert {p["id"] for p in out["Patient"]} == youth
    assert all(p.get("name") and p["meta"]["lastUpdated"].endswith("+00:00") for p in out["Patient"])
    assert any(o.get("category", [{}])[0].get("coding", [{}])[0].get("code") == "education" for o in out["Observation"])

    # policy's withholdings are summarised in error[] without naming anyone
    assert manifest["error"] and manifest["error"][0]["type"] == "OperationOutcome"
    errors = state.get(path(manifest["error"][0]["url"])).data.decode()
    for cat in STATE_FORBIDDEN:
        assert f"category {cat} withheld" in errors
    assert not any(y in errors for y in youth)

    # the accounting of disclosures shows the export once for each youth
    with store.connect() as c:
        rows = c.execute(select(s.audit_event.c.youth_id, s.audit_event.c.entry).where(
            s.audit_event.c.action == "$export", s.audit_event.c.youth_id.is_not(None))).all()
    assert sorted(r.youth_id for r in rows) == sorted(youth)
    assert all(set(STATE_FORBIDDEN) <= set(r.entry["denied"]) for r in rows)
    assert sum(r.entry["resource_count"] for r in rows) == sum(len(v) for v in out.values())


def test_filters_groups_errors_and_cancel(store):
    app = app_for(store)
    state = Partner(app, store, STATE_ROLE, None, STATE_PURPOSE, scopes=("system/*.read",))
    # _type
    manifest, out = export(state, store, "/fhir/$export?_type=Immunization,Patient")
    assert set(out) == {"Immunization", "Patient"}
    assert {r["id"] for r in out["Immunization"]} == store_ids(store, rtype="Immunization")
    # _since: nothing changed since now; then one immunization changes and only it is exported
    since = utcnow()
    manifest, out = export(state, store, f"/fhir/$export?_since={since.isoformat().replace('+00:00', 'Z')}")
    assert manifest["output"] == []
    changed = sorted(store_ids(store, rtype="Immunization"))[0]
    with store.begin() as c:
        c.execute(update(s.resource).where(s.resource.c.id == changed).values(updated_at=utcnow()))
    _, out = export(state, store, f"/fhir/$export?_since={since.isoformat().replace('+00:00', 'Z')}&_type=Immunization")
    assert [r["id"] for r in out["Immunization"]] == [changed]
    # a Group export holds only the group's youth
    with store.connect() as c:
        west = {y for (y,) in c.execute(select(s.youth.c.id).where(s.youth.c.office == "West LA"))}
        worker_id, = c.execute(select(s.care_assignment.c.person_id).where(
            s.care_assignment.c.role == "social_worker", s.care_assignment.c.end_date.is_(None))).first()
        caseload = {y for (y,) in c.execute(select(s.care_assignment.c.youth_id).where(
            s.care_assignment.c.person_id == worker_id, s.care_assignment.c.role == "social_worker",
            s.care_assignment.c.end_date.is_(None)))}
    assert 1 < len(west) < 40
    _, out = export(state, store, "/fhir/Group/office-west-la/$export")
    assert {p["id"] for p in out["Patient"]} == west
    refs = {(r.get("patient") or r.get("subject") or {}).get("reference") for t in out.values() for r in t}
    assert refs - {None} <= {f"Patient/{y}" for y in west}
    _, out = export(state, store, f"/fhir/Group/caseload-{worker_id}/$export?_type=Patient")
    assert {p["id"] for p in out["Patient"]} == caseload
    groups = state.get("/fhir/Group").get_json()
    assert {"office-west-la", f"caseload-{worker_id}"} <= {e["resource"]["id"] for e in groups["entry"]}
    g = state.get("/fhir/Group/office-west-la").get_json()
    assert g["quantity"] == len(west) and {m["entity"]["reference"] for m in g["member"]} == {f"Patient/{y}" for y in west}
    assert state.get("/fhir/Group/office-nowhere").status_code == 404
    assert kick_off(state, "/fhir/Group/office-nowhere/$export").status_code == 404
    # bad kick-offs
    assert kick_off(state, prefer=False).status_code == 400
    assert kick_off(state, "/fhir/$export?_outputFormat=text/csv").status_code == 400
    assert kick_off(state, "/fhir/$export?_type=Spaceship").status_code == 400
    assert kick_off(state, "/fhir/$export?_since=yesterday").status_code == 400
    assert kick_off(state, "/fhir/$export?_typeFilter=Condition%3Fcode%3Dx").status_code == 400
    narrow = Partner(app, store, STATE_ROLE, None, STATE_PURPOSE, scopes=("system/Immunization.read",))
    assert kick_off(narrow, "/fhir/$export?_type=Condition").status_code == 403
    _, out = export(narrow, store)                       # no _type: what its scopes cover
    assert set(out) == {"Immunization"}
    assert app.test_client().get("/fhir/$export", headers={"Prefer": "respond-async"}).status_code == 401
    # a worker with no relationship to anyone exports nothing, and each youth's denial is accounted
    stranger = Partner(app, store, "county_social_worker", "SW-NOBODY", "x-CW-CASEMGT")
    manifest, out = export(stranger, store)
    assert out == {} and manifest["error"]
    # cancel: 202, status gone, files gone, the worker never runs it
    r = kick_off(state)
    status = path(r.headers["Content-Location"])
    job_id = status.rsplit("/", 1)[1]
    assert state.http.delete(status, headers={"Authorization": f"Bearer {state.token}"}).status_code == 202
    assert state.get(status).status_code == 404
    assert run_jobs(store) == 0 and jobs.get(store, "la", job_id).status == "cancelled"
    # a completed export can be deleted too: its files go
    manifest, _ = export(state, store, "/fhir/$export?_type=Patient")
    status = path(manifest["output"][0]["url"]).replace("$export-file", "$export-status").rsplit("/", 1)[0]
    assert state.http.delete(status, headers={"Authorization": f"Bearer {state.token}"}).status_code == 202
    assert state.get(path(manifest["output"][0]["url"])).status_code == 404
