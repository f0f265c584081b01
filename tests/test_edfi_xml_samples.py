"""Ed-Fi XML adapter on the Grand Bend DS 5.2 samples, XSD validation, bad and hostile input."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest
from lxml import etree

from adapters import edfi_xml
from adapters.base import InputRefused, Problem, Record
from tests.conftest import shared_path

NS = "{http://ed-fi.org/5.2.0}"


def _count(path: Path, name: str) -> int:
    return sum(1 for c in etree.parse(str(path)).getroot() if c.tag == NS + name)


@pytest.fixture(scope="module")
def grand_bend():
    sample = shared_path("edfi", "sample", "5.2.0")
    xsd = shared_path("edfi", "xsd")
    items = list(edfi_xml.convert(sample, xsd_dir=xsd))
    return sample, items


def test_counts_match_independent_lxml_count(grand_bend):
    sample, items = grand_bend
    recs = collections.Counter(r.type for r in items if isinstance(r, Record))
    assert recs["students"] == _count(sample / "Student.xml", "Student") == 960
    assert recs["studentSchoolAttendanceEvents"] == _count(sample / "StudentSchoolAttendance.xml",
                                                           "StudentSchoolAttendanceEvent") == 1917
    assert recs["studentSectionAttendanceEvents"] == 66
    assert recs["studentSpecialEducationProgramAssociations"] == _count(
        sample / "StudentProgram.xml", "StudentSpecialEducationProgramAssociation") == 97
    assert recs["studentProgramAssociations"] == _count(sample / "StudentProgram.xml", "StudentProgramAssociation")
    assert recs["schools"] == 3 and recs["localEducationAgencies"] == 1
    cats = collections.Counter(r.resource["attendanceEventCategoryDescriptor"].split("#")[1]
                               for r in items if isinstance(r, Record) and r.type == "studentSchoolAttendanceEvents")
    assert cats == {"Excused Absence": 1077, "Unexcused Absence": 773, "Tardy": 66, "Partial": 1}
    errors = [p for p in items if isinstance(p, Problem) and p.severity == "error"]
    assert errors == []


def test_json_shape(grand_bend):
    _, items = grand_bend
    ev = next(r for r in items if isinstance(r, Record) and r.type == "studentSchoolAttendanceEvents")
    assert ev.resource["sessionReference"] == {"sessionName": "2021-2022 Fall Semester", "schoolYear": 2022,
                                               "schoolId": 255901001}
    assert ev.category == "attendance" and ev.subject.identifiers == (("source|edfi", "604822"),)
    prog = [r for r in items if isinstance(r, Record) and r.type.endswith("ProgramAssociations")]
    # 286 EducationOrganizationIds carry a trailing space in the XML: integers here
    assert all(isinstance(r.resource["programReference"]["educationOrganizationId"], int) for r in prog)
    beh = next(r for r in items if isinstance(r, Record) and r.type == "studentDisciplineIncidentBehaviorAssociations")
    assert beh.resource["disciplineIncidentReference"]["schoolId"] == 255901001   # resolved from ref="DISC_..."


def test_every_sample_validates_against_xsd():
    xsd = shared_path("edfi", "xsd", "5.2.0")
    sample = shared_path("edfi", "sample", "5.2.0")
    files = sorted(sample.glob("*.xml")) + sorted((sample / "descriptors").glob("*.xml"))
    assert len(files) == 222
    cache = {}
    for f in files:
        root = etree.parse(str(f))
        name = etree.QName(root.getroot()).localname
        if name not in cache:
            cache[name] = etree.XMLSchema(etree.parse(str(xsd / f"Interchange-{name[len('Interchange'):]}.xsd")))
        assert cache[name].validate(root), (f.name, cache[name].error_log[0])


def test_openapi_contract(grand_bend):
    from adapters import edfi_schema
    _, items = grand_bend
    seen = set()
    for r in items:
        if isinstance(r, Record) and r.type in edfi_schema.SCHEMAS and edfi_schema.SCHEMAS[r.type][1] and r.type not in seen:
            seen.add(r.type)
            assert edfi_schema.validate_against_openapi(r.type, r.resource) == [], r.type
    assert {"students", "studentSchoolAttendanceEvents", "studentSpecialEducationProgramAssociations"} <= seen


INVALID = """<?xml version="1.0"?>
<InterchangeStudent xmlns="http://ed-fi.org/5.2.0">
  <Student><StudentUniqueId>1</StudentUniqueId><Name><FirstName>A</FirstName><LastSurname>B</LastSurname></Name>
    <BirthData><BirthDate>2010-01-01</BirthDate></BirthData></Student>
  <Student><StudentUniqueId>2</StudentUniqueId><Name><FirstName>C</FirstName></Name>
    <BirthData><BirthDate>2010-01-01</BirthDate></BirthData></Student>
  <Student><StudentUniqueId>3</StudentUniqueId><Name><FirstName>D</FirstName><LastSurname>E</LastSurname></Name>
    <BirthData><BirthDate>2011-02-03</BirthDate></BirthData></Student>
</InterchangeStudent>
"""


def test_bad_record_is_a_problem_and_good_ones_come_through(tmp_path):
    xsd = shared_path("edfi", "xsd")
    f = tmp_path / "s.xml"
    f.write_text(INVALID)
    items = list(edfi_xml.convert(f, xsd_dir=xsd))
    recs = [r for r in items if isinstance(r, Record)]
    probs = [p for p in items if isinstance(p, Problem) and p.severity == "error"]
    assert [r.resource["studentUniqueId"] for r in recs] == ["1", "3"]
    assert len(probs) == 1 and probs[0].line == 5 and probs[0].file == "s.xml"


def test_without_xsd_warns_and_checks_structure(tmp_path, monkeypatch):
    monkeypatch.delenv("HEP_EDFI_XSD_DIR", raising=False)
    f = tmp_path / "s.xml"
    f.write_text(INVALID)
    items = list(edfi_xml.convert(f))
    assert any(isinstance(p, Problem) and p.severity == "warning" and "structurally" in p.message for p in items)
    probs = [p for p in items if isinstance(p, Problem) and p.severity == "error"]
    assert len(probs) == 1 and probs[0].field.endswith("lastSurname")
    assert len([r for r in items if isinstance(r, Record)]) == 2


def test_broken_and_hostile_xml(tmp_path):
    broken = tmp_path / "b.xml"
    broken.write_text('<InterchangeStudent xmlns="http://ed-fi.org/5.2.0"><Student><StudentUniqueId>1</Student>')
    items = list(edfi_xml.convert(broken))
    assert any(isinstance(p, Problem) and p.fatal and "well-formed" in p.message for p in items)
    xxe = tmp_path / "x.xml"
    xxe.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                   '<InterchangeStudent xmlns="http://ed-fi.org/5.2.0"><Student>&e;</Student></InterchangeStudent>')
    items = list(edfi_xml.convert(xxe))
    assert len(items) == 1 and items[0].fatal and "entity" in items[0].message
    wrong = tmp_path / "w.xml"
    wrong.write_text('<InterchangeStudent xmlns="http://ed-fi.org/9.9.9"/>')
    assert "namespace" in next(iter(edfi_xml.convert(wrong))).message
    with pytest.raises(InputRefused):
        list(edfi_xml.convert(tmp_path / "missing.xml"))
