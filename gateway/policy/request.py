"""Read a request object (policy/README.md) into typed facts, or say which field is wrong.

Cheap on purpose (plain dict look-ups, no regexes): it runs once per decision.
"""
from __future__ import annotations

from datetime import date

from .vocabulary import Vocabulary


class RequestError(ValueError):
    """The request cannot be understood; the message names the field."""


_BOOL_REQUESTER = ("on_caseload", "assigned_to_youth", "superintendent_designee",
                   "is_school_official_of_lea", "medical_emergency", "deidentified_request")
_TOP_REQUIRED = ("id", "as_of", "requester", "purpose_of_use", "purpose_of_use_system", "youth",
                 "consents", "court_order", "category")
_YOUTH_REQUIRED = ("age", "in_foster_care", "court_limited_parent_ed_rights", "jurisdiction")


class Consent:
    __slots__ = ("index", "id", "grantor", "scope", "recipients", "status", "expires",
                 "expiration_event", "form", "part2_compliant", "signed", "revoked_on",
                 "single_disclosure", "purpose", "age_at_signing")


class CourtOrder:
    __slots__ = ("id", "type", "status", "issued", "expires", "scope", "recipients",
                 "limits_parent_ed_rights", "vacates_prior_erh_appointment", "form")


class Facts:
    __slots__ = ("id", "as_of", "requester", "role", "purpose", "youth", "age", "category",
                 "elements", "consents", "court_order")


def _date(value, field: str) -> date:
    # date.fromisoformat also takes "20260701"; the contract is YYYY-MM-DD.
    if type(value) is not str or len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise RequestError(f"field {field}: expected a date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RequestError(f"field {field}: not a valid date: {value!r}") from None


def _opt_date(d: dict, key: str, field: str) -> date | None:
    v = d.get(key)
    return None if v is None else _date(v, field)


def _str(value, field: str) -> str:
    if type(value) is not str:
        raise RequestError(f"field {field}: expected a string, got {type(value).__name__}")
    return value


def _bool(d: dict, key: str, field: str) -> bool:
    v = d.get(key, False)
    if v is None:
        return False
    if type(v) is not bool:
        raise RequestError(f"field {field}: expected true or false, got {v!r}")
    return v


def _words(value, known, field: str, what: str) -> frozenset[str]:
    if type(value) is not list:
        raise RequestError(f"field {field}: expected a list of {what}")
    for i, w in enumerate(value):
        if w not in known:
            raise RequestError(f"field {field}[{i}]: unknown {what} {w!r}")
    return frozenset(value)


def _consent(raw, i: int, vocab: Vocabulary) -> Consent:
    f = f"consents[{i}]"
    if type(raw) is not dict:
        raise RequestError(f"field {f}: expected an object")
    c = Consent()
    c.index = i
    c.id = raw.get("id")
    for key in ("grantor", "scope", "recipients", "status", "form"):
        if key not in raw:
            raise RequestError(f"field {f}.{key}: missing")
    c.grantor = raw["grantor"]
    if c.grantor not in vocab.grantors:
        raise RequestError(f"field {f}.grantor: unknown grantor {c.grantor!r}")
    # Scope may name categories or aliases such as education_records.
    scope = raw["scope"]
    if type(scope) is not list:
        raise RequestError(f"field {f}.scope: expected a list of categories")
    expanded = set()
    for j, s in enumerate(scope):
        if s in vocab.scope_aliases:
            expanded |= vocab.scope_aliases[s]
        elif s in vocab.categories:
            expanded.add(s)
        else:
            raise RequestError(f"field {f}.scope[{j}]: unknown category {s!r}")
    c.scope = frozenset(expanded)
    c.recipients = _words(raw["recipients"], vocab.roles, f"{f}.recipients", "role")
    c.status = raw["status"]
    if c.status not in vocab.consent_statuses:
        raise RequestError(f"field {f}.status: unknown status {c.status!r}")
    c.form = raw["form"]
    if c.form not in vocab.forms:
        raise RequestError(f"field {f}.form: unknown form {c.form!r}")
    c.expires = _opt_date(raw, "expires", f"{f}.expires")
    c.signed = _opt_date(raw, "signed", f"{f}.signed")
    c.revoked_on = _opt_date(raw, "revoked_on", f"{f}.revoked_on")
    ev = raw.get("expiration_event")
    c.expiration_event = None if ev is None else _str(ev, f"{f}.expiration_event")
    c.part2_compliant = _bool(raw, "part2_compliant", f"{f}.part2_compliant")
    c.single_disclosure = _bool(raw, "single_disclosure", f"{f}.single_disclosure")
    p = raw.get("purpose")
    c.purpose = None if p is None else _str(p, f"{f}.purpose")
    a = raw.get("youth_age_at_signing")
    if a is not None and (type(a) is not int or a < 0):
        raise RequestError(f"field {f}.youth_age_at_signing: expected a whole number of years")
    c.age_at_signing = a
    return c


def _court_order(raw, vocab: Vocabulary) -> CourtOrder | None:
    if raw is None:
        return None
    if type(raw) is not dict:
        raise RequestError("field court_order: expected an object or null")
    o = CourtOrder()
    o.id = raw.get("id")
    for key in ("type", "status"):
        if key not in raw:
            raise RequestError(f"field court_order.{key}: missing")
    o.type = raw["type"]
    if o.type not in vocab.court_order_types:
        raise RequestError(f"field court_order.type: unknown order type {o.type!r}")
    o.status = raw["status"]
    if o.status not in vocab.court_order_statuses:
        raise RequestError(f"field court_order.status: unknown status {o.status!r}")
    o.issued = _opt_date(raw, "issued", "court_order.issued")
    o.expires = _opt_date(raw, "expires", "court_order.expires")
    scope = raw.get("scope") or []
    if type(scope) is not list:
        raise RequestError("field court_order.scope: expected a list")
    expanded = set()
    for j, s in enumerate(scope):
        if s in vocab.scope_aliases:
            expanded |= vocab.scope_aliases[s]
        elif s in vocab.categories:
            expanded.add(s)
        elif type(s) is not str:
            raise RequestError(f"field court_order.scope[{j}]: expected a string")
        # Other words (e.g. free-text order scope) cover no category: they are ignored, never widened.
    o.scope = frozenset(expanded)
    o.recipients = _words(raw.get("recipients") or [], vocab.roles, "court_order.recipients", "role")
    o.limits_parent_ed_rights = _bool(raw, "limits_parent_ed_rights", "court_order.limits_parent_ed_rights")
    o.vacates_prior_erh_appointment = _bool(raw, "vacates_prior_erh_appointment",
                                            "court_order.vacates_prior_erh_appointment")
    o.form = raw.get("form")
    return o


def parse_request(req, vocab: Vocabulary) -> Facts:
    if type(req) is not dict:
        raise RequestError("request: expected a JSON object")
    for key in _TOP_REQUIRED:
        if key not in req:
            raise RequestError(f"field {key}: missing")
    f = Facts()
    f.id = _str(req["id"], "id")
    f.as_of = _date(req["as_of"], "as_of")

    requester = req["requester"]
    if type(requester) is not dict:
        raise RequestError("field requester: expected an object")
    role = requester.get("role")
    if role is None:
        raise RequestError("field requester.role: missing")
    if role not in vocab.roles:
        raise RequestError(f"field requester.role: unknown role {role!r}")
    f.role = role
    flags = {k: _bool(requester, k, f"requester.{k}") for k in _BOOL_REQUESTER}
    rel = requester.get("school_relation")
    if rel is None:
        rel = "unrelated"
    elif rel not in vocab.school_relations:
        raise RequestError(f"field requester.school_relation: unknown value {rel!r}")
    flags["school_relation"] = rel
    f.requester = flags

    purpose = req["purpose_of_use"]
    system = vocab.purposes.get(purpose) if type(purpose) is str else None
    if system is None:
        raise RequestError(f"field purpose_of_use: unknown purpose {purpose!r}")
    if req["purpose_of_use_system"] != system:
        raise RequestError(f"field purpose_of_use_system: {purpose} is a {system} code, "
                           f"got {req['purpose_of_use_system']!r}")
    f.purpose = purpose

    youth = req["youth"]
    if type(youth) is not dict:
        raise RequestError("field youth: expected an object")
    for key in _YOUTH_REQUIRED:
        if key not in youth:
            raise RequestError(f"field youth.{key}: missing")
    age = youth["age"]
    if type(age) is not int or age < 0 or age > 130:
        raise RequestError(f"field youth.age: expected a whole number of years, got {age!r}")
    f.age = age
    jurisdiction = youth["jurisdiction"]
    if jurisdiction not in vocab.jurisdictions:
        raise RequestError(f"field youth.jurisdiction: unknown value {jurisdiction!r}")
    st = youth.get("service_type")
    if st is not None and st not in vocab.service_types:
        raise RequestError(f"field youth.service_type: unknown value {st!r}")
    f.youth = {
        "in_foster_care": _bool(youth, "in_foster_care", "youth.in_foster_care"),
        "court_limited_parent_ed_rights": _bool(youth, "court_limited_parent_ed_rights",
                                                "youth.court_limited_parent_ed_rights"),
        "jurisdiction": jurisdiction,
        "minor_consented_service": _bool(youth, "minor_consented_service", "youth.minor_consented_service"),
        "part2_program_record": _bool(youth, "part2_program_record", "youth.part2_program_record"),
        "service_type": st,
    }

    category = req["category"]
    if category not in vocab.categories:
        raise RequestError(f"field category: unknown category {category!r}")
    f.category = category
    els = req.get("requested_elements")
    f.elements = None if els is None else _words(els, vocab.elements, "requested_elements", "element")

    consents = req["consents"]
    if type(consents) is not list:
        raise RequestError("field consents: expected a list (may be empty)")
    f.consents = tuple(_consent(c, i, vocab) for i, c in enumerate(consents))
    f.court_order = _court_order(req["court_order"], vocab)
    return f
