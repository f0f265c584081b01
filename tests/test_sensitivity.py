"""classify(): one data category + DS4P meta.security labels, each rule and precedence edge."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.valueset import ValueSet

from adapters.sensitivity import (ACTCODE_SYSTEM, CONFIDENTIALITY_SYSTEM, SourceFacts, classify, code_flags)
from mappings import valuesets

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
LNC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"


def cond(system, code, **extra):
    return {"resourceType": "Condition", "subject": {"reference": "Patient/1"},
            "code": {"coding": [{"system": system, "code": code}]}, **extra}


def conf(labels):
    c = [x["code"] for x in labels if x["system"] == CONFIDENTIALITY_SYSTEM]
    assert len(c) == 1, labels  # exactly one confidentiality code per label set
    return c[0]


def act(labels):
    return {x["code"] for x in labels if x["system"] == ACTCODE_SYSTEM}


def test_plain_asthma_is_a_normal_condition():
    cat, labels = classify(cond(SCT, "195967001"), SourceFacts())
    assert cat == "conditions_problems_hospitalizations"
    assert conf(labels) == "N" and act(labels) == set()


def test_part2_source_wins_with_its_labels():
    cat, labels = classify(cond(SCT, "195967001"), SourceFacts(part2_program=True))
    assert cat == "substance_use_disorder_part2"
    assert conf(labels) == "R"
    assert {"ETH", "42CFRPart2", "NORDSCLCD"} <= act(labels)


def test_part2_source_plus_hiv_code_stays_part2_and_keeps_hiv_label():
    # Part 2 has no treatment-provider exception and only the youth's 2.31 consent releases it;
    # the HIV label keeps the per-disclosure H&S 120980(g) authorization requirement visible.
    cat, labels = classify(cond(ICD, "B20"), SourceFacts(part2_program=True))
    assert cat == "substance_use_disorder_part2"
    assert {"HIV", "ETH", "42CFRPart2", "NORDSCLCD"} <= act(labels)


def test_part2_policy_label_from_source_counts_as_part2():
    lab = [{"system": ACTCODE_SYSTEM, "code": "42CFRPart2"}]
    cat, labels = classify(cond(SCT, "195967001"), SourceFacts(labels=lab))
    assert cat == "substance_use_disorder_part2" and conf(labels) == "R"


def test_hiv_code_any_system():
    for system, code in ((ICD, "B20"), (ICD, "Z21"), (ICD, "O98.711"), (SCT, "86406008"), (LNC, "56888-1")):
        cat, labels = classify(cond(system, code), SourceFacts())
        assert cat == "hiv", (system, code)
        assert "HIV" in act(labels) and conf(labels) in ("R", "V")


def test_hiv_beats_minor_consent_but_keeps_adol():
    cat, labels = classify(cond(ICD, "Z21"), SourceFacts(minor_consented=True))
    assert cat == "hiv"
    assert {"HIV", "ADOL"} <= act(labels)


def test_minor_consented_mental_health_counseling():
    res = {"resourceType": "Procedure", "status": "completed", "subject": {"reference": "Patient/1"},
           "code": {"coding": [{"system": CPT, "code": "90834"}]}}
    cat, labels = classify(res, SourceFacts(minor_consented=True))
    assert cat == "reproductive_sexual_health_minor_consented"
    assert conf(labels) == "R" and {"MH", "ADOL"} <= act(labels)


def test_minor_consented_std():
    cat, labels = classify(cond(ICD, "A56.01"), SourceFacts(minor_consented=True))
    assert cat == "reproductive_sexual_health_minor_consented"
    assert {"STD", "ADOL"} <= act(labels) and "SEX" not in act(labels)


def test_adol_label_from_source_means_minor_consented():
    lab = [{"system": CONFIDENTIALITY_SYSTEM, "code": "R"}, {"system": ACTCODE_SYSTEM, "code": "ADOL"}]
    cat, _ = classify(cond(SCT, "35489007"), SourceFacts(labels=lab))
    assert cat == "reproductive_sexual_health_minor_consented"


def test_repro_codes_without_minor_consent_stay_conditions_with_sex_label():
    cat, labels = classify(cond(ICD, "Z34.90"), SourceFacts())
    assert cat == "conditions_problems_hospitalizations"
    assert "SEX" in act(labels) and conf(labels) == "R"
    cat, labels = classify(cond(SCT, "105629000"), SourceFacts())
    assert cat == "conditions_problems_hospitalizations" and "STD" in act(labels)


def test_sud_code_not_from_part2_program():
    cat, labels = classify(cond(ICD, "F12.20"), SourceFacts())
    assert cat == "mental_health"
    assert "ETH" in act(labels) and "42CFRPart2" not in act(labels) and "NORDSCLCD" not in act(labels)


def test_nicotine_is_not_sud_or_mental_health():
    cat, labels = classify(cond(ICD, "F17.210"), SourceFacts())
    assert cat == "conditions_problems_hospitalizations" and conf(labels) == "N"


def test_mental_health_code():
    for code in ("F32.9", "F43.10", "F90.0", "f41.9"):
        cat, labels = classify(cond(ICD, code), SourceFacts())
        assert cat == "mental_health" and "MH" in act(labels) and conf(labels) == "R"


def test_psychotropic_rxnorm_is_mental_health():
    res = {"resourceType": "MedicationStatement", "status": "active", "subject": {"reference": "Patient/1"},
           "medicationCodeableConcept": {"coding": [{"system": RX, "code": "312938"}]}}
    assert classify(res, SourceFacts())[0] == "mental_health"
    res["medicationCodeableConcept"] = {"coding": [{"system": RX, "code": "999999", "display": "Fluoxetine 20 MG Oral Capsule"}]}
    assert classify(res, SourceFacts())[0] == "mental_health"
    res["medicationCodeableConcept"] = {"coding": [{"system": RX, "code": "745679"}], "text": "albuterol inhaler"}
    cat, labels = classify(res, SourceFacts())
    assert cat == "current_medications" and conf(labels) == "N"


def test_psychotherapy_note_label():
    res = {"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": {"contentType": "text/plain"}}]}
    cat, labels = classify(res, SourceFacts(labels=[{"system": ACTCODE_SYSTEM, "code": "PSYTHPN"}]))
    assert cat == "mental_health" and "PSYTHPN" in act(labels) and conf(labels) == "R"


def test_restricted_document_never_lowered():
    cat, labels = classify(cond(SCT, "195967001"), SourceFacts(confidentiality="R"))
    assert cat == "conditions_problems_hospitalizations" and conf(labels) == "R"
    cat, labels = classify(cond(SCT, "195967001"), SourceFacts(
        labels=[{"system": CONFIDENTIALITY_SYSTEM, "code": "V"}, {"system": CONFIDENTIALITY_SYSTEM, "code": "N"}]))
    assert conf(labels) == "V"
    res = cond(ICD, "F32.9", meta={"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": "V"}]})
    assert conf(classify(res, SourceFacts())[1]) == "V"


def test_unknown_source_labels_are_kept():
    lab = [{"system": ACTCODE_SYSTEM, "code": "NOREUSE"}, {"system": "urn:local", "code": "x"}]
    _, labels = classify(cond(SCT, "195967001"), SourceFacts(labels=lab))
    assert {("urn:local", "x"), (ACTCODE_SYSTEM, "NOREUSE")} <= {(x["system"], x["code"]) for x in labels}


def test_codes_found_in_every_coding_place():
    imm = {"resourceType": "Immunization", "status": "completed", "patient": {"reference": "Patient/1"},
           "occurrenceDateTime": "2020-01-01", "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "08"}]},
           "reasonCode": [{"coding": [{"system": ICD, "code": "Z21"}]}]}
    assert classify(imm, SourceFacts())[0] == "hiv"
    obs = {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": LNC, "code": "8302-2"}]},
           "valueCodeableConcept": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.96", "code": "47505003"}]}}
    assert classify(obs, SourceFacts())[0] == "mental_health"
    assert classify({"resourceType": "Immunization"}, SourceFacts())[0] == "immunizations"
    assert classify({"resourceType": "Patient"}, SourceFacts())[0] == "demographics_identity"


def test_code_flags_prefix_and_dots():
    assert code_flags(ICD, "F10.21") == {"sud"}
    assert code_flags("http://hl7.org/fhir/sid/icd-10", "B20") == {"hiv"}
    assert "repro" in code_flags(ICD, "O09.90") and "hiv" in code_flags(ICD, "O98.72")
    assert code_flags(ICD, "J45.909") == set()


@pytest.mark.parametrize("name", valuesets.names())
def test_every_value_set_is_a_valid_r4b_valueset(name):
    data = json.loads((Path(valuesets.__file__).parent / "valuesets" / f"{name}.json").read_text())
    vs = ValueSet.model_validate(data)
    assert vs.id == name and vs.compose.include
    assert valuesets.matcher(name)  # loads into matchers


def test_value_set_names():
    assert {"hiv", "substance-use", "mental-health", "reproductive-sexual-health", "psychotropic-medications"} <= set(valuesets.names())


def test_synthetic_rxnorm_codes_are_covered():
    from gateway.synth.health import PSYCHOTROPIC
    for rx, _, _ in PSYCHOTROPIC:
        assert valuesets.contains("psychotropic-medications", RX, rx)
