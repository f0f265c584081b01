"""The tests a rule's conditions rely on: relationship, court orders in force, consent validity.

Each returns plain booleans (or the usable consent) so the engine can stay a tight loop.
"""
from __future__ import annotations

from .request import Consent, CourtOrder, Facts
from .rules import ConsentRequirement
from .vocabulary import RoleSpec, Vocabulary


def order_in_force(order: CourtOrder | None, as_of) -> bool:
    """Active, already issued, not yet expired. Vacated or expired orders count for nothing."""
    if order is None or order.status != "active":
        return False
    if order.issued is not None and order.issued > as_of:
        return False
    return order.expires is None or as_of < order.expires


def parent_ed_rights_limited(f: Facts) -> bool:
    """Whether a court limit on the parent's education rights is in force (WIC 319(g)/361/726).

    A JV-535 order carried on the request is the more specific, current fact and wins over the
    summary flag; a vacated or expired order is ignored and the flag stands.
    """
    o = f.court_order
    if o is not None and order_in_force(o, f.as_of):
        if o.type == "jv535_restores_parent_ed_rights":
            return False
        if o.type == "jv535_erh_appointment" or o.limits_parent_ed_rights:
            return True
    return f.youth["court_limited_parent_ed_rights"]


def relationship_verified(spec: RoleSpec, f: Facts, limited: bool) -> bool:
    if spec.rel_field is None:
        return True
    if f.requester.get(spec.rel_field) not in spec.rel_values:
        return False
    if spec.rel_youth_max_age is not None and f.age > spec.rel_youth_max_age:
        return False
    if spec.rel_requires_limited and not limited:
        return False
    o = f.court_order
    # An appointment order on file that is vacated or expired means the appointment is not current.
    if spec.rel_appointment_order and o is not None and o.type == spec.rel_appointment_order \
            and not order_in_force(o, f.as_of):
        return False
    return True


def court_order_covers(f: Facts, types: frozenset[str], categories: tuple[str, ...]) -> bool:
    """The order on file is of an accepted type, in force, names this requester's role and covers
    the data (the requested category or the stricter regime category being decided)."""
    o = f.court_order
    if o is None or o.type not in types or not order_in_force(o, f.as_of):
        return False
    if f.role not in o.recipients:
        return False
    return any(c in o.scope for c in categories)


def consent_usable(c: Consent, f: Facts, req: ConsentRequirement, categories: tuple[str, ...],
                   vocab: Vocabulary) -> bool:
    """Form, dates, status, scope, recipient and purpose tests that do not depend on the grantor."""
    as_of = f.as_of
    if c.status != "active":
        return False
    if c.revoked_on is not None and c.revoked_on <= as_of:
        return False                      # never trust the status field alone
    if c.signed is None or c.signed > as_of:
        return False                      # unsigned or post-dated consent is no consent
    if c.form not in req.forms:
        return False
    form = vocab.forms[c.form]
    expiry = form.get("expiry", "date")
    if c.expires is not None:
        if not as_of < c.expires:
            return False
    elif expiry == "date":
        return False                      # CMIA 56.11 / HIPAA 164.508 need a specific end date
    elif expiry == "date_or_event" and not c.expiration_event:
        return False
    if form.get("single_disclosure") and not c.single_disclosure:
        return False
    if req.part2_compliant and not c.part2_compliant:
        return False
    if f.role not in c.recipients:
        return False
    if not any(cat in c.scope for cat in categories):
        return False
    # A consent limited to a stated purpose does not cover another coded purpose.
    if c.purpose is not None and c.purpose in vocab.purposes and c.purpose != f.purpose:
        return False
    return True


def _grantor_authority(c: Consent, lo: int, hi: int, f: Facts) -> bool:
    """Authority at the youth's age now and, when known, at signing (law.md 4.2)."""
    if not lo <= f.age <= hi:
        return False
    a = c.age_at_signing
    return a is None or lo <= a <= hi


def consent_satisfied(f: Facts, req: ConsentRequirement, categories: tuple[str, ...],
                      vocab: Vocabulary, limited: bool) -> Consent | None:
    """The first usable consent that meets one of the requirement's grantor options, or None.
    An option naming several grantors (e.g. Part 2 under 12: youth and court) needs each one."""
    usable = [c for c in f.consents if consent_usable(c, f, req, categories, vocab)]
    if not usable:
        return None
    facts = {"parent_ed_rights_limited": limited,
             "minor_consented_service": f.youth["minor_consented_service"]}
    for opt in req.options:
        if any(facts[k] != v for k, v in opt.when):
            continue
        found = []
        for g in opt.grantors:
            hit = next((c for c in usable if c.grantor == g
                        and _grantor_authority(c, opt.min_age, opt.max_age, f)), None)
            if hit is None:
                break
            found.append(hit)
        else:
            return found[0]
    return None
