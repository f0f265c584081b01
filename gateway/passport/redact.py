"""Redactions and security labels applied to what the passport releases.

Redactions come from a permit-redacted decision ("redactions": [...], vocabulary.yaml):
  psychotherapy_notes            -> resources labelled PSYTHPN are dropped (never in the HEP)
  case_plan / case_history / referral_history / mandated_reporter_identity /
  other_children_information     -> those fields are dropped from case records (profiles/passport.json)
  direct_identifiers / indirect_identifiers
                                 -> names, addresses, telecom, identifiers, photos, contacts, narrative
                                    and notes removed; birth dates cut to the year
Labels: every released resource keeps its own meta.security and gains the decision's obligations
as HL7 v3 ActCode codes where one exists (NORDSCLCD, AUDIT) and always as local hep-obligation codes.
"""
from __future__ import annotations

from .vocab import ACT_CODE, CONFIDENTIALITY, OBLIGATION_CS, OBLIGATION_DISPLAY, OBLIGATION_V3, params

PERSON_TYPES = frozenset({"Patient", "RelatedPerson", "Practitioner"})
IDENTIFYING_KEYS = ("name", "address", "telecom", "identifier", "photo", "contact", "text", "note")
CASE_FIELDS = ("case_plan", "case_history", "referral_history", "mandated_reporter_identity", "other_children_information")
IDENTIFIER_REDACTIONS = frozenset({"direct_identifiers", "indirect_identifiers"})
CONF_ORDER = {"U": 0, "L": 1, "M": 2, "N": 3, "R": 4, "V": 5}


def redactions_of(decision: dict | None) -> frozenset[str]:
    if not decision or decision.get("decision") != "permit-redacted":
        return frozenset()
    return frozenset(decision.get("redactions") or ())


def is_psychotherapy_note(security: list, body: dict) -> bool:
    for c in list(security or ()) + list(((body.get("meta") or {}).get("security")) or ()):
        if isinstance(c, dict) and c.get("code") == "PSYTHPN":
            return True
    return False


def drop_case_fields(body: dict, redactions) -> dict:
    """A case record without the fields the redactions withhold (a copy; the stored dict is untouched)."""
    fields = params()["redaction_fields"]
    drop = {f for r in redactions if r in fields for f in fields[r]}
    if not drop:
        return body
    return {k: v for k, v in body.items() if k not in drop}


def _strip_reference_displays(node):
    """References keep their literal target only: a display or identifier may name a person."""
    if isinstance(node, dict):
        if "reference" in node or ("identifier" in node and "display" in node):
            node.pop("display", None)
            if "reference" in node:
                node.pop("identifier", None)
        for v in node.values():
            _strip_reference_displays(v)
    elif isinstance(node, list):
        for v in node:
            _strip_reference_displays(v)


def deidentify(resource: dict) -> dict:
    """Direct and indirect identifiers out of a FHIR resource, in place (names of organizations stay:
    they are not about the youth)."""
    rtype = resource.get("resourceType")
    for k in IDENTIFYING_KEYS:
        if k == "name" and rtype not in PERSON_TYPES:
            continue
        resource.pop(k, None)
    if rtype == "Patient":
        for k in ("birthDate",):
            if resource.get(k):
                resource[k] = str(resource[k])[:4]
        resource.pop("extension", None)
        resource.pop("communication", None)
    _strip_reference_displays(resource)
    return resource


def obligation_codings(obligations) -> list[dict]:
    out, seen = [], set()
    for o in obligations or ():
        v3 = OBLIGATION_V3.get(o)
        if v3 and v3[0] not in seen:
            seen.add(v3[0])
            out.append({"system": ACT_CODE, "code": v3[0], "display": v3[1]})
        out.append({"system": OBLIGATION_CS, "code": o, "display": OBLIGATION_DISPLAY.get(o, o.replace("_", " "))})
    return out


def label(resource: dict, stored_security: list, extra: list[dict]) -> dict:
    """meta.security = the resource's own labels + the stored row's labels + obligation codes (no duplicates)."""
    meta = resource.setdefault("meta", {})
    seen, out = set(), []
    for c in list(meta.get("security") or ()) + list(stored_security or ()) + list(extra):
        if not isinstance(c, dict):
            continue
        k = (c.get("system"), c.get("code"))
        if k in seen:
            continue
        seen.add(k)
        out.append(c)
    if out:
        meta["security"] = out
    return resource


def high_water_mark(resources) -> dict | None:
    """The most restrictive confidentiality code among the resources (for Bundle/Composition)."""
    best = None
    for r in resources:
        for c in (r.get("meta") or {}).get("security") or ():
            if c.get("system") == CONFIDENTIALITY and c.get("code") in CONF_ORDER:
                if best is None or CONF_ORDER[c["code"]] > CONF_ORDER[best]:
                    best = c["code"]
    return best
