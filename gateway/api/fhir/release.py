"""What a released resource carries: its own security labels plus the obligations the decision
attached, and nothing the decision redacted."""
from __future__ import annotations

ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBLIGATION_SYSTEM = "https://hep.lacounty.example/fhir/CodeSystem/hep-obligation"
# decision obligations that have an HL7 v3 ActCode equivalent
HL7_OBLIGATIONS = {"part2_2.32_notice": "NORDSCLCD", "view_only_no_export": "NOPERSIST"}


def _labels(resource: dict) -> list[dict]:
    return resource.setdefault("meta", {}).setdefault("security", [])


def redacted_away(resource: dict, redactions) -> bool:
    """Whole resources a redaction removes (psychotherapy notes are labelled PSYTHPN at the door)."""
    if "psychotherapy_notes" in (redactions or ()):
        return any(l.get("code") == "PSYTHPN" for l in (resource.get("meta") or {}).get("security") or [])
    return False


def label(resource: dict, decision: dict) -> dict:
    labels = _labels(resource)
    have = {(l.get("system"), l.get("code")) for l in labels}
    for ob in decision.get("obligations") or ():
        code = HL7_OBLIGATIONS.get(ob)
        coding = {"system": ACTCODE, "code": code} if code else {"system": OBLIGATION_SYSTEM, "code": ob}
        if (coding["system"], coding["code"]) not in have:
            labels.append(coding)
            have.add((coding["system"], coding["code"]))
    return resource
