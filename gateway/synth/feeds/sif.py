"""Writes each SIF district's SIF US 2.x XML files for the synthetic county, under
out_dir/sis/<lea_id>-sif/, as adapters/sif.py reads them (docs/formats/sif.md).

One file per object type, each a SIF_Message / SIF_Response envelope (SIF 2.x namespace) whose
SIF_ObjectData holds the objects: SchoolInfo (the district's schools, StateProvinceId = 7-digit CDS
school code), StudentPersonal, StudentSchoolEnrollment, StudentAttendanceSummary (the model's
yearly counts per enrollment), StudentDailyAttendance (one absence event per day absent, on dates
derived deterministically by `absence_dates`), StudentAcademicRecord (high-school course history
with marks and credits) and StudentParticipation (special education, Section 504, homeless).

Every student with enrollments in the district is written, in care or not; identity is the
district's presentation (County.present, once per district). Start tags are written at
construction, objects as youth arrive, end tags in close(); all text is XML-escaped.
"""
from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from mappings import translate

from ..calendar import year_end, year_start

FORMATS = ("sif",)
NS = "http://www.sifinfo.org/infrastructure/2.x"
OBJECTS = ("SchoolInfo", "StudentPersonal", "StudentSchoolEnrollment", "StudentAttendanceSummary",
           "StudentDailyAttendance", "StudentAcademicRecord", "StudentParticipation")
GRADE = {"PS": "PK", "KN": "KG"}
#: CALPADS race -> SIF race code (0998 AmInd, 1000 Asian, 0999 Black, 1001 NHPI, 1002 White)
RACE = {"100": "0998", "400": "1000", "600": "0999", "700": "1002"}
#: CALPADS exit reason -> SIF exit type (1907 transferred, 1921 graduated, 3499 end of school year)
EXIT = {"T160": "1907", "E230": "1921", "E155": "3499"}
#: CALPADS education program -> SIF ProgramType
PROGRAM = {"101": "2390", "191": "0281"}
#: SIF AttendanceCode per kind of absence day (0245 excused, 0246 unexcused)
ABSENCE_CODE = {"excused": "0245", "unexcused": "0246", "suspended": "0246"}
ABSENCE_REASON = {"excused": "Excused absence", "unexcused": "Unexcused absence",
                  "suspended": "Out-of-school suspension"}


def grade_code(calpads_grade: str) -> str:
    return GRADE.get(calpads_grade, calpads_grade)


def race_code(calpads_race: str) -> str:
    if calpads_race in RACE:
        return RACE[calpads_race]
    return "1000" if calpads_race.startswith("2") else "1001" if calpads_race.startswith("3") else "9999"


def ref_id(*parts) -> str:
    """A deterministic 32-hex-digit SIF RefId."""
    return hashlib.md5(":".join(str(p) for p in parts).encode()).hexdigest().upper()


def _d(x: date | None) -> str:
    return x.isoformat() if x else ""


def term_dates(sy: int, term: str) -> tuple[date, date]:
    return (year_start(sy), date(sy - 1, 12, 18)) if term == "FA" else (date(sy, 1, 6), year_end(sy))


def absence_dates(seed: int, youth_index: int, enrollment, attendance, as_of: date) -> list[tuple[date, str]]:
    """The days a youth was absent during one enrollment, as (date, kind) with kind excused /
    unexcused / suspended: exactly attendance.days_absent distinct weekdays within the enrollment
    (entry date to the earlier of exit date and as_of), drawn from
    random.Random(f"{seed}:abs:{youth_index}:{school_year}:{school_id}:{entry}")."""
    last = min(enrollment.exit_date or as_of, as_of)
    days = [enrollment.entry_date + timedelta(days=k) for k in range((last - enrollment.entry_date).days + 1)]
    weekdays = [d for d in days if d.weekday() < 5]
    n = attendance.days_absent
    if n > len(weekdays):   # cannot happen with the model's school_days(); keep the count honest anyway
        raise ValueError(f"youth {youth_index}: {n} absences in {len(weekdays)} weekdays")
    rng = random.Random(f"{seed}:abs:{youth_index}:{attendance.school_year}:{attendance.school_id}:{enrollment.entry_date}")
    picked = sorted(rng.sample(weekdays, n))
    kinds = (["excused"] * attendance.days_absent_excused + ["unexcused"] * attendance.days_absent_unexcused
             + ["suspended"] * attendance.days_suspended)
    rng.shuffle(kinds)
    return list(zip(picked, kinds))


def _el(name: str, value, **attrs) -> str:
    if value is None or value == "":
        return ""
    a = "".join(f" {k}={quoteattr(str(v))}" for k, v in attrs.items() if v is not None)
    return f"<{name}{a}>{escape(str(value))}</{name}>"


def _code(name: str, value) -> str:
    return f"<{name}><Code>{escape(str(value))}</Code></{name}>" if value else ""


def _num(x: float) -> str:
    return f"{x:.2f}"


class _District:
    def __init__(self, county, district, folder: Path):
        self.county = county
        self.district = district
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = [folder / f"{name}.xml" for name in OBJECTS]
        self.fhs = {}
        for name, path in zip(OBJECTS, self.paths):
            fh = open(path, "w", encoding="utf-8")
            msg = ref_id(county.seed, "msg", district.lea_id, name)
            fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                     f'<SIF_Message xmlns="{NS}" Version="2.0r1"><SIF_Response><SIF_Header>'
                     f"<SIF_MsgId>{msg}</SIF_MsgId><SIF_Timestamp>{county.as_of.isoformat()}T00:00:00Z</SIF_Timestamp>"
                     f"<SIF_SourceId>SIS-{district.lea_id}</SIF_SourceId></SIF_Header>"
                     f"<SIF_RequestMsgId>{ref_id(county.seed, 'req', district.lea_id, name)}</SIF_RequestMsgId>"
                     "<SIF_PacketNumber>1</SIF_PacketNumber><SIF_MorePackets>No</SIF_MorePackets>"
                     "<SIF_ObjectData>\n")
            self.fhs[name] = fh
        for s in district.schools:
            self.fhs["SchoolInfo"].write(
                f'<SchoolInfo RefId="{self.school_ref(s.school_id)}" LEAInfoRefId="{ref_id("lea", district.lea_id)}">'
                f"{_el('LocalId', s.school_id)}{_el('StateProvinceId', s.school_id)}{_el('SchoolName', s.name)}"
                f"<AddressList><Address Type=\"0123\"><Street>{_el('Line1', s.address)}</Street>{_el('City', s.city)}"
                f"<StateProvince>CA</StateProvince><Country>US</Country>{_el('PostalCode', s.zip)}</Address></AddressList>"
                f"<PhoneNumberList><PhoneNumber Type=\"0096\">{_el('Number', s.phone)}</PhoneNumber></PhoneNumberList>"
                "</SchoolInfo>\n")

    def school_ref(self, school_id: str) -> str:
        return ref_id("school", school_id)

    def write(self, name: str, xml: str) -> None:
        self.fhs[name].write(xml + "\n")

    def add(self, y, p) -> None:
        lea = self.district.lea_id
        seed = self.county.seed
        sref = ref_id(seed, "student", lea, y.index)
        self._personal(y, p, sref)
        pairs = [(e, a) for e, a in zip(y.enrollments, y.attendance) if e.lea_id == lea]
        for k, (e, a) in enumerate(pairs):
            school = self.school_ref(e.school_id)
            entry_type = "1838" if k == 0 else "1821"
            self.write("StudentSchoolEnrollment",
                       f'<StudentSchoolEnrollment RefId="{ref_id(seed, "enr", lea, y.index, k)}" StudentPersonalRefId="{sref}" '
                       f'SchoolInfoRefId="{school}" MembershipType="Home" TimeFrame="{"Historical" if e.exit_date else "Current"}" '
                       f'SchoolYear="{e.school_year}">{_el("EntryDate", _d(e.entry_date))}{_code("EntryType", entry_type)}'
                       f'{_code("GradeLevel", grade_code(e.grade))}{_el("ExitDate", _d(e.exit_date))}'
                       f'{_code("ExitType", EXIT.get(e.exit_code or ""))}</StudentSchoolEnrollment>')
            last = min(e.exit_date or self.county.as_of, self.county.as_of)
            self.write("StudentAttendanceSummary",
                       f'<StudentAttendanceSummary StudentPersonalRefId="{sref}" SchoolInfoRefId="{school}" '
                       f'SchoolYear="{a.school_year}">{_el("StartDate", _d(e.entry_date))}{_el("EndDate", _d(last))}'
                       f'{_el("StartDay", 1)}{_el("EndDay", a.days_enrolled)}'
                       f'{_el("DaysAttended", a.days_attended)}{_el("ExcusedAbsences", a.days_absent_excused)}'
                       f'{_el("UnexcusedAbsences", a.days_absent_unexcused)}{_el("DaysInMembership", a.days_enrolled)}'
                       "</StudentAttendanceSummary>")
            for day, kind in absence_dates(seed, y.index, e, a, self.county.as_of):
                self.write("StudentDailyAttendance",
                           f'<StudentDailyAttendance RefId="{ref_id(seed, "att", y.index, e.school_id, day)}" '
                           f'StudentPersonalRefId="{sref}" SchoolInfoRefId="{school}" SchoolYear="{a.school_year}">'
                           f'{_el("Date", _d(day))}{_code("AttendanceCode", ABSENCE_CODE[kind])}'
                           f'{_el("AttendanceStatus", "01")}{_el("AbsenceReason", ABSENCE_REASON[kind])}'
                           "</StudentDailyAttendance>")
        self._academic(y, sref, lea)
        self._participation(y, sref, lea)

    def _personal(self, y, p, sref: str) -> None:
        name = (f'<Name Type="04">{_el("LastName", p.family)}{_el("FirstName", p.given)}'
                f'{_el("MiddleName", p.middle)}</Name>')
        demo = (f'<Demographics><RaceList><Race>{_el("Code", race_code(y.race))}</Race></RaceList>'
                f'{_el("HispanicLatino", "Yes" if y.hispanic else "No")}{_el("Gender", p.sex)}'
                f'{_el("BirthDate", _d(p.birth_date))}</Demographics>')
        self.write("StudentPersonal", f'<StudentPersonal RefId="{sref}">{_el("LocalId", p.local_id)}'
                                      f'{_el("StateProvinceId", p.ssid)}{name}{demo}</StudentPersonal>')

    def _academic(self, y, sref: str, lea: str) -> None:
        courses = [c for c in y.courses if c.lea_id == lea]
        if not courses:
            return
        terms: dict = {}
        for c in courses:
            terms.setdefault((c.school_id, c.school_year, c.term), []).append(c)
        grade_of = {(e.school_id, e.school_year): e.grade for e in y.enrollments}
        attended = "".join(
            f'<SchoolAttended RefId="{ref_id(sref, s)}"><SchoolInfoData>{_el("LocalId", s)}{_el("StateProvinceId", s)}'
            f'{_el("SchoolName", self.county.school(s).name)}</SchoolInfoData></SchoolAttended>'
            for s in dict.fromkeys(c.school_id for c in courses))
        history = []
        for (school, sy, term), cs in terms.items():
            start, end = term_dates(sy, term)
            grade = grade_of.get((school, sy)) or next((e.grade for e in y.enrollments if e.school_year == sy), None)
            items = "".join(
                f'<Course><SchoolCourseInfoData>{_el("CourseCode", c.local_course_id)}{_el("CourseTitle", c.title)}'
                f'</SchoolCourseInfoData>{_el("StartDate", _d(start))}{_el("EndDate", _d(end))}<MarkingPeriods><MarkingPeriod>'
                f'{_code("GradeLevelWhenTaken", grade_code(grade) if grade else None)}<MarkData>{_el("Letter", c.grade)}</MarkData>'
                f'{_el("CourseCreditsAttempted", _num(c.credits_attempted))}{_el("CourseCreditsEarned", _num(c.credits_earned))}'
                "</MarkingPeriod></MarkingPeriods></Course>" for c in cs)
            history.append(f'<Term><TermInfoData SchoolAttendedRefId="{ref_id(sref, school)}">{_el("SchoolYear", sy)}'
                           f'{_el("StartDate", _d(start))}{_el("EndDate", _d(end))}</TermInfoData>'
                           f"<Courses>{items}</Courses></Term>")
        self.write("StudentAcademicRecord",
                   f'<StudentAcademicRecord RefId="{ref_id(sref, "sar")}" StudentPersonalRefId="{sref}">'
                   f'{_el("ReportingDate", _d(self.county.as_of))}<SchoolAttendanceHistory>{attended}</SchoolAttendanceHistory>'
                   f'<CourseHistory>{"".join(history)}</CourseHistory></StudentAcademicRecord>')

    def _participation(self, y, sref: str, lea: str) -> None:
        s = y.special_education
        if s is not None and s.lea_id == lea:
            self.write("StudentParticipation",
                       f'<StudentParticipation RefId="{ref_id(sref, "sped")}" StudentPersonalRefId="{sref}">'
                       f'{_el("StudentParticipationAsOfDate", _d(self.county.as_of))}{_code("ProgramType", "0270")}'
                       f'{_el("ManagingSchool", self.school_ref(s.school_id), SIF_RefObject="SchoolInfo")}'
                       f'{_el("EvaluationDate", _d(s.start_date))}<ExceptionalityCategories><ExceptionalityCategory>'
                       f'{_el("Code", exceptionality(s.disability_code))}{_el("ExceptionalityPriority", "Primary")}'
                       f'</ExceptionalityCategory></ExceptionalityCategories>{_el("ProgramPlanDate", _d(s.last_meeting_date))}'
                       f'{_el("ProgramPlacementDate", _d(s.start_date))}</StudentParticipation>')
        for pr in y.programs:
            if pr.lea_id != lea or pr.program_code not in PROGRAM:
                continue
            self.write("StudentParticipation",
                       f'<StudentParticipation RefId="{ref_id(sref, "prg", pr.program_code, pr.start_date)}" '
                       f'StudentPersonalRefId="{sref}">{_el("StudentParticipationAsOfDate", _d(self.county.as_of))}'
                       f'{_code("ProgramType", PROGRAM[pr.program_code])}'
                       f'{_el("ManagingSchool", self.school_ref(pr.school_id), SIF_RefObject="SchoolInfo")}'
                       f'{_el("ProgramPlacementDate", _d(pr.start_date))}{_el("ProgramExitDate", _d(pr.end_date))}'
                       "</StudentParticipation>")

    def close(self) -> list[Path]:
        for fh in self.fhs.values():
            fh.write("</SIF_ObjectData></SIF_Response></SIF_Message>\n")
            fh.close()
        return list(self.paths)


_EXCEPTIONALITY: dict[str, str] = {}


def exceptionality(calpads_disability: str) -> str:
    """SIF ExceptionalityCategory code with the same Ed-Fi disability as a CALPADS disability code."""
    if not _EXCEPTIONALITY:
        import json
        from mappings import __file__ as mfile
        cm = json.loads((Path(mfile).parent / "conceptmaps" / "sif-exceptionality.json").read_text())
        for g in cm["group"]:
            for el in g["element"]:
                for t in el.get("target", ()):
                    _EXCEPTIONALITY.setdefault(t.get("code"), el["code"])
    t = translate("calpads-disability", calpads_disability)
    return _EXCEPTIONALITY.get(t.code if t else None, "2134")


class Writer:
    def __init__(self, county, out_dir: Path):
        self.county = county
        self.districts = {d.lea_id: _District(county, d, Path(out_dir) / "sis" / f"{d.lea_id}-sif")
                          for d in county.districts if d.feed_format == "sif"}

    def add(self, y) -> None:
        for lea in dict.fromkeys(e.lea_id for e in y.enrollments):
            d = self.districts.get(lea)
            if d is not None:
                d.add(y, self.county.present(y, f"sif:{lea}"))

    def close(self) -> list[Path]:
        return [p for d in self.districts.values() for p in d.close()]
