"""Every shared C-CDA document converts; every resource validates; ids, references, subject, labels."""
from __future__ import annotations

import collections

import pytest
from fhir.resources.R4B import get_fhir_model_class

from adapters import ccda, sensitivity
from adapters.base import Problem, Record
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def converted():
    folder = shared_path("ccda")
    files = sorted(folder.glob("*.xml"))
    assert len(files) == 44
    return {f.name: list(ccda.convert(f)) for f in files}


def test_every_document_converts_without_fatal_problem_or_error(converted):
    for name, items in converted.items():
        fatal = [p for p in items if isinstance(p, Problem) and p.fatal]
        errors = [p for p in items if isinstance(p, Problem) and p.severity == "error"]
        assert not fatal, (name, fatal)
        assert not errors, (name, [e.message for e in errors])
        types = {r.type for r in items if isinstance(r, Record)}
        assert {"Patient", "DocumentReference"} <= types, name


def test_every_resource_validates_with_its_r4b_model(converted):
    n = 0
    for items in converted.values():
        for r in items:
            if isinstance(r, Record):
                assert r.standard == "fhir" and r.resource["resourceType"] == r.type
                get_fhir_model_class(r.type).model_validate(r.resource)
                n += 1
    assert n > 2000


def test_subject_ids_and_references_are_consistent(converted):
    for name, items in converted.items():
        recs = [r for r in items if isinstance(r, Record)]
        patient = next(r for r in recs if r.type == "Patient")
        subj = patient.subject
        assert subj is not None and all(r.subject is subj for r in recs), name
        assert subj.identifiers and all(s.startswith(("mrn|", "source|hl7-ii", "ssn")) for s, _ in subj.identifiers), name
        ids = collections.Counter((r.type, r.resource["id"]) for r in recs)
        assert max(ids.values()) == 1, (name, ids.most_common(2))
        pref = "Patient/" + patient.resource["id"]
        for r in recs:
            ref = r.resource.get("patient") or r.resource.get("subject")
            if ref and r.type != "DocumentReference":
                assert ref == {"reference": pref}, (name, r.type)
            assert r.source["file"] == name and r.source["path"].startswith("/ClinicalDocument")
            assert isinstance(r.source["line"], int)


def test_subject_demographics_for_the_pediatric_record(converted):
    recs = [r for r in converted["11_chb_Kinsights_Samples_kinsights-sample-timmy.xml"] if isinstance(r, Record)]
    s = recs[0].subject
    assert (s.given, s.family, s.birth_date, s.sex) == ("Timmy", "Wilkinson", "2011-04-01", "M")
    assert ("mrn|2.16.840.1.113883.3.3297.1.1.1", "6") in s.identifiers
    imms = [r.resource for r in recs if r.type == "Immunization"]
    assert len(imms) == 19
    # immunization dates are never lost (the peer's bug): every administered dose has a date
    assert all("occurrenceDateTime" in i for i in imms if i["status"] == "completed")


def test_ids_are_deterministic_across_runs():
    f = shared_path("ccda", "01_hl7_CCD_1_CCD.xml")
    a = [(r.type, r.key, r.resource["id"]) for r in ccda.convert(f) if isinstance(r, Record)]
    b = [(r.type, r.key, r.resource["id"]) for r in ccda.convert(f) if isinstance(r, Record)]
    assert a == b and len(a) > 20


def test_providers_have_names_addresses_and_telecom(converted):
    """WIC 16010: the passport names the youth's providers with address and phone."""
    recs = [r for r in converted["01_hl7_CCD_1_CCD.xml"] if isinstance(r, Record)]
    pracs = [r.resource for r in recs if r.type == "Practitioner"]
    assert pracs and any(p.get("name") and p.get("address") and p.get("telecom") for p in pracs)
    roles = [r.resource for r in recs if r.type == "PractitionerRole"]
    assert roles and all(x["practitioner"]["reference"].startswith("Practitioner/") for x in roles)
    assert any(r.type == "Organization" and r.resource.get("address") for r in recs)


def test_ds4p_labels_reach_the_sensitivity_classifier(monkeypatch):
    seen = []

    def fake_classify(resource, facts):
        seen.append(facts)
        return "substance_use_disorder_part2", [{"system": sensitivity.CONFIDENTIALITY_SYSTEM, "code": "R"}]

    monkeypatch.setattr(sensitivity, "classify", fake_classify, raising=False)
    f = shared_path("ccda", "28_jdd_Amrita_Larson_Rebecca_Jones_315211_PRIVACY_SEGMENTED_20.xml")
    recs = [r for r in ccda.convert(f, part2_program=True, minor_consented=True) if isinstance(r, Record)]
    assert recs and all(r.category == "substance_use_disorder_part2" for r in recs)
    assert all(r.resource["meta"]["security"][0]["code"] == "R" for r in recs)
    facts = seen[0]
    assert facts.confidentiality == "R" and facts.part2_program and facts.minor_consented
    codes = {c["code"]: c["system"] for c in facts.labels}
    assert codes["R"].endswith("v3-Confidentiality")
    assert codes["NORDSCLCD"].endswith("v3-ActCode") and codes["ENCRYPT"].endswith("v3-ActCode")
    assert codes["TREAT"].endswith("v3-ActReason")


def test_without_classifier_the_category_follows_the_resource_type(monkeypatch):
    monkeypatch.delattr(sensitivity, "classify", raising=False)
    f = shared_path("ccda", "28_jdd_Amrita_Larson_Rebecca_Jones_315211_PRIVACY_SEGMENTED_20.xml")
    recs = [r for r in ccda.convert(f) if isinstance(r, Record)]
    by_type = {r.type: r.category for r in recs}
    assert by_type["Immunization"] == "immunizations" and by_type["AllergyIntolerance"] == "allergies"
    # the labels as sent are still carried on the record for downstream labelling
    imm = next(r for r in recs if r.type == "Immunization")
    assert imm.labels["confidentiality"] == "R"
    assert {"NORDSCLCD", "ENCRYPT"} <= {c["code"] for c in imm.labels["source_security"]}


def test_document_reference_and_provenance(converted):
    recs = [r for r in converted["01_hl7_CCD_1_CCD.xml"] if isinstance(r, Record)]
    doc = next(r.resource for r in recs if r.type == "DocumentReference")
    assert doc["type"]["coding"][0]["code"] == "34133-9"
    assert doc["content"][0]["attachment"]["size"] > 100000
    prov = next(r.resource for r in recs if r.type == "Provenance")
    assert prov["entity"][0]["what"]["reference"] == "DocumentReference/" + doc["id"]
    assert len(prov["target"]) == len(recs) - 2  # everything but the Patient and the Provenance itself
