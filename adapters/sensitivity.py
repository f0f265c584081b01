"""Data category and HL7 security labels for health resources, decided once, at the door.

`classify(resource, facts)` returns (category, security codings). Most restrictive wins:
  1. source facts: a 42 CFR Part 2 program sender -> substance_use_disorder_part2 (+42CFRPart2,
     NORDSCLCD, ETH); a service the minor consented to alone ->
     reproductive_sexual_health_minor_consented;
  2. codes in the sensitive value sets under mappings/valuesets/ (HIV, SUD, mental health,
     reproductive/sexual health);
  3. the document's / entry's confidentialityCode and DS4P labels (never lowered);
  4. otherwise the category by resource type.
The full rule set, precedence and citations: docs/sensitivity.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mappings import valuesets as _vs

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
DEFAULT_CATEGORY = "conditions_problems_hospitalizations"


@dataclass
class SourceFacts:
    """What the sender told us about where the data came from."""

    part2_program: bool = False          # sender registered as a federally assisted Part 2 program
    minor_consented: bool = False        # service consented to by the minor alone
    confidentiality: str | None = None   # document-level confidentialityCode (N, R, V ...)
    labels: list[dict] = field(default_factory=list)  # DS4P / entry-level security codings


# --- label vocabulary (DS4P, HL7 UTG v3-Confidentiality / v3-ActCode) ---------------------------

CONF_ORDER = {"U": 0, "L": 1, "M": 2, "N": 3, "R": 4, "V": 5}
CONF_DISPLAY = {"U": "unrestricted", "L": "low", "M": "moderate", "N": "normal", "R": "restricted",
                "V": "very restricted"}
ACT_DISPLAY = {
    "ETH": "substance abuse information sensitivity",
    "SUD": "substance use disorder information sensitivity",
    "HIV": "HIV/AIDS information sensitivity",
    "PSY": "psychiatry disorder information sensitivity",
    "MH": "mental health information sensitivity",
    "PSYTHPN": "psychotherapy note information sensitivity",
    "SEX": "sexuality and reproductive health information sensitivity",
    "STD": "sexually transmitted disease information sensitivity",
    "ADOL": "adolescent information sensitivity",
    "42CFRPart2": "42 CFR Part2",
    "NORDSCLCD": "no redisclosure without consent directive",
}
# Incoming sensitivity labels that mean the same as a value-set hit (the sender knows best).
LABEL_FLAGS = {
    "ETH": "sud", "SUD": "sud", "ETHUD": "sud", "OPIOIDUD": "sud",
    "HIV": "hiv",
    "PSY": "mh", "MH": "mh", "BH": "mh",
    "PSYTHPN": "psynote",
    "SEX": "repro", "STD": "std",
    "ADOL": "minor",
    "42CFRPart2": "part2",
}
# Which codings to look at: value sets per flag.
VALUE_SETS = (("hiv", "hiv"), ("sud", "substance-use"), ("mh", "mental-health"),
              ("repro", "reproductive-sexual-health"), ("std", "std"),
              ("psychotropic", "psychotropic-medications"))
MEDICATION_TYPES = frozenset({"MedicationStatement", "MedicationRequest", "MedicationAdministration",
                              "MedicationDispense", "Medication"})
# Resource keys never scanned for clinical codes.
SKIP_KEYS = frozenset({"meta", "text", "identifier", "id", "extension", "modifierExtension", "subject",
                       "patient", "performer", "recorder", "asserter", "requester", "informationSource",
                       "location", "serviceProvider", "participant", "note", "address", "telecom", "name"})


def _build_index():
    """{system: ((flag, SystemMatcher), ...)} built once at import."""
    idx: dict[str, list] = {}
    for flag, name in VALUE_SETS:
        try:
            m = _vs.matcher(name)
        except FileNotFoundError:
            continue
        for system, sm in m.items():
            idx.setdefault(system, []).append((flag, sm))
    texts = tuple(sm for flag, name in VALUE_SETS if flag == "psychotropic"
                  for sm in _safe(name).values() if sm.display_patterns)
    return {k: tuple(v) for k, v in idx.items()}, texts


def _safe(name):
    try:
        return _vs.matcher(name)
    except FileNotFoundError:
        return {}


_INDEX, _DRUG_TEXT = _build_index()
_ALIASES = _vs.SYSTEM_ALIASES
_ICD = frozenset(_vs.ICD10)


def code_flags(system: str | None, code: str | None) -> set[str]:
    """Sensitivity flags of one coding ("hiv", "sud", "mh", "repro", "std", "psychotropic")."""
    out: set[str] = set()
    if not system or not code:
        return out
    system = _ALIASES.get(system, system)
    entries = _INDEX.get(system)
    if not entries:
        return out
    code = code.strip()
    if system in _ICD:
        code = code.replace(".", "").upper()
    for flag, sm in entries:
        if sm.match(code):
            out.add(flag)
    return out


def _scan(node, flags: set[str], texts: list[str] | None) -> None:
    """Walk a FHIR JSON dict collecting flags from every Coding (code, valueCodeableConcept,
    medicationCodeableConcept, reasonCode, vaccineCode, category, contained resources ...)."""
    if isinstance(node, dict):
        code = node.get("code")
        if isinstance(code, str):
            system = node.get("system")
            if isinstance(system, str):
                system = _ALIASES.get(system, system)
                entries = _INDEX.get(system)
                if entries:
                    c = code.strip()
                    if system in _ICD:
                        c = c.replace(".", "").upper()
                    for flag, sm in entries:
                        if flag not in flags and sm.match(c):
                            flags.add(flag)
            if texts is not None and isinstance(node.get("display"), str):
                texts.append(node["display"])
        for k, v in node.items():
            if k in SKIP_KEYS:
                continue
            if isinstance(v, (dict, list)):
                _scan(v, flags, texts)
            elif k == "text" and texts is not None and isinstance(v, str):
                texts.append(v)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, (dict, list)):
                _scan(v, flags, texts)


def _coding(system: str, code: str) -> dict:
    d = {"system": system, "code": code}
    disp = CONF_DISPLAY.get(code) if system == CONFIDENTIALITY_SYSTEM else ACT_DISPLAY.get(code)
    if disp:
        d["display"] = disp
    return d


def classify(resource: dict, facts: SourceFacts | None = None) -> tuple[str, list[dict]]:
    """(data category, meta.security codings) for one FHIR resource. See docs/sensitivity.md."""
    facts = facts or SourceFacts()
    rtype = resource.get("resourceType")
    flags: set[str] = set()
    is_med = rtype in MEDICATION_TYPES
    texts: list[str] | None = [] if (is_med and _DRUG_TEXT) else None
    _scan(resource, flags, texts)
    if texts is not None and "psychotropic" not in flags:
        for t in texts:
            if any(sm.match_text(t) for sm in _DRUG_TEXT):
                flags.add("psychotropic")
                break

    # Incoming labels: the source's, then any already on the resource. Never lowered.
    conf = CONF_ORDER["N"]
    if facts.confidentiality and facts.confidentiality.strip() in CONF_ORDER:
        conf = max(conf, CONF_ORDER[facts.confidentiality.strip()])
    kept: list[dict] = []
    seen: set[tuple] = set()
    existing = ((resource.get("meta") or {}).get("security") or [])
    for lab in list(facts.labels or ()) + list(existing):
        if not isinstance(lab, dict):
            continue
        code = lab.get("code")
        system = lab.get("system")
        if not code:
            continue
        if system == CONFIDENTIALITY_SYSTEM or (system is None and code in CONF_ORDER):
            if code in CONF_ORDER:
                conf = max(conf, CONF_ORDER[code])
            continue
        f = LABEL_FLAGS.get(code) if system in (ACTCODE_SYSTEM, None) else None
        if f:
            flags.add(f)
        if (system, code) not in seen:
            seen.add((system, code))
            kept.append({k: v for k, v in lab.items() if k in ("system", "code", "display", "version")})

    part2 = facts.part2_program or "part2" in flags
    minor = facts.minor_consented or "minor" in flags
    if is_med and "psychotropic" in flags:
        flags.add("mh")

    # One category: most restrictive wins (docs/sensitivity.md, "Precedence").
    if part2:
        category = "substance_use_disorder_part2"
    elif "hiv" in flags:
        category = "hiv"
    elif minor:
        category = "reproductive_sexual_health_minor_consented"
    elif flags & {"mh", "psynote", "sud", "psychotropic"}:
        category = "mental_health"
    else:
        category = BY_RESOURCE_TYPE.get(rtype, DEFAULT_CATEGORY)
        if category == "current_medications" and "psychotropic" in flags:
            category = "mental_health"

    # Labels: one confidentiality code, then sensitivity, policy and handling codes.
    act: list[str] = []
    if part2 or "sud" in flags:
        act.append("ETH")
    if "hiv" in flags:
        act.append("HIV")
    if "mh" in flags or "psychotropic" in flags:
        act.append("MH")
    if "psynote" in flags:
        act.append("PSYTHPN")
    if "std" in flags:
        act.append("STD")
    if "repro" in flags and "std" not in flags:
        act.append("SEX")
    if minor:
        act.append("ADOL")
    if part2:
        act += ["42CFRPart2", "NORDSCLCD"]
    if act or part2 or minor:
        conf = max(conf, CONF_ORDER["R"])
    conf_code = next(k for k, v in CONF_ORDER.items() if v == conf)
    out = [_coding(CONFIDENTIALITY_SYSTEM, conf_code)]
    for code in act:
        if (ACTCODE_SYSTEM, code) not in seen:
            seen.add((ACTCODE_SYSTEM, code))
            out.append(_coding(ACTCODE_SYSTEM, code))
    out_keys = {(c["system"], c["code"]) for c in out}
    for lab in kept:
        if (lab.get("system"), lab.get("code")) not in out_keys:
            out.append(lab)
    return category, out
