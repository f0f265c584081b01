"""The flat HEP record of one youth: the WIC 16010 passport fields as plain JSON.

Served by `GET /hep/v1/youth/<id>` (gateway/api/hep.py) and exported as `_type=HepRecord`
(hep-record.ndjson). A field is present only when every category it derives from is released to
the requester; otherwise the key is absent (never null: null means "released, but unknown").
docs/hep-api.yaml is the schema; FIELD_CATEGORIES below is the single list of which field needs
which category.
"""
from __future__ import annotations

from datetime import date

from ..passport.facts import compute as compute_facts
from ..passport.rows import Row

# field -> the categories it needs (all of them)
FIELD_CATEGORIES: dict[str, tuple[str, ...]] = {
    "name": ("demographics_identity",),
    "birth_date": ("demographics_identity",),
    "cws_client_id": ("demographics_identity",),
    "current_placement": ("placement_case_information",),
    "placement_count": ("placement_case_information",),
    "social_worker": ("placement_case_information",),
    "education_rights_holder": ("erh_identity",),
    "current_school": ("enrollment_school_placement",),
    "school_of_origin": ("enrollment_school_placement",),
    "school_transfers": ("enrollment_school_placement",),
    "grade_level": ("enrollment_school_placement",),
    "credits_earned": ("grades_transcripts_credits",),
    "days_absent_this_year": ("attendance",),
    "chronic_absence": ("attendance",),
    "iep": ("special_education_iep_504",),
    "section_504": ("special_education_iep_504",),
    "immunizations": ("immunizations",),
    "allergies": ("allergies",),
    "current_medications": ("current_medications",),
    "known_problems": ("conditions_problems_hospitalizations",),
    "hospitalizations": ("conditions_problems_hospitalizations",),
    "health_providers": ("conditions_problems_hospitalizations",),
    "dental_providers": ("conditions_problems_hospitalizations",),
    "mental_health_conditions": ("mental_health",),
    "mental_health_medications": ("mental_health",),
    "court_orders": ("court_orders",),
}
INPATIENT = {"IMP", "ACUTE", "NONAC", "inpatient"}
DENTAL_WORDS = ("dental", "dentist", "dds", "orthodont")


def _display(cc: dict | None) -> str | None:
    if not cc:
        return None
    if cc.get("text"):
        return cc["text"]
    for c in cc.get("coding") or ():
        if c.get("display") or c.get("code"):
            return c.get("display") or c.get("code")
    return None


def _code(cc: dict | None) -> str | None:
    for c in (cc or {}).get("coding") or ():
        if c.get("code"):
            return c["code"]
    return None


def _active_on(start, end, as_of: date) -> bool:
    s = str(start or "")[:10]
    e = str(end or "")[:10]
    d = as_of.isoformat()
    return (not s or s <= d) and (not e or d <= e)


def _person_name(names) -> str | None:
    for n in names or ():
        if n.get("text"):
            return n["text"]
        parts = list(n.get("given") or ()) + ([n["family"]] if n.get("family") else [])
        if parts:
            return " ".join(parts)
    return None


def _provider(body: dict) -> dict:
    out = {"kind": "organization" if body["resourceType"] == "Organization" else "practitioner",
           "name": body.get("name") if body["resourceType"] == "Organization" else _person_name(body.get("name"))}
    phone = next((t.get("value") for t in body.get("telecom") or () if t.get("system") == "phone"), None)
    if phone:
        out["phone"] = phone
    for a in body.get("address") or ():
        out["address"] = ", ".join(x for x in [*(a.get("line") or ()), a.get("city"), a.get("state"), a.get("postalCode")] if x)
        break
    return out


def _is_dental(body: dict) -> bool:
    text = " ".join(str(x) for x in [body.get("name") if isinstance(body.get("name"), str) else "",
                                      *[_display(t) or "" for t in body.get("type") or ()]]).lower()
    return any(w in text for w in DENTAL_WORDS)


def build(youth: dict, rows: list[Row], released: dict, as_of: date, schools: dict | None = None) -> dict:
    """The record from already-loaded rows of the released categories (rows of other categories
    are ignored, so a caller's mistake cannot widen it)."""
    cats = set(released)
    rows = [r for r in rows if r.category in cats]
    by: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        by.setdefault((r.standard, r.rtype), []).append(r)
    rec: dict = {"resourceType": "HepRecord", "id": youth["id"], "as_of": as_of.isoformat(),
                 "released_categories": sorted(cats)}

    if "demographics_identity" in cats:
        rec["name"] = {k: v for k, v in (("given", youth.get("given")), ("middle", youth.get("middle")),
                                         ("family", youth.get("family"))) if v}
        bd = youth.get("birth_date")
        rec["birth_date"] = bd.isoformat() if hasattr(bd, "isoformat") else bd
        rec["cws_client_id"] = youth.get("client_id")

    if "placement_case_information" in cats:
        placements = sorted((r.body for r in by.get(("case", "placement"), [])), key=lambda b: str(b.get("start") or ""))
        current = [b for b in placements if _active_on(b.get("start"), b.get("end"), as_of)]
        cur = current[-1] if current else None
        rec["current_placement"] = None if cur is None else {
            "type": cur.get("placement_type"), "type_display": cur.get("placement_type_display"),
            "start": cur.get("start"), "caregiver": (cur.get("caregiver") or {}).get("name")}
        rec["placement_count"] = len(placements)
        workers = [r.body for r in by.get(("case", "assignment"), [])
                   if r.category == "placement_case_information" and r.body.get("role") == "social_worker"
                   and _active_on(r.body.get("start"), r.body.get("end"), as_of)]
        sw = workers[-1] if workers else None
        rec["social_worker"] = None if sw is None else {"name": sw.get("name"), "phone": sw.get("phone")}

    if "erh_identity" in cats:
        erh = [r.body for r in by.get(("case", "assignment"), [])
               if r.body.get("role") == "education_rights_holder" and _active_on(r.body.get("start"), r.body.get("end"), as_of)]
        e = erh[-1] if erh else None
        rec["education_rights_holder"] = None if e is None else {
            "name": e.get("name"), "relationship": e.get("erh_relationship"), "phone": e.get("phone"),
            "since": e.get("start"), "jv535_signed": e.get("jv535_signed")}

    facts = compute_facts(rows, youth if "enrollment_school_placement" in cats else None, as_of, cats, schools or {})
    val = lambda k: (facts.get(k) or {}).get("value")   # noqa: E731
    if "enrollment_school_placement" in cats:
        rec["current_school"] = val("current_school")
        rec["school_of_origin"] = val("school_of_origin")
        rec["school_transfers"] = val("school_transfers")
        g = val("current_grade")
        rec["grade_level"] = None if g is None else {"grade": g.get("grade"), "number": g.get("number")}
    if "grades_transcripts_credits" in cats:
        rec["credits_earned"] = val("credits_earned")
    if "attendance" in cats:
        a = val("days_absent") or {}
        rec["days_absent_this_year"] = {"school_year": a.get("school_year"), "days": a.get("days")}
        rec["chronic_absence"] = val("chronic_absence")
    if "special_education_iep_504" in cats:
        rec["iep"] = val("iep")
        rec["section_504"] = val("section_504")
    if "immunizations" in cats:
        rec["immunizations"] = val("immunizations")

    if "allergies" in cats:
        rec["allergies"] = [{"substance": _display(b.get("code")), "clinical_status": _code(b.get("clinicalStatus")),
                             "criticality": b.get("criticality")}
                            for b in (r.body for r in by.get(("fhir", "AllergyIntolerance"), []))]
    if "current_medications" in cats:
        rec["current_medications"] = _medications(by, "current_medications")
    if "conditions_problems_hospitalizations" in cats:
        rec["known_problems"] = _conditions(by, "conditions_problems_hospitalizations")
        rec["hospitalizations"] = [
            {"start": (b.get("period") or {}).get("start"), "end": (b.get("period") or {}).get("end"),
             "reason": _display((b.get("reasonCode") or [None])[0]) or _display((b.get("type") or [None])[0])}
            for b in (r.body for r in by.get(("fhir", "Encounter"), []) if r.category == "conditions_problems_hospitalizations")
            if (b.get("class") or {}).get("code") in INPATIENT]
        providers = [r.body for t in ("Organization", "Practitioner") for r in by.get(("fhir", t), [])
                     if r.category == "conditions_problems_hospitalizations"]
        rec["dental_providers"] = [_provider(b) for b in providers if _is_dental(b)]
        rec["health_providers"] = [_provider(b) for b in providers if not _is_dental(b)]
    if "mental_health" in cats:
        rec["mental_health_conditions"] = _conditions(by, "mental_health")
        rec["mental_health_medications"] = _medications(by, "mental_health")
    if "court_orders" in cats:
        rec["court_orders"] = [{"type": b.get("type"), "status": b.get("status"), "issued": b.get("issued"),
                                "expires": b.get("expires")}
                               for b in (r.body for r in by.get(("case", "courtOrder"), []))]
    return rec


def _conditions(by, category: str) -> list[dict]:
    return [{"problem": _display(b.get("code")), "clinical_status": _code(b.get("clinicalStatus")),
             "onset": b.get("onsetDateTime") or (b.get("onsetPeriod") or {}).get("start")}
            for b in (r.body for r in by.get(("fhir", "Condition"), []) if r.category == category)]


def _medications(by, category: str) -> list[dict]:
    out = []
    for r in by.get(("fhir", "MedicationStatement"), []):
        b = r.body
        if r.category != category or b.get("status") not in ("active", "intended", "on-hold"):
            continue
        out.append({"medication": _display(b.get("medicationCodeableConcept"))
                    or (b.get("medicationReference") or {}).get("display"),
                    "status": b.get("status"),
                    "since": b.get("effectiveDateTime") or (b.get("effectivePeriod") or {}).get("start")})
    return out
