"""assemble(): the Health and Education Passport as a FHIR R4 document Bundle.

Only categories whose decision is permit / permit-redacted are read from the store (rows.load_rows
selects exactly those); redactions and labels are applied per category (redact.py); education
and case records are rendered as FHIR (education.py, case.py); every entry gets a Provenance
(source system, file and locator, received time); the Composition comes first with one section
per released category and a Notices section. docs/passport.md explains each step.
"""
from __future__ import annotations

import uuid
from datetime import date

from ..clock import utcnow
from . import case as case_fhir
from . import education, narrative
from .facts import compute as compute_facts
from .redact import (IDENTIFIER_REDACTIONS, deidentify, drop_case_fields, high_water_mark, is_psychotherapy_note,
                     label, obligation_codings, redactions_of)
from .rows import instant, load_identifiers, load_rows, load_schools, load_youth, project_youth
from .vocab import (CONFIDENTIALITY, DOC_CODE, HEP_CS, LOINC, NOTICE_EXT, NOTICES_CODE, PROFILE_COMPOSITION, PROV_PARTICIPANT,
                    categories, category_display, params, permitted, uid)

GATEWAY_NAME = "HEP Gateway (Los Angeles County)"
SKIP_FHIR = frozenset({"Provenance", "Patient"})   # our own Provenance replaces stored ones; one Patient
DEMOGRAPHIC_EDFI = frozenset({"students", "studentEducationOrganizationAssociations"})


class Item:
    __slots__ = ("resource", "category", "sources", "security")

    def __init__(self, resource: dict, category: str, sources: list, security: list | None = None):
        self.resource, self.category, self.sources, self.security = resource, category, sources, security or []

    @property
    def key(self) -> str:
        return f"{self.resource['resourceType']}/{self.resource['id']}"


def notices(allowed: dict[str, dict], released) -> list[dict]:
    """Redisclosure notices for what is released: the decisions' notice obligations, plus the notice
    that matches each released category's source law (profiles/passport.json)."""
    p = params()
    texts, by_cat = p["notices"], p["notice_by_category"]
    codes: list[str] = []
    for cat in released:
        for o in allowed.get(cat, {}).get("obligations") or ():
            if o in texts and o not in codes:
                codes.append(o)
    for cat in released:
        o = by_cat.get(cat)
        if o and o not in codes:
            codes.append(o)
    return [{"code": c, "citation": texts[c]["citation"], "text": texts[c]["text"]} for c in codes]


def notices_of(bundle: dict) -> list[str]:
    """The notice texts of an assembled passport (its Notices section)."""
    comp = bundle["entry"][0]["resource"]
    for s in comp.get("section") or ():
        if any(c.get("code") == NOTICES_CODE for c in (s.get("code") or {}).get("coding") or ()):
            return [n.get("valueString") for n in s.get("extension") or () if n.get("valueString")]
    return []


def _collect(conn, tenant: str, youth_id: str, allowed: dict, youth: dict, as_of: date):
    rows = load_rows(conn, tenant, youth_id, allowed)
    red = {cat: redactions_of(d) for cat, d in allowed.items()}
    enrollment_ok = "enrollment_school_placement" in allowed
    school_ids = {(r.body.get("schoolReference") or {}).get("schoolId") for r in rows if r.standard == "edfi"}
    schools = load_schools(conn, tenant, school_ids) if enrollment_ok else {}
    names = {sid: r.body.get("nameOfInstitution") for sid, r in schools.items()}
    items: list[Item] = []
    patient_sources, team = [], []
    for r in rows:
        cat, rd = r.category, red.get(r.category, frozenset())
        if r.standard == "fhir":
            if r.rtype in SKIP_FHIR:
                if r.rtype == "Patient":
                    patient_sources.append(r)
                continue
            if "psychotherapy_notes" in rd and is_psychotherapy_note(r.security, r.body):
                continue
            items.append(Item(r.body, cat, [r], r.security))
        elif r.standard == "edfi":
            if r.rtype in DEMOGRAPHIC_EDFI:
                patient_sources.append(r)
                continue
            res = education.render(tenant, youth_id, r, schools_literal=enrollment_ok, school_names=names)
            if res is not None:
                items.append(Item(res, cat, [r]))
        else:
            body = drop_case_fields(r.body, rd)
            if r.rtype == "youth":
                patient_sources.append(r)
            elif r.rtype == "placement":
                items.extend(Item(x, cat, [r]) for x in case_fhir.placement(tenant, youth_id, r, body))
            elif r.rtype == "assignment":
                it = Item(case_fhir.related_person(tenant, youth_id, r, body), cat, [r])
                items.append(it)
                if cat == "placement_case_information":
                    team.append(it)
            elif r.rtype == "consent":
                items.append(Item(case_fhir.consent(tenant, youth_id, r, body), cat, [r]))
            elif r.rtype == "courtOrder":
                items.append(Item(case_fhir.court_order(tenant, youth_id, r, body), cat, [r]))
    if team:
        items.append(Item(case_fhir.care_team(tenant, youth_id, [t.resource for t in team]),
                          "placement_case_information", [s for t in team for s in t.sources]))
    if enrollment_ok:
        items.extend(_schools(tenant, items, schools))
    return rows, items, patient_sources, schools, red


def _schools(tenant: str, items: list[Item], schools: dict) -> list[Item]:
    """One Organization per school an entry references literally (reference data, with its own provenance)."""
    wanted: dict[int, Item] = {}
    for it in items:
        for p in it.resource.get("performer") or ():
            if "reference" in p and p["reference"].startswith("Organization/"):
                sid = int(p["identifier"]["value"])
                wanted.setdefault(sid, it)
    out = []
    for sid, it in sorted(wanted.items()):
        row = schools.get(sid)
        if row is not None:
            out.append(Item(education.school_organization(tenant, row), "enrollment_school_placement", [row]))
        else:
            org = {"resourceType": "Organization", "id": education.school_org_id(tenant, sid),
                   "identifier": [{"system": education.CDS_SYSTEM, "value": f"{sid:07d}"}], "name": f"CDS {sid:07d}"}
            out.append(Item(org, "enrollment_school_placement", it.sources))
    return out


_ASSEMBLER = {"type": {"coding": [{"system": PROV_PARTICIPANT, "code": "assembler", "display": "Assembler"}]},
              "who": {"display": GATEWAY_NAME}}


def _author(source_system: str) -> dict:
    return {"type": {"coding": [{"system": PROV_PARTICIPANT, "code": "author", "display": "Author"}]},
            "who": {"display": source_system}}


def _provenance(tenant: str, it: Item, now: str, identifying: bool, authors: dict) -> dict:
    """`authors`: this document's author agents by source system (built once, shared by entries:
    nothing edits a Provenance after it is made)."""
    agents, seen = [], set()
    for s in it.sources:
        if s.source_system not in seen:
            seen.add(s.source_system)
            a = authors.get(s.source_system)
            if a is None:
                a = authors[s.source_system] = _author(s.source_system)
            agents.append(a)
    agents.append(_ASSEMBLER)
    entities = []
    for s in it.sources:
        where = s.source_system if identifying else " ".join(x for x in (s.source_file, s.source_locator) if x) or s.source_system
        entities.append({"role": "source", "what": {"display": where[:500]}})
    recorded = max((s.received_at for s in it.sources), default=None)
    prov = {"resourceType": "Provenance", "id": uid(tenant, "prov", it.key),
            "target": [{"reference": it.key}], "recorded": instant(recorded) if recorded else now, "agent": agents}
    if entities:
        prov["entity"] = entities
    sec = (it.resource.get("meta") or {}).get("security")
    if sec:
        prov["meta"] = {"security": list(sec)}
    return prov


def _dangling(root, present: set) -> None:
    """References to resources not in this document (withheld or never stored) keep no target.
    (A walk with an explicit stack: every node of every entry is visited, so no call per node.)"""
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if type(node) is dict:
            ref = node.get("reference")
            if ref is not None and type(ref) is str and "/" in ref and ref not in present \
                    and not ref.startswith(("#", "urn:")):
                node.pop("reference")
                node.setdefault("display", "Not included in this passport")
            for v in node.values():
                tv = type(v)
                if tv is dict or tv is list:
                    push(v)
        else:
            for v in node:
                tv = type(v)
                if tv is dict or tv is list:
                    push(v)


def assemble(conn, tenant: str, youth_id: str, decisions: dict[str, dict], *, as_of: date, base_url: str,
             youth_row: dict | None = None) -> dict:
    """The youth's passport as a FHIR R4 document Bundle limited to the permitted categories.
    `youth_row`: the youth's full row when the caller already read it (for the decision)."""
    allowed = permitted(decisions)
    demo_ok = "demographics_identity" in allowed
    removal = "enrollment_school_placement" in allowed
    youth = (project_youth(youth_row, demographics=demo_ok, removal=removal) if youth_row is not None
             else load_youth(conn, tenant, youth_id, demographics=demo_ok, removal=removal))
    if youth is None:
        raise LookupError(f"no youth {youth_id} in tenant {tenant}")
    now = instant(utcnow())
    rows, items, patient_sources, schools, red = _collect(conn, tenant, youth_id, allowed, youth, as_of)
    pat = case_fhir.patient(youth, load_identifiers(conn, tenant, youth_id) if demo_ok else [], demographics=demo_ok)
    pat_item = Item(pat, "demographics_identity", patient_sources if demo_ok else [])
    items.insert(0, pat_item)
    facts = compute_facts(rows, youth, as_of, allowed, schools)
    obligations = {cat: obligation_codings(d.get("obligations")) for cat, d in allowed.items()}
    present = {it.key for it in items} | {f"Patient/{youth_id}"}
    for it in items:
        rd = red.get(it.category, frozenset())
        if rd & IDENTIFIER_REDACTIONS:
            deidentify(it.resource)
        _dangling(it.resource, present)
        if it is pat_item and not demo_ok:
            continue
        label(it.resource, it.security, obligations.get(it.category, []))
    base = base_url.rstrip("/")
    order = list(categories())
    by_cat: dict[str, list[Item]] = {}
    for it in items:
        if it is pat_item and not demo_ok:
            continue
        by_cat.setdefault(it.category, []).append(it)
    released = [c for c in order if c in by_cat]
    sections = []
    for cat in released:
        its = by_cat[cat]
        sections.append({
            "title": category_display(cat),
            "code": {"coding": [{"system": HEP_CS, "code": cat, "display": category_display(cat)}]},
            "text": {"status": "generated",
                     "div": narrative.div(narrative.fact_lines(cat, facts), [i.resource for i in its])},
            "entry": [{"reference": i.key} for i in its]})
    notes = notices(allowed, released)
    if notes:
        sections.append({
            "title": "Notices",
            "code": {"coding": [{"system": HEP_CS, "code": NOTICES_CODE, "display": "Redisclosure notices"}]},
            "text": {"status": "generated", "div": narrative.notices_div(notes)},
            "extension": [{"url": NOTICE_EXT,
                           "valueString": n["text"]} for n in notes]})
    hwm = high_water_mark(i.resource for i in items) or "N"
    device = {"resourceType": "Device", "id": uid("hep-gateway-device"),
              "deviceName": [{"name": GATEWAY_NAME, "type": "user-friendly-name"}], "owner": {"display": "Los Angeles County"}}
    comp = {"resourceType": "Composition", "id": str(uuid.uuid4()), "meta": {"profile": [PROFILE_COMPOSITION]},
            "status": "final",
            "type": {"coding": [{"system": HEP_CS, "code": DOC_CODE, "display": "Health and Education Passport"},
                                {"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}],
                     "text": "Health and Education Passport"},
            "subject": {"reference": f"Patient/{youth_id}"}, "date": now,
            "author": [{"reference": f"Device/{device['id']}", "display": GATEWAY_NAME}],
            "title": "Health and Education Passport", "confidentiality": hwm,
            "event": [{"period": {"end": as_of.isoformat()}}],
            "section": sections}
    entries = [comp, device]
    authors: dict = {}
    provs = [_provenance(tenant, Item(device, "", []), now, False, authors)]
    for it in items:
        entries.append(it.resource)
        identifying = bool(red.get(it.category, frozenset()) & IDENTIFIER_REDACTIONS)
        provs.append(_provenance(tenant, it, now, identifying, authors))
    entries.extend(provs)
    bundle_id = str(uuid.uuid4())
    return {"resourceType": "Bundle", "id": bundle_id,
            "meta": {"lastUpdated": now, "security": [{"system": CONFIDENTIALITY, "code": hwm}]},
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{bundle_id}"},
            "type": "document", "timestamp": now,
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in entries]}
