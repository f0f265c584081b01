"""Helpers for the policy tests (no tests here): request builders and the shipped policy."""
from __future__ import annotations

import copy
import os

import pytest

from tests.conftest import SHARED

AS_OF = "2026-07-01"

# Which relationship flag each role proves (policy/README.md requester table).
RELATIONSHIP = {
    "county_social_worker": {"on_caseload": True},
    "probation_officer": {"assigned_to_youth": True},
    "youth_attorney": {"assigned_to_youth": True},
    "casa": {"assigned_to_youth": True},
    "caregiver": {"assigned_to_youth": True},
    "education_rights_holder": {"assigned_to_youth": True},
    "treating_provider": {"assigned_to_youth": True},
    "mental_health_provider": {"assigned_to_youth": True},
    "school": {"school_relation": "receiving"},
}
PURPOSE = {
    "county_social_worker": "x-CW-CASEMGT", "probation_officer": "x-CW-CASEMGT",
    "youth_attorney": "HLEGAL", "casa": "HLEGAL", "caregiver": "x-CW-CASEMGT",
    "education_rights_holder": "x-EDU-SUPPORT", "youth": "PATRQT", "treating_provider": "TREAT",
    "mental_health_provider": "TREAT", "school": "x-EDU-SUPPORT", "state_cms": "x-CW-ADMIN",
    "researcher": "HRESCH", "reengagement_counselor": "x-EDU-SUPPORT",
}
HL7 = {"TREAT", "ETREAT", "COC", "CAREMGT", "HLEGAL", "PATRQT", "HRESCH", "PUBHLTH"}


def examples_path():
    """../shared/policy/examples.json; skips (or fails under HEP_REQUIRE_SHARED) like shared_path."""
    path = SHARED / "policy" / "examples.json"
    if not path.exists():
        if os.environ.get("HEP_REQUIRE_SHARED"):
            pytest.fail(f"required shared data is missing: {path}")
        pytest.skip(f"../shared not present ({path})")
    return path


def request(role="county_social_worker", category="grades_transcripts_credits", *, age=14,
            purpose=None, consents=(), court_order=None, elements=None, related=True,
            requester=None, youth=None, as_of=AS_OF, rid="T") -> dict:
    purpose = purpose or PURPOSE[role]
    req = {"role": role, "organization": "test"}
    if related:
        req.update(RELATIONSHIP.get(role, {}))
    req.update(requester or {})
    y = {"age": age, "in_foster_care": True, "court_limited_parent_ed_rights": False,
         "jurisdiction": "dependent_300"}
    y.update(youth or {})
    out = {"id": rid, "as_of": as_of, "requester": req, "purpose_of_use": purpose,
           "purpose_of_use_system": "v3-ActReason" if purpose in HL7 else "local",
           "youth": y, "consents": [copy.deepcopy(c) for c in consents],
           "court_order": court_order, "category": category}
    if elements is not None:
        out["requested_elements"] = list(elements)
    return out


def consent(grantor="youth", scope=("grades_transcripts_credits",), recipients=("county_social_worker",),
            form="ferpa_99.30", *, status="active", expires="2027-06-30", signed="2026-05-01", **extra) -> dict:
    c = {"grantor": grantor, "scope": list(scope), "recipients": list(recipients), "status": status,
         "form": form, "signed": signed}
    if expires is not None:
        c["expires"] = expires
    c.update(extra)
    return c


def order(type_="wic827_release_order", scope=("placement_case_information",), recipients=("caregiver",),
          *, status="active", issued="2026-01-15", expires=None, **extra) -> dict:
    o = {"type": type_, "status": status, "issued": issued, "expires": expires,
         "scope": list(scope), "recipients": list(recipients)}
    o.update(extra)
    return o


def rule_ids(decision: dict) -> list[str]:
    return [r["id"] for r in decision["rules"]]
