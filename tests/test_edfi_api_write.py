"""Ed-Fi API writes: POST upsert on the natural key (201/200, versions), students not in care (422),
validation (400 with validationErrors), unresolved references (409), districts (403), PUT, DELETE."""
from __future__ import annotations

import orjson
from sqlalchemy import select

from gateway.store import schema as s
from gateway.store.history import versions
from tests.test_edfi_api_support import (API, county, enrollment, school_body, school_of, strip,  # noqa: F401
                                         stranger, world, youth_not_yet_posted)


def test_post_student_in_care_created_unchanged_updated(world):
    w = world
    body = youth_not_yet_posted(w)[0]
    r = w.http.post(f"{API}/students", json=body, headers=w.a.headers)
    assert r.status_code == 201, r.get_json()
    loc, etag = r.headers["Location"], r.headers["ETag"]
    assert loc.startswith(f"{API}/students/") and etag.startswith('"1-')
    rid = loc.rsplit("/", 1)[1]
    got = w.http.get(loc, headers=w.a.headers)
    assert got.status_code == 200 and got.headers["ETag"] == etag
    assert strip(got.get_json()) == body and got.get_json()["id"] == rid
    with w.engine.connect() as c:
        row = c.execute(select(s.resource).where(s.resource.c.id == rid)).one()
        batch = c.execute(select(s.ingest_batch).where(s.ingest_batch.c.id == row.batch_id)).one()
    assert row.youth_id is not None and row.version == 1
    assert batch.source_system == f"edfi-api:{w.a.client_id}" and batch.status == "committed" and batch.created == 1

    def history():
        with w.engine.connect() as c:
            return [(v.version, v.deleted) for v in versions(c, row.tenant_id, rid)]
    assert history() == [(1, False)]
    assert w.count(s.resource_version, s.resource_version.c.resource_id == rid) == 0   # stored once
    again = w.http.post(f"{API}/students", json=body, headers=w.a.headers)
    assert again.status_code == 200 and again.headers["Location"] == loc and again.headers["ETag"] == etag
    assert history() == [(1, False)]

    changed = dict(body, middleName="Ruth")
    upd = w.http.post(f"{API}/students", json=changed, headers=w.a.headers)
    assert upd.status_code == 200 and upd.headers["Location"] == loc and upd.headers["ETag"].startswith('"2-')
    assert history() == [(1, False), (2, False)]
    with w.engine.connect() as c:   # the superseded version keeps its own content
        first, second = (c.execute(select(t.c.content_hash).where(where)).scalar_one() for t, where in (
            (s.resource_version, s.resource_version.c.resource_id == rid), (s.resource, s.resource.c.id == rid)))
    assert first == row.content_hash != second
    assert w.http.get(loc, headers=w.a.headers).get_json()["middleName"] == "Ruth"


def test_student_not_in_care_is_refused_and_nothing_kept(world):
    w = world
    before = w.count(s.resource)
    r = w.http.post(f"{API}/students", json=stranger(), headers=w.a.headers)
    assert r.status_code == 422
    p = r.get_json()
    assert r.mimetype == "application/problem+json" and p["type"] == "urn:hep:edfi:not-a-youth-in-care"
    assert "not a youth in foster care" in p["detail"] and "not stored" in p["detail"] and p["correlationId"]
    assert w.count(s.resource) == before
    assert w.count(s.youth_identifier, s.youth_identifier.c.value == "9999999901") == 0
    # and nothing can hang off that student
    ssa = w.http.post(f"{API}/studentSchoolAssociations", json=enrollment("9999999901", school_of(w)),
                      headers=w.a.headers)
    assert ssa.status_code == 409 and "$.studentReference" in ssa.get_json()["validationErrors"]
    assert w.count(s.resource) == before


def test_invalid_requests(world):
    w = world
    r = w.http.post(f"{API}/students", json={"studentUniqueId": "1", "firstName": "", "birthDate": "2010-02-30"},
                    headers=w.a.headers)
    assert r.status_code == 400
    errs = r.get_json()["validationErrors"]
    assert set(errs) == {"$.firstName", "$.lastSurname", "$.birthDate"} and all(isinstance(v, list) for v in errs.values())
    assert r.get_json()["type"] == "urn:ed-fi:api:bad-request:data-validation-failed"
    nested = w.http.post(f"{API}/studentSchoolAssociations",
                         json=dict(enrollment("1", 1), schoolReference={"schoolId": "abc"}), headers=w.a.headers)
    assert nested.status_code == 400 and "$.schoolReference.schoolId" in nested.get_json()["validationErrors"]
    not_json = w.http.post(f"{API}/students", data=b"{nope", content_type="application/json", headers=w.a.headers)
    assert not_json.status_code == 400 and not_json.get_json()["correlationId"]
    assert w.http.post(f"{API}/students", data=b"[]", content_type="application/json",
                       headers=w.a.headers).status_code == 400
    assert w.http.post(f"{API}/students", data=b"a=b", headers=w.a.headers).status_code == 415
    with_id = w.http.post(f"{API}/students", json=dict(youth_not_yet_posted(w)[0], id="x"), headers=w.a.headers)
    assert with_id.status_code == 400 and "$.id" in with_id.get_json()["validationErrors"]
    assert w.http.post(f"{API}/nonsense", json={}, headers=w.a.headers).status_code == 404
    assert w.http.post(f"{API}/students/abc", json={}, headers=w.a.headers).status_code == 405
    assert w.http.post(f"{API}/students", json=stranger()).status_code == 401
    reader = w.vendor("no edfi scope", [w.lea_a], scopes=("ingest",))
    assert w.http.post(f"{API}/students", json=stranger(), headers=reader.headers).status_code == 403


def test_references_and_districts(world):
    w = world
    body = youth_not_yet_posted(w)[0]
    assert w.http.post(f"{API}/students", json=body, headers=w.a.headers).status_code == 201
    uid = body["studentUniqueId"]
    # unknown school: 409 naming the field
    r = w.http.post(f"{API}/studentSchoolAssociations", json=enrollment(uid, 9999991), headers=w.a.headers)
    assert r.status_code == 409 and r.get_json()["type"] == "urn:ed-fi:api:data-conflict:unresolved-reference"
    assert "$.schoolReference.schoolId" in r.get_json()["validationErrors"]
    # district B's vendor registers its school; A may not enrol anyone there, B may not write A's schools
    b_school = 7770001
    assert w.http.post(f"{API}/schools", json=school_body(b_school, w.lea_b), headers=w.a.headers).status_code == 403
    assert w.http.post(f"{API}/schools", json=school_body(b_school, w.lea_b), headers=w.b.headers).status_code == 201
    r = w.http.post(f"{API}/studentSchoolAssociations", json=enrollment(uid, b_school), headers=w.a.headers)
    assert r.status_code == 403 and r.get_json()["type"] == "urn:ed-fi:api:security:authorization"
    a_school = school_of(w)
    r = w.http.post(f"{API}/studentSchoolAssociations", json=enrollment(uid, a_school), headers=w.b.headers)
    assert r.status_code == 403
    no_lea = w.http.post(f"{API}/schools", json={k: v for k, v in school_body(7770002, w.lea_b).items()
                                                 if k != "localEducationAgencyReference"}, headers=w.b.headers)
    assert no_lea.status_code == 400 and "$.localEducationAgencyReference" in no_lea.get_json()["validationErrors"]
    # A enrols the student in its own school: created, linked to the same youth as the student
    r = w.http.post(f"{API}/studentSchoolAssociations", json=enrollment(uid, a_school), headers=w.a.headers)
    assert r.status_code == 201, r.get_json()
    ssa_id = r.headers["Location"].rsplit("/", 1)[1]
    with w.engine.connect() as c:
        youth = {row.rtype: row.youth_id for row in c.execute(select(s.resource.c.rtype, s.resource.c.youth_id).where(
            s.resource.c.id.in_([ssa_id, w.http.post(f"{API}/students", json=body, headers=w.a.headers)
                                 .headers["Location"].rsplit("/", 1)[1]])))}
    assert youth["students"] == youth["studentSchoolAssociations"] is not None
    # B cannot update the student (no enrollment in B), A can
    assert w.http.post(f"{API}/students", json=dict(body, middleName="B"), headers=w.b.headers).status_code == 403


def test_post_updates_a_calpads_ingested_record(world):
    w = world
    row = w.rows("studentSchoolAssociations")[0]
    before = w.count(s.resource, s.resource.c.rtype == "studentSchoolAssociations")
    body = orjson.loads(row.body)
    body["exitWithdrawDate"] = "2027-06-10"
    r = w.http.post(f"{API}/studentSchoolAssociations", json=body, headers=w.a.headers)
    assert r.status_code == 200, r.get_json()
    assert r.headers["Location"].endswith(row.id) and r.headers["ETag"].startswith(f'"{row.version + 1}-')
    assert w.count(s.resource, s.resource.c.rtype == "studentSchoolAssociations") == before
    with w.engine.connect() as c:
        new = c.execute(select(s.resource).where(s.resource.c.id == row.id)).one()
    assert new.version == row.version + 1 and new.youth_id == row.youth_id
    assert new.source_system == f"edfi-api:{w.a.client_id}"


def test_put_and_delete(world):
    w = world
    body = youth_not_yet_posted(w)[0]
    loc = w.http.post(f"{API}/students", json=body, headers=w.a.headers).headers["Location"]
    cur = w.http.get(loc, headers=w.a.headers)
    etag = cur.headers["ETag"]
    assert w.http.get(loc, headers=dict(w.a.headers, **{"If-None-Match": etag})).status_code == 304
    put = w.http.put(loc, json=dict(body, preferredFirstName="Bee"), headers=w.a.headers)
    assert put.status_code == 204 and put.headers["ETag"].startswith('"2-')
    assert w.http.get(loc, headers=w.a.headers).get_json()["preferredFirstName"] == "Bee"
    stale = w.http.put(loc, json=body, headers=dict(w.a.headers, **{"If-Match": etag}))
    assert stale.status_code == 412
    key = w.http.put(loc, json=dict(body, studentUniqueId="3999999999"), headers=w.a.headers)
    assert key.status_code == 400 and key.get_json()["type"].endswith("key-change-not-supported")
    assert w.http.put(f"{API}/students/00000000-0000-0000-0000-000000000000", json=body,
                      headers=w.a.headers).status_code == 404
    # a student with an enrollment cannot go first
    ssa = w.http.post(f"{API}/studentSchoolAssociations", json=enrollment(body["studentUniqueId"], school_of(w)),
                      headers=w.a.headers)
    assert ssa.status_code == 201
    dep = w.http.delete(loc, headers=w.a.headers)
    assert dep.status_code == 409 and dep.get_json()["type"].endswith("dependent-item-exists")
    assert w.http.delete(ssa.headers["Location"], headers=w.b.headers).status_code == 404   # not B's
    assert w.http.delete(ssa.headers["Location"], headers=w.a.headers).status_code == 204
    assert w.http.get(ssa.headers["Location"], headers=w.a.headers).status_code == 404
    assert w.http.delete(ssa.headers["Location"], headers=w.a.headers).status_code == 404
    rid = ssa.headers["Location"].rsplit("/", 1)[1]
    with w.engine.connect() as c:
        row = c.execute(select(s.resource).where(s.resource.c.id == rid)).one()
        vers = [(v.version, v.deleted) for v in versions(c, row.tenant_id, rid)]
        batch = c.execute(select(s.ingest_batch).where(s.ingest_batch.c.id == row.batch_id)).one()
    assert vers == [(1, False), (2, True)] and row.deleted
    assert batch.deleted == 1 and batch.source_system == f"edfi-api:{w.a.client_id}"
    assert w.http.delete(loc, headers=w.a.headers).status_code == 204
    again = w.http.post(f"{API}/students", json=body, headers=w.a.headers)    # re-created after a delete
    assert again.status_code == 201 and again.headers["Location"] == loc
