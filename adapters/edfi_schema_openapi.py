"""Check Ed-Fi JSON against the official Ed-Fi API OpenAPI (resources-ds-5.0.yml).

A small JSON-schema subset interpreter over `components.schemas`: required, type (string,
integer, number, boolean, object, array), format date / date-time, maxLength / minLength,
minimum / maximum, nested `$ref`s and arrays of them; properties the component does not declare
are reported (Ed-Fi extensions under `_ext` are allowed, as the Ed-Fi API allows them). Used by
conformance tests of every SIS adapter and by tests/test_edfi_schema.py for drift checks.

Our own extension collection `studentSchoolAttendanceSummaries` has no official component; it is
checked against `HEP_COMPONENTS` below, which reuses the official reference components.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ("data", "edfi", "openapi", "resources-ds-5.0.yml")

COMPONENT_OF: dict[str, str] = {
    "students": "edFi_student",
    "studentSchoolAssociations": "edFi_studentSchoolAssociation",
    "studentEducationOrganizationAssociations": "edFi_studentEducationOrganizationAssociation",
    "studentSchoolAttendanceEvents": "edFi_studentSchoolAttendanceEvent",
    "studentSectionAttendanceEvents": "edFi_studentSectionAttendanceEvent",
    "studentSchoolAttendanceSummaries": "hep_studentSchoolAttendanceSummary",
    "studentSpecialEducationProgramAssociations": "edFi_studentSpecialEducationProgramAssociation",
    "studentProgramAssociations": "edFi_studentProgramAssociation",
    "studentHomelessProgramAssociations": "edFi_studentHomelessProgramAssociation",
    "studentSection504ProgramAssociations": "edFi_studentSection504ProgramAssociation",
    "courseTranscripts": "edFi_courseTranscript",
    "studentAcademicRecords": "edFi_studentAcademicRecord",
    "grades": "edFi_grade",
    "studentSectionAssociations": "edFi_studentSectionAssociation",
    "studentAssessments": "edFi_studentAssessment",
    "disciplineIncidents": "edFi_disciplineIncident",
    "disciplineActions": "edFi_disciplineAction",
    "studentDisciplineIncidentBehaviorAssociations": "edFi_studentDisciplineIncidentBehaviorAssociation",
    "schools": "edFi_school",
    "localEducationAgencies": "edFi_localEducationAgency",
}

_NUM = {"type": "number", "format": "double"}
HEP_COMPONENTS: dict[str, dict] = {
    "hep_studentSchoolAttendanceSummary": {
        "type": "object",
        "required": ["schoolReference", "schoolYear", "studentReference"],
        "properties": {
            "studentReference": {"$ref": "#/components/schemas/edFi_studentReference"},
            "schoolReference": {"$ref": "#/components/schemas/edFi_schoolReference"},
            "schoolYear": {"type": "integer", "format": "int32"},
            "beginDate": {"type": "string", "format": "date"},
            "endDate": {"type": "string", "format": "date"},
            "daysEnrolled": _NUM, "daysAttended": _NUM, "daysAbsentExcused": _NUM, "daysAbsentUnexcused": _NUM,
            "daysSuspended": _NUM, "daysInSchoolSuspension": _NUM, "daysIncompleteIndependentStudy": _NUM,
            "daysTardy": _NUM,
            "hourlyAttendance": {"type": "boolean"}, "exempt": {"type": "boolean"},
            "sourceSystem": {"type": "string", "maxLength": 60, "minLength": 1},
        },
    },
}


def default_spec_path() -> Path:
    shared = Path(os.environ.get("HEP_SHARED_DIR", ROOT.parent / "shared"))
    return shared.joinpath(*DEFAULT_SPEC)


@lru_cache(maxsize=4)
def load_openapi(path: str | Path | None = None) -> dict:
    """components.schemas of the OpenAPI file (plus our HEP_COMPONENTS), parsed once."""
    import yaml
    p = Path(path) if path else default_spec_path()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(p, "rb") as fh:
        doc = yaml.load(fh, Loader=loader)
    schemas = dict(doc["components"]["schemas"])
    schemas.update(HEP_COMPONENTS)
    return schemas


def _resolve(schemas: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schemas[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _check(schemas: dict, node: dict, value, path: str, errs: list) -> None:
    node = _resolve(schemas, node)
    t = node.get("type", "object" if "properties" in node else None)
    here = path or "$"
    if value is None:
        if not node.get("x-nullable"):
            errs.append((here, "null where a value is required"))
        return
    if t == "object":
        if not isinstance(value, dict):
            errs.append((here, "expected an object"))
            return
        props = node.get("properties", {})
        for req in node.get("required", ()):
            if req not in value:
                errs.append((f"{path}.{req}" if path else req, "required property missing"))
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            if k in props:
                _check(schemas, props[k], v, sub, errs)
            elif k == "_ext":
                if not isinstance(v, dict):
                    errs.append((sub, "_ext must be an object of extension namespaces"))
            else:
                errs.append((sub, "property not in the OpenAPI schema"))
        return
    if t == "array":
        if not isinstance(value, list):
            errs.append((here, "expected an array"))
            return
        if "minItems" in node and len(value) < node["minItems"]:
            errs.append((here, f"fewer than {node['minItems']} items"))
        for i, item in enumerate(value):
            _check(schemas, node.get("items", {}), item, f"{path}.{i}", errs)
        return
    if t == "string":
        if not isinstance(value, str):
            errs.append((here, "expected a string"))
            return
        if "maxLength" in node and len(value) > node["maxLength"]:
            errs.append((here, f"longer than maxLength {node['maxLength']}"))
        if "minLength" in node and len(value) < node["minLength"]:
            errs.append((here, f"shorter than minLength {node['minLength']}"))
        fmt = node.get("format")
        if fmt == "date":
            ok = bool(_DATE.match(value))
            if ok:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    ok = False
            if not ok:
                errs.append((here, "not a date (YYYY-MM-DD)"))
        elif fmt == "date-time":
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                errs.append((here, "not an RFC 3339 date-time"))
        return
    if t == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            errs.append((here, "expected an integer"))
            return
        bits = 31 if node.get("format") == "int32" else 63
        if not -(2 ** bits) <= value < 2 ** bits:
            errs.append((here, f"out of {node.get('format')} range"))
    elif t == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errs.append((here, "expected a number"))
            return
    elif t == "boolean":
        if not isinstance(value, bool):
            errs.append((here, "expected a boolean"))
        return
    if "minimum" in node and value < node["minimum"]:
        errs.append((here, f"below minimum {node['minimum']}"))
    if "maximum" in node and value > node["maximum"]:
        errs.append((here, f"above maximum {node['maximum']}"))


def validate_against_openapi(collection: str, record: dict, spec: str | Path | None = None) -> list[tuple[str, str]]:
    """[(field path, message)] of `record` against the OpenAPI component of `collection`."""
    schemas = load_openapi(str(spec) if spec else None)
    comp = COMPONENT_OF.get(collection)
    if comp is None or comp not in schemas:
        return [("$", f"no OpenAPI component for collection {collection!r}")]
    errs: list = []
    _check(schemas, schemas[comp], record, "", errs)
    return errs
