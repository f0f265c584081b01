"""GET /hep/v1/youth/<id>: the flat WIC 16010 record, only fields of released categories (absent
otherwise), problem details errors, audited; responses and exported HepRecords validate against
docs/hep-api.yaml."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from gateway.export.hep_record import FIELD_CATEGORIES
from gateway.store import schema as s
from tests.fhir_api_support import (PART2_YOUTH, Partner, app_for, load_county, make_county, person_of, synthetic,
                                    youth_id)
from tests.test_bulk_export_support import STATE_PURPOSE, STATE_ROLE, export

SPEC = yaml.safe_load((Path(__file__).resolve().parent.parent / "docs" / "hep-api.yaml").read_text())
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


def validate(value, schema: dict, where: str = "$") -> list[str]:
    """The OpenAPI 3.0 subset the spec uses: $ref, type, nullable, enum, properties, required,
    additionalProperties: false, items."""
    if "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null not allowed"]
    t = schema.get("type")
    if t and (not isinstance(value, TYPES[t]) or (t in ("integer", "number") and isinstance(value, bool))):
        return [f"{where}: expected {t}, got {type(value).__name__}"]
    errs = []
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{where}: {value!r} not in {schema['enum']}")
    if t == "object":
        props = schema.get("properties", {})
        errs += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if k in props:
                errs += validate(v, props[k], f"{where}.{k}")
            elif schema.get("additionalProperties") is False:
                errs.append(f"{where}: unexpected {k}")
    if t == "array":
        for i, v in enumerate(value):
            errs += validate(v, schema.get("items", {}), f"{where}[{i}]")
    return errs


RECORD = {"$ref": "#/components/schemas/HepRecord"}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


def test_the_validator_rejects_what_the_spec_forbids():
    assert validate({"resourceType": "HepRecord", "id": "x", "as_of": "2026-11-23", "released_categories": []}, RECORD) == []
    assert validate({"resourceType": "HepRecord", "id": "x", "as_of": "2026-11-23", "released_categories": [],
                     "school_transfers": "two", "favourite_colour": "red"}, RECORD) == [
        "$.school_transfers: expected integer, got str", "$: unexpected favourite_colour"]
    assert validate({"id": "x"}, RECORD)


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    return make_county(tmp_path_factory.mktemp("county"))


def check_fields(rec: dict) -> None:
    released = set(rec["released_categories"])
    for field, cats in FIELD_CATEGORIES.items():
        assert (field in rec) == (set(cats) <= released), field


def test_field_view_follows_policy_and_schema(engine, county_dir):
    load_county(engine, county_dir)
    app = app_for(engine)
    yid = youth_id(engine, PART2_YOUTH)
    state = Partner(app, engine, STATE_ROLE, None, STATE_PURPOSE, scopes=("system/*.read",))
    r = state.get(f"/hep/v1/youth/{yid}")
    assert r.status_code == 200 and r.mimetype == "application/json"
    rec = r.get_json()
    assert validate(rec, RECORD) == []
    check_fields(rec)
    assert rec["name"]["family"] == synthetic(PART2_YOUTH).family and rec["cws_client_id"] == synthetic(PART2_YOUTH).client_id
    assert {"hiv", "substance_use_disorder_part2", "reproductive_sexual_health_minor_consented"}.isdisjoint(rec["released_categories"])
    assert rec["immunizations"]["doses"] > 0 and isinstance(rec["school_transfers"], int)
    assert "log_disclosure" in rec["obligations"]

    caregiver = Partner(app, engine, "caregiver", person_of(engine, yid, "caregiver"), "x-CW-CASEMGT")
    r = caregiver.get(f"/hep/v1/youth/{yid}")
    assert r.status_code == 200                                   # the current caregiver sees less
    rec2 = r.get_json()
    assert validate(rec2, RECORD) == []
    check_fields(rec2)
    assert set(rec2["released_categories"]) < set(rec["released_categories"])
    assert any(f not in rec2 for f in FIELD_CATEGORIES)            # absent, not null

    stranger = Partner(app, engine, "youth_attorney", "ATY-NOT-OF-RECORD", "HLEGAL")
    denied = stranger.get(f"/hep/v1/youth/{yid}")
    assert denied.status_code == 403 and denied.mimetype == "application/problem+json"
    assert validate(denied.get_json(), PROBLEM) == [] and "not verified" in denied.get_json()["detail"]
    missing = state.get("/hep/v1/youth/no-such-youth")
    assert missing.status_code == 404 and validate(missing.get_json(), PROBLEM) == []
    anon = app.test_client().get(f"/hep/v1/youth/{yid}")
    assert anon.status_code == 401 and anon.mimetype == "application/problem+json"
    with engine.connect() as c:
        outcomes = [row.outcome for row in c.execute(select(s.audit_event.c.outcome).where(
            s.audit_event.c.youth_id == yid, s.audit_event.c.action == "hep-view"))]
    assert any(o.startswith("permit") for o in outcomes) and "deny" in outcomes

    # the bulk HepRecord file: one record per youth, the same record as the view, valid against the spec
    _, out = export(state, engine, "/fhir/$export?_type=HepRecord")
    records = out["HepRecord"]
    with engine.connect() as c:
        assert len(records) == c.execute(select(s.youth.c.id)).all().__len__()
    for x in records:
        assert validate(x, RECORD) == [], x["id"]
        check_fields(x)
    same = next(x for x in records if x["id"] == yid)
    assert same == {k: v for k, v in rec.items() if k != "obligations"}
