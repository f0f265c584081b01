"""Derived facts of the passport (WIC 16010(a)(1); Ed. Code 48853.5): pure functions of stored rows.

Each fact is {"value": ..., "category": <the category it derives from>, "categories": [every
category it needs], "basis": <how it was computed>}. A fact is only computed when every category it
needs was released, so a fact never reveals a denied category. Parameters (credits per year,
chronic-absence ratio, year-end exit codes) come from profiles/passport.json. Computation rules:
docs/passport.md "Derived facts".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapters.edfi_common import code_of

from .rows import Row, load_rows, load_schools, load_youth
from .vocab import params

GRADE_NUMBER = {
    "Infant/toddler": -2, "Preschool/Prekindergarten": -1, "Prekindergarten": -1, "Kindergarten": 0,
    "First grade": 1, "Second grade": 2, "Third grade": 3, "Fourth grade": 4, "Fifth grade": 5, "Sixth grade": 6,
    "Seventh grade": 7, "Eighth grade": 8, "Ninth grade": 9, "Tenth grade": 10, "Eleventh grade": 11,
    "Twelfth grade": 12, "PS": -1, "TK": -1, "KN": 0,
}
FACT_CATEGORIES = ("enrollment_school_placement", "attendance", "grades_transcripts_credits",
                   "special_education_iep_504", "immunizations")


def grade_number(code: str | None) -> int | None:
    if code is None:
        return None
    if code in GRADE_NUMBER:
        return GRADE_NUMBER[code]
    return int(code) if code.isdigit() else None


def school_year_of(d: date) -> int:
    """Ending year of the school year containing d (July starts the next year)."""
    return d.year + 1 if d.month >= 7 else d.year


def _d(v) -> date | None:
    if not v:
        return None
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


@dataclass(slots=True)
class Enrollment:
    school_id: int
    entry: date
    exit: date | None
    exit_code: str | None
    year_end: bool          # a year-end continuation / completion, not a move
    grade: str | None       # GradeLevelDescriptor code value
    school_year: int | None
    primary: bool
    row: Row


def enrollments(rows: list[Row]) -> list[Enrollment]:
    """studentSchoolAssociations as Enrollment, one per (school, entry date), by entry date."""
    year_end_codes = set(params()["enrollment"]["year_end_exit_codes"])
    seen: dict[tuple, Enrollment] = {}
    for r in rows:
        if r.rtype != "studentSchoolAssociations":
            continue
        b = r.body
        entry = _d(b.get("entryDate"))
        sid = (b.get("schoolReference") or {}).get("schoolId")
        if entry is None or sid is None:
            continue
        ext = (b.get("_ext") or {}).get("hep") or {}
        exit_ = _d(b.get("exitWithdrawDate")) or _d(ext.get("exitDate"))
        code = code_of(ext.get("exitWithdrawTypeDescriptor")) or code_of(b.get("exitWithdrawTypeDescriptor"))
        year_end = ((code in year_end_codes) or (bool(ext.get("exitDate")) and not b.get("exitWithdrawDate"))
                    or (code is None and exit_ is not None and _summer(exit_)))
        e = Enrollment(int(sid), entry, exit_, code, year_end, code_of(b.get("entryGradeLevelDescriptor")),
                       (b.get("schoolYearTypeReference") or {}).get("schoolYear"), b.get("primarySchool") is not False, r)
        k = (e.school_id, e.entry)
        if k not in seen or r.received_at >= seen[k].row.received_at:
            seen[k] = e
    return sorted(seen.values(), key=lambda e: (e.entry, e.school_id))


def _summer(d: date) -> bool:
    """An exit with no reason code dated between the end of one school year and the start of the
    next (OneRoster and SIF often send end dates without codes) is a year-end, not a move."""
    return (d.month, d.day) >= YEAR_END_FROM and (d.month, d.day) <= YEAR_END_TO


YEAR_END_FROM, YEAR_END_TO = (5, 25), (8, 31)


def _active(e: Enrollment, d: date) -> bool:
    return e.entry <= d and (e.exit is None or d <= e.exit)


def _school(sid: int, schools: dict) -> dict:
    out = {"schoolId": sid, "cds": f"{sid:07d}"}
    row = schools.get(sid)
    if row is not None and row.body.get("nameOfInstitution"):
        out["name"] = row.body["nameOfInstitution"]
    return out


def _fact(value, categories: tuple, basis: str) -> dict:
    return {"value": value, "category": categories[0], "categories": list(categories), "basis": basis}


def compute(rows: list[Row], youth: dict | None, as_of: date, released, schools: dict | None = None) -> dict:
    """Facts from already-loaded rows; only facts whose every category is in `released`."""
    released = set(released)
    schools = schools or {}
    by_type: dict[str, list[Row]] = {}
    for r in rows:
        by_type.setdefault(r.rtype, []).append(r)
    out: dict[str, dict] = {}
    enr = [e for e in enrollments(rows) if e.primary] if "enrollment_school_placement" in released else []
    current = None
    if "enrollment_school_placement" in released:
        transfers = sum(1 for a, b in zip(enr, enr[1:]) if b.school_id != a.school_id and not a.year_end)
        out["school_transfers"] = _fact(transfers, ("enrollment_school_placement",),
                                        "entries into a different school, not after a year-end continuation or completion")
        active = [e for e in enr if _active(e, as_of)]
        current = active[-1] if active else None
        out["current_school"] = _fact(_school(current.school_id, schools) if current else None,
                                      ("enrollment_school_placement",), "primary enrollment active on the as-of date")
        out["current_grade"] = _fact(
            {"grade": current.grade, "number": grade_number(current.grade)} if current and current.grade else None,
            ("enrollment_school_placement",), "entry grade level of the current enrollment")
        removal = (youth or {}).get("removal_date")
        origin = None
        if removal is not None:
            at = [e for e in enr if _active(e, removal)]
            before = [e for e in enr if e.entry <= removal]
            pick = at[-1] if at else (before[-1] if before else None)
            origin = _school(pick.school_id, schools) if pick else None
        out["school_of_origin"] = _fact(origin, ("enrollment_school_placement",),
                                        "school attended on the removal date, else the latest before it (Ed. Code 48853.5)")
    if "grades_transcripts_credits" in released:
        out.update(_credits(by_type.get("courseTranscripts", []), current, as_of, released))
    if "attendance" in released:
        out.update(_attendance(by_type, as_of))
    if "special_education_iep_504" in released:
        out.update(_special_education(by_type, as_of))
    if "immunizations" in released:
        out["immunizations"] = _immunizations(by_type.get("Immunization", []))
    return out


def _credits(transcripts: list[Row], current: Enrollment | None, as_of: date, released: set) -> dict:
    p = params()["credits"]
    seen = {}
    for r in transcripts:
        b = r.body
        ref = b.get("studentAcademicRecordReference") or {}
        k = ((b.get("courseReference") or {}).get("courseCode"), ref.get("educationOrganizationId"),
             ref.get("schoolYear"), ref.get("termDescriptor"))
        seen[k] = b
    if not seen:
        # no transcript on file (the district sends none, or the youth is new): unknown, not zero
        return {}
    earned = sum(float(b.get("earnedCredits") or 0) for b in seen.values())
    attempted = sum(float(b.get("attemptedCredits") or 0) for b in seen.values())
    out = {"credits_earned": _fact({"earned": earned, "attempted": attempted, "to_graduate": p["to_graduate"]},
                                   ("grades_transcripts_credits",), "sum of earnedCredits over course transcripts")}
    if "enrollment_school_placement" in released:
        n = grade_number(current.grade) if current else None
        expected = None
        if n is not None and 9 <= n <= 12:
            sy = school_year_of(as_of)
            mm, dd = (int(x) for x in p["fall_term_end"].split("-"))
            expected = p["per_year"] * (n - 9) + (p["per_year"] / 2 if as_of >= date(sy - 1, mm, dd) else 0)
            expected = min(expected, p["to_graduate"])
        out["credits_expected"] = _fact(
            None if expected is None else {"expected": expected, "earned": earned, "on_track": earned >= expected},
            ("grades_transcripts_credits", "enrollment_school_placement"),
            f"{p['per_year']} credits per completed high-school year (half after the fall term), {p['to_graduate']} to graduate")
    return out


def _attendance(by_type: dict, as_of: date) -> dict:
    p = params()["attendance"]
    sy = school_year_of(as_of)
    start, end = date(sy - 1, 7, 1), date(sy, 6, 30)
    absence_codes = set(p["absence_event_codes"])
    events: dict[int, set] = {}
    for r in by_type.get("studentSchoolAttendanceEvents", []):
        b = r.body
        d = _d(b.get("eventDate"))
        sid = (b.get("schoolReference") or {}).get("schoolId")
        if d is None or sid is None or not (start <= d <= end) or d > as_of:
            continue
        s = events.setdefault(int(sid), set())
        if code_of(b.get("attendanceEventCategoryDescriptor")) in absence_codes:
            s.add(d)
    summaries: dict[int, dict] = {}
    for r in by_type.get("studentSchoolAttendanceSummaries", []):
        b = r.body
        sid = (b.get("schoolReference") or {}).get("schoolId")
        if b.get("schoolYear") == sy and sid is not None:
            summaries[int(sid)] = b
    absent, enrolled, sources = 0.0, 0.0, {}
    for sid in sorted(set(events) | set(summaries)):
        s = summaries.get(sid) or {}
        if sid in events:      # events win for this school-year; the summary only gives days enrolled
            absent += len(events[sid])
            sources[f"{sid:07d}"] = "events"
        else:
            absent += sum(float(s.get(f) or 0) for f in p["summary_absence_fields"])
            sources[f"{sid:07d}"] = "summary"
        enrolled += float(s.get("daysEnrolled") or 0)
    basis = "this school year; per school the attendance events if any, else the summary (never both)"
    chronic = (absent / enrolled >= p["chronic_absence_ratio"]) if enrolled else None
    return {
        "days_absent": _fact({"school_year": sy, "days": absent, "sources": sources}, ("attendance",), basis),
        "days_enrolled": _fact({"school_year": sy, "days": enrolled}, ("attendance",), basis),
        "chronic_absence": _fact(chronic, ("attendance",),
                                 f"absent on {p['chronic_absence_ratio']:.0%} or more of the days enrolled this school year"),
    }


def _open_on(b: dict, as_of: date) -> bool:
    begin, end = _d(b.get("beginDate")), _d(b.get("endDate"))
    return (begin is None or begin <= as_of) and (end is None or as_of <= end)


def _special_education(by_type: dict, as_of: date) -> dict:
    iep = [r.body for r in by_type.get("studentSpecialEducationProgramAssociations", []) if _open_on(r.body, as_of)]
    plans504 = [r.body for r in by_type.get("studentSection504ProgramAssociations", []) if _open_on(r.body, as_of)]
    for r in by_type.get("studentProgramAssociations", []):
        code = code_of(((r.body.get("programReference") or {}).get("programTypeDescriptor")))
        if code in ("Section 504 Placement", "101") and _open_on(r.body, as_of):
            plans504.append(r.body)
    disabilities = sorted({code_of(d.get("disabilityDescriptor")) for b in iep for d in b.get("disabilities") or ()
                           if d.get("disabilityDescriptor")})
    return {
        "iep": _fact({"active": bool(iep), "disabilities": disabilities}, ("special_education_iep_504",),
                     "special education program association open on the as-of date"),
        "section_504": _fact({"active": bool(plans504)}, ("special_education_iep_504",),
                             "Section 504 program association open on the as-of date"),
    }


def _immunizations(rows: list[Row]) -> dict:
    given, refused, vaccines, last = 0, 0, set(), None
    for r in rows:
        b = r.body
        if b.get("status") == "completed":
            given += 1
            d = str(b.get("occurrenceDateTime") or "")[:10] or None
            last = max(last, d) if last and d else (d or last)
            for c in (b.get("vaccineCode") or {}).get("coding") or ():
                if c.get("system") == "http://hl7.org/fhir/sid/cvx":
                    vaccines.add(c.get("display") or c.get("code"))
        elif b.get("status") == "not-done":
            refused += 1
    return _fact({"doses": given, "not_done": refused, "vaccines": sorted(vaccines), "last_dose": last},
                 ("immunizations",), "completed Immunization resources on file")


def derived_facts(conn, tenant: str, youth_id: str, *, as_of: date) -> dict:
    """Every derived fact of the youth, each tagged with its categories: callers drop facts whose
    categories were not released (assemble() never computes them in the first place)."""
    rows = load_rows(conn, tenant, youth_id, FACT_CATEGORIES)
    youth = load_youth(conn, tenant, youth_id, demographics=False, removal=True)
    ids = [(r.body.get("schoolReference") or {}).get("schoolId") for r in rows if r.rtype == "studentSchoolAssociations"]
    return compute(rows, youth, as_of, FACT_CATEGORIES, load_schools(conn, tenant, ids))
