"""Passport assembly on SQLite and PostgreSQL from an ingested synthetic county (cws + calpads + hie):
the document's shape, provenance, only permitted categories (never even queried otherwise), labels,
obligations, notices and redactions."""
from __future__ import annotations

import json
import orjson
import pytest
from sqlalchemy import event, insert, select

from tests.test_passport_support import (AS_OF, county_files, ingest_county, stored_rows,  # noqa: F401
                                         youth_ids, youth_row)

BASE = "https://hep.example/fhir"


def all_permit(obligations=("log_disclosure",)):
    from gateway.passport.vocab import categories
    return {c: {"decision": "permit", "obligations": list(obligations), "rules": [], "reason": "test"} for c in categories()}


def _assemble(engine, yid, decisions):
    from gateway.passport import assemble
    with engine.connect() as conn:
        return assemble(conn, "la", yid, decisions, as_of=AS_OF, base_url=BASE)


def _section_codes(bundle):
    return [s["code"]["coding"][0]["code"] for s in bundle["entry"][0]["resource"]["section"]]


def _rendered_ids(row):
    """Every id under which a stored row can appear in a passport."""
    from gateway.passport.vocab import uid
    return {row["id"], uid("la", "edfi-obs", row["id"]), uid("la", "case", row["id"]), uid("la", "case-caregiver", row["id"])}


@pytest.fixture
def county(engine, county_files):
    ingest_county(engine, county_files)
    return engine


def test_all_permit_document_shape_and_provenance(county):
    from fhir.resources.R4B.bundle import Bundle
    from gateway.passport.vocab import PROFILE_EDU_OBS
    with_school = [y for y in youth_ids(county) if any(r["standard"] == "edfi" for r in stored_rows(county, y))]
    for yid in with_school[:3]:
        b = _assemble(county, yid, all_permit())
        Bundle.model_validate(b)
        assert b["type"] == "document"
        comp = b["entry"][0]["resource"]
        assert comp["resourceType"] == "Composition" and comp["status"] == "final"
        assert comp["subject"] == {"reference": f"Patient/{yid}"}
        assert comp["title"] == "Health and Education Passport"
        assert {c["code"] for c in comp["type"]["coding"]} >= {"hep-passport", "60591-5"}
        stored = {r["category"] for r in stored_rows(county, yid)}
        assert stored <= set(_section_codes(b)), stored - set(_section_codes(b))
        keys = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in b["entry"]}
        targets = {t["reference"] for e in b["entry"] if e["resource"]["resourceType"] == "Provenance"
                   for t in e["resource"]["target"]}
        for e in b["entry"][1:]:
            r = e["resource"]
            if r["resourceType"] != "Provenance":
                assert f"{r['resourceType']}/{r['id']}" in targets, r["resourceType"]
            assert e["fullUrl"] == f"{BASE}/{r['resourceType']}/{r['id']}"
        # section entries all resolve inside the document; education observations carry our profile
        for s in comp["section"]:
            for ref in s.get("entry", []):
                assert ref["reference"] in keys
        edu = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Observation"
               and PROFILE_EDU_OBS in (e["resource"].get("meta") or {}).get("profile", [])]
        assert edu, "education records are rendered as Observations"
        assert all(o.get("subject") and (o.get("effectiveDateTime") or o.get("effectivePeriod")) for o in edu)
        # provenance names where each entry came from
        provs = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Provenance"]
        assert any("SENR" in (en["what"].get("display") or "") for p in provs for en in p.get("entity", []))


@pytest.mark.parametrize("denied", ["mental_health", "immunizations", "attendance", "placement_case_information",
                                    "enrollment_school_placement"])
def test_denied_category_is_absent_and_never_queried(county, denied):
    from gateway.passport.vocab import categories
    yids = youth_ids(county)
    # a youth who has data in the denied category, so the test can fail
    yid = next(y for y in yids if any(r["category"] == denied for r in stored_rows(county, y)))
    decisions = all_permit()
    decisions[denied] = {"decision": "deny", "obligations": [], "rules": [], "reason": "test"}
    params_seen = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        params_seen.append(repr(parameters))
    event.listen(county, "before_cursor_execute", spy)
    try:
        b = _assemble(county, yid, decisions)
    finally:
        event.remove(county, "before_cursor_execute", spy)
    assert not any(denied in p for p in params_seen), "a denied category must not be selected at all"
    assert denied not in _section_codes(b)
    ids = {e["resource"]["id"] for e in b["entry"]}
    rows = [r for r in stored_rows(county, yid) if r["category"] == denied]
    assert rows
    for r in rows:
        assert not (_rendered_ids(r) & ids), (r["rtype"], r["id"])
    divs = " ".join(s["text"]["div"] for s in b["entry"][0]["resource"]["section"])
    for r in rows:
        body = r["body"]
        for c in ((body.get("code") or body.get("vaccineCode") or body.get("medicationCodeableConcept") or {})
                  .get("coding") or ()):
            if c.get("display"):
                assert c["display"] not in divs
    words = {"attendance": "Days absent", "enrollment_school_placement": "School transfers",
             "immunizations": "doses on file"}
    if denied in words:
        assert words[denied] not in divs
    assert categories()[denied]["display"] not in divs


def test_nothing_permitted_gives_a_bare_subject(county):
    yid = youth_ids(county)[0]
    b = _assemble(county, yid, {"mental_health": {"decision": "deny"}})
    kinds = {e["resource"]["resourceType"] for e in b["entry"]}
    assert kinds <= {"Composition", "Device", "Patient", "Provenance"}
    pat = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Patient")
    assert pat == {"resourceType": "Patient", "id": yid}
    assert _section_codes(b) == []


def test_labels_obligations_and_notices(county):
    from gateway.passport import notices_of
    from gateway.passport.vocab import ACT_CODE, OBLIGATION_CS
    yid = next(y for y in youth_ids(county)
               if any(r["rtype"] == "courseTranscripts" for r in stored_rows(county, y)))
    decisions = all_permit()
    decisions["grades_transcripts_credits"]["obligations"] = ["log_disclosure", "ferpa_redisclosure_notice"]
    decisions["mental_health"]["obligations"] = ["log_disclosure", "cmia_56.103_redisclosure_and_inadmissibility_notice"]
    b = _assemble(county, yid, decisions)
    stored = {r["id"]: r for r in stored_rows(county, yid)}
    for e in b["entry"]:
        r = e["resource"]
        sec = {(c["system"], c["code"]) for c in (r.get("meta") or {}).get("security", [])}
        if r["id"] in stored and stored[r["id"]]["standard"] == "fhir":
            own = {(c["system"], c["code"]) for c in stored[r["id"]]["security"]}
            assert own <= sec, "a resource keeps its own labels"
        if r["resourceType"] not in ("Composition", "Device", "Provenance"):
            assert (OBLIGATION_CS, "log_disclosure") in sec and (ACT_CODE, "AUDIT") in sec
    transcripts = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Observation"
                   and e["resource"]["code"]["coding"][0]["code"] == "course-transcript"]
    assert transcripts
    for t in transcripts:
        sec = {(c["system"], c["code"]) for c in t["meta"]["security"]}
        assert (ACT_CODE, "NORDSCLCD") in sec and (OBLIGATION_CS, "ferpa_redisclosure_notice") in sec
    texts = notices_of(b)
    assert any("99.33" in t or "Family Educational Rights" in t for t in texts)
    if any(r["category"] == "mental_health" for r in stored.values()):
        assert any("5328.04" in t for t in texts)
    else:
        assert not any("5328.04" in t for t in texts), "no mental health released, no CMIA notice"
    bundle_conf = {c["code"] for c in b["meta"]["security"]}
    assert len(bundle_conf) == 1


def test_redactions(county):
    from gateway.passport.vocab import uid
    yid = next(y for y in youth_ids(county)
               if any(r["category"] == "mental_health" and r["standard"] == "fhir" for r in stored_rows(county, y)))
    # a psychotherapy note, labelled PSYTHPN at the door
    from gateway.store import schema as s
    with county.begin() as conn:
        src = conn.execute(select(s.resource).where(s.resource.c.youth_id == yid, s.resource.c.category == "mental_health",
                                                    s.resource.c.standard == "fhir")).first()._mapping
        body = orjson.loads(src["body"])
        body["id"] = "psynote-1"
        label = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSYTHPN"}
        body["meta"]["security"].append(label)
        row = dict(src)
        row.update(id="psynote-1", natural_key="psynote-1", body=orjson.dumps(body),
                   security=list(src["security"]) + [label])
        conn.execute(insert(s.resource).values(**row))
    d = all_permit()
    redacted = {"decision": "permit-redacted", "obligations": ["log_disclosure"], "rules": [], "reason": "t"}
    d["mental_health"] = {**redacted, "redactions": ["psychotherapy_notes"]}
    d["demographics_identity"] = {**redacted, "redactions": ["direct_identifiers"]}
    d["placement_case_information"] = {**redacted, "redactions": ["direct_identifiers", "case_plan"]}
    b = _assemble(county, yid, d)
    ids = {e["resource"]["id"] for e in b["entry"]}
    assert "psynote-1" not in ids
    assert src["id"] in ids, "the rest of mental health stays"
    pat = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Patient")
    assert not {"name", "identifier", "telecom", "address"} & set(pat)
    assert len(pat["birthDate"]) == 4
    rps = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "RelatedPerson"]
    case_rps = [r for r in rps if r["relationship"][0]["coding"][0]["code"] != "education_rights_holder"]
    assert case_rps and all("name" not in r and "telecom" not in r and "address" not in r for r in case_rps)
    erh = [r for r in rps if r["relationship"][0]["coding"][0]["code"] == "education_rights_holder"]
    assert all("name" in r for r in erh), "erh_identity was permitted without redaction"
    y = youth_row(county, yid)
    text = json.dumps(b)
    assert y["family"] not in " ".join(s["text"]["div"] for s in b["entry"][0]["resource"]["section"]
                                       if s["code"]["coding"][0]["code"] == "demographics_identity")
    provs = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Provenance"
             and e["resource"]["target"][0]["reference"] == f"Patient/{yid}"]
    assert provs and all("clients.csv" not in json.dumps(p) for p in provs)
    assert uid("la", "careteam", yid) in text


def test_case_field_redaction_drops_fields():
    from gateway.passport.redact import drop_case_fields
    body = {"placement_id": "P1", "case_plan": "reunify", "referral_history": [1], "siblings": ["A"], "start": "2024-01-01"}
    out = drop_case_fields(body, {"case_plan", "referral_history", "other_children_information"})
    assert out == {"placement_id": "P1", "start": "2024-01-01"}
    assert drop_case_fields(body, set()) is body


def test_unknown_youth(county):
    with pytest.raises(LookupError):
        _assemble(county, "no-such-youth", all_permit())
