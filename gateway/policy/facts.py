"""Turn what the store knows into the request object `decide()` takes (policy/README.md).

The store keeps birth dates, consents and court orders; the request carries the youth's age on
the day, whether a court limit on the parent's education rights is in force, and the one court
order that matters for this category and requester. Pure: no database access here.
"""
from __future__ import annotations

from datetime import date

from . import default_policy

CONSENT_FIELDS = ("id", "grantor", "scope", "recipients", "status", "expires", "expiration_event",
                  "form", "part2_compliant", "signed", "revoked_on", "single_disclosure", "purpose")
ORDER_FIELDS = ("id", "type", "status", "issued", "expires", "scope", "recipients",
                "limits_parent_ed_rights", "vacates_prior_erh_appointment", "form")
ITEM_FLAGS = ("minor_consented_service", "service_type", "part2_program_record")
# The order a role's relationship rests on; shown to decide() even when vacated, so it can deny.
APPOINTMENT_ORDERS = {"casa": ("casa_appointment",),
                      "education_rights_holder": ("jv535_erh_appointment", "jv535_restores_parent_ed_rights")}


def _day(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _iso(value):
    return value.isoformat() if isinstance(value, date) else value


def age_on(birth_date, on) -> int:
    """Whole years on `on` (law.md 4.1: computed on the request date, never a stored age)."""
    b, d = _day(birth_date), _day(on)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def in_force(order: dict, as_of: date) -> bool:
    if order.get("status") != "active":
        return False
    issued, expires = _day(order.get("issued")), _day(order.get("expires"))
    if issued is not None and issued > as_of:
        return False
    return expires is None or as_of < expires


def parent_ed_rights_limited(court_orders: list[dict], as_of: date) -> bool:
    """The latest in-force JV-535 order decides: an ERH appointment limits the parent's education
    rights, a later restoring order undoes it. Vacated or expired orders count for nothing."""
    limited = False
    dated = [o for o in court_orders if in_force(o, as_of)]
    for o in sorted(dated, key=lambda o: _day(o.get("issued")) or date.min):
        if o.get("type") == "jv535_restores_parent_ed_rights":
            limited = False
        elif o.get("type") == "jv535_erh_appointment" or o.get("limits_parent_ed_rights"):
            limited = True
    return limited


def _scope_categories(scope, aliases) -> set[str]:
    out = set()
    for s in scope or ():
        out |= aliases.get(s, {s})
    return out


def relevant_court_order(court_orders: list[dict], *, role: str, categories: set[str],
                         as_of: date, aliases) -> dict | None:
    """The single order that matters: an in-force order naming this role and covering the data
    (a Part 2 order for Part 2 data first), else the role's own appointment order, whatever its
    status, so a vacated appointment is seen and denied."""
    issued_by_now = [o for o in court_orders
                     if (_day(o.get("issued")) or date.min) <= as_of]
    preferred = ["part2_2.64_order"] if "substance_use_disorder_part2" in categories else []
    preferred += ["casa_appointment", "wic827_release_order", "part2_2.64_order"]
    covering = [o for o in issued_by_now if in_force(o, as_of)
                and role in (o.get("recipients") or ())
                and categories & _scope_categories(o.get("scope"), aliases)
                and o.get("type") in preferred]
    if covering:
        covering.sort(key=lambda o: (preferred.index(o["type"]),
                                     -(_day(o.get("issued")) or date.min).toordinal()))
        return covering[0]
    own = [o for o in issued_by_now if o.get("type") in APPOINTMENT_ORDERS.get(role, ())]
    if own:
        return max(own, key=lambda o: _day(o.get("issued")) or date.min)
    return None


def _consent_row(row: dict, birth_date) -> dict:
    out = {k: _iso(row[k]) for k in CONSENT_FIELDS if row.get(k) is not None}
    out["scope"] = list(row.get("scope") or ())
    out["recipients"] = list(row.get("recipients") or ())
    if row.get("signed") is not None and birth_date is not None:
        # Authority is judged at signing too (law.md 4.2), so carry the youth's age then.
        out["youth_age_at_signing"] = age_on(birth_date, row["signed"])
    return out


def build_request(*, request_id: str, as_of, requester: dict, purpose: str, purpose_system: str,
                  youth: dict, consents: list[dict], court_orders: list[dict], category: str,
                  requested_elements=None, item_flags: dict | None = None) -> dict:
    vocab = default_policy().vocab
    day = _day(as_of)
    flags = {k: v for k, v in (item_flags or {}).items() if k in ITEM_FLAGS and v is not None}
    categories = {category} | {vocab.regime_flags[k] for k, v in flags.items()
                               if k in vocab.regime_flags and v is True}
    birth_date = youth.get("birth_date")
    youth_out = {
        "age": age_on(birth_date, day),
        "in_foster_care": bool(youth.get("in_foster_care")),
        "court_limited_parent_ed_rights": parent_ed_rights_limited(court_orders, day),
        "jurisdiction": youth.get("jurisdiction") or "none",
        **flags,
    }
    aliases = {k: set(v) for k, v in vocab.scope_aliases.items()}
    relevant = [c for c in consents if categories & _scope_categories(c.get("scope"), aliases)]
    order = relevant_court_order(court_orders, role=requester.get("role"), categories=categories,
                                 as_of=day, aliases=aliases)
    request = {
        "id": request_id,
        "as_of": day.isoformat(),
        "requester": dict(requester),
        "purpose_of_use": purpose,
        "purpose_of_use_system": purpose_system,
        "youth": youth_out,
        "consents": [_consent_row(c, birth_date) for c in relevant],
        "court_order": None if order is None else
        {k: _iso(order[k]) for k in ORDER_FIELDS if k in order and order[k] is not None},
        "category": category,
    }
    if requested_elements is not None:
        request["requested_elements"] = list(requested_elements)
    return request
