"""Vendor quirks on small inline C-CDA snippets."""
from __future__ import annotations

import codecs

import pytest

from adapters import ccda
from adapters.base import Problem, Record

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:sdtc="urn:hl7-org:sdtc">
  <templateId root="2.16.840.1.113883.10.20.22.1.1"/>
  <id root="1.2.3.4" extension="doc-1"/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
  <effectiveTime value="20170701101500-0700"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole>
    <id root="2.16.840.1.113883.19.5" extension="MRN-42"/>
    <addr><city>Los Angeles</city><state>CA</state><postalCode>90012-1234</postalCode></addr>
    <patient><name><given>Ana</given><given>Maria</given><family>Lopez</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="20080315"/></patient>
  </patientRole></recordTarget>
  <component><structuredBody>
{body}
  </structuredBody></component>
</ClinicalDocument>
"""

IMM_SECTION = """<component><section>
  <templateId root="2.16.840.1.113883.10.20.22.2.2.1" extension="2015-08-01"/>
  <code code="11369-6" codeSystem="2.16.840.1.113883.6.1"/>
  <text><table><tr><td ID="vac1">Measles, mumps and rubella vaccine</td></tr></table></text>
  {entries}
</section></component>"""


def imm_entry(mood="EVN", status="completed", effective='<effectiveTime value="20100315"/>', code=None,
              extra="", neg="false", ident="imm-1"):
    code = code or '<code code="03" codeSystem="2.16.840.1.113883.12.292" displayName="MMR"/>'
    return f"""<entry><substanceAdministration classCode="SBADM" moodCode="{mood}" negationInd="{neg}">
      <templateId root="2.16.840.1.113883.10.20.22.4.52"/>
      <id root="1.2.3.4.5" extension="{ident}"/>
      <statusCode code="{status}"/>{effective}{extra}
      <consumable><manufacturedProduct><manufacturedMaterial>{code}</manufacturedMaterial></manufacturedProduct></consumable>
    </substanceAdministration></entry>"""


def run(tmp_path, body, name="doc.xml", bom=False, **options):
    data = HEADER.replace("{body}", body).encode()
    p = tmp_path / name
    p.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    items = list(ccda.convert(p, **options))
    recs = [i for i in items if isinstance(i, Record)]
    probs = [i for i in items if isinstance(i, Problem)]
    return recs, probs


def of_type(recs, t):
    return [r.resource for r in recs if r.type == t]


def test_subject_from_the_header(tmp_path):
    recs, probs = run(tmp_path, "")
    s = recs[0].subject
    assert s.identifiers == (("mrn|2.16.840.1.113883.19.5", "MRN-42"),)
    assert (s.given, s.middle, s.family, s.birth_date, s.sex, s.postal_code) == ("Ana", "Maria", "Lopez", "2008-03-15", "F", "90012")
    # header-only document: Patient + DocumentReference + Provenance, nothing else
    assert sorted(r.type for r in recs) == ["DocumentReference", "Patient", "Provenance"]


def test_null_flavor_code_with_original_text_reference_and_translation(tmp_path):
    code = """<code nullFlavor="OTH"><originalText><reference value="#vac1"/></originalText>
                <translation code="90707" codeSystem="2.16.840.1.113883.6.12"/>
                <translation code="03" codeSystem="2.16.840.1.113883.12.292"/></code>"""
    recs, probs = run(tmp_path, IMM_SECTION.format(entries=imm_entry(code=code)))
    imm = of_type(recs, "Immunization")[0]
    assert imm["vaccineCode"]["text"] == "Measles, mumps and rubella vaccine"
    # CVX first (preferred primary coding), the CPT translation kept as an extra coding
    assert [c["code"] for c in imm["vaccineCode"]["coding"]] == ["03", "90707"]
    assert imm["vaccineCode"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/cvx"


def test_immunization_date_from_bare_value_and_from_low(tmp_path):
    e1 = imm_entry(ident="a")
    e2 = imm_entry(ident="b", effective='<effectiveTime xsi:type="IVL_TS"><low value="20110102"/><high value="20110102"/></effectiveTime>')
    recs, _ = run(tmp_path, IMM_SECTION.format(entries=e1 + e2))
    assert sorted(i["occurrenceDateTime"] for i in of_type(recs, "Immunization")) == ["2010-03-15", "2011-01-02"]


def test_immunization_mood_int_completed_is_converted_with_a_warning(tmp_path):
    entries = imm_entry(mood="INT", ident="given") + imm_entry(mood="INT", status="active", ident="planned")
    recs, probs = run(tmp_path, IMM_SECTION.format(entries=entries))
    imms = of_type(recs, "Immunization")
    assert len(imms) == 1 and imms[0]["status"] == "completed" and imms[0]["occurrenceDateTime"] == "2010-03-15"
    msgs = [p.message for p in probs]
    assert any("moodCode INT" in m and "administered" in m for m in msgs)
    assert any("planned immunization" in m for m in msgs)  # never dropped silently
    assert all(p.severity == "warning" for p in probs)


def test_negated_immunization_is_not_done(tmp_path):
    recs, _ = run(tmp_path, IMM_SECTION.format(entries=imm_entry(neg="true")))
    assert of_type(recs, "Immunization")[0]["status"] == "not-done"


def test_timestamp_without_offset_keeps_date_or_applies_configured_zone(tmp_path):
    body = IMM_SECTION.format(entries=imm_entry(ident="s", effective='<effectiveTime value="20170704093000"/>')
                              + imm_entry(ident="w", effective='<effectiveTime value="20170104093000"/>')
                              + imm_entry(ident="z", effective='<effectiveTime value="20170104093000+0100"/>'))
    recs, _ = run(tmp_path, body)
    got = {i["occurrenceDateTime"]: i for i in of_type(recs, "Immunization")}
    assert set(got) == {"2017-07-04", "2017-01-04", "2017-01-04T09:30:00+01:00"}
    # the original HL7 string is kept when the time was dropped
    assert got["2017-07-04"]["_occurrenceDateTime"]["extension"][0]["valueString"] == "20170704093000"
    recs, _ = run(tmp_path, body, tz="America/Los_Angeles")
    assert {i["occurrenceDateTime"] for i in of_type(recs, "Immunization")} == {
        "2017-07-04T09:30:00-07:00", "2017-01-04T09:30:00-08:00", "2017-01-04T09:30:00+01:00"}


def test_medication_effective_low_high_and_rxnorm_preferred(tmp_path):
    body = """<component><section><templateId root="2.16.840.1.113883.10.20.22.2.1.1"/>
      <code code="10160-0" codeSystem="2.16.840.1.113883.6.1"/>
      <entry><substanceAdministration classCode="SBADM" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.22.4.16"/><id root="9.9" extension="m1"/>
        <statusCode code="active"/>
        <effectiveTime xsi:type="IVL_TS"><low value="20160101"/><high value="20160301"/></effectiveTime>
        <effectiveTime xsi:type="PIVL_TS" operator="A"><period value="12" unit="h"/></effectiveTime>
        <doseQuantity value="1"/>
        <consumable><manufacturedProduct><manufacturedMaterial>
          <code code="00093-3147" codeSystem="2.16.840.1.113883.6.69">
            <translation code="308182" codeSystem="2.16.840.1.113883.6.88" displayName="Amoxicillin 250 MG"/></code>
        </manufacturedMaterial></manufacturedProduct></consumable>
      </substanceAdministration></entry></section></component>"""
    recs, probs = run(tmp_path, body)
    med = of_type(recs, "MedicationStatement")[0]
    assert med["effectivePeriod"] == {"start": "2016-01-01", "end": "2016-03-01"}
    assert med["medicationCodeableConcept"]["coding"][0]["code"] == "308182"
    assert med["dosage"][0]["timing"]["repeat"] == {"period": 12, "periodUnit": "h"}
    assert med["status"] == "active"


ALLERGY = """<component><section><templateId root="2.16.840.1.113883.10.20.22.2.6.1"/>
  <code code="48765-2" codeSystem="2.16.840.1.113883.6.1"/>{entries}</section></component>"""


def allergy_entry(neg, participant, ident):
    return f"""<entry><act classCode="ACT" moodCode="EVN"><templateId root="2.16.840.1.113883.10.20.22.4.30"/>
      <id root="7.7" extension="c{ident}"/><statusCode code="active"/>
      <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN" negationInd="{neg}">
        <templateId root="2.16.840.1.113883.10.20.22.4.7"/><id root="7.7" extension="{ident}"/>
        <code code="ASSERTION" codeSystem="2.16.840.1.113883.5.4"/><statusCode code="completed"/>
        <value xsi:type="CD" code="419511003" codeSystem="2.16.840.1.113883.6.96"/>
        {participant}
      </observation></entryRelationship></act></entry>"""


PENICILLIN = """<participant typeCode="CSM"><participantRole classCode="MANU"><playingEntity classCode="MMAT">
  <code code="7980" codeSystem="2.16.840.1.113883.6.88" displayName="Penicillin G"/></playingEntity></participantRole></participant>"""
NULL_AGENT = """<participant typeCode="CSM"><participantRole classCode="MANU"><playingEntity classCode="MMAT">
  <code nullFlavor="NA"/></playingEntity></participantRole></participant>"""


def test_negated_allergy_no_known_and_refuted_and_missing_participant(tmp_path):
    entries = allergy_entry("true", NULL_AGENT, "nka") + allergy_entry("true", PENICILLIN, "refuted") \
        + allergy_entry("false", "", "noparticipant") + allergy_entry("false", PENICILLIN, "real")
    recs, probs = run(tmp_path, ALLERGY.format(entries=entries))
    algs = of_type(recs, "AllergyIntolerance")
    assert len(algs) == 4
    nka, refuted, nopart, real = algs
    assert nka["code"]["coding"][0]["code"] == "716186003"
    assert nka["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert refuted["verificationStatus"]["coding"][0]["code"] == "refuted" and "clinicalStatus" not in refuted
    assert refuted["code"]["coding"][0]["code"] == "7980"
    assert nopart["code"]["coding"][0]["code"] == "419511003"  # allergy type used, with a warning
    assert any("without allergen participant" in p.message and p.severity == "warning" for p in probs)
    assert real["category"] == ["medication"] and real["clinicalStatus"]["coding"][0]["code"] == "active"


def test_broken_entries_become_problems_and_siblings_still_convert(tmp_path):
    broken_concern = """<entry><act classCode="ACT" moodCode="EVN"><templateId root="2.16.840.1.113883.10.20.22.4.30"/>
        <id root="7.7" extension="empty"/><statusCode code="active"/></act></entry>"""
    body = ALLERGY.format(entries=allergy_entry("false", PENICILLIN, "ok1") + broken_concern
                          + allergy_entry("false", PENICILLIN, "ok2"))
    # an entry whose content does not validate as FHIR (dose number beyond the positiveInt range)
    body += IMM_SECTION.format(entries=imm_entry(ident="bad", extra='<repeatNumber value="99999999999"/>')
                               + imm_entry(ident="good"))
    recs, probs = run(tmp_path, body)
    assert len(of_type(recs, "AllergyIntolerance")) == 2
    assert len(of_type(recs, "Immunization")) == 1
    errors = [p for p in probs if p.severity == "error"]
    assert len(errors) == 2 and not any(p.fatal for p in probs)
    concern, invalid = errors
    assert "allergy concern without an allergy observation" in concern.message
    assert concern.line > 20 and concern.field.endswith("/section/entry[2]/act")
    assert "did not validate" in invalid.message and "doseNumberPositiveInt" in invalid.message
    assert invalid.raw and "99999999999" in invalid.raw


def test_utf8_bom_is_accepted(tmp_path):
    recs, probs = run(tmp_path, IMM_SECTION.format(entries=imm_entry()), bom=True)
    assert of_type(recs, "Immunization") and not [p for p in probs if p.severity == "error"]


def test_sections_found_by_extension_only_template_or_by_loinc_code(tmp_path):
    ext_only = IMM_SECTION.format(entries=imm_entry(ident="x"))  # only the R2.1 templateId with @extension
    loinc_only = """<component><section><code code="11369-6" codeSystem="2.16.840.1.113883.6.1"/>""" + \
        imm_entry(ident="y") + "</section></component>"
    recs, _ = run(tmp_path, ext_only + loinc_only)
    assert len(of_type(recs, "Immunization")) == 2


def test_unknown_xsi_type_and_problem_status(tmp_path):
    body = """<component><section><templateId root="2.16.840.1.113883.10.20.22.2.5.1"/>
      <title xsi:type="SC">Problems</title>
      <entry><act classCode="ACT" moodCode="EVN"><templateId root="2.16.840.1.113883.10.20.22.4.3"/>
        <id root="5.5" extension="p"/><statusCode code="completed"/>
        <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.22.4.4"/><id root="5.5" extension="o"/>
          <code code="55607006" codeSystem="2.16.840.1.113883.6.96"/>
          <effectiveTime><low value="20150301"/><high value="20150601"/></effectiveTime>
          <value xsi:type="CD" code="195967001" codeSystem="2.16.840.1.113883.6.96" displayName="Asthma">
            <translation code="J45.909" codeSystem="2.16.840.1.113883.6.90"/></value>
        </observation></entryRelationship></act></entry></section></component>
      <component><section><templateId root="2.16.840.1.113883.10.20.22.2.17"/>
      <entry><observation classCode="OBS" moodCode="EVN"><templateId root="2.16.840.1.113883.10.20.22.4.38"/>
        <code code="X-1" codeSystem="1.2.3"/><statusCode code="completed"/>
        <value xsi:type="XYZ_UNKNOWN">free text value</value></observation></entry></section></component>"""
    recs, probs = run(tmp_path, body)
    cond = of_type(recs, "Condition")[0]
    assert cond["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert cond["onsetDateTime"] == "2015-03-01" and cond["abatementDateTime"] == "2015-06-01"
    assert [c["code"] for c in cond["code"]["coding"]] == ["195967001", "J45.909"]
    obs = of_type(recs, "Observation")[0]
    assert obs["valueString"] == "free text value"
    assert obs["category"][0]["coding"][0]["code"] == "social-history"


def test_not_a_clinical_document_is_refused(tmp_path):
    p = tmp_path / "x.xml"
    p.write_text("<foo/>")
    items = list(ccda.convert(p))
    assert len(items) == 1 and items[0].fatal and "ClinicalDocument" in items[0].message


@pytest.mark.parametrize("value,expected", [("2017", "2017"), ("201707", "2017-07"), ("20170704", "2017-07-04"),
                                            ("201707041230-0500", "2017-07-04T12:30:00-05:00"),
                                            ("20170704123015.5+0000", "2017-07-04T12:30:15.5+00:00"),
                                            ("20171304", None), ("-08", None)])
def test_timestamp_parsing(value, expected):
    from adapters.ccda_datatypes import TimePolicy
    assert TimePolicy().convert(value)[0] == expected
