"""Ed-Fi API reads: paging (offset/limit/totalCount), field filters, a vendor sees only its districts."""
from __future__ import annotations

import orjson

from tests.test_edfi_api_support import API, county, world  # noqa: F401


def _district_rows(w, rtype):
    leas = {int(w.lea_a)}
    out = []
    schools = {orjson.loads(r.body)["schoolId"]: orjson.loads(r.body).get("localEducationAgencyReference", {})
               .get("localEducationAgencyId") for r in w.rows("schools")}
    for r in w.rows(rtype):
        if r.deleted:
            continue
        if schools.get(orjson.loads(r.body)["schoolReference"]["schoolId"]) in leas:
            out.append(r)
    return out


def test_paging_offset_limit_total_count(world):
    w = world
    expected = _district_rows(w, "studentSchoolAssociations")
    assert len(expected) > 12
    first = w.http.get(f"{API}/studentSchoolAssociations?totalCount=true", headers=w.a.headers)
    assert first.status_code == 200 and len(first.get_json()) == 25 and first.headers["Total-Count"] == str(len(expected))
    assert "Total-Count" not in w.http.get(f"{API}/studentSchoolAssociations", headers=w.a.headers).headers
    seen = []
    for offset in range(0, len(expected) + 5, 5):
        page = w.http.get(f"{API}/studentSchoolAssociations?offset={offset}&limit=5", headers=w.a.headers).get_json()
        assert len(page) == min(5, max(0, len(expected) - offset))
        seen += [d["id"] for d in page]
    assert seen == [r.id for r in expected]          # stable order, no gaps, no repeats
    assert w.http.get(f"{API}/studentSchoolAssociations?offset=10000", headers=w.a.headers).get_json() == []
    assert len(w.http.get(f"{API}/studentSchoolAssociations?limit=500", headers=w.a.headers).get_json()) == len(expected)
    for bad in ("limit=501", "limit=-1", "limit=x", "offset=-3", "totalCount=maybe", "pageSize=10", "noSuchField=1"):
        r = w.http.get(f"{API}/studentSchoolAssociations?{bad}", headers=w.a.headers)
        assert r.status_code == 400, bad
        assert r.get_json()["type"] == "urn:ed-fi:api:bad-request:parameter-validation-failed"
        assert r.get_json()["validationErrors"]


def test_filters_on_fields_and_references(world):
    w = world
    rows = _district_rows(w, "studentSchoolAssociations")
    body = orjson.loads(rows[0].body)
    uid, school = body["studentReference"]["studentUniqueId"], body["schoolReference"]["schoolId"]
    by_student = w.http.get(f"{API}/studentSchoolAssociations?studentUniqueId={uid}&totalCount=true",
                            headers=w.a.headers)
    want = [r.id for r in rows if orjson.loads(r.body)["studentReference"]["studentUniqueId"] == uid]
    assert [d["id"] for d in by_student.get_json()] == want and by_student.headers["Total-Count"] == str(len(want))
    both = w.http.get(f"{API}/studentSchoolAssociations?studentUniqueId={uid}&schoolid={school}"
                      f"&entryDate={body['entryDate']}", headers=w.a.headers).get_json()
    assert [d["id"] for d in both] == [rows[0].id]
    assert w.http.get(f"{API}/students?studentUniqueId={uid}", headers=w.a.headers).get_json()[0]["studentUniqueId"] == uid
    assert w.http.get(f"{API}/students?studentUniqueId=0000000000", headers=w.a.headers).get_json() == []
    prim = w.http.get(f"{API}/studentSchoolAssociations?primarySchool=true&totalCount=true", headers=w.a.headers)
    assert int(prim.headers["Total-Count"]) == sum(bool(orjson.loads(r.body).get("primarySchool")) for r in rows)
    by_id = w.http.get(f"{API}/studentSchoolAssociations?id={rows[1].id}", headers=w.a.headers).get_json()
    assert [d["id"] for d in by_id] == [rows[1].id]


def test_a_vendor_sees_only_its_districts(world):
    w = world
    for coll in ("students", "studentSchoolAssociations", "schools", "courseTranscripts", "localEducationAgencies"):
        a = w.http.get(f"{API}/{coll}?totalCount=true", headers=w.a.headers)
        b = w.http.get(f"{API}/{coll}?totalCount=true", headers=w.b.headers)
        assert int(a.headers["Total-Count"]) > 0, coll
        assert b.headers["Total-Count"] == "0" and b.get_json() == [], coll
    one = w.http.get(f"{API}/studentSchoolAssociations?limit=1", headers=w.a.headers).get_json()[0]
    assert w.http.get(f"{API}/studentSchoolAssociations/{one['id']}", headers=w.a.headers).status_code == 200
    hidden = w.http.get(f"{API}/studentSchoolAssociations/{one['id']}", headers=w.b.headers)
    assert hidden.status_code == 404 and hidden.mimetype == "application/problem+json"
    # route names are case-insensitive; the extension collection lives under /data/v3/hep
    assert w.http.get(f"{API}/STUDENTSCHOOLASSOCIATIONS?limit=1", headers=w.a.headers).status_code == 200
    assert w.http.get("/data/v3/hep/studentSchoolAttendanceSummaries?limit=1", headers=w.a.headers).get_json()
    assert w.http.get(f"{API}/studentSchoolAttendanceSummaries", headers=w.a.headers).status_code == 404
