"""Decisions written from ../shared/law.md, one expectation per rule and per boundary.

Each expectation below was read off the law (matrix 3.1/3.2, row notes 3.3, rules 4.1-4.3,
obligations 5, uncertainty notes 6 - protective reading), not produced by running the code.
"""
from __future__ import annotations

import pytest

import mappings
from gateway.policy import decide
from tests.policy_support import consent, order, request, rule_ids

ALL_CATEGORIES = list(mappings.categories())
EDU = ["enrollment_school_placement", "attendance", "grades_transcripts_credits", "assessments",
       "discipline", "special_education_iep_504"]


# --- relationship first (law.md 2) -------------------------------------------------------------
@pytest.mark.parametrize("category", ALL_CATEGORIES)
def test_social_worker_without_caseload_is_denied_everything(category):
    d = decide(request("county_social_worker", category, related=False))
    assert d["decision"] == "deny"
    assert rule_ids(d) == ["relationship.social_worker"]


@pytest.mark.parametrize("role", ["probation_officer", "youth_attorney", "casa", "caregiver",
                                  "treating_provider", "mental_health_provider", "school"])
def test_unrelated_requester_is_denied(role):
    d = decide(request(role, "demographics_identity", related=False))
    assert d["decision"] == "deny"
    assert rule_ids(d)[0].startswith("relationship.")


def test_relationship_denial_beats_a_valid_consent():
    c = consent("youth", ["substance_use_disorder_part2"], ["county_social_worker"], "part2_2.31",
                part2_compliant=True)
    d = decide(request("county_social_worker", "substance_use_disorder_part2", consents=[c],
                       related=False, youth={"part2_program_record": True}))
    assert d["decision"] == "deny" and rule_ids(d) == ["relationship.social_worker"]


# --- education: caseworker, probation, caregiver, school, ages 17/18 (3.1, 3.3 note 2, 4.1) -----
@pytest.mark.parametrize("category", EDU)
def test_assigned_social_worker_gets_school_records_with_ferpa_notice(category):
    d = decide(request("county_social_worker", category, age=17, purpose="x-EDU-SUPPORT"))
    assert d["decision"] == "permit"
    assert {"log_disclosure", "ferpa_redisclosure_notice"} <= set(d["obligations"])
    assert rule_ids(d) == ["edu.caseworker.usa"]


def test_social_worker_needs_education_or_casework_purpose():
    assert decide(request(category="attendance", purpose="COC"))["decision"] == "deny"


def test_social_worker_education_needs_foster_care():
    d = decide(request(category="attendance", youth={"in_foster_care": False}))
    assert d["decision"] == "deny" and rule_ids(d) == ["edu.casework.not_in_care"]


def test_at_18_school_records_need_the_youths_own_consent():
    assert decide(request(category="grades_transcripts_credits", age=17))["decision"] == "permit"
    d = decide(request(category="grades_transcripts_credits", age=18))
    assert d["decision"] == "deny" and rule_ids(d) == ["nmd.needs_youth_consent"]
    c = consent("youth", ["grades_transcripts_credits"], ["county_social_worker"], "ferpa_99.30")
    assert decide(request(category="grades_transcripts_credits", age=18, consents=[c]))["decision"] == "permit"


def test_probation_education_only_for_ward_in_foster_placement():
    placed = decide(request("probation_officer", "attendance",
                            youth={"jurisdiction": "ward_602_foster_placement"}))
    assert placed["decision"] == "permit"
    home = decide(request("probation_officer", "attendance",
                          youth={"jurisdiction": "ward_602_home", "in_foster_care": False}))
    assert home["decision"] == "deny"


def test_caregiver_school_records_until_18():
    assert decide(request("caregiver", "discipline", age=17))["decision"] == "permit"
    assert decide(request("caregiver", "discipline", age=18))["decision"] == "deny"


def test_school_gets_records_for_enrollment_with_notice():
    d = decide(request("school", "grades_transcripts_credits"))
    assert d["decision"] == "permit" and "ferpa_redisclosure_notice" in d["obligations"]
    other = decide(request("school", "grades_transcripts_credits", requester={"school_relation": "unrelated"}))
    assert other["decision"] == "deny"


# --- consent to a third party: grantor, dates, recipient, scope (4.2, 4.3) ---------------------
def _tx_edu(c, *, limited=False, age=14):
    return decide(request("treating_provider", "grades_transcripts_credits", age=age, consents=[c] if c else [],
                          youth={"court_limited_parent_ed_rights": limited}))


def _parent_consent(**kw):
    kw.setdefault("recipients", ["treating_provider"])
    return consent(kw.pop("grantor", "parent"), kw.pop("scope", ["grades_transcripts_credits"]),
                   kw.pop("recipients"), kw.pop("form", "ferpa_99.30"), **kw)


def test_provider_needs_consent_for_school_records():
    d = _tx_edu(None)
    assert d["decision"] == "deny" and rule_ids(d) == ["edu.consent.missing"]
    assert _tx_edu(_parent_consent())["decision"] == "permit"


def test_parent_consent_void_while_court_limits_ed_rights_erh_consent_counts():
    assert _tx_edu(_parent_consent(), limited=True)["decision"] == "deny"
    assert _tx_edu(_parent_consent(grantor="erh"), limited=True)["decision"] == "permit"
    assert _tx_edu(_parent_consent(grantor="erh"), limited=False)["decision"] == "deny"


def test_limitation_from_jv535_order_on_the_request():
    c = _parent_consent()
    o = order("jv535_erh_appointment", ["education_decisions"], ["education_rights_holder"])
    d = decide(request("treating_provider", "grades_transcripts_credits", consents=[c], court_order=o))
    assert d["decision"] == "deny"          # the in-force appointment limits the parent
    vacated = dict(o, status="vacated")
    d = decide(request("treating_provider", "grades_transcripts_credits", consents=[c], court_order=vacated))
    assert d["decision"] == "permit"        # a vacated order is ignored


def test_at_18_only_the_youth_consents_to_school_records():
    assert _tx_edu(_parent_consent(), age=18)["decision"] == "deny"
    assert _tx_edu(_parent_consent(grantor="youth"), age=18)["decision"] == "permit"
    assert _tx_edu(_parent_consent(grantor="youth"), age=17)["decision"] == "deny"


@pytest.mark.parametrize("expires,expected", [("2026-06-30", "deny"), ("2026-07-01", "deny"),
                                              ("2026-07-02", "permit")])
def test_consent_expiry_by_date(expires, expected):
    assert _tx_edu(_parent_consent(expires=expires))["decision"] == expected


def test_active_status_is_not_trusted_when_dates_say_otherwise():
    assert _tx_edu(_parent_consent(revoked_on="2026-06-01"))["decision"] == "deny"
    assert _tx_edu(_parent_consent(revoked_on="2026-07-01"))["decision"] == "deny"
    assert _tx_edu(_parent_consent(signed="2026-07-02"))["decision"] == "deny"      # post-dated
    assert _tx_edu(_parent_consent(signed=None))["decision"] == "deny"              # unsigned


@pytest.mark.parametrize("status", ["revoked", "expired"])
def test_revoked_or_expired_status(status):
    assert _tx_edu(_parent_consent(status=status))["decision"] == "deny"


def test_consent_for_another_recipient_category_or_form_does_not_count():
    assert _tx_edu(_parent_consent(recipients=["county_social_worker"]))["decision"] == "deny"
    assert _tx_edu(_parent_consent(scope=["attendance"]))["decision"] == "deny"
    assert _tx_edu(_parent_consent(form="cmia_56.11"))["decision"] == "deny"
    assert _tx_edu(_parent_consent(scope=["education_records"]))["decision"] == "permit"


def test_consent_limited_to_another_purpose_does_not_count():
    assert _tx_edu(_parent_consent(purpose="COC"))["decision"] == "deny"
    assert _tx_edu(_parent_consent(purpose="TREAT"))["decision"] == "permit"


# --- mental health (row 13, note 5) ------------------------------------------------------------
MH_ELEMENTS = ["mh_condition", "mh_history", "psychotropic_medications", "psychotherapy_notes"]


def test_social_worker_mental_health_summary_without_notes_until_18():
    d = decide(request(category="mental_health", purpose="COC", age=17, elements=MH_ELEMENTS))
    assert d["decision"] == "permit-redacted" and d["redactions"] == ["psychotherapy_notes"]
    assert "cmia_56.103_redisclosure_and_inadmissibility_notice" in d["obligations"]
    assert decide(request(category="mental_health", purpose="COC", age=18))["decision"] == "deny"
    c = consent("youth", ["mental_health"], ["county_social_worker"], "cmia_56.11")
    d = decide(request(category="mental_health", purpose="COC", age=18, consents=[c]))
    assert d["decision"] == "permit-redacted" and d["redactions"] == ["psychotherapy_notes"]


def test_caregiver_gets_condition_and_medications_only():
    d = decide(request("caregiver", "mental_health", elements=MH_ELEMENTS))
    assert d["decision"] == "permit-redacted"
    assert d["redactions"] == ["mh_history", "psychotherapy_notes"]


def test_provider_asking_only_for_condition_gets_it_whole():
    d = decide(request("mental_health_provider", "mental_health", elements=["mh_condition"]))
    assert d["decision"] == "permit" and "redactions" not in d


def test_erh_never_gets_health_data():
    for cat in ["immunizations", "mental_health", "hiv"]:
        d = decide(request("education_rights_holder", cat,
                           youth={"court_limited_parent_ed_rights": True}))
        assert d["decision"] == "deny", cat


# --- Part 2 (row 14, note 6, 2.14 ages) ---------------------------------------------------------
def _p2(grantor="youth", recipients=("county_social_worker",), form="part2_2.31", compliant=True, **kw):
    return consent(grantor, ["substance_use_disorder_part2"], recipients, form,
                   part2_compliant=compliant, **kw)


def _sud(role="county_social_worker", consents=(), age=14, **kw):
    return decide(request(role, "substance_use_disorder_part2", age=age, consents=consents,
                          youth={"part2_program_record": True}, **kw))


def test_part2_youth_consent_at_12_and_11():
    ok = _sud(consents=[_p2()], age=12)
    assert ok["decision"] == "permit"
    assert {"part2_2.32_notice", "part2_consent_copy"} <= set(ok["obligations"])
    assert _sud(consents=[_p2()], age=11)["decision"] == "deny"
    assert _sud(consents=[_p2(), _p2("court")], age=11)["decision"] == "permit"


def test_part2_consent_signed_at_11_does_not_count_at_12():
    assert _sud(consents=[_p2(youth_age_at_signing=11)], age=12)["decision"] == "deny"
    assert _sud(consents=[_p2(youth_age_at_signing=12)], age=12)["decision"] == "permit"


def test_part2_consent_missing_2_31_elements_is_refused():
    d = _sud(consents=[_p2(compliant=False)])
    assert d["decision"] == "deny" and rule_ids(d) == ["part2.no_consent"]


def test_part2_parent_or_general_authorization_is_refused():
    assert _sud(consents=[_p2("parent")])["decision"] == "deny"
    assert _sud(consents=[_p2(form="cmia_56.11")])["decision"] == "deny"


def test_part2_treatment_consent_form_is_for_providers_only():
    tpo = _p2(recipients=["county_social_worker", "treating_provider"], form="part2_2.31_tpo",
              expires=None, expiration_event="end of treatment")
    assert _sud(consents=[tpo])["decision"] == "deny"
    assert _sud("treating_provider", consents=[tpo])["decision"] == "permit"


def test_part2_medical_emergency():
    d = _sud("treating_provider", purpose="ETREAT", requester={"medical_emergency": True})
    assert d["decision"] == "permit" and "part2_2.51_documentation" in d["obligations"]
    assert _sud("treating_provider", purpose="ETREAT")["decision"] == "deny"


def test_part2_court_order():
    o = order("part2_2.64_order", ["substance_use_disorder_part2"], ["county_social_worker"])
    assert _sud(court_order=o)["decision"] == "permit"
    assert _sud(court_order=dict(o, status="vacated"))["decision"] == "deny"
    assert _sud(court_order=dict(o, expires="2026-07-01"))["decision"] == "deny"
    assert _sud(court_order=dict(o, recipients=["caregiver"]))["decision"] == "deny"


def test_part2_flag_overrides_ordinary_health_rule():
    # A treating provider normally gets conditions; from a Part 2 program it needs Part 2 consent.
    assert decide(request("treating_provider", "conditions_problems_hospitalizations"))["decision"] == "permit"
    flagged = dict(youth={"part2_program_record": True})
    d = decide(request("treating_provider", "conditions_problems_hospitalizations", **flagged))
    assert d["decision"] == "deny" and "part2.no_consent" in rule_ids(d)
    c = consent("youth", ["conditions_problems_hospitalizations"], ["treating_provider"], "part2_2.31",
                part2_compliant=True)
    d = decide(request("treating_provider", "conditions_problems_hospitalizations", consents=[c], **flagged))
    assert d["decision"] == "permit" and "part2_consent_copy" in d["obligations"]


def test_youth_sees_own_part2_records_school_and_erh_never():
    assert decide(request("youth", "substance_use_disorder_part2"))["decision"] == "permit"
    assert _sud("school")["decision"] == "deny"


# --- minor-consented services (row 15, note 7, 6.4) --------------------------------------------
def _mc(role="county_social_worker", consents=(), **kw):
    return decide(request(role, "reproductive_sexual_health_minor_consented", age=15, consents=consents,
                          youth={"minor_consented_service": True, "service_type": "contraception_fam6925"},
                          **kw))


def _youth_auth(recipients=("county_social_worker",), **kw):
    return consent("youth", ["reproductive_sexual_health_minor_consented"], recipients, "cmia_56.11", **kw)


def test_minor_consented_records_need_the_youths_authorization():
    d = _mc()
    assert d["decision"] == "deny" and rule_ids(d) == ["minor_consented.youth_controls"]
    d = _mc(consents=[_youth_auth()])
    assert d["decision"] == "permit" and "ab352_in_state_only" in d["obligations"]


def test_nobody_else_can_authorize_minor_consented_records():
    for grantor in ("parent", "erh", "court"):
        c = consent(grantor, ["reproductive_sexual_health_minor_consented"], ["county_social_worker"], "cmia_56.11")
        assert _mc(consents=[c])["decision"] == "deny", grantor


def test_cmia_authorization_needs_a_specific_end_date():
    assert _mc(consents=[_youth_auth(expires=None, expiration_event="end of treatment")])["decision"] == "deny"


def test_minor_consented_treating_provider_school_state():
    assert _mc("treating_provider")["decision"] == "permit"
    assert _mc("school")["decision"] == "deny"
    assert _mc("state_cms")["decision"] == "deny"
    assert _mc("caregiver", consents=[_youth_auth(["caregiver"])])["decision"] == "permit"


def test_minor_consented_mental_health_follows_row_15():
    flagged = {"minor_consented_service": True, "service_type": "outpatient_mental_health_fam6924"}
    d = decide(request(category="mental_health", purpose="COC", youth=flagged))
    assert d["decision"] == "deny"
    c = consent("youth", ["mental_health"], ["county_social_worker"], "cmia_56.11")
    d = decide(request(category="mental_health", purpose="COC", youth=flagged, consents=[c]))
    assert d["decision"] == "permit-redacted" and "ab352_in_state_only" in d["obligations"]


# --- HIV (row 16, 6.2, 6.13, 6.14) ---------------------------------------------------------------
def _hiv(role="county_social_worker", consents=(), age=12, **kw):
    return decide(request(role, "hiv", age=age, consents=consents, **kw))


def _hiv_auth(grantor="youth", recipients=("county_social_worker",), single=True):
    return consent(grantor, ["hiv"], recipients, "hiv_120980g", expires=None, single_disclosure=single)


def test_hiv_authorization_per_disclosure_youth_from_12_court_below():
    assert _hiv(consents=[_hiv_auth()], age=12)["decision"] == "permit"
    assert _hiv(consents=[_hiv_auth(single=False)], age=12)["decision"] == "deny"
    assert _hiv(consents=[_hiv_auth()], age=11)["decision"] == "deny"
    assert _hiv(consents=[_hiv_auth("court")], age=11)["decision"] == "permit"
    assert _hiv()["decision"] == "deny"


def test_hiv_to_treating_provider_for_treatment_only():
    assert _hiv("treating_provider")["decision"] == "permit"
    assert _hiv("treating_provider", purpose="COC")["decision"] == "deny"


def test_attorney_hiv_needs_authorization_or_order():
    assert _hiv("youth_attorney")["decision"] == "deny"
    o = order("wic827_release_order", ["hiv"], ["youth_attorney"])
    assert _hiv("youth_attorney", court_order=o)["decision"] == "permit"


# --- ERH, CASA, 827 orders, case file (3.1, 4.3, 6.3) -------------------------------------------
def _erh(category="grades_transcripts_credits", age=15, limited=True, **kw):
    return decide(request("education_rights_holder", category, age=age,
                          youth={"court_limited_parent_ed_rights": limited}, **kw))


def test_erh_holds_rights_only_while_court_limits_parent_and_under_18():
    assert _erh(age=17)["decision"] == "permit"
    d = _erh(age=18)
    assert d["decision"] == "deny" and rule_ids(d) == ["relationship.education_rights_holder"]
    assert _erh(limited=False)["decision"] == "deny"


def test_erh_appointment_vacated_or_restored():
    appt = order("jv535_erh_appointment", ["education_decisions"], ["education_rights_holder"])
    assert _erh(court_order=appt)["decision"] == "permit"
    assert _erh(court_order=dict(appt, status="vacated"))["decision"] == "deny"
    restore = order("jv535_restores_parent_ed_rights", ["education_decisions"], ["education_rights_holder"])
    assert _erh(court_order=restore)["decision"] == "deny"


def test_erh_court_orders_only_jv535():
    d = _erh("court_orders", elements=["jv535_order", "jv220_order"])
    assert d["decision"] == "permit-redacted" and d["redactions"] == ["jv220_order"]


def test_casa_needs_order_covering_category():
    o = order("casa_appointment", ["education_records"], ["casa"])
    assert decide(request("casa", "attendance", court_order=o))["decision"] == "permit"
    d = decide(request("casa", "allergies", court_order=o))
    assert d["decision"] == "deny" and rule_ids(d) == ["casa.order_does_not_cover"]
    assert decide(request("casa", "court_orders"))["decision"] == "permit"
    d = decide(request("casa", "attendance", court_order=dict(o, status="vacated")))
    assert d["decision"] == "deny" and rule_ids(d) == ["relationship.casa"]


def test_wic827_order_lets_designated_person_inspect():
    assert decide(request("reengagement_counselor", "placement_case_information"))["decision"] == "deny"
    o = order("wic827_release_order", ["placement_case_information"], ["reengagement_counselor"])
    d = decide(request("reengagement_counselor", "placement_case_information", court_order=o))
    assert d["decision"] == "permit-redacted" and "view_only_no_export" in d["obligations"]
    assert set(d["redactions"]) == {"mandated_reporter_identity", "other_children_information"}
    assert decide(request("reengagement_counselor", "placement_case_information",
                          court_order=dict(o, expires="2026-06-30")))["decision"] == "deny"


def test_school_inspects_case_file_only_as_superintendent_designee():
    d = decide(request("school", "placement_case_information", requester={"superintendent_designee": True}))
    assert d["decision"] == "permit-redacted" and "view_only_no_export" in d["obligations"]
    assert "case_plan" in d["redactions"]
    assert decide(request("school", "placement_case_information"))["decision"] == "deny"


def test_youth_own_case_file_hides_reporter_and_other_children():
    d = decide(request("youth", "placement_case_information"))
    assert d["decision"] == "permit-redacted"
    assert set(d["redactions"]) == {"mandated_reporter_identity", "other_children_information"}


def test_researcher_only_deidentified():
    d = decide(request("researcher", "attendance", requester={"deidentified_request": True}))
    assert d["decision"] == "permit-redacted"
    assert decide(request("researcher", "attendance"))["decision"] == "deny"


def test_reengagement_counselor_is_a_third_party_unless_school_official():
    assert decide(request("reengagement_counselor", "attendance"))["decision"] == "deny"
    d = decide(request("reengagement_counselor", "attendance", requester={"is_school_official_of_lea": True}))
    assert d["decision"] == "permit"


def test_every_deny_names_a_rule_and_citation():
    d = decide(request("state_cms", "hiv"))
    assert d["decision"] == "deny" and d["rules"] and d["rules"][0]["citation"]
    d = decide(request("caregiver", "erh_identity", purpose="COC", related=True, age=10))
    assert d["decision"] == "permit"
