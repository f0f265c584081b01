"""Synthetic Ed-Fi feeds: the XML interchanges validate against the Ed-Fi 5.2.0 XSD, every NDJSON
resource against resources-ds-5.0.yml, and both round-trip through adapters.edfi_xml / edfi_json to
the youth rebuilt from the county seed."""
from __future__ import annotations

from collections import Counter, defaultdict

import orjson
import pytest
from lxml import etree

import adapters
from adapters import edfi_common as ec
from adapters.base import Problem
from adapters.edfi_schema import validate_against_openapi
from gateway.synth.county import County
from gateway.synth.feeds.edfi import INTERCHANGES
from tests.helpers import (AS_OF, SYNTH_DISTRICTS, SYNTH_SEED, SYNTH_YOUTH, grade_descriptor, students_of,
                           synth_feed)
from tests.conftest import shared_path

SEED, YOUTH, DISTRICTS = SYNTH_SEED, SYNTH_YOUTH, SYNTH_DISTRICTS


grade = grade_descriptor


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    return synth_feed(tmp_path_factory.mktemp("synth-edfi"), ["edfi-xml", "edfi-json"])


def lea_of(manifest, fmt: str) -> str:
    leas = [d["lea_id"] for d in manifest["districts"] if d["format"] == fmt]
    assert len(leas) == 1
    return leas[0]


def test_manifest_labels_each_file_with_its_format(feed):
    _, manifest, _ = feed
    xml, js = lea_of(manifest, "edfi-xml"), lea_of(manifest, "edfi-json")
    assert sorted(manifest["files"]["edfi-xml"]) == sorted(f"sis/{xml}-edfi-xml/{s}.xml" for s in INTERCHANGES)
    assert manifest["files"]["edfi-json"] == [f"sis/{js}-edfi-json/{js}-edfi.ndjson"]


def test_xml_validates_against_the_xsd(feed):
    out, manifest, _ = feed
    xsd = shared_path("edfi", "xsd", "5.2.0")
    lea = lea_of(manifest, "edfi-xml")
    for stem, root in INTERCHANGES.items():
        schema = etree.XMLSchema(etree.parse(str(xsd / f"Interchange-{root[len('Interchange'):]}.xsd")))
        doc = etree.parse(str(out / "sis" / f"{lea}-edfi-xml" / f"{stem}.xml"))
        assert schema.validate(doc), (stem, schema.error_log[0] if schema.error_log else None)


def test_json_validates_against_openapi(feed):
    out, manifest, _ = feed
    spec = shared_path("edfi", "openapi", "resources-ds-5.0.yml")
    lea = lea_of(manifest, "edfi-json")
    n = Counter()
    for line in (out / "sis" / f"{lea}-edfi-json" / f"{lea}-edfi.ndjson").read_bytes().splitlines():
        body = orjson.loads(line)
        coll = body.pop("resource")
        assert validate_against_openapi(coll, body, spec) == [], (coll, body)
        n[coll] += 1
    assert n["students"] >= 8 and n["courseTranscripts"] and n[ec.ATTENDANCE_SUMMARY]


def _round_trip(out, manifest, truth, fmt: str, **options):
    lea = lea_of(manifest, fmt)
    items = list(adapters.get(fmt).convert(out / "sis" / f"{lea}-{fmt}", **options))
    assert [i for i in items if isinstance(i, Problem)] == []
    recs = defaultdict(list)
    for r in items:
        recs[r.type].append(r)
    youth, presented = students_of(lea), truth[f"{fmt}:{lea}"]
    students = [r.resource for r in recs["students"]]
    assert len(youth) == len(presented) == len(students) >= 4
    district = next(d for d in manifest["districts"] if d["lea_id"] == lea)
    assert {r.resource["schoolId"] for r in recs["schools"]} == {int(s["school_id"]) for s in district["schools"]}
    by_uid = defaultdict(lambda: defaultdict(list))
    for coll, rs in recs.items():
        for r in rs:
            ref = r.resource.get("studentReference") or r.resource.get("studentAcademicRecordReference")
            if ref:
                by_uid[ref["studentUniqueId"]][coll].append(r)
    for y, p, s in zip(youth, presented, students):
        assert (s["firstName"], s.get("middleName", ""), s["lastSurname"], s["birthDate"]) == \
            (p["given"], p["middle"], p["family"], p["birth_date"])
        assert s["studentUniqueId"] == (p["ssid"] or p["local_id"])
        mine = by_uid[s["studentUniqueId"]]
        (seoa,) = mine["studentEducationOrganizationAssociations"]
        ids = dict(seoa.subject.identifiers)
        assert ids.get("ssid") == p["ssid"] and ids[f"lea-student|{lea}"] == p["local_id"]
        assert seoa.subject.sex == y.sex
        pairs = [(e, a) for e, a in zip(y.enrollments, y.attendance) if e.lea_id == lea]
        assert sorted((r.resource["schoolReference"]["schoolId"], r.resource["entryDate"], r.resource.get("exitWithdrawDate"),
                       r.resource["entryGradeLevelDescriptor"]) for r in mine["studentSchoolAssociations"]) == \
            sorted((int(e.school_id), e.entry_date.isoformat(), e.exit_date and e.exit_date.isoformat(), grade(e.grade))
                   for e, _ in pairs)
        events = Counter((r.resource["schoolReference"]["schoolId"], r.resource["sessionReference"]["schoolYear"])
                         for r in mine["studentSchoolAttendanceEvents"])
        absent = Counter()
        for e, a in pairs:
            absent[(int(a.school_id), a.school_year)] += a.days_absent
        assert events == +absent
        assert {r.category for r in mine["studentSchoolAttendanceEvents"]} <= {"attendance"}
        courses = [c for c in y.courses if c.lea_id == lea]
        assert sorted((r.resource["courseReference"]["courseCode"], r.resource["studentAcademicRecordReference"]["schoolYear"],
                       r.resource["attemptedCredits"], r.resource["earnedCredits"], r.resource["finalLetterGradeEarned"])
                      for r in mine["courseTranscripts"]) == \
            sorted((c.local_course_id, c.school_year, c.credits_attempted, c.credits_earned, c.grade) for c in courses)
        sped = y.special_education is not None and y.special_education.lea_id == lea
        assert len(mine["studentSpecialEducationProgramAssociations"]) == int(sped)
        yield y, pairs, mine


def test_xml_round_trip(feed):
    out, manifest, truth = feed
    n = 0
    for _, _, mine in _round_trip(out, manifest, truth, "edfi-xml", xsd_dir=shared_path("edfi", "xsd")):
        assert ec.ATTENDANCE_SUMMARY not in mine     # counts have no Ed-Fi XML element: events only
        n += len(mine["courseTranscripts"])
    assert n > 0


def test_json_round_trip(feed):
    out, manifest, truth = feed
    for _, pairs, mine in _round_trip(out, manifest, truth, "edfi-json"):
        assert sorted((r.resource["schoolReference"]["schoolId"], r.resource["schoolYear"], r.resource["beginDate"],
                       r.resource["daysEnrolled"], r.resource["daysAttended"], r.resource["daysAbsentExcused"],
                       r.resource["daysAbsentUnexcused"], r.resource["daysSuspended"])
                      for r in mine[ec.ATTENDANCE_SUMMARY]) == \
            sorted((int(a.school_id), a.school_year, e.entry_date.isoformat(), a.days_enrolled, a.days_attended,
                    a.days_absent_excused, a.days_absent_unexcused, a.days_suspended) for e, a in pairs)


def test_every_xml_element_converts_back_to_the_json_resource(tmp_path):
    """Each resource the writer renders as XML converts back to exactly the JSON body it came from
    (nothing dropped or renamed on the way): youth with special education, programs and courses."""
    from gateway.synth.feeds.edfi import reference_resources, to_xml, youth_resources
    county = County(youth=120, districts=DISTRICTS, seed=SEED, as_of=AS_OF)
    resources = []
    for y in county.iter_youth():
        if y.special_education and y.courses and len(resources) < 400:
            lea = y.special_education.lea_id
            resources += youth_resources(county, y, county.present(y, "test"), lea)
            resources += reference_resources(county.district(lea))
    kinds = {c for c, _ in resources}
    assert {"studentSpecialEducationProgramAssociations", "courseTranscripts", "studentSchoolAttendanceEvents",
            "studentProgramAssociations", "schools", "localEducationAgencies"} <= kinds
    files = defaultdict(list)
    expected = defaultdict(list)
    for coll, r in resources:
        if coll == ec.ATTENDANCE_SUMMARY:
            continue
        stem, xml = to_xml(coll, r)
        files[stem].append(xml)
        expected[coll].append(r)
    for stem, parts in files.items():
        (tmp_path / f"{stem}.xml").write_text(
            f'<{INTERCHANGES[stem]} xmlns="http://ed-fi.org/5.2.0">' + "".join(parts) + f"</{INTERCHANGES[stem]}>")
    items = list(adapters.get("edfi-xml").convert(tmp_path, xsd_dir=shared_path("edfi", "xsd")))
    assert [i for i in items if isinstance(i, Problem)] == []
    got = defaultdict(list)
    for r in items:
        got[r.type].append(r.resource)
    key = lambda r: orjson.dumps(r, option=orjson.OPT_SORT_KEYS)  # noqa: E731
    for coll in expected:
        assert sorted(map(key, got[coll])) == sorted(map(key, expected[coll])), coll
