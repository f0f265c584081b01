"""Our Ed-Fi marshmallow schemas agree with the official OpenAPI (resources-ds-5.0.yml), and the
compiled fast validator agrees with marshmallow."""
from __future__ import annotations

import copy

import pytest
from marshmallow import fields

from adapters import edfi_schema
from adapters.edfi_common import (attendance_summary, descriptor, lea_resource, local_descriptor, school_ref,
                                  school_resource, student_ref)
from adapters.edfi_schema_fields import Date, Descriptor, Int, Num, Bool, Str
from adapters.edfi_schema_openapi import load_openapi, validate_against_openapi
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def spec():
    return load_openapi(str(shared_path("edfi", "openapi", "resources-ds-5.0.yml")))


def _resolve(spec, node):
    while "$ref" in node:
        node = spec[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _compare(spec, schema_cls, component: str, path: str, problems: list, seen: set):
    if (schema_cls, component) in seen:
        return
    seen.add((schema_cls, component))
    comp = spec[component]
    props = comp["properties"]
    declared = schema_cls._declared_fields
    ours_required = {f.data_key or n for n, f in declared.items() if f.required}
    theirs_required = set(comp.get("required", ()))
    if ours_required != theirs_required:
        problems.append(f"{path}: required {sorted(ours_required)} != OpenAPI {sorted(theirs_required)}")
    for name, f in declared.items():
        key = f.data_key or name
        if key == "_ext":
            continue
        if key not in props:
            problems.append(f"{path}.{key}: not a property of {component}")
            continue
        p = props[key]
        if isinstance(f, fields.List):
            if p.get("type") != "array":
                problems.append(f"{path}.{key}: list here, {p.get('type')} in OpenAPI")
                continue
            item = p["items"]
            inner = f.inner
            if isinstance(inner, fields.Nested) and "$ref" in item:
                _compare(spec, inner.nested, item["$ref"].rsplit("/", 1)[-1], f"{path}.{key}[]", problems, seen)
            continue
        if isinstance(f, fields.Nested):
            if "$ref" not in p:
                problems.append(f"{path}.{key}: nested here, not a $ref in OpenAPI")
                continue
            _compare(spec, f.nested, p["$ref"].rsplit("/", 1)[-1], f"{path}.{key}", problems, seen)
            continue
        p = _resolve(spec, p)
        t, fmt = p.get("type"), p.get("format")
        expect = {Descriptor: ("string", None), Date: ("string", "date"), Int: ("integer", None),
                  Num: ("number", None), Bool: ("boolean", None), Str: ("string", None)}
        for cls, (et, ef) in expect.items():
            if isinstance(f, cls):
                if t != et or (ef and fmt != ef):
                    problems.append(f"{path}.{key}: {cls.__name__} here, {t}/{fmt} in OpenAPI")
                if isinstance(f, Descriptor) and p.get("maxLength") != 306:
                    problems.append(f"{path}.{key}: descriptor but OpenAPI maxLength {p.get('maxLength')}")
                if cls is Str and p.get("maxLength") != f.max_length:
                    problems.append(f"{path}.{key}: maxLength {f.max_length} != OpenAPI {p.get('maxLength')}")
                if cls is Str and p.get("minLength", 0) != f.min_length:
                    problems.append(f"{path}.{key}: minLength {f.min_length} != OpenAPI {p.get('minLength')}")
                break


@pytest.mark.parametrize("collection", [c for c, (_, comp) in edfi_schema.SCHEMAS.items() if comp])
def test_schema_agrees_with_openapi(spec, collection):
    cls, component = edfi_schema.SCHEMAS[collection]
    problems: list[str] = []
    _compare(spec, cls, component, collection, problems, set())
    assert not problems, "\n".join(problems)


def test_extension_schema_agrees_with_its_openapi_component(spec):
    cls = edfi_schema.SCHEMAS["studentSchoolAttendanceSummaries"][0]
    problems: list[str] = []
    _compare(spec, cls, "hep_studentSchoolAttendanceSummary", "summaries", problems, set())
    assert not problems, "\n".join(problems)


def _samples():
    g9 = descriptor("GradeLevelDescriptor", "Ninth grade")
    stu = {"studentUniqueId": "3000000097", "firstName": "Ana", "lastSurname": "Diaz", "birthDate": "2010-02-03",
           "middleName": "Luz", "birthSexDescriptor": descriptor("SexDescriptor", "Female")}
    ssa = {"studentReference": student_ref("3000000097"), "schoolReference": school_ref("0123456"),
           "entryDate": "2024-08-14", "entryGradeLevelDescriptor": g9, "primarySchool": True,
           "exitWithdrawDate": "2024-11-01",
           "exitWithdrawTypeDescriptor": local_descriptor("ExitWithdrawTypeDescriptor", "T160"),
           "schoolYearTypeReference": {"schoolYear": 2025}}
    summ = attendance_summary("3000000097", "0123456", 2025, days_enrolled=170, days_attended=150,
                              days_absent_excused=12, days_absent_unexcused=7, days_suspended=1)
    return [("students", stu), ("studentSchoolAssociations", ssa), ("studentSchoolAttendanceSummaries", summ),
            ("schools", school_resource("0123456", lea_id="1964733", grade_levels=[g9])),
            ("localEducationAgencies", lea_resource("1964733"))]


@pytest.mark.parametrize("collection,record", _samples())
def test_good_samples_are_valid_everywhere(spec, collection, record):
    assert edfi_schema.validate(collection, record) == []
    assert edfi_schema.validate_marshmallow(collection, record) == []
    assert validate_against_openapi(collection, record, shared_path("edfi", "openapi", "resources-ds-5.0.yml")) == []


BREAKS = [
    ("drop required", lambda r: r.pop("entryDate"), "entryDate"),
    ("bad date", lambda r: r.__setitem__("entryDate", "2024-02-30"), "entryDate"),
    ("slash date", lambda r: r.__setitem__("exitWithdrawDate", "11/01/2024"), "exitWithdrawDate"),
    ("bad descriptor", lambda r: r.__setitem__("entryGradeLevelDescriptor", "Ninth grade"), "entryGradeLevelDescriptor"),
    ("string id", lambda r: r["schoolReference"].__setitem__("schoolId", "0123456"), "schoolReference.schoolId"),
    ("bool as text", lambda r: r.__setitem__("primarySchool", "true"), "primarySchool"),
    ("unknown property", lambda r: r.__setitem__("gradeLevel", "09"), "gradeLevel"),
    ("too long", lambda r: r["studentReference"].__setitem__("studentUniqueId", "9" * 33), "studentReference.studentUniqueId"),
    ("null", lambda r: r.__setitem__("exitWithdrawDate", None), "exitWithdrawDate"),
]


@pytest.mark.parametrize("name,breaker,field", BREAKS, ids=[b[0] for b in BREAKS])
def test_fast_path_and_marshmallow_report_the_same_field(spec, name, breaker, field):
    record = copy.deepcopy(dict(_samples())["studentSchoolAssociations"])
    breaker(record)
    fast = edfi_schema.validate("studentSchoolAssociations", record)
    slow = edfi_schema.validate_marshmallow("studentSchoolAssociations", record)
    assert [f for f, _ in fast] == [field]
    assert sorted(f for f, _ in slow) == [field]
    # the OpenAPI has no descriptor-URI syntax (a string) and marks exitWithdrawDate x-nullable
    if name not in ("null", "bad descriptor"):
        assert field in [f for f, _ in validate_against_openapi("studentSchoolAssociations", record,
                                                                shared_path("edfi", "openapi", "resources-ds-5.0.yml"))]


def test_nested_list_errors_have_paths():
    seoa = {"educationOrganizationReference": {"educationOrganizationId": 1964733},
            "studentReference": student_ref("3000000097"),
            "races": [{"raceDescriptor": descriptor("RaceDescriptor", "White")}, {"raceDescriptor": "700"}]}
    assert edfi_schema.validate("studentEducationOrganizationAssociations", seoa) == [
        ("races.1.raceDescriptor", "Not a descriptor URI (uri://namespace/NameDescriptor#codeValue).")]
    assert [f for f, _ in edfi_schema.validate_marshmallow("studentEducationOrganizationAssociations", seoa)] == [
        "races.1.raceDescriptor"]


def test_unknown_collection_is_an_error():
    assert edfi_schema.validate("widgets", {}) == [("$", "unknown Ed-Fi collection 'widgets'")]
