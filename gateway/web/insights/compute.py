"""County outcome indicators (Education Coordinating Council): aggregate counts over every youth in
care, streamed in chunks of youth so memory stays flat whatever the county's size.

Per youth the passport's own derived facts are used (gateway.passport.facts.compute / enrollments:
school transfers, current school and grade, days absent and chronic absence, credits expected), so an
indicator and the passport can never disagree about one youth. Only counts leave this module — no
youth id, name or youth-level row — and suppress.publish() withholds small cells before anything is
shown or cached. Definitions: docs/indicators.md.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import orjson
from sqlalchemy import and_, select

from adapters.edfi_common import code_of

from ...ingest.sealing import unseal
from ...passport.facts import compute as derived, enrollments
from ...passport.rows import _COLS, Row, _row
from ...store import schema as s

CHUNK = 500
AGE_GROUPS = (("0–5", 0, 5), ("6–10", 6, 10), ("11–13", 11, 13), ("14–17", 14, 17), ("18–21", 18, 21))
DIMENSIONS = (("district", "District (LEA)"), ("age", "Age group"), ("placement", "Current placement type"))
NO_SCHOOL = "No school enrollment on file"
NO_PLACEMENT = "No current placement"
OUT_OF_RANGE = "Other age"
FACT_CATEGORIES = ("enrollment_school_placement", "attendance", "grades_transcripts_credits")
RTYPES = ("studentSchoolAssociations", "studentSchoolAttendanceSummaries", "studentSchoolAttendanceEvents",
          "courseTranscripts", "studentAssessments")
ECE_GRADES = (-1, 0)          # PS / TK / Prekindergarten (-1) and kindergarten (0): grade_number of the grade
ECE_AGES = (3, 5)
RETENTION_WINDOW = 30         # days after a placement change in which the next school is looked for
SUBJECTS = {"ela": ("ELA", "English", "ELA/Literacy", "Reading", "Language"), "math": ("Math", "Mathematics")}

# (key, title, kind, what is counted). kind: share (youth / youth), per_year (events / youth-years),
# events_share (events / events, with the youth they belong to)
INDICATORS = (
    ("chronic_absence", "Chronic absenteeism", "share", "youth absent on 10% or more of the days enrolled this school year"),
    ("school_changes", "School stability: school changes per youth per year", "per_year",
     "mid-year school changes per year of enrollment on file"),
    ("origin_retention", "School stability: school-of-origin retention after a placement change", "events_share",
     "placement changes after which the youth stayed at the same school"),
    ("on_track", "On track to graduate", "share", "high-school youth with credits at or above those expected for their grade"),
    ("ece", "Early childhood education enrollment (ages 3–5)", "share",
     "3–5 year olds enrolled in preschool, transitional kindergarten or kindergarten"),
    ("proficiency_ela", "Grade-level proficiency: English language arts", "share",
     "assessed youth at level 3 or 4 (standard met or exceeded), latest result"),
    ("proficiency_math", "Grade-level proficiency: mathematics", "share",
     "assessed youth at level 3 or 4 (standard met or exceeded), latest result"),
)


@dataclass
class Acc:
    """Raw counts of one cell: youth in the denominator, numerator, event denominator, youth-years."""
    n: int = 0
    num: int = 0
    den: int = 0
    years: float = 0.0


@dataclass
class Raw:
    as_of: date
    youth: int = 0
    cells: dict = field(default_factory=lambda: defaultdict(Acc))   # (indicator, dimension, label) -> Acc
    labels: dict = field(default_factory=lambda: defaultdict(set))   # dimension -> labels seen (every youth)
    seconds: float = 0.0


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_group(age: int | None) -> str:
    for label, lo, hi in AGE_GROUPS:
        if age is not None and lo <= age <= hi:
            return label
    return OUT_OF_RANGE


def _active(e, d: date) -> bool:
    return e.entry <= d and (e.exit is None or d <= e.exit)


def current_placement(placements, as_of: date) -> str:
    """Type of the placement in effect on the as-of date (a placement ends the day the next starts)."""
    cur = [p for p in placements if p[0] <= as_of and (p[1] is None or p[1] > as_of)]
    return max(cur, key=lambda p: p[0])[2] if cur else NO_PLACEMENT


def retention(enr, placements, as_of: date) -> tuple[int, int]:
    """(placement changes with a school the day before, of them: same school within 30 days after).
    enr: primary enrollments (facts.enrollments); placements: (start, end, type) sorted by start."""
    changes = stayed = 0
    for start, _, _ in placements[1:]:
        if start > as_of:
            continue
        before = [e for e in enr if _active(e, start - timedelta(days=1))]
        if not before:
            continue
        changes += 1
        school = before[-1].school_id
        after = None
        for k in range(RETENTION_WINDOW + 1):
            d = start + timedelta(days=k)
            if d > as_of:
                break
            act = [e for e in enr if _active(e, d)]
            if act:
                after = act[-1].school_id
                break
        stayed += after == school
    return changes, stayed


def years_on_file(enr, as_of: date) -> float:
    first = enr[0].entry
    open_ = any(e.exit is None or e.exit >= as_of for e in enr)
    last = as_of if open_ else max(e.exit for e in enr)
    return max(0, (min(last, as_of) - first).days) / 365.25


def subject_of(body: dict) -> str | None:
    ref = body.get("assessmentReference") or {}
    text = " ".join(str(x) for x in (ref.get("assessmentIdentifier"), code_of(body.get("academicSubjectDescriptor"))) if x)
    words = text.replace("-", " ").replace("_", " ").replace("/", " ").lower().split()
    for key, names in SUBJECTS.items():
        if any(n.lower() in words or n.lower() in text.lower().split() for n in names):
            return key
    return None


def level_of(body: dict) -> int | None:
    """CAASPP achievement level 1-4 from performanceLevels ("Level 3", "3", "Standard Met", ...)."""
    for pl in body.get("performanceLevels") or ():
        code = (code_of(pl.get("performanceLevelDescriptor")) or "").strip()
        digits = [c for c in code if c.isdigit()]
        if len(digits) == 1 and 1 <= int(digits[0]) <= 4:
            return int(digits[0])
        low = code.lower()
        for words, lvl in (("exceeded", 4), ("nearly met", 2), ("not met", 1), ("met", 3)):
            if words in low:
                return lvl
    return None


def proficiency(rows) -> dict[str, bool]:
    """subject -> proficient (level 3-4) on the youth's latest result in that subject."""
    latest: dict[str, tuple] = {}
    for r in rows:
        if r.rtype != "studentAssessments":
            continue
        subj, lvl = subject_of(r.body), level_of(r.body)
        if subj is None or lvl is None:
            continue
        when = ((r.body.get("schoolYearTypeReference") or {}).get("schoolYear") or 0,
                str(r.body.get("administrationDate") or ""))
        if subj not in latest or when >= latest[subj][0]:
            latest[subj] = (when, lvl)
    return {k: v[1] >= 3 for k, v in latest.items()}


def reference(conn, tenant: str) -> tuple[dict, dict]:
    """schoolId -> LEA id, and LEA id -> "name (id)" from the stored reference data."""
    r = s.resource.c
    school_lea, lea_name = {}, {}
    q = select(*_COLS).where(and_(r.tenant_id == tenant, r.standard == "edfi", r.youth_id.is_(None),
                                  r.rtype.in_(("schools", "localEducationAgencies")), r.deleted.is_(False)))
    for row in conn.execute(q):
        b = _row(tenant, row).body
        if row.rtype == "schools" and b.get("schoolId") is not None:
            lea = (b.get("localEducationAgencyReference") or {}).get("localEducationAgencyId")
            school_lea[int(b["schoolId"])] = int(lea) if lea is not None else None
        elif row.rtype == "localEducationAgencies" and b.get("localEducationAgencyId") is not None:
            lea_name[int(b["localEducationAgencyId"])] = b.get("nameOfInstitution") or ""
    return school_lea, lea_name


def district_label(lea: int | None, names: dict) -> str:
    if lea is None:
        return "District not known"
    name = names.get(lea) or ""
    return f"{name} ({lea:07d})" if name and not name.startswith("CDS ") else f"LEA {lea:07d}"


_R = s.resource.c
_FAST = (_R.id, _R.youth_id, _R.standard, _R.rtype, _R.category, _R.body, _R.key_id, _R.source_system, _R.received_at)


def compute(engine, tenant: str, as_of: date, *, chunk: int = CHUNK) -> Raw:
    """Counts for every indicator and breakdown; youth are read `chunk` at a time (keyset by id)."""
    t0 = time.perf_counter()
    raw = Raw(as_of=as_of)
    y, p, r = s.youth.c, s.placement.c, s.resource.c
    with engine.connect() as conn:
        school_lea, lea_names = reference(conn, tenant)
        last = ""
        while True:
            people = conn.execute(select(y.id, y.birth_date, y.removal_date).where(and_(
                y.tenant_id == tenant, y.in_foster_care.is_(True), y.id > last)).order_by(y.id).limit(chunk)).all()
            if not people:
                break
            last = people[-1].id
            ids = [x.id for x in people]
            places: dict[str, list] = defaultdict(list)
            for pr in conn.execute(select(p.youth_id, p.start_date, p.end_date, p.placement_type).where(and_(
                    p.tenant_id == tenant, p.youth_id.in_(ids)))):
                places[pr.youth_id].append((_date(pr.start_date), _date(pr.end_date), pr.placement_type))
            rows: dict[str, list] = defaultdict(list)
            for rr in conn.execute(select(*_FAST).where(and_(
                    r.tenant_id == tenant, r.youth_id.in_(ids), r.standard == "edfi", r.rtype.in_(RTYPES),
                    r.deleted.is_(False)))):
                # the passport's Row, without its security labels (no fact reads them)
                rows[rr.youth_id].append(Row(rr.id, rr.standard, rr.rtype, rr.category, [],
                                             orjson.loads(unseal(tenant, rr.category, rr.body, rr.key_id)),
                                             rr.source_system, None, None, rr.received_at))
            for person in people:
                _one(raw, person, rows.pop(person.id, []), sorted(places.pop(person.id, [])), as_of,
                     school_lea, lea_names)
    raw.seconds = time.perf_counter() - t0
    return raw


def _date(v):
    return date.fromisoformat(v[:10]) if isinstance(v, str) else v


def _one(raw: Raw, person, rows, placements, as_of, school_lea, lea_names) -> None:
    raw.youth += 1
    rows.sort(key=lambda x: (x.rtype, x.id))
    birth = _date(person.birth_date)
    age = age_on(birth, as_of) if birth else None
    facts = derived(rows, {"removal_date": _date(person.removal_date)}, as_of, FACT_CATEGORIES, {})
    enr = [e for e in enrollments(rows) if e.primary]
    school = (facts.get("current_school") or {}).get("value")
    sid = school["schoolId"] if school else (enr[-1].school_id if enr else None)
    dims = {"district": district_label(school_lea.get(int(sid)), lea_names) if sid is not None else NO_SCHOOL,
            "age": age_group(age), "placement": current_placement(placements, as_of)}
    for dim, label in dims.items():
        raw.labels[dim].add(label)

    def add(key, n=1, num=0, den=0, years=0.0):
        for dim, label in (*dims.items(), ("total", "Total")):
            a = raw.cells[(key, dim, label)]
            a.n += n
            a.num += num
            a.den += den
            a.years += years

    chronic = (facts.get("chronic_absence") or {}).get("value")
    if chronic is not None:
        add("chronic_absence", num=int(chronic))
    if enr:
        add("school_changes", num=facts["school_transfers"]["value"], years=years_on_file(enr, as_of))
    changes, stayed = retention(enr, placements, as_of)
    if changes:
        add("origin_retention", num=stayed, den=changes)
    ce = (facts.get("credits_expected") or {}).get("value")
    if ce is not None:
        add("on_track", num=int(ce["on_track"]))
    if age is not None and ECE_AGES[0] <= age <= ECE_AGES[1]:
        grade = (facts.get("current_grade") or {}).get("value")
        add("ece", num=int(grade is not None and grade["number"] in ECE_GRADES))
    for subj, ok in proficiency(rows).items():
        add(f"proficiency_{subj}", num=int(ok))
