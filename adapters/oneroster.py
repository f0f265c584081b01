"""OneRoster 1.1 / 1.2 CSV (zip or folder, bulk or delta) -> Ed-Fi DS 5.x records.

Small lookup tables are read first (orgs, academicSessions, courses, classes; for 1.2 roles;
demographics, keyed by user) and users, enrollments and results are streamed. Only users with the
student role become students (teachers, parents and other roles are skipped without a problem).
Rows with status `tobedeleted` give Records with action "delete". Every malformed row becomes a
Problem naming file, line and field; the other rows still come through.

Out: students (names + demographics birthDate), studentEducationOrganizationAssociations (sex,
races, hispanicLatinoEthnicity, identification codes), studentSchoolAssociations (one per student
and school, from class or school enrollments), studentSectionAssociations (class enrollments),
schools and localEducationAgencies (orgs of type school / district).
Identity: SSID from userIds `{stateId:…}` / `{SSID:…}` or a `metadata.stateId` column; the district
local id from `identifier`; always `source|oneroster:<tenant>` = sourcedId. studentUniqueId is the
SSID when known, else the sourcedId.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from mappings import translate

from .base import refusing_damaged, InputRefused, Item, Problem, Subject
from . import edfi_common as ec
from .edfi_extra import edfi_record, validate_and_prune
from .oneroster_csv import Bundle, RowError, iso_date, split_list, user_ids

NS = "uri://oneroster.1edtech.org"
_SSID = re.compile(r"^\d{10}$")
_CDS7 = re.compile(r"^\d{7}$")
_CDS14 = re.compile(r"^\d{14}$")
STATE_ID_TYPES = {"stateid", "ssid", "state", "statestudentid"}
RACES = ("americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander",
         "white")
TRUE = {"true", "1", "yes", "y"}


def _grade(code: str) -> str:
    t = translate("oneroster-grade-level", code) or translate("oneroster-grade-level", code.zfill(2))
    return ec.descriptor("GradeLevelDescriptor", t.code) if t else ec.local_descriptor("GradeLevelDescriptor", code, NS)


def _action(rec: dict) -> str:
    return "delete" if (rec.get("status") or "").lower() == "tobedeleted" else "upsert"


class _Ctx:
    def __init__(self, bundle: Bundle, tenant: str, school_ids: dict):
        self.b = bundle
        self.system = f"source|oneroster:{tenant}"
        self.orgs: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.courses: dict[str, dict] = {}
        self.classes: dict[str, dict] = {}
        self.roles: dict[str, list[tuple[str, str]]] = {}
        self.demo: dict[str, dict] = {}
        self.students: dict[str, str] = {}       # user sourcedId -> studentUniqueId
        self.school_ids = school_ids
        self.done: set = set()

    def load(self, table: str, into: dict) -> Iterator[Problem]:
        for item in self.b.rows(table):
            if isinstance(item, Problem):
                yield item
            else:
                line, rec = item
                rec["_line"] = line
                into[rec["sourcedId"]] = rec

    def edorg_id(self, org_sid: str) -> int | None:
        """Ed-Fi id of a OneRoster org: the 7-digit CDS school / district code from `identifier`
        (a 14-digit CDS code gives its last 7 digits for a school, first 7 for a district)."""
        if org_sid in self.school_ids:
            return int(self.school_ids[org_sid])
        org = self.orgs.get(org_sid)
        if not org:
            return None
        ident = (org.get("identifier") or "").strip()
        if _CDS14.match(ident):
            return int(ident[7:]) if org.get("type") == "school" else int(ident[:7])
        if ident.isdigit():
            return int(ident)
        return None

    def lea_of(self, org_sid: str) -> int | None:
        org = self.orgs.get(org_sid)
        if not org:
            return None
        if org.get("type") == "district":
            return self.edorg_id(org_sid)
        ident = org.get("identifier") or ""
        if _CDS14.match(ident):
            return int(ident[:7])
        parent = org.get("parentSourcedId")
        if parent and self.orgs.get(parent, {}).get("type") == "district":
            return self.edorg_id(parent)
        return None


def convert(path, *, tenant: str | None = None, school_ids: dict | None = None, **_options) -> Iterator[Item]:
    with refusing_damaged(Path(path).name):
        path = Path(path)
        if not path.exists():
            raise InputRefused(f"{path}: no such file or folder")
        b = Bundle(path)
        yield from b.read_manifest()
        src = b.manifest.get("source.systemCode") or ""
        tenant = tenant or (src if src and src != "absent" else path.stem)
        cx = _Ctx(b, tenant, dict(school_ids or {}))
        for table, into in (("orgs", cx.orgs), ("academicSessions", cx.sessions), ("courses", cx.courses),
                            ("classes", cx.classes), ("demographics", cx.demo)):
            if b.has(table):
                yield from cx.load(table, into)
        if b.layout == "1.2" and b.has("roles"):
            for item in b.rows("roles"):
                if isinstance(item, Problem):
                    yield item
                else:
                    _, rec = item
                    cx.roles.setdefault(rec.get("userSourcedId", ""), []).append((rec.get("role", ""), rec.get("orgSourcedId", "")))
        yield from _orgs(cx)
        yield from _users(cx)
        yield from _enrollments(cx)
        if b.has("results"):
            yield Problem(file=b.label("results"), line=None, field=None, severity="warning",
                          message="results.csv (gradebook scores) is not converted: OneRoster line-item scores are not "
                                  "Ed-Fi grading-period grades")


def _orgs(cx: _Ctx) -> Iterator[Item]:
    grades: dict[str, set] = {}
    for c in cx.classes.values():
        grades.setdefault(c.get("schoolSourcedId", ""), set()).update(split_list(c.get("grades")))
    label = cx.b.label("orgs")
    for sid, org in cx.orgs.items():
        kind = (org.get("type") or "").lower()
        src = {"file": label, "line": org["_line"]}
        parent = org.get("parentSourcedId")
        if parent and parent not in cx.orgs:
            yield Problem(file=label, line=org["_line"], field="parentSourcedId", severity="warning",
                          message=f"org {sid}: parentSourcedId {parent!r} is not in orgs.csv (dangling reference)")
        if kind not in ("school", "district"):
            yield Problem(file=label, line=org["_line"], field="type", severity="warning",
                          message=f"org {sid} of type {kind!r} is not a school or district: not converted")
            continue
        eid = cx.edorg_id(sid)
        if eid is None:
            yield Problem(file=label, line=org["_line"], field="identifier",
                          message=f"{kind} {sid}: identifier {org.get('identifier')!r} is not a numeric (CDS) code, so it "
                                  "has no Ed-Fi id; pass school_ids={sourcedId: code} to map it")
            continue
        if kind == "school":
            levels = sorted({_grade(g) for g in grades.get(sid, ())}) or [ec.descriptor("GradeLevelDescriptor", "No grade level")]
            res = ec.school_resource(eid, name=org.get("name"), lea_id=cx.lea_of(sid), grade_levels=levels,
                                     cds_code=org.get("identifier") or None)
            coll = "schools"
        else:
            res = ec.lea_resource(eid, name=org.get("name"), cds_code=org.get("identifier") or None)
            coll = "localEducationAgencies"
        yield from _emit(coll, res, src, None, _action(org))


def _emit(coll: str, res: dict, src: dict, subject, action: str = "upsert") -> Iterator[Item]:
    errors, _ = validate_and_prune(coll, res)
    if errors and action != "delete":
        yield Problem(file=src["file"], line=src.get("line"), field=errors[0][0], message=f"{coll}: {errors[0][1]}")
        return
    yield edfi_record(coll, res, src, subject, action=action)


def _user_is_student(cx: _Ctx, rec: dict) -> bool:
    if cx.b.layout == "1.2" and rec["sourcedId"] in cx.roles:
        return any(r.lower() == "student" for r, _ in cx.roles[rec["sourcedId"]])
    return (rec.get("role") or "").lower() == "student"


def _user_orgs(cx: _Ctx, rec: dict) -> list[str]:
    if cx.b.layout == "1.2":
        orgs = [o for r, o in cx.roles.get(rec["sourcedId"], ()) if r.lower() == "student"]
        return orgs or split_list(rec.get("primaryOrgSourcedId"))
    return split_list(rec.get("orgSourcedIds"))


def _users(cx: _Ctx) -> Iterator[Item]:
    label = cx.b.label("users")
    demo_label = cx.b.label("demographics")
    for item in cx.b.rows("users"):
        if isinstance(item, Problem):
            yield item
            continue
        line, rec = item
        if not _user_is_student(cx, rec):
            continue
        sid = rec["sourcedId"]
        ssid = rec.get("metadata.stateId") or next((v for t, v in user_ids(rec.get("userIds"))
                                                    if t.lower() in STATE_ID_TYPES), None)
        if ssid and not _SSID.match(ssid):
            yield Problem(file=label, line=line, field="userIds", severity="warning",
                          message=f"state id {ssid!r} is not a 10-digit SSID: kept as a source id only")
            ssid = None
        uid = ssid or sid
        cx.students[sid] = uid
        orgs = _user_orgs(cx, rec)
        school = next((o for o in orgs if cx.orgs.get(o, {}).get("type") == "school"), orgs[0] if orgs else None)
        lea = cx.lea_of(school) if school else None
        ids = ([("ssid", ssid)] if ssid else []) + [(cx.system, sid)]
        if rec.get("identifier") and lea and _CDS7.match(f"{lea:07d}"):
            ids.append((f"lea-student|{lea:07d}", rec["identifier"]))
        demo = cx.demo.get(sid) or {}
        birth, sex, problems = _demographics(demo, demo_label)
        yield from problems
        subject = Subject(identifiers=tuple(ids), given=rec.get("givenName") or None, family=rec.get("familyName") or None,
                          middle=rec.get("middleName") or None, birth_date=birth,
                          sex={"male": "M", "female": "F", "other": "X"}.get((demo.get("sex") or "").lower()))
        action = _action(rec)
        src = {"file": label, "line": line}
        student = {"studentUniqueId": uid, "firstName": rec.get("givenName") or "", "lastSurname": rec.get("familyName") or ""}
        if rec.get("middleName"):
            student["middleName"] = rec["middleName"]
        if rec.get("preferredGivenName"):
            student["preferredFirstName"] = rec["preferredGivenName"]
        if birth:
            student["birthDate"] = birth
        yield from _emit("students", student, src, subject, action)
        edorg = cx.edorg_id(school) if school else None
        if edorg is None:
            if school:
                yield Problem(file=label, line=line, field="orgSourcedIds", severity="warning",
                              message=f"student {sid}: org {school} has no Ed-Fi id: no demographics association")
            continue
        seoa = {"studentReference": ec.student_ref(uid), "educationOrganizationReference": ec.edorg_ref(edorg),
                "studentIdentificationCodes": [{
                    "studentIdentificationSystemDescriptor": ec.descriptor("StudentIdentificationSystemDescriptor", "Other"),
                    "assigningOrganizationIdentificationCode": f"OneRoster {cx.system.split(':', 1)[1]}"[:60],
                    "identificationCode": sid[:60]}]}
        if ssid:
            seoa["studentIdentificationCodes"].insert(0, {
                "studentIdentificationSystemDescriptor": ec.descriptor("StudentIdentificationSystemDescriptor", "State"),
                "assigningOrganizationIdentificationCode": "State", "identificationCode": ssid})
        if rec.get("identifier"):
            seoa["studentIdentificationCodes"].append({
                "studentIdentificationSystemDescriptor": ec.descriptor("StudentIdentificationSystemDescriptor", "District"),
                "assigningOrganizationIdentificationCode": "District", "identificationCode": rec["identifier"][:60]})
        if sex:
            seoa["sexDescriptor"] = sex
        races = [{"raceDescriptor": ec.descriptor("RaceDescriptor", translate("oneroster-race", r).code)}
                 for r in RACES if (demo.get(r) or "").lower() in TRUE]
        if races:
            seoa["races"] = races
        if demo.get("hispanicOrLatinoEthnicity"):
            seoa["hispanicLatinoEthnicity"] = demo["hispanicOrLatinoEthnicity"].lower() in TRUE
        yield from _emit("studentEducationOrganizationAssociations", seoa, src, subject, action)


def _demographics(demo: dict, label: str) -> tuple[str | None, str | None, list[Problem]]:
    problems: list[Problem] = []
    birth = sex = None
    if not demo:
        return None, None, problems
    try:
        birth = iso_date(demo, "birthDate")
    except RowError as e:
        problems.append(Problem(file=label, line=demo.get("_line"), field=e.field, message=str(e)))
    code = (demo.get("sex") or "").strip()
    if code:
        t = translate("oneroster-sex", code.lower())
        if t:
            sex = ec.descriptor("SexDescriptor", t.code)
        else:
            sex = ec.local_descriptor("SexDescriptor", code, NS)
            problems.append(Problem(file=label, line=demo.get("_line"), field="sex", severity="warning",
                                    message=f"sex {code!r} is not a OneRoster value: kept as {sex}"))
    return birth, sex, problems


def _enrollments(cx: _Ctx) -> Iterator[Item]:
    label = cx.b.label("enrollments")
    for item in cx.b.rows("enrollments"):
        if isinstance(item, Problem):
            yield item
            continue
        line, rec = item
        if (rec.get("role") or "").lower() != "student":
            continue
        user = rec.get("userSourcedId", "")
        uid = cx.students.get(user)
        if uid is None:
            yield Problem(file=label, line=line, field="userSourcedId",
                          message=f"enrollment {rec['sourcedId']}: user {user!r} is not a student in users.csv")
            continue
        cls = cx.classes.get(rec.get("classSourcedId") or "")
        school_sid = (cls or {}).get("schoolSourcedId") or rec.get("schoolSourcedId")
        school = cx.edorg_id(school_sid) if school_sid else None
        if school is None:
            yield Problem(file=label, line=line, field="schoolSourcedId",
                          message=f"enrollment {rec['sourcedId']}: school {school_sid!r} has no Ed-Fi schoolId")
            continue
        terms = [cx.sessions[t] for t in split_list((cls or {}).get("termSourcedIds")) if t in cx.sessions]
        try:
            begin = iso_date(rec, "beginDate") or next((iso_date(t, "startDate") for t in terms), None)
            end = iso_date(rec, "endDate")
        except RowError as e:
            yield Problem(file=label, line=line, field=e.field, message=str(e))
            continue
        if not begin:
            yield Problem(file=label, line=line, field="beginDate",
                          message=f"enrollment {rec['sourcedId']}: no beginDate and no class term start date")
            continue
        grades = split_list((cls or {}).get("grades"))
        subject = Subject(identifiers=((cx.system, user),) + ((("ssid", uid),) if uid != user else ()))
        src = {"file": label, "line": line}
        key = (uid, school, begin)
        if key not in cx.done:
            cx.done.add(key)
            ssa = {"studentReference": ec.student_ref(uid), "schoolReference": ec.school_ref(school), "entryDate": begin,
                   "entryGradeLevelDescriptor": _grade(grades[0]) if len(grades) == 1 else
                   ec.descriptor("GradeLevelDescriptor", "No grade level")}
            if end:
                ssa["exitWithdrawDate"] = end
            yield from _emit("studentSchoolAssociations", ssa, src, subject, _action(rec))
