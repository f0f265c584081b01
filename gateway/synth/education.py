"""A youth's school history for the synthetic county: enrollments that follow placement changes,
attendance, high-school courses and credits, assessments, special education, programs, discipline."""
from __future__ import annotations

import random
from datetime import date, timedelta

from .calendar import grade_for, school_days, year_end, year_start
from .model import (AssessmentResult, AttendanceYear, CourseGrade, DisciplineIncident, Enrollment,
                    ProgramParticipation, SpecialEducation, Youth)

YEARS_OF_HISTORY = 5
DISABILITIES = ["290", "290", "290", "240", "240", "280", "280", "260", "320", "210", "310"]
COURSES = [  # (state course code, title)
    ("2130", "English 9"), ("2131", "English 10"), ("2132", "English 11"), ("2133", "English 12"),
    ("2403", "Algebra I"), ("2413", "Geometry"), ("2404", "Algebra II"), ("2480", "Statistics"),
    ("2620", "Biology"), ("2640", "Chemistry"), ("2600", "Earth Science"), ("2801", "World History"),
    ("2802", "U.S. History"), ("2803", "American Government"), ("2561", "Spanish I"),
    ("2562", "Spanish II"), ("2702", "Physical Education"), ("2850", "Visual Arts"),
]
LETTERS = ["A", "A", "A-", "B+", "B", "B", "B-", "C+", "C", "C", "C-", "D", "F"]


def level_of(grade: str) -> str:
    if grade in ("PS", "KN") or grade <= "05":
        return "elementary"
    return "middle" if grade <= "08" else "high"


def _district_timeline(county, y: Youth, rng: random.Random) -> list[tuple[date, str]]:
    """(from date, lea) steps: a placement change moves the youth to another district 30% of the time."""
    lea = county.pick_district(rng)
    steps = [(date(1900, 1, 1), lea)]
    for p in y.placements[1:]:
        if rng.random() < 0.3:
            lea = county.pick_district(rng)
            steps.append((p.start, lea))
    y.lea_id = lea
    return steps


def _lea_on(steps, d: date) -> str:
    lea = steps[0][1]
    for start, l in steps:
        if start <= d:
            lea = l
    return lea


def add_education(county, y: Youth, rng: random.Random) -> None:
    as_of = county.as_of
    steps = _district_timeline(county, y, rng)
    change_dates = [p.start for p in y.placements[1:]]
    absence_rate = min(0.6, rng.betavariate(1.3, 12))  # mean about 10%: foster youth miss more school
    school_pick = rng.randrange(1000)
    for sy in range(county.current_sy - YEARS_OF_HISTORY + 1, county.current_sy + 1):
        grade = grade_for(y.birth_date, sy)
        start = year_start(sy)
        if grade is None or start > as_of:
            continue
        if grade == "PS" and rng.random() > 0.45:
            continue  # early childhood education: under half of 3-4 year olds enrolled
        end = year_end(sy)
        bounds = [start]
        for c in change_dates:
            if start < c < min(end, as_of) and (rng.random() < 0.6 or _lea_on(steps, c) != _lea_on(steps, c - timedelta(days=1))):
                bounds.append(c)
        for k, entry in enumerate(bounds):
            lea = _lea_on(steps, entry)
            district = county.district(lea)
            school = district.school_for(level_of(grade), school_pick + (k * 7 if k else 0))
            if k + 1 < len(bounds):
                exit_date, code = bounds[k + 1] - timedelta(days=1), "T160"
            elif end <= as_of:
                exit_date, code = end, ("E230" if grade == "12" else "E155")
            else:
                exit_date, code = None, None
            y.enrollments.append(Enrollment(school.school_id, lea, sy, entry, exit_date, code, grade))
            last = min(exit_date or as_of, as_of)
            enrolled = school_days(entry, last + timedelta(days=1))
            absent = round(enrolled * absence_rate * rng.uniform(0.7, 1.3))
            absent = min(absent, enrolled)
            susp = 1 if absent and rng.random() < 0.05 else 0
            unexcused = round((absent - susp) * rng.uniform(0.2, 0.6))
            y.attendance.append(AttendanceYear(school.school_id, lea, sy, enrolled, enrolled - absent,
                                               absent - susp - unexcused, unexcused, susp))
        if grade in ("09", "10", "11", "12"):
            _courses(y, rng, sy, grade, as_of)
        if grade in ("03", "04", "05", "06", "07", "08", "11") and date(sy, 5, 1) <= as_of:
            enr = _enrollment_on(y, date(sy, 5, 1))
            if enr:
                for subject in ("ELA", "Math"):
                    score = int(rng.gauss(2450 + 40 * (int(grade) - 3), 90))
                    level = 1 if score < 2430 + 40 * (int(grade) - 3) else 2 if score < 2490 + 40 * (int(grade) - 3) else 3 if score < 2560 + 40 * (int(grade) - 3) else 4
                    y.assessments.append(AssessmentResult(sy, subject, grade, score, level, enr.lea_id, enr.school_id))
    current = y.enrollments[-1] if y.enrollments else None
    if not current:
        return
    if y.age_on(as_of) >= 5 and rng.random() < 0.2:
        start = current.entry_date - timedelta(days=rng.randint(100, 1500))
        y.special_education = SpecialEducation("100", rng.choice(DISABILITIES), start,
                                               as_of - timedelta(days=rng.randint(10, 360)), "400",
                                               current.lea_id, current.school_id)
    elif rng.random() < 0.06:
        y.programs.append(ProgramParticipation("101", current.entry_date, None, current.lea_id, current.school_id))
    if rng.random() < 0.85:
        y.programs.append(ProgramParticipation("181", year_start(current.school_year), None, current.lea_id, current.school_id))
    if rng.random() < 0.03:
        y.programs.append(ProgramParticipation("191", current.entry_date, None, current.lea_id, current.school_id))
    if y.age_on(as_of) >= 10 and rng.random() < 0.08:
        for n in range(rng.randint(1, 3)):
            enr = rng.choice(y.enrollments)
            day = enr.entry_date + timedelta(days=rng.randint(5, 60))
            if day < as_of:
                y.discipline.append(DisciplineIncident(
                    f"{enr.school_id}-{y.index}-{n}", day, enr.school_id, enr.lea_id,
                    rng.choice(["500", "501", "502", "503", "510"]), rng.choice(["100", "100", "110", "300"]),
                    float(rng.randint(1, 3))))


def _enrollment_on(y: Youth, d: date) -> Enrollment | None:
    for e in y.enrollments:
        if e.entry_date <= d and (e.exit_date is None or d <= e.exit_date):
            return e
    return None


def _courses(y: Youth, rng: random.Random, sy: int, grade: str, as_of: date) -> None:
    for term, term_end in (("FA", date(sy - 1, 12, 18)), ("SP", date(sy, 6, 12))):
        if term_end > as_of:
            continue
        enr = _enrollment_on(y, term_end - timedelta(days=3)) or (y.enrollments[-1] if y.enrollments else None)
        if enr is None:
            continue
        picks = rng.sample(COURSES, 6)
        for code, title in picks:
            letter = rng.choice(LETTERS)
            local = f"{code}{grade}"
            y.courses.append(CourseGrade(enr.school_id, enr.lea_id, sy, term, local, code, title,
                                         f"{local}-{term}{sy % 100:02d}-{rng.randint(1, 6)}", 5.0,
                                         0.0 if letter == "F" else 5.0, letter))
