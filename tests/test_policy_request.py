"""Requests the policy cannot understand give decision "error" naming the field - never a guess."""
from __future__ import annotations

import pytest

from gateway.policy import decide
from tests.policy_support import consent, request


def _with(path: str, value, base=None):
    req = base or request()
    target = req
    *parents, last = path.split(".")
    for p in parents:
        target = target[p]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return req


@pytest.mark.parametrize("path,value,field", [
    ("requester.role", "janitor", "requester.role"),
    ("category", "horoscope", "category"),
    ("purpose_of_use", "FUN", "purpose_of_use"),
    ("purpose_of_use_system", "v3-ActReason", "purpose_of_use_system"),   # local code, HL7 system
    ("youth.age", "14", "youth.age"),
    ("youth.age", True, "youth.age"),
    ("youth.age", KeyError, "youth.age"),
    ("youth.in_foster_care", "yes", "youth.in_foster_care"),
    ("youth.jurisdiction", "mars", "youth.jurisdiction"),
    ("youth.service_type", "massage", "youth.service_type"),
    ("requester.on_caseload", 1, "requester.on_caseload"),
    ("requester.school_relation", "nearby", "requester.school_relation"),
    ("as_of", "07/01/2026", "as_of"),
    ("as_of", "20260701", "as_of"),
    ("as_of", KeyError, "as_of"),
    ("consents", None, "consents"),
    ("court_order", "none", "court_order"),
    ("category", KeyError, "category"),
    ("requester", KeyError, "requester"),
])
def test_error_names_the_field(path, value, field):
    d = decide(_with(path, value))
    assert d["decision"] == "error"
    assert field in d["reason"]
    assert d["rules"] == [] and d["obligations"] == []


def test_bad_consent_and_order_fields():
    d = decide(request(consents=[consent(grantor="aunt")]))
    assert d["decision"] == "error" and "consents[0].grantor" in d["reason"]
    d = decide(request(consents=[consent(expires="next year")]))
    assert d["decision"] == "error" and "consents[0].expires" in d["reason"]
    d = decide(request(consents=[consent(recipients=["everyone"])]))
    assert d["decision"] == "error" and "consents[0].recipients[0]" in d["reason"]
    d = decide(request(court_order={"type": "subpoena", "status": "active"}))
    assert d["decision"] == "error" and "court_order.type" in d["reason"]
    d = decide(request(elements=["diary"]))
    assert d["decision"] == "error" and "requested_elements[0]" in d["reason"]


def test_not_an_object():
    assert decide([])["decision"] == "error"
    assert decide("hello")["id"] is None


def test_error_keeps_the_callers_id():
    d = decide(_with("requester.role", "janitor", request(rid="R-9")))
    assert d["id"] == "R-9"
