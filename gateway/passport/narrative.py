"""Section narratives (Composition.section.text): built only from what is released, after redaction."""
from __future__ import annotations

from html import escape

from .vocab import XHTML

MAX_LINES = 25


def _cc(c: dict | None) -> str:
    if not c:
        return ""
    if c.get("text"):
        return c["text"]
    for cd in c.get("coding") or ():
        if cd.get("display") or cd.get("code"):
            return cd.get("display") or cd.get("code")
    return ""


def _when(r: dict) -> str:
    for k in ("effectiveDateTime", "occurrenceDateTime", "onsetDateTime", "recordedDate", "created", "dateTime"):
        if r.get(k):
            return str(r[k])[:10]
    for k in ("effectivePeriod", "period"):
        p = r.get(k)
        if p:
            start, end = str(p.get("start", ""))[:10], str(p.get("end", ""))[:10]
            if end:
                return f"{start} – {end}"
            return f"{start} – present" if r.get("resourceType") in ONGOING else start
    return ""


ONGOING = frozenset({"Observation", "EpisodeOfCare", "RelatedPerson"})


def _value(r: dict) -> str:
    if "valueQuantity" in r:
        q = r["valueQuantity"]
        v = q.get("value")
        v = int(v) if isinstance(v, float) and v.is_integer() else v
        return f"{v} {q.get('unit', '')}".strip()
    if "valueCodeableConcept" in r:
        return _cc(r["valueCodeableConcept"])
    if "valueString" in r:
        return str(r["valueString"])
    return ""


def line(r: dict) -> str:
    t = r.get("resourceType")
    if t == "Observation":
        parts = [_cc(r.get("code")), _value(r)]
    elif t == "Immunization":
        parts = [_cc(r.get("vaccineCode")), r.get("status", "")]
    elif t in ("Condition", "AllergyIntolerance"):
        parts = [_cc(r.get("code")), _cc(r.get("clinicalStatus"))]
    elif t in ("MedicationStatement", "MedicationRequest"):
        parts = [_cc(r.get("medicationCodeableConcept")) or "medication", r.get("status", "")]
    elif t == "Encounter":
        parts = [_cc((r.get("type") or [None])[0]) or "Encounter"]
    elif t in ("Practitioner", "RelatedPerson"):
        name = (r.get("name") or [{}])[0]
        nm = name.get("text") or " ".join(list(name.get("given") or []) + [name.get("family", "")]).strip()
        rel = _cc((r.get("relationship") or [None])[0]) if t == "RelatedPerson" else "Practitioner"
        phone = next((c["value"] for c in r.get("telecom") or () if c.get("system") == "phone"), "")
        parts = [rel, nm, phone]
    elif t == "Organization":
        parts = [r.get("name") or "Organization"]
    elif t == "EpisodeOfCare":
        types = r.get("type") or []
        parts = ["Placement", _cc(types[-1]) if types else "", r.get("status", "")]
    elif t == "Consent":
        parts = ["Consent on file", r.get("status", "")]
    elif t == "Basic":
        parts = [_cc(r.get("code"))]
    elif t == "CareTeam":
        parts = [r.get("name") or "Care team", f"{len(r.get('participant') or [])} members"]
    elif t == "Patient":
        name = (r.get("name") or [{}])[0]
        nm = " ".join(list(name.get("given") or []) + [name.get("family", "")]).strip()
        parts = [nm, f"born {r['birthDate']}" if r.get("birthDate") else "", r.get("gender", "")]
    else:
        parts = [t or ""]
    when = _when(r)
    text = "; ".join(p for p in parts if p)
    return f"{text} ({when})" if when else (text or t or "")


def div(facts: list[str], resources: list[dict]) -> str:
    out = [f'<div xmlns="{XHTML}">']
    if facts:
        out.append("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in facts) + "</ul>")
    if resources:
        shown = sorted(resources, key=_when, reverse=True)[:MAX_LINES]
        out.append("<ul>" + "".join(f"<li>{escape(line(r))}</li>" for r in shown) + "</ul>")
        if len(resources) > MAX_LINES:
            out.append(f"<p>… and {len(resources) - MAX_LINES} more entries.</p>")
    if not facts and not resources:
        out.append("<p>No entries.</p>")
    out.append("</div>")
    return "".join(out)


def fact_lines(category: str, facts: dict) -> list[str]:
    """Human lines for the facts that derive from `category` (facts already limited to released ones)."""
    out = []
    for name, f in facts.items():
        if f["category"] != category:
            continue
        v = f["value"]
        if name == "school_transfers":
            out.append(f"School transfers: {v}")
        elif name in ("current_school", "school_of_origin"):
            label = "Current school" if name == "current_school" else "School of origin"
            out.append(f"{label}: " + (f"{v.get('name') or 'CDS ' + v['cds']} (CDS {v['cds']})" if v else "unknown"))
        elif name == "current_grade":
            out.append(f"Current grade: {v['grade']}" if v else "Current grade: unknown")
        elif name == "credits_earned":
            out.append(f"Credits earned toward graduation: {v['earned']:g} of {v['to_graduate']:g}")
        elif name == "credits_expected" and v:
            out.append(f"Credits expected for grade: {v['expected']:g} ({'on track' if v['on_track'] else 'behind'})")
        elif name == "days_absent":
            out.append(f"Days absent this school year: {v['days']:g}")
        elif name == "days_enrolled":
            out.append(f"Days enrolled this school year: {v['days']:g}")
        elif name == "chronic_absence" and v is not None:
            out.append(f"Chronically absent: {'yes' if v else 'no'}")
        elif name == "iep":
            out.append(f"IEP: {'active' if v['active'] else 'none on file'}")
        elif name == "section_504":
            out.append(f"Section 504 plan: {'active' if v['active'] else 'none on file'}")
        elif name == "immunizations":
            out.append(f"Immunizations: {v['doses']} doses on file" + (f", last {v['last_dose']}" if v["last_dose"] else ""))
    return out


def notices_div(notices: list[dict]) -> str:
    body = "".join(f"<p><b>{escape(n['citation'])}</b>: {escape(n['text'])}</p>" for n in notices)
    return f'<div xmlns="{XHTML}">{body or "<p>No notices.</p>"}</div>'
