"""FHIR JSON Bundle / NDJSON adapter: validation problems with paths, labels, subjects, references."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from adapters import fhir
from adapters.base import Problem, Record

HEP = Path(sys.executable).parent / "hep"
CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PAT_URL = "urn:uuid:11111111-1111-1111-1111-111111111111"
PATIENT = {"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.3", "value": "M1"},
                                                      {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123456789"}],
           "name": [{"use": "official", "family": "Lee", "given": ["Kim", "A"]}, {"family": "Li", "given": ["Kimmy"]}],
           "birthDate": "2011-02-03", "gender": "female", "address": [{"postalCode": "90011-1111"}]}


def bundle(btype="transaction"):
    ref = {"reference": PAT_URL}
    return {"resourceType": "Bundle", "type": btype, "entry": [
        {"fullUrl": PAT_URL, "resource": PATIENT, "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Condition", "subject": ref,
                      "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J45.909"}]},
                      "meta": {"security": [{"system": CONF, "code": "R"}]}}},
        {"resource": {"resourceType": "Observation", "status": "final", "subject": ref}},
        {"resource": {"resourceType": "Widget"}},
        {"resource": {"resourceType": "Immunization", "status": "completed", "patient": ref,
                      "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "08"}]},
                      "occurrenceDateTime": "2010-13-01"}},
        {"resource": {"resourceType": "MedicationStatement", "status": "active", "subject": ref,
                      "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                                "code": "312938"}]}}},
    ]}


def run(path, **opt):
    items = list(fhir.convert(path, **opt))
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Problem)]


@pytest.mark.parametrize("btype", ["transaction", "batch", "collection", "document"])
def test_bundle(tmp_path, btype):
    p = tmp_path / "b.json"
    p.write_bytes(orjson.dumps(bundle(btype)))
    recs, probs = run(p)
    assert [r.type for r in recs] == ["Patient", "Condition", "MedicationStatement"]
    pat, cond, med = recs
    assert pat.subject.identifiers == (("mrn|urn:oid:1.2.3", "M1"),)
    assert (pat.subject.family, pat.subject.given, pat.subject.middle, pat.subject.sex,
            pat.subject.birth_date, pat.subject.postal_code) == ("Lee", "Kim", "A", "F", "2011-02-03", "90011")
    assert pat.subject.aliases == (("Kimmy", "Li"),)
    assert cond.subject == pat.subject and med.subject == pat.subject
    assert cond.resource["subject"]["reference"] == f"Patient/{pat.resource['id']}"
    # labels already present are never lowered
    assert [c["code"] for c in cond.resource["meta"]["security"] if c["system"] == CONF] == ["R"]
    assert cond.category == "conditions_problems_hospitalizations"
    assert med.category == "mental_health"
    assert cond.source == {"file": "b.json", "path": "Bundle.entry[1].resource"}
    assert [(p.field, p.line) for p in probs] == [
        ("Bundle.entry[2].resource.code", None), ("Bundle.entry[3].resource.resourceType", None),
        ("Bundle.entry[4].resource.occurrenceDateTime", None)]
    assert "unknown FHIR R4 resource type 'Widget'" in probs[1].message


def test_ids_are_deterministic(tmp_path):
    p = tmp_path / "b.json"
    p.write_bytes(orjson.dumps(bundle()))
    a = [(r.key, r.resource["id"]) for r in run(p)[0]]
    b = [(r.key, r.resource["id"]) for r in run(p)[0]]
    assert a == b and len({k for k, _ in a}) == 3


def test_ndjson_lines_and_references(tmp_path):
    lines = [
        {**PATIENT, "id": "p1"},
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "86406008"}]}},
        "not json",
        {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p1"}, "code": {"text": "x"}, "bogus": 1},
        {"resourceType": "Nope"},
    ]
    p = tmp_path / "x.ndjson"
    p.write_bytes(b"\n".join(x.encode() if isinstance(x, str) else orjson.dumps(x) for x in lines) + b"\n")
    recs, probs = run(p)
    assert [(r.type, r.source["line"]) for r in recs] == [("Patient", 1), ("Condition", 2)]
    pat, cond = recs
    assert cond.category == "hiv"
    assert cond.resource["subject"]["reference"] == f"Patient/{pat.resource['id']}"
    assert ("source|fhir:fhir", "p1") in pat.subject.identifiers
    assert cond.subject.identifiers == (("source|fhir:fhir", "p1"),)
    assert [(p.line, p.field) for p in probs] == [(3, None), (4, "Condition.bogus"), (5, "Nope.resourceType")]


def test_part2_sender_option(tmp_path):
    p = tmp_path / "b.json"
    p.write_bytes(orjson.dumps(bundle("collection")))
    recs, _ = run(p, part2_program=True)
    assert {r.category for r in recs} == {"substance_use_disorder_part2"}
    assert all(r.labels.get("part2_program") for r in recs)


def test_not_json_is_fatal(tmp_path):
    p = tmp_path / "b.json"
    p.write_text("<Bundle/>")
    _, probs = run(p)
    assert probs and probs[0].fatal


def test_hep_convert_fhir_cli(tmp_path):
    p = tmp_path / "b.json"
    p.write_bytes(orjson.dumps(bundle()))
    out = subprocess.run([str(HEP), "convert", "fhir", str(p)], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    recs = [orjson.loads(x) for x in out.stdout.splitlines()]
    assert [r["type"] for r in recs] == ["Patient", "Condition", "MedicationStatement"]
    assert [r["category"] for r in recs] == ["demographics_identity", "conditions_problems_hospitalizations", "mental_health"]
    probs = [orjson.loads(x) for x in out.stderr.splitlines()]
    assert [x["field"] for x in probs] == ["Bundle.entry[2].resource.code", "Bundle.entry[3].resource.resourceType",
                                         "Bundle.entry[4].resource.occurrenceDateTime"]
