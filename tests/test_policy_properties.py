"""Properties that must hold for every request, whatever the rules say in detail."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.policy import default_policy

POLICY = default_policy()
V = POLICY.vocab
ROLES = sorted(V.roles)
CATS = list(V.categories)
DATES = ["2025-12-31", "2026-05-01", "2026-06-30", "2026-07-01", "2026-07-02", "2027-06-30"]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def consents(draw, role, category):
    return {
        "grantor": draw(st.sampled_from(sorted(V.grantors))),
        "scope": draw(st.lists(st.sampled_from(CATS + [category] * 6), min_size=1, max_size=2, unique=True)),
        "recipients": draw(st.lists(st.sampled_from(ROLES + [role] * 6), min_size=1, max_size=2, unique=True)),
        "status": draw(st.sampled_from(["active", "active", "active", "revoked", "expired"])),
        "expires": draw(st.sampled_from(DATES + [None])),
        "expiration_event": draw(st.sampled_from([None, "end of treatment"])),
        "form": draw(st.sampled_from(sorted(V.forms))),
        "signed": draw(st.sampled_from(["2026-01-01", "2026-05-01", None])),
        "part2_compliant": draw(st.booleans()),
        "single_disclosure": draw(st.booleans()),
    }


@st.composite
def requests(draw):
    role = draw(st.sampled_from(ROLES))
    category = draw(st.sampled_from(CATS))
    purposes = sorted(V.roles[role].purposes)
    purpose = draw(st.sampled_from(purposes * 3 + sorted(V.purposes)))
    order = None
    if draw(st.booleans()):
        order = {"type": draw(st.sampled_from(sorted(V.court_order_types))),
                 "status": draw(st.sampled_from(["active", "active", "vacated", "expired"])),
                 "issued": "2026-01-15", "expires": draw(st.sampled_from([None, "2026-07-01", "2027-01-01"])),
                 "scope": draw(st.lists(st.sampled_from(CATS + [category] * 4 + ["education_records"]),
                                        max_size=2, unique=True)),
                 "recipients": draw(st.lists(st.sampled_from(ROLES + [role] * 4), max_size=2, unique=True))}
    elements = draw(st.one_of(st.none(), st.lists(st.sampled_from(sorted(V.elements)), max_size=4, unique=True)))
    req = {
        "id": "P", "as_of": "2026-07-01",
        "requester": {"role": role, "on_caseload": draw(st.booleans()),
                      "assigned_to_youth": draw(st.booleans()),
                      "school_relation": draw(st.sampled_from(sorted(V.school_relations))),
                      "superintendent_designee": draw(st.booleans()),
                      "is_school_official_of_lea": draw(st.booleans()),
                      "medical_emergency": draw(st.booleans()),
                      "deidentified_request": draw(st.booleans())},
        "purpose_of_use": purpose, "purpose_of_use_system": V.purposes[purpose],
        "youth": {"age": draw(st.integers(0, 22)), "in_foster_care": draw(st.booleans()),
                  "court_limited_parent_ed_rights": draw(st.booleans()),
                  "jurisdiction": draw(st.sampled_from(sorted(V.jurisdictions))),
                  "minor_consented_service": draw(st.booleans()),
                  "part2_program_record": draw(st.booleans())},
        "consents": draw(st.lists(consents(role, category), max_size=3)),
        "court_order": order, "category": category,
    }
    if elements is not None:
        req["requested_elements"] = elements
    return req


CONSENT_RULES = [r for r in POLICY.rules if r.consent is not None]
REL = {"on_caseload": True, "assigned_to_youth": True, "school_relation": "receiving"}


@st.composite
def consent_requests(draw):
    """Requests aimed at a consent-based rule with a consent that satisfies it, so the properties
    about withdrawing consent are exercised on permits, not only on denies."""
    rule = draw(st.sampled_from(CONSENT_RULES))
    role = draw(st.sampled_from(sorted(rule.roles)))
    category = draw(st.sampled_from(sorted(rule.categories)))
    option = draw(st.sampled_from(rule.consent.options))
    lo, hi = max(rule.min_age, option.min_age), min(rule.max_age, option.max_age, 22)
    age = draw(st.integers(lo, max(lo, hi)))
    purposes = sorted(rule.purposes or V.roles[role].purposes)
    purpose = draw(st.sampled_from(purposes))
    youth = {"age": age, "in_foster_care": True, "court_limited_parent_ed_rights": False,
             "jurisdiction": "dependent_300", "minor_consented_service": False,
             "part2_program_record": category == "substance_use_disorder_part2"}
    for key, allowed in rule.youth + tuple((k, frozenset([v])) for k, v in option.when):
        value = sorted(allowed, key=str)[0]
        youth["court_limited_parent_ed_rights" if key == "parent_ed_rights_limited" else key] = value
    requester = {"role": role, **REL}
    for key, allowed in rule.requester:
        requester[key] = sorted(allowed, key=str)[0]
    form = draw(st.sampled_from(sorted(rule.consent.forms)))
    consents = [{"grantor": g, "scope": [category], "recipients": [role], "status": "active",
                 "expires": "2027-06-30", "form": form, "signed": "2026-05-01",
                 "part2_compliant": True, "single_disclosure": True} for g in option.grantors]
    return {"id": "C", "as_of": "2026-07-01", "requester": requester, "purpose_of_use": purpose,
            "purpose_of_use_system": V.purposes[purpose], "youth": youth, "consents": consents,
            "court_order": None, "category": category}


ANY_REQUEST = st.one_of(requests(), consent_requests())


def test_consent_strategy_reaches_permits():
    # Guard for the properties below: most aimed requests must actually be permitted.
    from hypothesis import find
    find(consent_requests(), lambda r: POLICY.decide(r)["decision"] != "deny")


def at_least_as_restrictive(new: dict, old: dict) -> bool:
    """`new` releases nothing `old` did not: deny, or a permit that withholds at least as much."""
    if new["decision"] == "deny":
        return True
    if old["decision"] == "deny":
        return False
    if old["decision"] == "permit":
        return True
    return new["decision"] == "permit-redacted" and set(new["redactions"]) >= set(old["redactions"])


@SETTINGS
@given(requests())
def test_no_permit_without_a_matching_basis_rule(req):
    d = POLICY.decide(req)
    assert d["decision"] in ("permit", "permit-redacted", "deny")
    assert d["rules"], "every decision names a rule"
    if d["decision"] == "deny":
        return
    by_id = {r.id: r for r in POLICY.rules}
    regimes = {req["category"]} | {c for f, c in V.regime_flags.items() if req["youth"].get(f)}
    for named in d["rules"]:
        rule = by_id[named["id"]]
        assert rule.stage == "basis" and rule.effect != "deny"
        assert req["requester"]["role"] in rule.roles
        assert rule.categories & regimes
        assert rule.min_age <= req["youth"]["age"] <= rule.max_age
    assert "log_disclosure" in d["obligations"]


@SETTINGS
@given(ANY_REQUEST, st.data())
def test_revoking_or_expiring_a_consent_never_widens(req, data):
    if not req["consents"]:
        return
    before = POLICY.decide(req)
    i = data.draw(st.integers(0, len(req["consents"]) - 1))
    how = data.draw(st.sampled_from(["revoke", "revoked_on", "expire", "expires_today", "remove"]))
    after_req = copy.deepcopy(req)
    c = after_req["consents"][i]
    if how == "revoke":
        c["status"] = "revoked"
    elif how == "revoked_on":
        c["revoked_on"] = "2026-07-01"
    elif how == "expire":
        c["status"] = "expired"
    elif how == "expires_today":
        c["expires"] = "2026-07-01"
    else:
        del after_req["consents"][i]
    assert at_least_as_restrictive(POLICY.decide(after_req), before)


@SETTINGS
@given(ANY_REQUEST)
def test_removing_the_relationship_never_widens(req):
    before = POLICY.decide(req)
    after_req = copy.deepcopy(req)
    after_req["requester"].update(on_caseload=False, assigned_to_youth=False, school_relation="unrelated")
    after = POLICY.decide(after_req)
    assert at_least_as_restrictive(after, before)
    if V.roles[req["requester"]["role"]].rel_field is not None:
        assert after["decision"] == "deny"


@SETTINGS
@given(ANY_REQUEST, st.data())
def test_consent_for_another_category_or_recipient_changes_nothing(req, data):
    before = POLICY.decide(req)
    role, category = req["requester"]["role"], req["category"]
    regimes = {category} | {c for f, c in V.regime_flags.items() if req["youth"].get(f)}
    extra = data.draw(consents(role, category))
    if data.draw(st.booleans()):
        others = [c for c in CATS if c not in regimes]
        extra["scope"] = data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
    else:
        extra["recipients"] = data.draw(st.lists(st.sampled_from([r for r in ROLES if r != role]),
                                                 min_size=1, max_size=2, unique=True))
    after_req = copy.deepcopy(req)
    after_req["consents"].append(extra)
    assert POLICY.decide(after_req) == before


@SETTINGS
@given(requests())
def test_decide_is_pure(req):
    snapshot = copy.deepcopy(req)
    first = POLICY.decide(req)
    assert req == snapshot
    assert POLICY.decide(req) == first


@SETTINGS
@given(ANY_REQUEST, st.sampled_from(["revoke", "expire_by_date", "revoked_on"]))
def test_no_consent_rule_fires_once_every_consent_is_withdrawn(req, how):
    for c in req["consents"]:
        if how == "revoke":
            c["status"] = "revoked"
        elif how == "expire_by_date":
            c["expires"] = "2026-07-01"       # expires on the request date: no longer usable
        else:
            c["revoked_on"] = "2026-06-30"    # status still says active; the date wins
    by_id = {r.id: r for r in POLICY.rules}
    d = POLICY.decide(req)
    assert not any(by_id[r["id"]].consent for r in d["rules"] if r["id"] in by_id)
