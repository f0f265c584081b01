"""Data category and HL7 security labels for health resources, decided once, at the door.

`classify(resource, facts)` returns (category, security codings). Most restrictive wins:
  1. source facts: a 42 CFR Part 2 program sender -> substance_use_disorder_part2 (+42CFRPart2,
     NORDSCLCD, ETH); a service the minor consented to alone ->
     reproductive_sexual_health_minor_consented;
  2. codes in the sensitive value sets under mappings/valuesets/ (HIV, SUD, mental health,
     reproductive/sexual health);
  3. the document's / entry's confidentialityCode and DS4P labels (never lowered);
  4. otherwise the category by resource type.
The value-set logic is filled in by the HIE labelling work; the contract here is stable.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACTCODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBLIGATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

BY_RESOURCE_TYPE = {
    "Patient": "demographics_identity",
    "Immunization": "immunizations",
    "AllergyIntolerance": "allergies",
    "MedicationStatement": "current_medications",
    "MedicationRequest": "current_medications",
    "Condition": "conditions_problems_hospitalizations",
    "Encounter": "conditions_problems_hospitalizations",
    "Procedure": "conditions_problems_hospitalizations",
    "Observation": "conditions_problems_hospitalizations",
    "DiagnosticReport": "conditions_problems_hospitalizations",
    "Practitioner": "conditions_problems_hospitalizations",
    "PractitionerRole": "conditions_problems_hospitalizations",
    "Organization": "conditions_problems_hospitalizations",
    "DocumentReference": "conditions_problems_hospitalizations",
    "Provenance": "conditions_problems_hospitalizations",
}


@dataclass
class SourceFacts:
    """What the sender told us about where the data came from."""

    part2_program: bool = False          # sender registered as a federally assisted Part 2 program
    minor_consented: bool = False        # service consented to by the minor alone
    confidentiality: str | None = None   # document-level confidentialityCode (N, R, V ...)
    labels: list[dict] = field(default_factory=list)  # DS4P / entry-level security codings
