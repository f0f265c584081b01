"""Store rows -> request (facts builder) and consent rows <-> FHIR R4 Consent."""
from __future__ import annotations

from fhir.resources.R4B.consent import Consent

from gateway.policy import decide
from gateway.policy.consent_fhir import CATEGORY_SYSTEM, consent_to_fhir, fhir_to_consent
from gateway.policy.facts import age_on, build_request

SW = {"role": "county_social_worker", "on_caseload": True}
ERH = {"role": "education_rights_holder", "assigned_to_youth": True}


def _youth(birth_date="2014-07-01"):
    return {"birth_date": birth_date, "jurisdiction": "dependent_300", "in_foster_care": True}


def _build(**kw):
    args = dict(request_id="F", as_of="2026-07-01", requester=SW, purpose="x-EDU-SUPPORT",
                purpose_system="local", youth=_youth(), consents=[], court_orders=[],
                category="attendance")
    args.update(kw)
    return build_request(**args)


def test_age_on_birthdays():
    assert age_on("2014-07-01", "2026-07-01") == 12
    assert age_on("2014-07-02", "2026-07-01") == 11
    assert age_on("2008-07-01", "2026-07-01") == 18
    assert age_on("2008-07-02", "2026-07-01") == 17
    assert age_on("2012-02-29", "2026-02-28") == 13
    assert age_on("2012-02-29", "2026-03-01") == 14


def test_request_shape_is_accepted_by_decide():
    req = _build()
    assert req["youth"] == {"age": 12, "in_foster_care": True, "court_limited_parent_ed_rights": False,
                            "jurisdiction": "dependent_300"}
    assert decide(req)["decision"] == "permit"


def _jv535(status="active", issued="2025-03-01", **kw):
    return {"id": "o1", "type": "jv535_erh_appointment", "status": status, "issued": issued,
            "expires": None, "scope": ["education_decisions"], "recipients": ["education_rights_holder"],
            "limits_parent_ed_rights": True, **kw}


def test_parent_ed_rights_limited_from_orders():
    assert _build(court_orders=[_jv535()])["youth"]["court_limited_parent_ed_rights"] is True
    assert _build(court_orders=[_jv535("vacated")])["youth"]["court_limited_parent_ed_rights"] is False
    assert _build(court_orders=[_jv535(expires="2026-06-30")])["youth"]["court_limited_parent_ed_rights"] is False
    assert _build(court_orders=[_jv535(issued="2026-08-01")])["youth"]["court_limited_parent_ed_rights"] is False
    restore = {"id": "o2", "type": "jv535_restores_parent_ed_rights", "status": "active",
               "issued": "2026-02-01", "expires": None, "scope": [], "recipients": []}
    assert _build(court_orders=[_jv535(), restore])["youth"]["court_limited_parent_ed_rights"] is False
    # An appointment made after the restoring order limits the parent again.
    later = _jv535(issued="2026-03-01", id="o3")
    assert _build(court_orders=[_jv535(), restore, later])["youth"]["court_limited_parent_ed_rights"] is True


def test_erh_sees_vacated_appointment_and_is_denied():
    ok = _build(requester=ERH, court_orders=[_jv535()])
    assert ok["court_order"]["type"] == "jv535_erh_appointment"
    assert decide(ok)["decision"] == "permit"
    vacated = _build(requester=ERH, court_orders=[_jv535("vacated")])
    assert vacated["court_order"]["status"] == "vacated"
    assert decide(vacated)["decision"] == "deny"


def test_relevant_order_prefers_part2_order_for_part2_data():
    o827 = {"id": "a", "type": "wic827_release_order", "status": "active", "issued": "2026-01-01",
            "scope": ["substance_use_disorder_part2"], "recipients": ["county_social_worker"]}
    o264 = dict(o827, id="b", type="part2_2.64_order")
    req = _build(category="substance_use_disorder_part2", purpose="COC", purpose_system="v3-ActReason",
                 court_orders=[o827, o264], item_flags={"part2_program_record": True})
    assert req["court_order"]["id"] == "b"
    assert req["youth"]["part2_program_record"] is True
    assert decide(req)["decision"] == "permit"
    # An order that does not name the requester is not relevant.
    req = _build(category="placement_case_information", court_orders=[dict(o827, scope=["placement_case_information"],
                                                                           recipients=["caregiver"])])
    assert req["court_order"] is None


def _p2_row(**kw):
    row = {"id": "c1", "grantor": "youth", "scope": ["substance_use_disorder_part2"],
           "recipients": ["county_social_worker"], "status": "active", "expires": "2027-06-30",
           "form": "part2_2.31", "part2_compliant": True, "signed": "2026-05-01"}
    row.update(kw)
    return row


def test_consents_carry_age_at_signing_and_irrelevant_ones_are_dropped():
    other = _p2_row(id="c2", scope=["hiv"])
    req = _build(category="substance_use_disorder_part2", consents=[_p2_row(), other],
                 item_flags={"part2_program_record": True})
    assert [c["id"] for c in req["consents"]] == ["c1"]
    assert req["consents"][0]["youth_age_at_signing"] == 11     # signed before the 12th birthday
    req["purpose_of_use"], req["purpose_of_use_system"] = "COC", "v3-ActReason"
    assert decide(req)["decision"] == "deny"                    # no authority when signed


def test_fhir_round_trip_and_validation():
    rows = [
        _p2_row(),
        _p2_row(id="c2", grantor="erh", scope=["education_records", "attendance"], form="ferpa_99.30",
                expires=None, part2_compliant=None, recipients=["treating_provider", "school"],
                purpose="x-EDU-SUPPORT"),
        _p2_row(id="c3", status="revoked", revoked_on="2026-06-01", form="hiv_120980g", scope=["hiv"],
                single_disclosure=True, expires=None),
        _p2_row(id="c4", form="part2_2.31_tpo", expires=None, expiration_event="end of treatment",
                recipients=["treating_provider"], status="expired"),
    ]
    for row in rows:
        row = {k: v for k, v in row.items() if v is not None}
        resource = consent_to_fhir(row, patient_reference="Patient/y-1")
        Consent.model_validate(resource)
        assert resource["patient"]["reference"] == "Patient/y-1"
        assert resource["scope"]["coding"][0]["code"] == "patient-privacy"
        assert {c["code"] for c in resource["provision"]["class"]} == set(row["scope"])
        assert all(c["system"] == CATEGORY_SYSTEM for c in resource["provision"]["class"])
        assert fhir_to_consent(resource) == row


def test_fhir_status_and_labels():
    active = consent_to_fhir(_p2_row(), patient_reference="Patient/y")
    assert active["status"] == "active" and active["dateTime"] == "2026-05-01"
    assert active["provision"]["period"]["end"] == "2027-06-30"
    assert {c["code"] for c in active["category"][1]["coding"]} == {"64292-6"}
    assert {"42CFRPart2", "ETH"} <= {s["code"] for s in active["provision"]["securityLabel"]}
    revoked = consent_to_fhir(_p2_row(status="revoked", revoked_on="2026-06-01"), patient_reference="Patient/y")
    assert revoked["status"] == "inactive"
    # A partner's rejected or entered-in-error consent never becomes usable.
    for status in ("rejected", "entered-in-error", "inactive"):
        assert fhir_to_consent(dict(active, status=status))["status"] != "active"
