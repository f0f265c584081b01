"""Checks on a rule set that county counsel and engineers run before a change goes live.

Findings (each names file and rule): words not in the vocabulary, missing citation or
description, rules that can never fire, basis rules that skip the relationship check, overlapping
basis rules that give different outcomes for the same request, unknown `overrides`, roles whose
relationship denial has no explicit rule, effects that contradict their redactions.
"""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import yaml

from .rules import Rule, parse_rule
from .vocabulary import DEFAULT_RULES_DIR, PolicyDataError, Vocabulary, load_vocabulary


def _load_each(rules_dir: Path, vocab: Vocabulary, findings: list[str]) -> list[Rule]:
    """Parse rule by rule so one bad rule does not hide the others."""
    rules: list[Rule] = []
    seen: set[str] = set()
    files = sorted(p for p in rules_dir.glob("*.yaml") if p.name != "vocabulary.yaml")
    if not files:
        findings.append(f"{rules_dir}: no rule files")
    for path in files:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        except (OSError, yaml.YAMLError) as e:
            findings.append(f"{path.name}: cannot read: {e}")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            findings.append(f"{path.name}: expected 'rules:' followed by a list")
            continue
        for raw in data["rules"]:
            try:
                rule = parse_rule(raw, vocab, path.name)
            except PolicyDataError as e:
                findings.append(str(e))
                continue
            if rule.id in seen:
                findings.append(f"{path.name} rule {rule.id!r}: duplicate id")
            seen.add(rule.id)
            rules.append(rule)
    return rules


def _check_rule(r: Rule, vocab: Vocabulary) -> list[str]:
    out = []
    w = f"{r.source} rule {r.id!r}"
    if not r.citation:
        out.append(f"{w}: missing citation")
    if not r.description:
        out.append(f"{w}: missing plain-language description")
    elif len(r.summary) > 300:
        out.append(f"{w}: first sentence of the description is too long to serve as a reason")
    if r.min_age > r.max_age:
        out.append(f"{w}: can never fire: age min {r.min_age} > max {r.max_age}")
    if not r.roles:
        out.append(f"{w}: can never fire: no roles")
    if not r.categories:
        out.append(f"{w}: can never fire: no categories")
    if r.stage == "basis" and r.effect == "deny":
        out.append(f"{w}: a deny rule cannot be a basis; use stage gate or explain")
    if r.stage in ("gate", "explain") and r.effect != "deny":
        out.append(f"{w}: stage {r.stage} rules must deny")
    if r.effect == "deny" and (r.redactions or r.obligations or r.elements is not None
                               or r.consent or r.court_order_types):
        out.append(f"{w}: a deny rule carries no redactions, elements, obligations, consent or order")
    if r.effect == "permit" and (r.redactions or r.elements is not None):
        out.append(f"{w}: effect permit but redactions/elements listed; use permit-redacted")
    if r.effect == "permit-redacted" and not r.redactions and r.elements is None:
        out.append(f"{w}: effect permit-redacted but nothing is redacted")
    if r.effect != "deny" and "log_disclosure" not in r.obligations:
        out.append(f"{w}: every release must carry log_disclosure")
    for role in sorted(r.roles):
        spec = vocab.roles[role]
        if r.purposes is not None and not (r.purposes & spec.purposes):
            out.append(f"{w}: can never fire for {role}: none of its purposes "
                       f"{sorted(r.purposes)} is allowed for that role")
        if r.relationship == "absent" and spec.rel_field is None:
            out.append(f"{w}: can never fire for {role}: the role has no relationship to be absent")
        if r.effect != "deny" and r.relationship != "required" and spec.rel_field is not None:
            out.append(f"{w}: permits {role} without the relationship check (must be 'required')")
        if spec.rel_youth_max_age is not None and r.relationship == "required" \
                and r.min_age > spec.rel_youth_max_age:
            out.append(f"{w}: can never fire for {role}: the relationship ends at "
                       f"{spec.rel_youth_max_age + 1} but the rule starts at {r.min_age}")
    if r.consent:
        reachable = [o for o in r.consent.options if o.min_age <= r.max_age and o.max_age >= r.min_age
                     and o.min_age <= o.max_age]
        if not reachable:
            out.append(f"{w}: can never fire: no consent option fits the rule's ages")
        part2_forms = {f for f in r.consent.forms if f.startswith("part2")}
        if "substance_use_disorder_part2" in r.categories and not (
                part2_forms and r.consent.part2_compliant):
            out.append(f"{w}: Part 2 data needs a part2 form and part2_compliant: true")
    for key, allowed in r.requester:
        if key == "school_relation" and r.roles != {"school"}:
            out.append(f"{w}: school_relation applies to schools only")
    return out


def _disjoint(a: frozenset | None, b: frozenset | None) -> bool:
    return a is not None and b is not None and not (a & b)


def _can_overlap(a: Rule, b: Rule) -> bool:
    if not (a.roles & b.roles) or not (a.categories & b.categories):
        return False
    if a.max_age < b.min_age or b.max_age < a.min_age:
        return False
    if _disjoint(a.purposes, b.purposes):
        return False
    if {a.relationship, b.relationship} == {"required", "absent"}:
        return False
    for facts_a, facts_b in ((a.youth, b.youth), (a.requester, b.requester)):
        fb = dict(facts_b)
        if any(k in fb and not (v & fb[k]) for k, v in facts_a):
            return False
    # One request carries one court order: rules needing different order types never meet.
    if _disjoint(a.court_order_types, b.court_order_types):
        return False
    return True


def _outcome(r: Rule) -> tuple:
    return (r.effect, r.redactions, None if r.elements is None else tuple(sorted(r.elements)))


def lint(rules_dir: Path | str | None = None) -> list[str]:
    rules_dir = Path(rules_dir or DEFAULT_RULES_DIR)
    try:
        vocab = load_vocabulary(rules_dir)
    except (PolicyDataError, KeyError, TypeError, AttributeError) as e:
        return [f"vocabulary.yaml: {e}"]
    findings: list[str] = []
    rules = _load_each(rules_dir, vocab, findings)
    ids = {r.id for r in rules}
    for r in rules:
        findings += _check_rule(r, vocab)
        for o in sorted(r.overrides - ids):
            findings.append(f"{r.source} rule {r.id!r}: overrides unknown rule {o!r}")
    basis = [r for r in rules if r.stage == "basis"]
    for a, b in combinations(basis, 2):
        if _outcome(a) == _outcome(b) or b.id in a.overrides or a.id in b.overrides:
            continue
        if _can_overlap(a, b):
            both = sorted((a.roles & b.roles)), sorted(a.categories & b.categories)
            findings.append(
                f"{a.source} rule {a.id!r} and {b.source} rule {b.id!r}: overlap for roles {both[0]} "
                f"and categories {both[1]} with different outcomes {_outcome(a)[:2]} vs {_outcome(b)[:2]}")
    gates = [r for r in rules if r.stage == "gate" and r.relationship == "absent"]
    for role, spec in vocab.roles.items():
        if spec.rel_field is None:
            continue
        uncovered = [c for c in vocab.categories
                     if not any(role in g.roles and c in g.categories for g in gates)]
        if uncovered:
            findings.append(f"vocabulary.yaml role {role!r}: no gate rule names the basis for "
                            f"denying an unverified relationship for {uncovered}")
    return findings
