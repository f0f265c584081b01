"""SIF US 1.5r1 / 2.x XML -> Ed-Fi DS 5.x records.

Objects are found wherever they are: bare, inside SIF_ObjectData, or in SIF_Message / SIF_Event /
SIF_Response envelopes, in the 1.x, 2.x or no namespace; files are streamed (iterparse).
A first pass collects StudentPersonal RefId -> SSID (StateProvinceId / StatePrId) and SchoolInfo
RefId -> school code so every record of a student uses the same studentUniqueId (the SSID when
known, else the RefId) in any file order.

StudentPersonal -> students (+ studentEducationOrganizationAssociations with the `lea_id` option);
StudentSchoolEnrollment -> studentSchoolAssociations; StudentDailyAttendance ->
studentSchoolAttendanceEvents; StudentAttendanceSummary -> studentSchoolAttendanceSummaries (the hep
extension; never turned into events); StudentParticipation -> studentSpecialEducationProgramAssociations
(ProgramType 0270) or studentProgramAssociations; StudentAcademicRecord -> studentAcademicRecords and
courseTranscripts (sif_academic.py); StudentRecordExchange / StudentRecordPackage: the objects they
carry inline are converted, binary packages are reported.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from lxml import etree

from . import edfi_common as ec
from . import xmlsafe
from .base import InputRefused, Item, Problem, Subject, truncate
from .edfi_extra import edfi_record, validate_and_prune
from .sif_objects import (NAMESPACES, SifError, child, children, code, is_ssid, local, mapped, school_year_attr,
                          sif_date, text, year_of)

OBJECTS = ("StudentPersonal", "StudentSchoolEnrollment", "StudentDailyAttendance", "StudentAttendanceSummary",
           "StudentAcademicRecord", "StudentParticipation", "StudentRecordExchange", "StudentRecordPackage")
PRIORITY = {"Primary": 1, "Secondary": 2, "Tertiary": 3}


def _tags(names) -> list[str]:
    return [f"{{{ns}}}{n}" if ns else n for ns in NAMESPACES for n in names]


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*.xml") if p.is_file()) if path.is_dir() else [path]


class _Ctx:
    def __init__(self, lea_id, school_ids):
        self.ssid: dict[str, str] = {}
        self.schools: dict[str, int] = {k: int(v) for k, v in (school_ids or {}).items()}
        self.lea = int(lea_id) if lea_id else None

    def uid(self, ref: str) -> str:
        return self.ssid.get(ref) or ref

    def subject(self, ref: str, **demo) -> Subject:
        ids = ((("ssid", self.ssid[ref]),) if ref in self.ssid else ()) + (("source|sif", ref),)
        return Subject(identifiers=ids, **demo)

    def school(self, el, attr="SchoolInfoRefId") -> int:
        ref = el.get(attr) or ""
        if ref in self.schools:
            return self.schools[ref]
        raise SifError(attr, f"{attr} {ref!r} names no SchoolInfo with a numeric school code "
                             "(pass school_ids={RefId: CDS code})", el.sourceline)


def convert(path, *, lea_id: str | None = None, school_ids: dict | None = None, **_options) -> Iterator[Item]:
    path = Path(path)
    if not path.exists():
        raise InputRefused(f"{path}: no such file or folder")
    cx = _Ctx(lea_id, school_ids)
    files = _files(path)
    bad: set[Path] = set()
    for f in files:                                     # pass 1: identities and schools
        try:
            for el in xmlsafe.iterparse_file(f, _tags(("StudentPersonal", "SchoolInfo"))):
                ref = el.get("RefId")
                if local(el.tag) == "StudentPersonal":
                    sid = text(el, "StateProvinceId") or text(el, "StatePrId")
                    if ref and is_ssid(sid):
                        cx.ssid[ref] = sid
                else:
                    code_ = text(el, "StateProvinceId") or text(el, "LocalId")
                    if ref and code_ and code_.isdigit() and ref not in cx.schools:
                        cx.schools[ref] = int(code_[-7:]) if len(code_) == 14 else int(code_)
        except InputRefused as e:
            bad.add(f)
            yield Problem(file=f.name, line=None, field=None, message=str(e), fatal=path.is_file())
    for f in files:
        if f in bad:
            continue
        try:
            for el in xmlsafe.iterparse_file(f, _tags(OBJECTS)):
                yield from _object(el, f.name, cx)
        except InputRefused as e:
            yield Problem(file=f.name, line=None, field=None, message=str(e), fatal=True)


def _object(el, fname: str, cx: _Ctx) -> Iterator[Item]:
    name = local(el.tag)
    try:
        if name == "StudentPersonal":
            yield from _personal(el, fname, cx)
        elif name == "StudentSchoolEnrollment":
            yield from _enrollment(el, fname, cx)
        elif name == "StudentDailyAttendance":
            yield from _daily(el, fname, cx)
        elif name == "StudentAttendanceSummary":
            yield from _summary(el, fname, cx)
        elif name == "StudentParticipation":
            yield from _participation(el, fname, cx)
        elif name == "StudentAcademicRecord":
            from .sif_academic import academic_record
            yield from academic_record(el, fname, cx, emit)
        elif name == "StudentRecordPackage":
            data = child(el, "BinaryData")
            desc = f"{data.get('MIMEType')} {data.get('FileName') or ''}".strip() if data is not None else "no data"
            yield Problem(file=fname, line=el.sourceline, field="BinaryData", severity="warning",
                          message=f"StudentRecordPackage {el.get('RefId')} carries a document ({desc}) that is not "
                                  "structured data: not converted")
        elif name == "StudentRecordExchange":
            recs = child(el, "Records")
            refs = [local(c.tag) for c in recs] if recs is not None else []
            yield Problem(file=fname, line=el.sourceline, field="Records", severity="warning",
                          message=f"StudentRecordExchange {el.get('RefId')} points at {', '.join(refs) or 'no records'}; "
                                  "the records it carries inline are converted on their own")
    except SifError as e:
        yield Problem(file=fname, line=e.line or el.sourceline, field=e.field, message=f"{name} {el.get('RefId') or ''}: {e}",
                      raw=truncate(etree.tostring(el, encoding="unicode"), 2000))


def emit(coll: str, res: dict, fname: str, line, subject) -> Iterator[Item]:
    errors, _ = validate_and_prune(coll, res)
    if errors:
        yield Problem(file=fname, line=line, field=errors[0][0], message=f"{coll}: {errors[0][0]}: {errors[0][1]}")
        return
    yield edfi_record(coll, res, {"file": fname, "line": line}, subject)


def _student_ref(el, cx: _Ctx, attr="StudentPersonalRefId") -> str:
    ref = el.get(attr)
    if not ref:
        raise SifError(attr, f"{attr} is missing", el.sourceline)
    return ref


def _personal(el, fname, cx: _Ctx) -> Iterator[Item]:
    ref = el.get("RefId")
    if not ref:
        raise SifError("RefId", "StudentPersonal has no RefId", el.sourceline)
    name = child(el, "Name")
    given, family, middle = text(name, "FirstName"), text(name, "LastName"), text(name, "MiddleName")
    demo = child(el, "Demographics")
    birth = sif_date(demo, "BirthDate") if demo is not None else None
    gender = text(demo, "Gender") if demo is not None else None
    state_id = text(el, "StateProvinceId") or text(el, "StatePrId")
    if state_id and not is_ssid(state_id):
        yield Problem(file=fname, line=el.sourceline, field="StateProvinceId", severity="warning",
                      message=f"StateProvinceId {state_id!r} is not a 10-digit SSID: kept as a source id only")
    subject = cx.subject(ref, given=given, family=family, middle=middle, birth_date=birth,
                         sex=gender if gender in ("F", "M", "X") else None)
    uid = cx.uid(ref)
    res = {"studentUniqueId": uid, "firstName": given or "", "lastSurname": family or ""}
    if middle:
        res["middleName"] = middle
    if birth:
        res["birthDate"] = birth
    yield from emit("students", res, fname, el.sourceline, subject)
    if cx.lea is None:
        return
    seoa = {"studentReference": ec.student_ref(uid), "educationOrganizationReference": ec.edorg_ref(cx.lea),
            "studentIdentificationCodes": [{
                "studentIdentificationSystemDescriptor": ec.descriptor("StudentIdentificationSystemDescriptor", "Other"),
                "assigningOrganizationIdentificationCode": "SIF RefId", "identificationCode": ref}]}
    local_id = text(el, "LocalId")
    if local_id:
        seoa["studentIdentificationCodes"].append({
            "studentIdentificationSystemDescriptor": ec.descriptor("StudentIdentificationSystemDescriptor", "District"),
            "assigningOrganizationIdentificationCode": "District", "identificationCode": local_id})
        if f"{cx.lea:07d}".isdigit() and cx.lea < 10_000_000:
            subject = Subject(identifiers=subject.identifiers + ((f"lea-student|{cx.lea:07d}", local_id),),
                              given=given, family=family, middle=middle, birth_date=birth, sex=subject.sex)
    if is_ssid(state_id):
        seoa["studentIdentificationCodes"].insert(0, {
            "studentIdentificationSystemDescriptor": ec.descriptor("StudentIdentificationSystemDescriptor", "State"),
            "assigningOrganizationIdentificationCode": "State", "identificationCode": state_id})
    if gender:
        seoa["sexDescriptor"] = mapped("sif-sex", "SexDescriptor", gender)
    races = []
    for r in children(child(demo, "RaceList"), "Race") if demo is not None else ():
        c = code(r, "Code") or text(r, "Code")
        if c:
            races.append({"raceDescriptor": mapped("sif-race", "RaceDescriptor", c)})
    eth = child(demo, "Ethnicity") if demo is not None else None
    if eth is not None and eth.get("Code"):
        if eth.get("Code") == "4":
            seoa["hispanicLatinoEthnicity"] = True
        else:
            races.append({"raceDescriptor": mapped("sif-race", "RaceDescriptor", eth.get("Code"))})
    hisp = text(demo, "HispanicLatino") if demo is not None else None
    if hisp:
        seoa["hispanicLatinoEthnicity"] = hisp.lower() in ("yes", "true", "y")
    if races:
        seoa["races"] = races
    yield from emit("studentEducationOrganizationAssociations", seoa, fname, el.sourceline, subject)


def _enrollment(el, fname, cx: _Ctx) -> Iterator[Item]:
    ref = _student_ref(el, cx)
    school = cx.school(el)
    entry = sif_date(el, "EntryDate", required=True)
    grade = code(el, "GradeLevel")
    if not grade:
        raise SifError("GradeLevel", "GradeLevel is required for an Ed-Fi enrollment", el.sourceline)
    res = {"studentReference": ec.student_ref(cx.uid(ref)), "schoolReference": ec.school_ref(school), "entryDate": entry,
           "entryGradeLevelDescriptor": mapped("sif-grade-level", "GradeLevelDescriptor", grade)}
    et = code(el, "EntryType")
    if et:
        res["entryTypeDescriptor"] = mapped("sif-entry-type", "EntryTypeDescriptor", et)
    exit_date = sif_date(el, "ExitDate")
    if exit_date:
        res["exitWithdrawDate"] = exit_date
        xt = code(el, "ExitType")
        if xt:
            res["exitWithdrawTypeDescriptor"] = mapped("sif-exit-type", "ExitWithdrawTypeDescriptor", xt)
    sy = school_year_attr(el)
    if sy:
        res["schoolYearTypeReference"] = ec.school_year_ref(sy)
    if el.get("MembershipType") in ("Home", "NonHome"):
        res["primarySchool"] = el.get("MembershipType") == "Home"
    yield from emit("studentSchoolAssociations", res, fname, el.sourceline, cx.subject(ref))


def _daily(el, fname, cx: _Ctx) -> Iterator[Item]:
    ref = _student_ref(el, cx)
    school = cx.school(el)
    day = sif_date(el, "Date") if child(el, "Date") is not None else None
    if day is None and el.get("Date"):
        try:
            from datetime import datetime as _dt
            v = el.get("Date")
            day = _dt.strptime(v, "%Y%m%d" if len(v) == 8 else "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise SifError("Date", f"Date {el.get('Date')!r} is not a date", el.sourceline) from None
    if day is None:
        raise SifError("Date", "Date is required", el.sourceline)
    att = child(el, "AttendanceCode")
    if att is None:
        att = child(el, "DailyAttendanceCode")
    c = (text(att, "Code") or (att.get("Code") if att is not None else None)) if att is not None else None
    if not c:
        raise SifError("AttendanceCode", "no attendance code (an AttendanceCodeInfoRefId alone cannot be resolved)",
                       el.sourceline)
    sy = school_year_attr(el) or year_of(day)
    res = {"studentReference": ec.student_ref(cx.uid(ref)), "schoolReference": ec.school_ref(school),
           "sessionReference": ec.session_ref(school, sy, f"{sy - 1}-{sy} School Year"), "eventDate": day,
           "attendanceEventCategoryDescriptor": mapped("sif-attendance-code", "AttendanceEventCategoryDescriptor", c)}
    reason = text(el, "AbsenceReason") or text(el, "AttendanceNote")
    if reason:
        res["attendanceEventReason"] = reason[:255]
    yield from emit("studentSchoolAttendanceEvents", res, fname, el.sourceline, cx.subject(ref))


def _num(el, name):
    v = text(el, name)
    if v is None:
        return None
    try:
        return float(v)
    except ValueError:
        raise SifError(name, f"{name} {v!r} is not a number", el.sourceline) from None


def _summary(el, fname, cx: _Ctx) -> Iterator[Item]:
    ref = _student_ref(el, cx)
    school = cx.school(el)
    begin, end = sif_date(el, "StartDate"), sif_date(el, "EndDate")
    sy = school_year_attr(el) or (year_of(begin) if begin else None)
    if sy is None:
        raise SifError("SchoolYear", "SchoolYear is required", el.sourceline)
    res = ec.attendance_summary(cx.uid(ref), school, sy, days_enrolled=_num(el, "DaysInMembership"),
                                days_attended=_num(el, "DaysAttended"), days_absent_excused=_num(el, "ExcusedAbsences"),
                                days_absent_unexcused=_num(el, "UnexcusedAbsences"), days_tardy=_num(el, "DaysTardy"),
                                begin_date=begin, end_date=end, source_system="SIF")
    yield from emit(ec.ATTENDANCE_SUMMARY, res, fname, el.sourceline, cx.subject(ref))


def _participation(el, fname, cx: _Ctx) -> Iterator[Item]:
    ref = _student_ref(el, cx)
    ptype = code(el, "ProgramType")
    if not ptype:
        raise SifError("ProgramType", "ProgramType is required", el.sourceline)
    edorg = cx.lea
    if edorg is None:
        managing = text(el, "ManagingSchool")
        edorg = cx.schools.get(managing or "")
    if edorg is None:
        raise SifError("ManagingPublicAgency", "no education organization id: pass lea_id or a SchoolInfo for "
                                               "ManagingSchool", el.sourceline)
    begin = (sif_date(el, "ProgramPlacementDate") or sif_date(el, "ProgramEligibilityDate")
             or sif_date(el, "StudentParticipationAsOfDate", required=True))
    ptd = mapped("sif-program-type", "ProgramTypeDescriptor", ptype)
    res = {"studentReference": ec.student_ref(cx.uid(ref)), "educationOrganizationReference": ec.edorg_ref(edorg),
           "programReference": ec.program_ref(edorg, ec.code_of(ptd)[:60], ptd), "beginDate": begin}
    exit_date = sif_date(el, "ProgramExitDate")
    if exit_date:
        res["endDate"] = exit_date
    coll = "studentProgramAssociations"
    if ptype == "0270":
        coll = "studentSpecialEducationProgramAssociations"
        for k, tag in (("iepBeginDate", "ProgramPlanDate"), ("iepReviewDate", "ProgramReviewDate"),
                       ("lastEvaluationDate", "EvaluationDate")):
            v = sif_date(el, tag)
            if v:
                res[k] = v
        dis = []
        for cat in children(child(el, "ExceptionalityCategories"), "ExceptionalityCategory"):
            c = text(cat, "Code")
            if c:
                d = {"disabilityDescriptor": mapped("sif-exceptionality", "DisabilityDescriptor", c)}
                order = PRIORITY.get(text(cat, "ExceptionalityPriority") or "")
                if order:
                    d["orderOfDisability"] = order
                dis.append(d)
        if dis:
            res["disabilities"] = dis
    yield from emit(coll, res, fname, el.sourceline, cx.subject(ref))
