"""One policy decision per data category for a request about one youth."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import mappings
from sqlalchemy import and_, bindparam, select

from ..policy import decide
from ..policy.facts import build_request
from ..store import schema as s
from .relationship import requester_facts

ALL_CATEGORIES = tuple(mappings.categories())
# Items of these categories carry the regime flag by construction (decided at the door).
ITEM_FLAGS = {
    "substance_use_disorder_part2": {"part2_program_record": True},
    "reproductive_sexual_health_minor_consented": {"minor_consented_service": True},
}


@dataclass
class YouthFacts:
    youth: dict
    assignments: list[dict]
    consents: list[dict]
    court_orders: list[dict]


@dataclass
class Disclosure:
    """What may leave for this request: decisions by category, and the requests behind them."""

    youth_id: str
    decisions: dict[str, dict] = field(default_factory=dict)
    requests: dict[str, dict] = field(default_factory=dict)

    def permitted(self) -> dict[str, dict]:
        return {c: d for c, d in self.decisions.items() if d["decision"] in ("permit", "permit-redacted")}

    def denied(self) -> list[str]:
        return [c for c, d in self.decisions.items() if d["decision"] not in ("permit", "permit-redacted")]

    def audit_entry(self) -> dict:
        """Replayable record: the request facts and what the policy said, per category."""
        return {"requests": self.requests,
                "decisions": {c: {k: d.get(k) for k in ("decision", "rules", "redactions", "obligations", "reason")}
                              for c, d in self.decisions.items()},
                "released": sorted(self.permitted()), "withheld": sorted(self.denied())}


def _by_youth(table):
    return select(table).where(and_(table.c.tenant_id == bindparam("tenant"), table.c.youth_id == bindparam("youth")))


# built once: a request runs these four for every youth it decides about
_YOUTH = select(s.youth).where(and_(s.youth.c.tenant_id == bindparam("tenant"), s.youth.c.id == bindparam("youth")))
_ASSIGNMENTS, _CONSENTS, _COURT_ORDERS = (_by_youth(t) for t in (s.care_assignment, s.consent, s.court_order))


def load_youth_facts(conn, tenant: str, youth_id: str) -> YouthFacts | None:
    key = {"tenant": tenant, "youth": youth_id}
    y = conn.execute(_YOUTH, key).first()
    if y is None:
        return None

    def rows(stmt):
        return [dict(r._mapping) for r in conn.execute(stmt, key)]
    return YouthFacts(youth=dict(y._mapping), assignments=rows(_ASSIGNMENTS), consents=rows(_CONSENTS),
                      court_orders=rows(_COURT_ORDERS))


def decide_categories(conn, tenant: str, requester, youth_id: str, categories=ALL_CATEGORIES, *,
                      as_of: date, facts: YouthFacts | None = None, requested_elements=None) -> Disclosure:
    facts = facts or load_youth_facts(conn, tenant, youth_id)
    out = Disclosure(youth_id)
    if facts is None:
        return out
    who = requester_facts(conn, tenant, requester, youth_id, facts.assignments, as_of)
    youth = {"birth_date": facts.youth["birth_date"], "jurisdiction": facts.youth["jurisdiction"],
             "in_foster_care": facts.youth["in_foster_care"]}
    base_id = uuid.uuid4().hex[:12]
    for category in categories:
        request = build_request(
            request_id=f"{base_id}:{category}", as_of=as_of, requester=who, purpose=requester.purpose_of_use,
            purpose_system=requester.purpose_system, youth=youth, consents=facts.consents,
            court_orders=facts.court_orders, category=category, requested_elements=requested_elements,
            item_flags=ITEM_FLAGS.get(category))
        out.requests[category] = request
        out.decisions[category] = decide(request)
    return out


def permitted(disclosure: Disclosure, category: str) -> bool:
    d = disclosure.decisions.get(category)
    return bool(d) and d["decision"] in ("permit", "permit-redacted")
