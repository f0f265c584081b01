"""The partner FHIR API end to end (Flask test client, real tokens, real policy, real store):
each requester sees exactly what the policy permits, and every request is audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.store import schema as s
from tests.fhir_api_support import (HIV_YOUTH, PART2_YOUTH, Partner, app_for, load_county, make_county,
                                    person_of, synthetic, youth_id)


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    return make_county(tmp_path_factory.mktemp("county"))


@pytest.fixture
def store(engine, county_dir):
    load_county(engine, county_dir)
    return engine


def labels(resource):
    return {l.get("code") for l in (resource.get("meta") or {}).get("security") or []}


def audit_rows(engine, yid):
    with engine.connect() as c:
        return list(c.execute(select(s.audit_event).where(s.audit_event.c.youth_id == yid).order_by(s.audit_event.c.seq)))


def test_attorney_of_record_sees_permitted_categories_and_another_attorney_gets_403(store):
    app = app_for(store)
    yid = youth_id(store, PART2_YOUTH)
    lawyer = Partner(app, store, "youth_attorney", person_of(store, yid, "attorney"), "HLEGAL")
    r = lawyer.get(f"/fhir/Patient/{yid}")
    assert r.status_code == 200 and r.get_json()["name"][0]["family"] == synthetic(PART2_YOUTH).family
    conditions = lawyer.get(f"/fhir/Condition?patient={yid}").get_json()
    assert conditions["resourceType"] == "Bundle" and conditions["type"] == "searchset"
    got = [e["resource"] for e in conditions["entry"]]
    assert not any({"42CFRPart2", "HIV"} & labels(c) for c in got), "Part 2 / HIV data without consent"
    other = Partner(app, store, "youth_attorney", "ATY-NOT-OF-RECORD", "HLEGAL")
    denied = other.get(f"/fhir/Patient/{yid}")
    assert denied.status_code == 403 and denied.get_json()["resourceType"] == "OperationOutcome"
    assert "not verified" in denied.get_json()["issue"][0]["diagnostics"]
    rows = audit_rows(store, yid)
    assert [r.outcome for r in rows if r.client_id == other.client.client_id] == ["deny"]
    assert any(r.outcome == "permit" and r.client_id == lawyer.client.client_id for r in rows)
    # a search by someone unrelated neither returns the youth nor reveals they exist
    ident = f"https://hep.lacounty.example/fhir/sid/cws-client-id|{synthetic(PART2_YOUTH).client_id}"
    assert other.get(f"/fhir/Patient?identifier={ident}").get_json()["total"] == 0
    assert lawyer.get(f"/fhir/Patient?identifier={ident}").get_json()["total"] == 1


def test_part2_appears_only_with_the_youths_consent_and_revocation_applies_next_request(store):
    app = app_for(store)
    yid = youth_id(store, PART2_YOUTH)
    lawyer = Partner(app, store, "youth_attorney", person_of(store, yid, "attorney"), "HLEGAL")

    def part2_conditions():
        bundle = lawyer.get(f"/fhir/Condition?patient={yid}&category=substance_use_disorder_part2").get_json()
        return [e["resource"] for e in bundle["entry"]]

    assert part2_conditions() == []
    youth = Partner(app, store, "youth", synthetic(PART2_YOUTH).client_id, "PATRQT")
    consent = {
        "resourceType": "Consent", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{yid}"}, "dateTime": "2026-11-20",
        "policy": [{"uri": "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2/subpart-C/section-2.31"}],
        "extension": [
            {"url": "https://hep.lacounty.example/fhir/StructureDefinition/consent-grantor",
             "valueCoding": {"system": "https://hep.lacounty.example/fhir/CodeSystem/hep-consent-grantor", "code": "youth"}},
            {"url": "https://hep.lacounty.example/fhir/StructureDefinition/consent-form",
             "valueCoding": {"system": "https://hep.lacounty.example/fhir/CodeSystem/hep-consent-form", "code": "part2_2.31"}},
            {"url": "https://hep.lacounty.example/fhir/StructureDefinition/consent-part2-compliant", "valueBoolean": True}],
        "provision": {"type": "permit", "period": {"end": "2027-06-30"},
                      "actor": [{"role": {"coding": [{"system": "https://hep.lacounty.example/fhir/CodeSystem/hep-requester-role",
                                                      "code": "youth_attorney"}]},
                                 "reference": {"display": "attorney of record"}}],
                      "class": [{"system": "https://hep.lacounty.example/fhir/CodeSystem/hep-data-category",
                                 "code": "substance_use_disorder_part2"}]}}
    created = youth.post("/fhir/Consent", consent)
    assert created.status_code == 201, created.get_json()
    released = part2_conditions()
    assert released, "the Part 2 consent should release the Part 2 records to the attorney"
    assert all({"42CFRPart2", "NORDSCLCD"} <= labels(c) for c in released)
    consent_id = created.headers["Location"].rsplit("/", 1)[1]
    assert youth.post(f"/fhir/Consent/{consent_id}/$revoke", {}).status_code == 200
    assert part2_conditions() == []

    # a sender that never got its answer sends the same consent again: created once
    system = "https://hep.lacounty.example/fhir/NamingSystem/hep-consent-id"
    retried = dict(consent, identifier=[{"system": system, "value": "sender-7f3a"}])
    first, again = youth.post("/fhir/Consent", retried), youth.post("/fhir/Consent", retried)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Location"] == first.headers["Location"] == "/fhir/Consent/sender-7f3a"
    changed = dict(retried, provision={**consent["provision"], "period": {"end": "2027-12-31"}})
    assert youth.post("/fhir/Consent", changed).status_code == 409          # same identifier, other content
    # FHIR conditional create: the match is returned whatever the content
    cond = youth.post("/fhir/Consent", changed, headers={"If-None-Exist": f"identifier={system}|sender-7f3a"})
    assert cond.status_code == 200 and cond.get_json()["provision"]["period"]["end"] == "2027-06-30"
    fresh = youth.post("/fhir/Consent", consent, headers={"If-None-Exist": "identifier=sender-8b21"})
    assert fresh.status_code == 201 and fresh.headers["Location"].endswith("/sender-8b21")
    assert youth.post("/fhir/Consent", consent, headers={"If-None-Exist": "name=x"}).status_code == 400
    with store.connect() as c:
        kept = c.execute(select(s.consent.c.id).where(s.consent.c.id.in_(["sender-7f3a", "sender-8b21"]))).all()
    assert len(kept) == 2


def test_hiv_records_stay_with_the_hiv_rules(store):
    app = app_for(store)
    yid = youth_id(store, HIV_YOUTH)
    worker = Partner(app, store, "county_social_worker", person_of(store, yid, "social_worker"), "x-CW-CASEMGT")
    bundle = worker.get(f"/fhir/Condition?patient={yid}").get_json()
    assert all("HIV" not in labels(e["resource"]) for e in bundle["entry"])
    with store.connect() as c:
        hiv_ids = [r.id for r in c.execute(select(s.resource.c.id).where(s.resource.c.youth_id == yid,
                                                                          s.resource.c.category == "hiv"))]
    assert hiv_ids, "the county should hold an HIV record for this youth"
    # reading the withheld resource by id is indistinguishable from a resource that does not exist
    r = worker.get(f"/fhir/Condition/{hiv_ids[0]}")
    assert r.status_code == 404 and r.get_json()["resourceType"] == "OperationOutcome"


def test_paging_and_errors(store):
    app = app_for(store)
    yid = youth_id(store, 3)
    worker = Partner(app, store, "county_social_worker", person_of(store, yid, "social_worker"), "x-CW-CASEMGT")
    full = worker.get(f"/fhir/Immunization?patient={yid}").get_json()
    assert full["total"] > 3
    page = worker.get(f"/fhir/Immunization?patient={yid}&_count=2&_offset=2").get_json()
    assert len(page["entry"]) == 2 and page["total"] == full["total"]
    assert [e["resource"]["id"] for e in page["entry"]] == [e["resource"]["id"] for e in full["entry"][2:4]]
    assert any(l["relation"] == "next" for l in page["link"])
    assert worker.get("/fhir/Immunization").status_code == 400
    assert worker.get(f"/fhir/Immunization?patient={yid}&_sort=date").status_code == 400
    assert worker.get(f"/fhir/Immunization?patient={yid}&date=notadate").status_code == 400
    team = worker.get(f"/fhir/CareTeam?patient={yid}").get_json()
    roles = {p["role"][0]["coding"][0]["code"] for p in team["entry"][0]["resource"]["participant"]}
    assert {"SW", "ATTY", "CG"} <= roles
    no_token = app.test_client().get(f"/fhir/Patient/{yid}")
    assert no_token.status_code == 401 and no_token.get_json()["resourceType"] == "OperationOutcome"


def test_accounting_of_disclosures_lists_who_looked(store):
    app = app_for(store)
    yid = youth_id(store, 5)
    worker = Partner(app, store, "county_social_worker", person_of(store, yid, "social_worker"), "x-CW-CASEMGT")
    assert worker.get(f"/fhir/Patient/{yid}").status_code == 200
    stranger = Partner(app, store, "youth_attorney", "ATY-X", "HLEGAL")
    assert stranger.get(f"/fhir/Patient/{yid}").status_code == 403
    youth = Partner(app, store, "youth", synthetic(5).client_id, "PATRQT")
    events = youth.get(f"/fhir/AuditEvent?patient={yid}").get_json()
    assert events["total"] >= 2
    outcomes = {e["resource"]["outcome"] for e in events["entry"]}
    assert "0" in outcomes and outcomes - {"0"}, "both the disclosure and the denial are listed"
    assert stranger.get(f"/fhir/AuditEvent?patient={yid}").status_code == 403


def test_an_unapproved_gateway_assignment_grants_nothing(store):
    from datetime import date as _date
    app = app_for(store)
    yid = youth_id(store, 7)
    with store.begin() as c:
        c.execute(s.care_assignment.insert().values(
            id="gw-unapproved", tenant_id="la", youth_id=yid, role="social_worker", person_id="SW-ROGUE",
            name="Rogue", start_date=_date(2026, 1, 1), source="gateway", approved_by=None))
    rogue = Partner(app, store, "county_social_worker", "SW-ROGUE", "x-CW-CASEMGT")
    assert rogue.get(f"/fhir/Patient/{yid}").status_code == 403
    with store.begin() as c:
        c.execute(s.care_assignment.update().where(s.care_assignment.c.id == "gw-unapproved")
                  .values(approved_by="supervisor@dcfs"))
    assert rogue.get(f"/fhir/Patient/{yid}").status_code == 200


def test_category_search_reads_allergy_categories_that_are_plain_codes(store):
    """AllergyIntolerance.category is a list of codes, not CodeableConcepts (found by schemathesis)."""
    app = app_for(store)
    with store.connect() as c:
        yid = c.execute(select(s.resource.c.youth_id).where(s.resource.c.rtype == "AllergyIntolerance")).scalars().first()
    worker = Partner(app, store, "county_social_worker", person_of(store, yid, "social_worker"), "x-CW-CASEMGT")
    every = worker.get(f"/fhir/AllergyIntolerance?patient={yid}").get_json()["entry"]
    assert every
    cats = {c for e in every for c in e["resource"].get("category", []) if isinstance(c, str)}
    for cat in cats | {"no-such-category"}:
        r = worker.get(f"/fhir/AllergyIntolerance?patient={yid}&category={cat}")
        assert r.status_code == 200
        assert {e["resource"]["id"] for e in r.get_json()["entry"]} == {
            e["resource"]["id"] for e in every if cat in e["resource"].get("category", [])}
