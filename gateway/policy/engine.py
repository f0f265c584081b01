"""The decision: `Policy.decide(request) -> decision`, pure, over rules compiled once.

Order of evaluation for one regime (the requested category, plus any stricter category an item
flag brings, e.g. a Part 2 program record):
  1. relationship: a role that must prove a relationship and cannot is denied (gate rules);
  2. basis rules: the first-listed, least-redacting rule whose conditions all hold permits;
  3. explain rules: when nothing permits, the first matching explain rule names the reason;
  4. default deny.
Across regimes the most restrictive result wins: any deny denies; redactions and obligations add up.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import checks
from .request import Facts, RequestError, parse_request
from .rules import Rule, load_rules
from .vocabulary import Vocabulary, load_vocabulary

_RANK = {"permit": 0, "permit-redacted": 1, "deny": 2}


@dataclass
class Outcome:
    decision: str
    withheld: frozenset
    obligations: frozenset
    rules: tuple[Rule, ...]
    reason: str


class Policy:
    """A loaded, compiled rule set. Build once (`load_policy`), decide many times."""

    def __init__(self, vocab: Vocabulary, rules: list[Rule], rules_dir: Path | None = None):
        self.vocab = vocab
        self.rules = tuple(rules)
        self.rules_dir = rules_dir
        d = vocab.default_rule
        self.default_rule = Rule(
            id=d["id"], citation=d["citation"], description=" ".join(d["description"].split()),
            stage="explain", effect="deny", roles=frozenset(vocab.roles),
            categories=frozenset(vocab.categories), relationship="not_checked", purposes=None,
            min_age=0, max_age=200, youth=(), requester=(), consent=None, court_order_types=None,
            redactions=(), elements=None, obligations=(), overrides=frozenset(), source="vocabulary.yaml",
            summary=" ".join(d["description"].split()).split(". ")[0] + ".")
        # Index by (role, category) so a decision only looks at the few rules that can apply.
        index: dict[tuple[str, str], tuple[tuple, tuple, tuple]] = {}
        for role in vocab.roles:
            for cat in vocab.categories:
                hits = [r for r in rules if role in r.roles and cat in r.categories]
                index[(role, cat)] = tuple(tuple(r for r in hits if r.stage == s)
                                           for s in ("gate", "basis", "explain"))
        self._index = index
        self._cat_elements = {c: vocab.category_elements(c) for c in vocab.categories}
        self._never = vocab.never_released
        self._obligation_order = {o: i for i, o in enumerate(vocab.obligations)}
        self._role_display = {k: v.display for k, v in vocab.roles.items()}

    # -- matching -------------------------------------------------------------------------------
    def _conditions_hold(self, r: Rule, f: Facts, yf: dict, rel_ok: bool) -> bool:
        if r.relationship == "required" and not rel_ok:
            return False
        if r.relationship == "absent" and rel_ok:
            return False
        if r.purposes is not None and f.purpose not in r.purposes:
            return False
        if not r.min_age <= f.age <= r.max_age:
            return False
        for key, allowed in r.youth:
            if yf[key] not in allowed:
                return False
        for key, allowed in r.requester:
            if f.requester[key] not in allowed:
                return False
        return True

    def _withheld(self, r: Rule, f: Facts) -> frozenset:
        if f.elements is not None:
            out = f.elements.intersection(r.redactions) | (f.elements & self._never)
            if r.elements is not None:
                out |= f.elements - r.elements
            return frozenset(out)
        out = set(r.redactions)
        if r.elements is not None:
            out |= self._cat_elements[f.category] - r.elements
        return frozenset(out)

    def _decide_regime(self, f: Facts, regime: str, yf: dict, rel_ok: bool, limited: bool) -> Outcome:
        gates, basis, explains = self._index[(f.role, regime)]
        if not rel_ok:
            hit = [r for r in gates if self._conditions_hold(r, f, yf, rel_ok)]
            rule = hit[0] if hit else self.default_rule
            return Outcome("deny", frozenset(), frozenset(), (rule,),
                           f"Denied: the {self._role_display[f.role].lower()}'s relationship to this "
                           f"youth is not verified. {rule.summary}")
        for r in gates:
            if self._conditions_hold(r, f, yf, rel_ok):
                return Outcome("deny", frozenset(), frozenset(), (r,), f"Denied: {r.summary}")
        cats = (f.category,) if regime == f.category else (f.category, regime)
        matched = []
        for r in basis:
            if not self._conditions_hold(r, f, yf, rel_ok):
                continue
            if r.court_order_types is not None and not checks.court_order_covers(f, r.court_order_types, cats):
                continue
            if r.consent is not None and checks.consent_satisfied(f, r.consent, cats, self.vocab, limited) is None:
                continue
            matched.append(r)
        if matched:
            overridden = set().union(*(r.overrides for r in matched))
            live = [r for r in matched if r.id not in overridden] or matched
            best = min(live, key=lambda r: len(self._withheld(r, f)))   # min keeps file order on ties
            withheld = self._withheld(best, f)
            return Outcome("permit-redacted" if withheld else "permit", withheld,
                           frozenset(best.obligations), (best,), best.summary)
        for r in explains:
            if self._conditions_hold(r, f, yf, rel_ok):
                return Outcome("deny", frozenset(), frozenset(), (r,), f"Denied: {r.summary}")
        return Outcome("deny", frozenset(), frozenset(), (self.default_rule,),
                       f"Denied: {self.default_rule.summary}")

    # -- public ---------------------------------------------------------------------------------
    def decide(self, request: dict) -> dict:
        try:
            f = parse_request(request, self.vocab)
        except RequestError as e:
            rid = request.get("id") if isinstance(request, dict) and isinstance(request.get("id"), str) else None
            return {"id": rid, "decision": "error", "obligations": [], "rules": [], "reason": str(e)}
        return self.decide_facts(f)

    def decide_facts(self, f: Facts) -> dict:
        limited = checks.parent_ed_rights_limited(f)
        rel_ok = checks.relationship_verified(self.vocab.roles[f.role], f, limited)
        yf = dict(f.youth)
        yf["parent_ed_rights_limited"] = limited
        regimes = [f.category]
        for flag, cat in self.vocab.regime_flags.items():
            if yf[flag] and cat not in regimes:
                regimes.append(cat)
        outcomes = [self._decide_regime(f, reg, yf, rel_ok, limited) for reg in regimes]
        worst = max(outcomes, key=lambda o: _RANK[o.decision])
        if worst.decision == "deny":
            denied = [o for o in outcomes if o.decision == "deny"]
            rules = _unique(r for o in denied for r in o.rules)
            return {"id": f.id, "decision": "deny", "obligations": [],
                    "rules": [{"id": r.id, "citation": r.citation} for r in rules],
                    "reason": worst.reason}
        withheld = frozenset().union(*(o.withheld for o in outcomes))
        obligations = sorted(frozenset().union(*(o.obligations for o in outcomes)),
                             key=self._obligation_order.__getitem__)
        rules = _unique(r for o in outcomes for r in o.rules)
        reason = " ".join(o.reason for o in outcomes)
        out = {"id": f.id, "decision": "permit-redacted" if withheld else "permit"}
        if withheld:
            out["redactions"] = sorted(withheld)
            reason += " Withheld: " + ", ".join(out["redactions"]) + "."
        out["obligations"] = obligations
        out["rules"] = [{"id": r.id, "citation": r.citation} for r in rules]
        out["reason"] = reason
        return out


def _unique(rules) -> list[Rule]:
    seen, out = set(), []
    for r in rules:
        if r.id not in seen:
            seen.add(r.id)
            out.append(r)
    return out


def load_policy(rules_dir: Path | str | None = None) -> Policy:
    vocab = load_vocabulary(rules_dir)
    directory = Path(rules_dir) if rules_dir else None
    from .vocabulary import DEFAULT_RULES_DIR
    return Policy(vocab, load_rules(directory or DEFAULT_RULES_DIR, vocab), directory or DEFAULT_RULES_DIR)
