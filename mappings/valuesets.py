"""Sensitive-code value sets as fast matchers.

`mappings/valuesets/<name>.json` are FHIR R4 ValueSets. Each `compose.include` names one code
system and either lists `concept[]` codes (exact match) or carries `filter[]` entries:

  {"property": "code", "op": "regex", "value": "^(F0|F2|F3)"}
      the code (normalised: upper case, ICD-10 dots removed) matches the regex. Patterns made only
      of `^(` literal alternatives `)` are turned into a prefix table (constant-time look-ups);
      anything else is compiled as a regular expression.
  {"property": "display", "op": "regex", "value": "(?i)\\b(sertraline|fluoxetine)\\b"}
      a local convention for RxNorm: the coding display or CodeableConcept.text matches (used as a
      safety net for clinical drugs whose RxCUI is not listed; only applied to medications).

`compose.exclude` with `concept[]` removes exact codes. Everything is loaded once per process.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).parent / "valuesets"

# Canonical system URIs, and the aliases (OIDs, older URIs) we accept on input.
SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.90": "http://hl7.org/fhir/sid/icd-10-cm",
    "2.16.840.1.113883.6.90": "http://hl7.org/fhir/sid/icd-10-cm",
    "urn:oid:2.16.840.1.113883.6.3": "http://hl7.org/fhir/sid/icd-10",
    "2.16.840.1.113883.6.3": "http://hl7.org/fhir/sid/icd-10",
    "urn:oid:2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "http://snomed.info/sct/": "http://snomed.info/sct",
    "urn:oid:2.16.840.1.113883.6.1": "http://loinc.org",
    "2.16.840.1.113883.6.1": "http://loinc.org",
    "http://loinc.org/": "http://loinc.org",
    "urn:oid:2.16.840.1.113883.6.88": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "2.16.840.1.113883.6.88": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "urn:oid:2.16.840.1.113883.6.12": "http://www.ama-assn.org/go/cpt",
    "2.16.840.1.113883.6.12": "http://www.ama-assn.org/go/cpt",
    "urn:oid:2.16.840.1.113883.12.292": "http://hl7.org/fhir/sid/cvx",
    "2.16.840.1.113883.12.292": "http://hl7.org/fhir/sid/cvx",
}
ICD10 = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
_LITERAL_ALTS = re.compile(r"^\^\(?([A-Z0-9|]+)\)?$")


def canonical_system(system: str | None) -> str | None:
    if not system:
        return system
    return SYSTEM_ALIASES.get(system, system)


def normalise_code(system: str | None, code: str) -> str:
    code = code.strip()
    if system in ICD10:
        return code.replace(".", "").upper()
    return code


@dataclass(frozen=True, slots=True)
class SystemMatcher:
    codes: frozenset[str]
    excluded: frozenset[str]
    prefixes: frozenset[str]
    prefix_lengths: tuple[int, ...]
    patterns: tuple[re.Pattern, ...]
    display_patterns: tuple[re.Pattern, ...]

    def match(self, code: str) -> bool:
        if code in self.excluded:
            return False
        if code in self.codes:
            return True
        for n in self.prefix_lengths:
            if code[:n] in self.prefixes:
                return True
        for p in self.patterns:
            if p.search(code):
                return True
        return False

    def match_text(self, text: str) -> bool:
        for p in self.display_patterns:
            if p.search(text):
                return True
        return False


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    return json.loads((HERE / f"{name}.json").read_text())


@lru_cache(maxsize=None)
def matcher(name: str) -> dict[str, SystemMatcher]:
    """{canonical system: SystemMatcher} for `valuesets/<name>.json`."""
    vs = load(name)
    acc: dict[str, dict] = {}
    compose = vs.get("compose", {})
    for inc in compose.get("include", []):
        system = canonical_system(inc["system"])
        a = acc.setdefault(system, {"codes": set(), "excluded": set(), "prefixes": set(),
                                    "patterns": [], "display": []})
        for c in inc.get("concept", []):
            a["codes"].add(normalise_code(system, c["code"]))
        for f in inc.get("filter", []):
            if f.get("op") != "regex":
                raise ValueError(f"{name}: unsupported filter op {f.get('op')!r} (only 'regex')")
            if f.get("property") == "code":
                m = _LITERAL_ALTS.match(f["value"])
                if m:
                    a["prefixes"].update(p for p in m.group(1).split("|") if p)
                else:
                    a["patterns"].append(re.compile(f["value"]))
            elif f.get("property") == "display":
                a["display"].append(re.compile(f["value"]))
            else:
                raise ValueError(f"{name}: unsupported filter property {f.get('property')!r}")
    for exc in compose.get("exclude", []):
        system = canonical_system(exc["system"])
        if system in acc:
            acc[system]["excluded"].update(normalise_code(system, c["code"]) for c in exc.get("concept", []))
    out = {}
    for system, a in acc.items():
        out[system] = SystemMatcher(
            codes=frozenset(a["codes"]), excluded=frozenset(a["excluded"]),
            prefixes=frozenset(a["prefixes"]),
            prefix_lengths=tuple(sorted({len(p) for p in a["prefixes"]})),
            patterns=tuple(a["patterns"]), display_patterns=tuple(a["display"]))
    # ICD-10-CM and WHO ICD-10 share the chapter structure: one value set serves both.
    for a, b in (ICD10, ICD10[::-1]):
        if a in out and b not in out:
            out[b] = out[a]
    return out


def contains(name: str, system: str | None, code: str | None) -> bool:
    if not code or not system:
        return False
    system = canonical_system(system)
    m = matcher(name).get(system)
    return bool(m and m.match(normalise_code(system, code)))


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))
