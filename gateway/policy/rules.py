"""Disclosure rules as data: read `profiles/disclosure/*.yaml`, check every field, build `Rule`s.

A rule file holds `rules: [...]`; each rule is one legal basis (or one explicit reason to deny).
Field meanings are documented in docs/policy.md ("How a rule reads"). Unknown words are load
errors, because a misspelt role in a permit rule would silently never fire.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .vocabulary import PolicyDataError, Vocabulary

EFFECTS = ("permit", "permit-redacted", "deny")
STAGES = ("gate", "basis", "explain")
RELATIONSHIP = ("required", "absent", "not_checked")
YOUTH_FACTS = {
    "in_foster_care": bool, "jurisdiction": str, "parent_ed_rights_limited": bool,
    "minor_consented_service": bool, "part2_program_record": bool, "service_type": str,
}
REQUESTER_FACTS = {
    "medical_emergency": bool, "deidentified_request": bool, "superintendent_designee": bool,
    "is_school_official_of_lea": bool, "school_relation": str,
}
GRANTOR_WHEN = {"parent_ed_rights_limited": bool, "minor_consented_service": bool}
RULE_KEYS = {
    "id", "citation", "description", "stage", "roles", "categories", "relationship", "purposes",
    "age", "youth", "requester", "consent", "court_order", "effect", "redactions", "elements",
    "obligations", "overrides",
}
ANY = "any"


@dataclass(frozen=True)
class GrantorOption:
    """One way a consent requirement can be met: every listed grantor signed a valid consent."""
    grantors: tuple[str, ...]
    min_age: int = 0
    max_age: int = 200
    when: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class ConsentRequirement:
    options: tuple[GrantorOption, ...]
    forms: frozenset[str]
    part2_compliant: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    citation: str
    description: str
    stage: str
    effect: str
    roles: frozenset[str]
    categories: frozenset[str]
    relationship: str
    purposes: frozenset[str] | None          # None = any purpose
    min_age: int
    max_age: int
    youth: tuple[tuple[str, frozenset], ...]
    requester: tuple[tuple[str, frozenset], ...]
    consent: ConsentRequirement | None
    court_order_types: frozenset[str] | None
    redactions: tuple[str, ...]
    elements: frozenset[str] | None          # None = every element of the category
    obligations: tuple[str, ...]
    overrides: frozenset[str]
    source: str = ""
    summary: str = field(default="", compare=False)


def _list(value, where: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise PolicyDataError(f"{where}: expected a list")
    return value


def _words(value, known, where: str, *, allow_any: bool = False) -> frozenset[str] | None:
    items = _list(value, where)
    if allow_any and items == [ANY]:
        return None
    unknown = [w for w in items if w not in known]
    if unknown:
        raise PolicyDataError(f"{where}: unknown {unknown}")
    return frozenset(items)


def _facts(spec, allowed: dict, vocab_values: dict, where: str) -> tuple:
    if not spec:
        return ()
    if not isinstance(spec, dict):
        raise PolicyDataError(f"{where}: expected a mapping")
    out = []
    for key, values in spec.items():
        if key not in allowed:
            raise PolicyDataError(f"{where}: unknown fact {key!r}")
        values = values if isinstance(values, list) else [values]
        for v in values:
            if not isinstance(v, allowed[key]):
                raise PolicyDataError(f"{where}.{key}: {v!r} is not {allowed[key].__name__}")
            if key in vocab_values and v not in vocab_values[key]:
                raise PolicyDataError(f"{where}.{key}: unknown value {v!r}")
        out.append((key, frozenset(values)))
    return tuple(sorted(out, key=lambda kv: kv[0]))


def _age(spec, where: str) -> tuple[int, int]:
    spec = spec or {}
    lo, hi = spec.get("min", 0), spec.get("max", 200)
    if not isinstance(lo, int) or not isinstance(hi, int) or isinstance(lo, bool) or isinstance(hi, bool):
        raise PolicyDataError(f"{where}: min/max must be whole years")
    return lo, hi


def _consent(spec, vocab: Vocabulary, where: str) -> ConsentRequirement | None:
    if not spec:
        return None
    options = []
    for i, opt in enumerate(_list(spec.get("from"), f"{where}.from")):
        w = f"{where}.from[{i}]"
        if not isinstance(opt, dict) or set(opt) - {"grantors", "age", "when"}:
            raise PolicyDataError(f"{w}: expected a mapping with grantors, age, when")
        grantors = _words(opt.get("grantors"), vocab.grantors, f"{w}.grantors")
        if not grantors:
            raise PolicyDataError(f"{w}: no grantors")
        lo, hi = _age(opt.get("age"), f"{w}.age")
        when = _facts(opt.get("when"), GRANTOR_WHEN, {}, f"{w}.when")
        options.append(GrantorOption(tuple(sorted(grantors)), lo, hi,
                                     tuple((k, next(iter(v))) for k, v in when)))
    if not options:
        raise PolicyDataError(f"{where}: consent needs at least one 'from' option")
    forms = _words(spec.get("forms"), vocab.forms, f"{where}.forms")
    if not forms:
        raise PolicyDataError(f"{where}: consent needs 'forms'")
    return ConsentRequirement(tuple(options), forms, bool(spec.get("part2_compliant", False)))


def parse_rule(raw: dict, vocab: Vocabulary, source: str) -> Rule:
    if not isinstance(raw, dict):
        raise PolicyDataError(f"{source}: each rule must be a mapping")
    rid = raw.get("id")
    where = f"{source} rule {rid!r}"
    if not isinstance(rid, str) or not rid:
        raise PolicyDataError(f"{source}: rule without id")
    extra = set(raw) - RULE_KEYS
    if extra:
        raise PolicyDataError(f"{where}: unknown keys {sorted(extra)}")
    effect = raw.get("effect")
    if effect not in EFFECTS:
        raise PolicyDataError(f"{where}: effect must be one of {EFFECTS}")
    stage = raw.get("stage") or ("explain" if effect == "deny" else "basis")
    if stage not in STAGES:
        raise PolicyDataError(f"{where}: stage must be one of {STAGES}")
    relationship = raw.get("relationship", "required")
    if relationship not in RELATIONSHIP:
        raise PolicyDataError(f"{where}: relationship must be one of {RELATIONSHIP}")
    lo, hi = _age(raw.get("age"), f"{where}.age")
    roles = _words(raw.get("roles"), vocab.roles, f"{where}.roles", allow_any=True)
    categories = _words(raw.get("categories"), vocab.categories, f"{where}.categories", allow_any=True)
    court = raw.get("court_order")
    court_types = None
    if court:
        court_types = _words(court.get("types"), vocab.court_order_types, f"{where}.court_order.types")
    description = " ".join(str(raw.get("description") or "").split())
    summary = description.split(". ")[0].rstrip(".") + "." if description else ""
    return Rule(
        id=rid,
        citation=" ".join(str(raw.get("citation") or "").split()),
        description=description,
        stage=stage,
        effect=effect,
        roles=roles if roles is not None else frozenset(vocab.roles),
        categories=categories if categories is not None else frozenset(vocab.categories),
        relationship=relationship,
        purposes=_words(raw.get("purposes", ANY), vocab.purposes, f"{where}.purposes", allow_any=True),
        min_age=lo,
        max_age=hi,
        youth=_facts(raw.get("youth"), YOUTH_FACTS,
                     {"jurisdiction": vocab.jurisdictions, "service_type": vocab.service_types},
                     f"{where}.youth"),
        requester=_facts(raw.get("requester"), REQUESTER_FACTS,
                         {"school_relation": vocab.school_relations}, f"{where}.requester"),
        consent=_consent(raw.get("consent"), vocab, f"{where}.consent"),
        court_order_types=court_types,
        redactions=tuple(sorted(_words(raw.get("redactions"), vocab.redactions, f"{where}.redactions"))),
        elements=(None if raw.get("elements") is None
                  else _words(raw.get("elements"), vocab.elements, f"{where}.elements")),
        obligations=tuple(o for o in vocab.obligations
                          if o in _words(raw.get("obligations"), vocab.obligations, f"{where}.obligations")),
        overrides=frozenset(_list(raw.get("overrides"), f"{where}.overrides")),
        source=source,
        summary=summary,
    )


def load_rules(rules_dir: Path | str, vocab: Vocabulary) -> list[Rule]:
    """Every rule in `rules_dir/*.yaml` (except vocabulary.yaml), in file-name then file order."""
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    files = sorted(p for p in Path(rules_dir).glob("*.yaml") if p.name != "vocabulary.yaml")
    if not files:
        raise PolicyDataError(f"{rules_dir}: no rule files")
    for path in files:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        except (OSError, yaml.YAMLError) as e:
            raise PolicyDataError(f"{path.name}: {e}") from e
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise PolicyDataError(f"{path.name}: expected 'rules:' followed by a list")
        for raw in data["rules"]:
            rule = parse_rule(raw, vocab, path.name)
            if rule.id in seen:
                raise PolicyDataError(f"{path.name}: rule id {rule.id!r} already used in {seen[rule.id]}")
            seen[rule.id] = path.name
            rules.append(rule)
    return rules
