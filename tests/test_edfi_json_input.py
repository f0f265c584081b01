"""Ed-Fi JSON input adapter: NDJSON with good and bad lines, arrays, SSID convention."""
from __future__ import annotations

from adapters import edfi_json
from adapters.base import Problem, Record

GOOD = ('{"resource":"students","studentUniqueId":"3000000097","firstName":"Ana","lastSurname":"Lopez",'
        '"birthDate":"2010-01-02"}')
SSA = ('{"resource":"studentSchoolAssociations","studentReference":{"studentUniqueId":"3000000097"},'
       '"schoolReference":{"schoolId":1234567},"entryDate":"2024-08-15",'
       '"entryGradeLevelDescriptor":"uri://ed-fi.org/GradeLevelDescriptor#Ninth grade"}')


def test_ndjson_good_and_bad_lines(tmp_path):
    f = tmp_path / "feed.ndjson"
    f.write_text("\n".join([GOOD, '{"resource":"students","studentUniqueId":"x","firstName":"A","birthDate":"2010-01-02"}',
                            "not json", SSA, '{"resource":"studentSchoolAssociations","entryDate":"2024-13-01"}']) + "\n")
    items = list(edfi_json.convert(f))
    recs = [r for r in items if isinstance(r, Record)]
    probs = [p for p in items if isinstance(p, Problem)]
    assert [r.type for r in recs] == ["students", "studentSchoolAssociations"]
    assert recs[0].subject.identifiers[0] == ("ssid", "3000000097")
    assert [(p.line, p.field) for p in probs][:2] == [(2, "lastSurname"), (3, None)]
    assert probs[2].line == 5


def test_array_and_per_collection_file(tmp_path):
    f = tmp_path / "all.json"
    f.write_text("[" + GOOD + "," + SSA + "]")
    assert [r.source["path"] for r in edfi_json.convert(f)] == ["/0", "/1"]
    g = tmp_path / "students.ndjson"
    g.write_text(GOOD.replace('"resource":"students",', "") + "\n")
    assert next(iter(edfi_json.convert(g))).type == "students"
