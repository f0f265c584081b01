"""The passport page's content: sections per WIC 16010, each built only from released categories.

`build(conn, tenant, youth_id, disclosure, today)` reads rows for the permitted categories only
(gateway.passport.rows.load_rows selects exactly those, so a withheld category never leaves the
database), applies the decision's redactions, and returns plain dicts the template renders. A
withheld category contributes only its decision (reason, rules, citations) — never its data, and
never whether data exists.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from adapters.edfi_common import code_of

from ..passport.facts import compute, enrollments, school_year_of
from ..passport.redact import IDENTIFIER_REDACTIONS, drop_case_fields, is_psychotherapy_note, redactions_of
from ..passport.rows import load_rows, load_schools, load_youth
from ..passport.vocab import category_display
from . import caseload, svg

# (section id, title, categories) in the order of WIC 16010(a)
SECTIONS = (
    ("demographics", "Demographics", ("demographics_identity",)),
    ("erh", "Education rights holder", ("erh_identity",)),
    ("enrollment", "School of origin and enrollment history", ("enrollment_school_placement",)),
    ("attendance", "Attendance", ("attendance",)),
    ("grades", "Grades, progress and credits", ("grades_transcripts_credits", "assessments")),
    ("special_education", "Special education", ("special_education_iep_504",)),
    ("discipline", "Discipline", ("discipline",)),
    ("health", "Health summary", ("immunizations", "allergies", "current_medications",
                                  "conditions_problems_hospitalizations")),
    ("mental_health", "Mental health", ("mental_health",)),
    ("protected", "Specially protected health information",
     ("substance_use_disorder_part2", "reproductive_sexual_health_minor_consented", "hiv")),
    ("providers", "Providers", ("conditions_problems_hospitalizations", "placement_case_information")),
    ("placement", "Placement and court", ("placement_case_information", "court_orders")),
)
ROLE_LABEL = {"attorney": "Attorney", "casa": "CASA volunteer", "caregiver": "Caregiver",
              "education_rights_holder": "Education rights holder", "social_worker": "Social worker",
              "probation_officer": "Probation officer"}
PART_LABELS = {("providers", "conditions_problems_hospitalizations"): "Health care providers",
               ("providers", "placement_case_information"): "Case team and caregiver"}
ADMIT_CLASSES = {"IMP", "EMER", "ACUTE", "OBSENC"}


def _d(v) -> str | None:
    return str(v)[:10] if v else None


def _text(cc: dict | None) -> str:
    if not cc:
        return ""
    if cc.get("text"):
        return cc["text"]
    for c in cc.get("coding") or ():
        if c.get("display"):
            return c["display"]
    codes = [c.get("code") for c in cc.get("coding") or () if c.get("code")]
    return codes[0] if codes else ""


def _status(cc: dict | None) -> str:
    for c in (cc or {}).get("coding") or ():
        if c.get("code"):
            return c["code"]
    return ""


def _phone(telecom) -> str | None:
    for t in telecom or ():
        if t.get("system") == "phone" and t.get("value"):
            return t["value"]
    return None


def tel_href(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    return f"tel:{digits}" if digits else None


def _name(names) -> str:
    for n in names or ():
        if n.get("text"):
            return n["text"]
        parts = list(n.get("prefix") or []) + list(n.get("given") or []) + [n.get("family") or ""]
        out = " ".join(p for p in parts if p)
        if out:
            return out
    return ""


def _why(category: str, decision: dict) -> dict:
    return {"category": category, "display": category_display(category), "decision": decision.get("decision"),
            "reason": decision.get("reason") or "", "rules": [{"id": r.get("id"), "citation": r.get("citation")}
                                                             for r in decision.get("rules") or ()],
            "redactions": list(decision.get("redactions") or ()), "obligations": list(decision.get("obligations") or ())}


def build(conn, tenant: str, youth_id: str, decisions: dict[str, dict], today: date) -> dict:
    allowed = {c: d for c, d in decisions.items() if d.get("decision") in ("permit", "permit-redacted")}
    red = {c: redactions_of(d) for c, d in allowed.items()}
    rows = load_rows(conn, tenant, youth_id, allowed)
    by_cat: dict[str, list] = defaultdict(list)
    for r in rows:
        rd = red.get(r.category, frozenset())
        if "psychotherapy_notes" in rd and is_psychotherapy_note(r.security, r.body):
            continue
        if r.standard == "case" and rd:
            r.body = drop_case_fields(r.body, rd)
        by_cat[r.category].append(r)
    identifiers_ok = lambda c: not (red.get(c, frozenset()) & IDENTIFIER_REDACTIONS)
    enrollment_ok = "enrollment_school_placement" in allowed
    youth = load_youth(conn, tenant, youth_id, demographics="demographics_identity" in allowed
                       and identifiers_ok("demographics_identity"), removal=enrollment_ok)
    school_ids = [(r.body.get("schoolReference") or {}).get("schoolId") for r in rows if r.standard == "edfi"]
    schools = load_schools(conn, tenant, school_ids) if enrollment_ok else {}
    facts = compute(rows, youth, today, allowed, schools)
    content = {
        "demographics_identity": lambda: _demographics(youth, by_cat["demographics_identity"], today,
                                                       identifiers_ok("demographics_identity")),
        "erh_identity": lambda: _people(by_cat["erh_identity"], identifiers_ok("erh_identity")),
        "enrollment_school_placement": lambda: _enrollment(rows, schools, facts),
        "attendance": lambda: _attendance(by_cat["attendance"], facts, today, schools),
        "grades_transcripts_credits": lambda: _grades(by_cat["grades_transcripts_credits"], facts),
        "assessments": lambda: _generic(by_cat["assessments"]),
        "special_education_iep_504": lambda: _special_ed(by_cat["special_education_iep_504"], facts),
        "discipline": lambda: _generic(by_cat["discipline"]),
        "immunizations": lambda: _immunizations(by_cat["immunizations"], youth, today),
        "allergies": lambda: _allergies(by_cat["allergies"]),
        "current_medications": lambda: _medications(by_cat["current_medications"]),
        "conditions_problems_hospitalizations": lambda: _problems(by_cat["conditions_problems_hospitalizations"]),
        "mental_health": lambda: _problems(by_cat["mental_health"], with_meds=True),
        "substance_use_disorder_part2": lambda: _problems(by_cat["substance_use_disorder_part2"], with_meds=True),
        "reproductive_sexual_health_minor_consented": lambda: _problems(by_cat["reproductive_sexual_health_minor_consented"], with_meds=True),
        "hiv": lambda: _problems(by_cat["hiv"], with_meds=True),
        "placement_case_information": lambda: _placement(by_cat["placement_case_information"], today,
                                                         identifiers_ok("placement_case_information")),
        "court_orders": lambda: _court_orders(by_cat["court_orders"]),
    }
    sections = []
    for sid, title, cats in SECTIONS:
        parts = []
        for cat in cats:
            d = decisions.get(cat) or {"decision": "deny", "reason": "No decision was made for this category.", "rules": []}
            part = {"why": _why(cat, d), "shown": cat in allowed, "label": PART_LABELS.get((sid, cat))}
            if part["shown"]:
                if sid == "providers":
                    part["data"] = (_providers(by_cat[cat], identifiers_ok(cat)) if cat == "conditions_problems_hospitalizations"
                                    else _case_team(by_cat[cat], identifiers_ok(cat)))
                    part["kind"] = "providers"
                else:
                    part["data"] = content[cat]()
                    part["kind"] = cat
            parts.append(part)
        sections.append({"id": sid, "title": title, "parts": parts,
                         "hidden": all(not p["shown"] for p in parts)})
    header = {"name": "Name withheld", "birth_date": None}
    if youth and youth.get("family"):
        header = {"name": " ".join(x for x in (youth.get("given"), youth.get("family")) if x),
                  "birth_date": youth.get("birth_date")}
    return {"sections": sections, "header": header, "released": sorted(allowed),
            "withheld": sorted(c for c in decisions if c not in allowed)}


# --- per category ---------------------------------------------------------------------------------

def _demographics(youth, rows, today, identifiers_ok):
    case = next((r.body for r in rows if r.standard == "case" and r.rtype == "youth"), {})
    y = youth or {}
    birth = y.get("birth_date")
    age = None
    if birth:
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    out = {"Birth date": birth.isoformat() if birth else None, "Age": age, "Sex": y.get("sex"),
           "Primary language": case.get("primary_language"), "CWS office": case.get("office")}
    if identifiers_ok:
        out.update({"Name": " ".join(x for x in (y.get("given"), y.get("middle"), y.get("family")) if x) or None,
                    "Also known as": ", ".join(" ".join(x for x in (a.get("given"), a.get("family")) if x)
                                              if isinstance(a, dict) else str(a) for a in y.get("aliases") or []) or None,
                    "SSID": y.get("ssid"), "CWS client id": y.get("client_id"), "Case id": y.get("case_id")})
    order = ("Name", "Also known as", "Birth date", "Age", "Sex", "Primary language", "SSID", "CWS client id",
             "Case id", "CWS office")
    return [(k, out[k]) for k in order if out.get(k) not in (None, "")]


def _people(rows, identifiers_ok):
    out = []
    for r in rows:
        b = r.body
        if r.standard != "case" or r.rtype != "assignment" or b.get("end"):
            continue
        out.append({"name": b.get("name") if identifiers_ok else "(identity withheld)",
                    "role": ROLE_LABEL.get(b.get("role"), (b.get("role") or "").replace("_", " ")),
                    "relationship": (b.get("erh_relationship") or "").replace("_", " "),
                    "organization": b.get("organization"), "phone": b.get("phone") if identifiers_ok else None,
                    "tel": tel_href(b.get("phone")) if identifiers_ok else None,
                    "email": b.get("email") if identifiers_ok else None, "since": b.get("start"),
                    "jv535": b.get("jv535_signed")})
    return out


def _school_name(sid, schools) -> str:
    row = schools.get(int(sid)) if sid is not None else None
    if row is not None and row.body.get("nameOfInstitution"):
        return row.body["nameOfInstitution"]
    return f"School {int(sid):07d}" if sid is not None else "Unknown school"


def _enrollment(rows, schools, facts):
    timeline = []
    for e in reversed(enrollments(rows)):
        timeline.append({"school": _school_name(e.school_id, schools), "cds": f"{e.school_id:07d}",
                         "entry": e.entry.isoformat(), "exit": e.exit.isoformat() if e.exit else None,
                         "grade": e.grade, "primary": e.primary,
                         "why_left": None if e.exit is None else ("end of school year" if e.year_end else (e.exit_code or "left"))})
    v = lambda k: (facts.get(k) or {}).get("value")
    return {"current_school": v("current_school"), "current_grade": v("current_grade"),
            "school_of_origin": v("school_of_origin"), "transfers": v("school_transfers"), "timeline": timeline}


def _attendance(rows, facts, today, schools):
    sy = school_year_of(today)
    events = defaultdict(int)
    yearly: dict[int, list[float]] = {}
    for r in rows:
        b = r.body
        if r.rtype == "studentSchoolAttendanceEvents":
            d = _d(b.get("eventDate"))
            code = code_of(b.get("attendanceEventCategoryDescriptor")) or ""
            if d and "absence" in code.lower():
                dd = date.fromisoformat(d)
                if school_year_of(dd) == sy and dd <= today:
                    events[(dd.year, dd.month)] += 1
        elif r.rtype == "studentSchoolAttendanceSummaries" and b.get("schoolYear"):
            y = yearly.setdefault(int(b["schoolYear"]), [0.0, 0.0])
            y[0] += float(b.get("daysAbsentExcused") or 0) + float(b.get("daysAbsentUnexcused") or 0)
            y[1] += float(b.get("daysEnrolled") or 0)
    months = [(sy - 1, m) for m in range(8, 13)] + [(sy, m) for m in range(1, 7)]
    months = [ym for ym in months if date(ym[0], ym[1], 1) <= today]
    monthly = [(date(y, m, 1).strftime("%b"), events.get((y, m), 0)) for y, m in months]
    v = lambda k: (facts.get(k) or {}).get("value")
    out = {"days_absent": v("days_absent"), "days_enrolled": v("days_enrolled"), "chronic": v("chronic_absence"),
           "monthly": monthly if events else [], "yearly": []}
    if events:
        out["chart"] = svg.bar_chart(monthly, title=f"Days absent by month, school year {sy - 1}–{sy % 100:02d}",
                                     unit="days")
    else:
        yearly_rates = [(f"{y - 1}–{y % 100:02d}", round(100 * a / e, 1) if e else 0.0, a, e)
                        for y, (a, e) in sorted(yearly.items())][-6:]
        out["yearly"] = yearly_rates
        if yearly_rates:
            out["chart"] = svg.bar_chart([(k, rate) for k, rate, _, _ in yearly_rates],
                                         title="Share of enrolled days absent, by school year", unit="%",
                                         threshold=10.0, threshold_label="10% chronic absence")
    return out


def _grades(rows, facts):
    terms = defaultdict(list)
    for r in rows:
        b = r.body
        if r.rtype != "courseTranscripts":
            continue
        ref = b.get("studentAcademicRecordReference") or {}
        key = (ref.get("schoolYear") or 0, code_of(ref.get("termDescriptor")) or "")
        terms[key].append({"course": b.get("courseTitle") or (b.get("courseReference") or {}).get("courseCode"),
                           "grade": b.get("finalLetterGradeEarned") or b.get("finalNumericGradeEarned"),
                           "earned": b.get("earnedCredits"), "attempted": b.get("attemptedCredits")})
    v = lambda k: (facts.get(k) or {}).get("value")
    return {"credits": v("credits_earned"), "expected": v("credits_expected"),
            "terms": [{"year": y, "term": t, "courses": sorted(cs, key=lambda c: str(c["course"]))}
                      for (y, t), cs in sorted(terms.items(), reverse=True)]}


def _special_ed(rows, facts):
    programs = []
    for r in rows:
        b = r.body
        name = {"studentSpecialEducationProgramAssociations": "Special education (IEP)",
                "studentSection504ProgramAssociations": "Section 504 plan"}.get(
            r.rtype, code_of((b.get("programReference") or {}).get("programTypeDescriptor")) or r.rtype)
        programs.append({"program": name, "begin": _d(b.get("beginDate")), "end": _d(b.get("endDate")),
                         "disabilities": [code_of(d.get("disabilityDescriptor")) for d in b.get("disabilities") or ()
                                          if d.get("disabilityDescriptor")]})
    v = lambda k: (facts.get(k) or {}).get("value")
    return {"iep": v("iep"), "section_504": v("section_504"),
            "programs": sorted(programs, key=lambda p: p["begin"] or "", reverse=True)}


def _generic(rows):
    items = []
    for r in rows:
        b = r.body
        when = next((_d(b.get(k)) for k in ("administrationDate", "incidentDate", "disciplineDate", "beginDate",
                                            "date", "eventDate") if b.get(k)), None)
        what = (b.get("assessmentTitle") or (b.get("assessmentReference") or {}).get("assessmentIdentifier")
                or b.get("incidentDescription") or ", ".join(code_of(x.get("disciplineDescriptor")) or ""
                                                             for x in b.get("disciplines") or ()) or r.rtype)
        items.append({"when": when, "what": what, "type": r.rtype})
    return sorted(items, key=lambda i: i["when"] or "", reverse=True)


def _immunizations(rows, youth, today):
    doses = []
    for r in rows:
        b = r.body
        if r.rtype != "Immunization":
            continue
        doses.append({"vaccine": _text(b.get("vaccineCode")), "date": _d(b.get("occurrenceDateTime")),
                      "status": b.get("status")})
    doses.sort(key=lambda d: d["date"] or "", reverse=True)
    gaps = caseload.immunization_gaps(rows, (youth or {}).get("birth_date"), today)
    return {"doses": doses, "gaps": gaps, "age_known": bool((youth or {}).get("birth_date"))}


def _allergies(rows):
    out = []
    for r in rows:
        b = r.body
        if r.rtype != "AllergyIntolerance":
            continue
        reactions = [_text(m) for rx in b.get("reaction") or () for m in rx.get("manifestation") or ()]
        out.append({"what": _text(b.get("code")), "reaction": ", ".join(x for x in reactions if x),
                    "criticality": b.get("criticality"), "status": _status(b.get("clinicalStatus"))})
    return out


def _meds(rows):
    out = []
    for r in rows:
        b = r.body
        if r.rtype not in ("MedicationStatement", "MedicationRequest"):
            continue
        out.append({"what": _text(b.get("medicationCodeableConcept")) or (b.get("medicationReference") or {}).get("display", ""),
                    "status": b.get("status"), "since": _d(b.get("effectiveDateTime") or (b.get("effectivePeriod") or {}).get("start")
                                                           or b.get("authoredOn"))})
    return sorted(out, key=lambda m: (m["status"] != "active", m["what"]))


def _medications(rows):
    return _meds(rows)


def _problems(rows, with_meds=False):
    problems, stays, visits = [], [], 0
    for r in rows:
        b = r.body
        if r.rtype == "Condition":
            problems.append({"what": _text(b.get("code")), "status": _status(b.get("clinicalStatus")) or "unknown",
                             "onset": _d(b.get("onsetDateTime") or (b.get("onsetPeriod") or {}).get("start"))})
        elif r.rtype == "Encounter":
            cls = (b.get("class") or {}).get("code")
            if cls in ADMIT_CLASSES:
                stays.append({"what": next((_text(t) for t in b.get("type") or ()), "") or cls,
                              "start": _d((b.get("period") or {}).get("start")), "end": _d((b.get("period") or {}).get("end")),
                              "kind": "Emergency" if cls == "EMER" else "Hospital stay"})
            else:
                visits += 1
    problems.sort(key=lambda p: (p["status"] != "active", p["onset"] or ""), reverse=False)
    out = {"current": [p for p in problems if p["status"] in ("active", "recurrence", "relapse")],
           "past": [p for p in problems if p["status"] not in ("active", "recurrence", "relapse")],
           "stays": sorted(stays, key=lambda s: s["start"] or "", reverse=True), "visits": visits}
    if with_meds:
        out["medications"] = _meds(rows)
    return out


def _providers(rows, identifiers_ok):
    orgs = {r.body.get("id"): r.body for r in rows if r.rtype == "Organization"}
    practs = {r.body.get("id"): r.body for r in rows if r.rtype == "Practitioner"}
    out, seen = [], set()
    for r in rows:
        if r.rtype != "PractitionerRole":
            continue
        b = r.body
        p = practs.get(((b.get("practitioner") or {}).get("reference") or "").split("/")[-1], {})
        o = orgs.get(((b.get("organization") or {}).get("reference") or "").split("/")[-1], {})
        phone = _phone(b.get("telecom")) or _phone(p.get("telecom")) or _phone(o.get("telecom"))
        name = _name(p.get("name")) if identifiers_ok else ""
        key = (name, o.get("name"), phone)
        if key in seen:
            continue
        seen.add(key)
        addr = next(iter(p.get("address") or o.get("address") or []), None)
        out.append({"name": name or o.get("name") or "Provider", "organization": o.get("name"),
                    "specialty": ", ".join(_text(s) for s in b.get("specialty") or () if _text(s)),
                    "phone": phone if identifiers_ok else None, "tel": tel_href(phone) if identifiers_ok else None,
                    "address": ", ".join(x for x in (list(addr.get("line") or []) + [addr.get("city")]) if x) if addr else None})
    if not out:
        for p in practs.values():
            phone = _phone(p.get("telecom"))
            out.append({"name": _name(p.get("name")) if identifiers_ok else "Provider", "organization": None, "specialty": "",
                        "phone": phone if identifiers_ok else None, "tel": tel_href(phone) if identifiers_ok else None,
                        "address": None})
    return sorted(out, key=lambda x: x["name"])


def _case_team(rows, identifiers_ok):
    team = [p for p in _people([r for r in rows if r.rtype == "assignment"], identifiers_ok)
            if p["role"] != "Social worker"]
    for r in rows:
        b = r.body
        if r.rtype == "placement" and not b.get("end"):
            cg = b.get("caregiver") or {}
            if cg.get("name") and not any(p["name"] == cg.get("name") for p in team):
                team.append({"name": cg.get("name") if identifiers_ok else "(identity withheld)",
                             "role": "Caregiver (current placement)", "organization": None, "relationship": "",
                             "phone": cg.get("phone") if identifiers_ok else None,
                             "tel": tel_href(cg.get("phone")) if identifiers_ok else None, "email": None,
                             "since": b.get("start"), "jv535": None})
    return team


def _placement(rows, today, identifiers_ok):
    placements = []
    for r in rows:
        b = r.body
        if r.rtype != "placement":
            continue
        cg = b.get("caregiver") or {}
        addr = b.get("address") or {}
        placements.append({"type": b.get("placement_type_display") or b.get("placement_type"),
                           "start": b.get("start"), "end": b.get("end"),
                           "caregiver": cg.get("name") if identifiers_ok else None,
                           "phone": cg.get("phone") if identifiers_ok else None,
                           "tel": tel_href(cg.get("phone")) if identifiers_ok else None,
                           "city": addr.get("city"),
                           "address": ", ".join(x for x in (addr.get("line"), addr.get("city")) if x) if identifiers_ok else None})
    placements.sort(key=lambda p: p["start"] or "", reverse=True)
    team = [p for p in _people([r for r in rows if r.rtype == "assignment"], identifiers_ok)]
    current = next((p for p in placements if not p["end"]), None)
    return {"current": current, "history": placements, "count": len(placements), "team": team}


def _court_orders(rows):
    out = []
    for r in rows:
        b = r.body
        out.append({"type": (b.get("type") or "").replace("_", " "), "status": b.get("status"),
                    "issued": b.get("issued"), "expires": b.get("expires"),
                    "limits": bool(b.get("limits_parent_ed_rights"))})
    return sorted(out, key=lambda o: o["issued"] or "", reverse=True)
