"""SIF StudentAcademicRecord -> Ed-Fi studentAcademicRecords (per school and year) and courseTranscripts.

A SIF academic record is a transcript: CourseHistory/Term (TermInfoData with SchoolAttendedRefId and
SchoolYear) holding Courses with marks and credits. The school of a term is the SchoolAttended entry of
SchoolAttendanceHistory (its SchoolInfoData/StateProvinceId or LocalId as the numeric school id).
SIF terms carry dates, not Ed-Fi term names, so the termDescriptor is `uri://sifassociation.org/
TermDescriptor#<start>/<end>` (kept, never guessed into "Fall Semester").
"""
from __future__ import annotations

from typing import Iterator

from . import edfi_common as ec
from .base import Item, Problem
from .sif_objects import NS, SifError, child, children, mapped, sif_date, text, year_of


def _schools(el) -> dict[str, int]:
    out = {}
    for sa in children(child(el, "SchoolAttendanceHistory"), "SchoolAttended"):
        info = child(sa, "SchoolInfoData")
        code = text(info, "StateProvinceId") or text(info, "LocalId") if info is not None else None
        if sa.get("RefId") and code and code.isdigit():
            out[sa.get("RefId")] = int(code[-7:]) if len(code) == 14 else int(code)
    return out


def _credits(v: str | None, field: str, line) -> float | None:
    if v is None:
        return None
    try:
        return float(v)
    except ValueError:
        raise SifError(field, f"{field} {v!r} is not a number", line) from None


def academic_record(el, fname: str, cx, emit) -> Iterator[Item]:
    ref = el.get("StudentPersonalRefId") or el.get("SIF_RefId") or ""
    student = cx.uid(ref) if ref else None
    if not student:
        raise SifError("StudentPersonalRefId", "StudentAcademicRecord names no student", el.sourceline)
    subject = cx.subject(ref)
    schools = _schools(el)
    seen_sar: set = set()
    for term in children(child(el, "CourseHistory"), "Term"):
        info = child(term, "TermInfoData")
        if info is None:
            continue
        school = schools.get(info.get("SchoolAttendedRefId") or "")
        try:
            start, end = sif_date(info, "StartDate"), sif_date(info, "EndDate")
            if school is None:
                raise SifError("SchoolAttendedRefId", "term names no SchoolAttended with a numeric school id", info.sourceline)
            sy_text = text(info, "SchoolYear")
            sy = int(sy_text) if sy_text and sy_text.isdigit() else (year_of(end or start) if (end or start) else None)
            if sy is None:
                raise SifError("SchoolYear", "term has no SchoolYear or dates", info.sourceline)
        except SifError as e:
            yield Problem(file=fname, line=e.line, field=e.field, message=f"StudentAcademicRecord term: {e}")
            continue
        term_desc = ec.local_descriptor("TermDescriptor", f"{start or '?'}/{end or '?'}", NS)
        sar_ref = ec.student_academic_record_ref(student, school, sy, term_desc)
        if (school, sy, term_desc) not in seen_sar:
            seen_sar.add((school, sy, term_desc))
            sar = {"studentReference": ec.student_ref(student), "educationOrganizationReference": ec.edorg_ref(school),
                   "schoolYearTypeReference": ec.school_year_ref(sy), "termDescriptor": term_desc}
            yield from emit("studentAcademicRecords", sar, fname, info.sourceline, subject)
        for course in children(child(term, "Courses"), "Course"):
            try:
                yield from _course(course, fname, school, sar_ref, subject, emit)
            except SifError as e:
                yield Problem(file=fname, line=e.line or course.sourceline, field=e.field, message=f"Course: {e}")


def _course(course, fname, school, sar_ref, subject, emit) -> Iterator[Item]:
    info = child(course, "SchoolCourseInfoData")
    code = text(info, "CourseCode") if info is not None else None
    if not code:
        raise SifError("CourseCode", "course has no CourseCode", course.sourceline)
    periods = children(child(course, "MarkingPeriods"), "MarkingPeriod")
    last = periods[-1] if periods else None
    attempted = earned = 0.0
    letter = grade = None
    for mp in periods:
        attempted += _credits(text(mp, "CourseCreditsAttempted"), "CourseCreditsAttempted", mp.sourceline) or 0.0
        earned += _credits(text(mp, "CourseCreditsEarned"), "CourseCreditsEarned", mp.sourceline) or 0.0
    if last is not None:
        letter = text(last, "MarkData", "Letter")
        g = child(last, "GradeLevelWhenTaken")
        grade = text(g, "Code") if g is not None else None
    result = "Pass" if earned > 0 else ("Fail" if letter in ("F", "E") else "Incomplete")
    res = {"studentAcademicRecordReference": sar_ref, "courseReference": ec.course_ref(code, school),
           "courseAttemptResultDescriptor": ec.descriptor("CourseAttemptResultDescriptor", result),
           "attemptedCredits": attempted, "earnedCredits": earned}
    title = text(info, "CourseTitle")
    if title:
        res["courseTitle"] = title[:60]
    if letter:
        res["finalLetterGradeEarned"] = letter[:20]
    if grade:
        res["whenTakenGradeLevelDescriptor"] = mapped("sif-grade-level", "GradeLevelDescriptor", grade)
    yield from emit("courseTranscripts", res, fname, course.sourceline, subject)
