"""Writes each OneRoster district's OneRoster 1.1 CSV bulk zip for the synthetic county, under
out_dir/sis/<lea_id>-oneroster/<lea_id>-oneroster.zip (manifest, orgs, academicSessions, courses,
classes, users, enrollments, demographics), as adapters/oneroster.py reads it
(docs/formats/oneroster.md).

* orgs: the district (identifier = 7-digit county-district code) and its schools (identifier =
  7-digit CDS school code, the Ed-Fi schoolId), parentSourcedId = the district;
* one school-year academicSession per school year seen, one homeroom course per (school, grade) and
  one homeroom class per (school, school year, grade) carrying that single grade, so each class
  enrollment gives the studentSchoolAssociation its entry grade;
* users: students only; the SSID (when the district presents one) as `{stateId:…}` in userIds, the
  district local id as `identifier`; enrollments: one per school enrollment, beginDate = entry date,
  endDate = exit date; demographics: birthDate, sex, races, Hispanic/Latino.

Every student with enrollments in the district is written, in care or not; names and birth date
are the district's presentation (County.present, once per district). Rows are written as youth
arrive into per-district CSV files; only the set of reference rows already written (sessions,
courses, classes: bounded by schools x years x grades) is kept. close() zips each district.
"""
from __future__ import annotations

import csv
import shutil
import zipfile
from datetime import date, datetime, time, timezone
from pathlib import Path

from ..calendar import year_end, year_start

FORMATS = ("oneroster",)
TABLES = {
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions": ("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
                         "parentSourcedId", "schoolYear"),
    "courses": ("sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades",
                "orgSourcedId", "subjects", "subjectCodes"),
    "classes": ("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
                "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    "users": ("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
              "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds",
              "grades", "password"),
    "enrollments": ("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId",
                    "role", "primary", "beginDate", "endDate"),
    "demographics": ("sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative",
                     "asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
                     "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity", "countryOfBirthCode",
                     "stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus"),
}
#: CALPADS grade -> OneRoster grade (CEDS codes): preschool is PK, kindergarten KG
GRADE = {"PS": "PK", "KN": "KG"}
#: CALPADS race code -> OneRoster demographics column
RACE_COLUMN = {"100": "americanIndianOrAlaskaNative", "400": "asian", "600": "blackOrAfricanAmerican",
               "700": "white"}


def grade_code(calpads_grade: str) -> str:
    return GRADE.get(calpads_grade, calpads_grade)


def race_column(calpads_race: str) -> str | None:
    if calpads_race in RACE_COLUMN:
        return RACE_COLUMN[calpads_race]
    if calpads_race.startswith("2"):
        return "asian"
    if calpads_race.startswith("3"):
        return "nativeHawaiianOrOtherPacificIslander"
    return None


def user_sourced_id(lea: str, youth_index: int) -> str:
    return f"stu-{lea}-{youth_index:07d}"


def _d(x: date | None) -> str:
    return x.isoformat() if x else ""


class _District:
    def __init__(self, district, folder: Path, stamp: str):
        self.district = district
        self.folder = folder
        self.tmp = folder / "bulk"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.stamp = stamp
        self.fhs = {}
        self.w = {}
        for table, cols in TABLES.items():
            fh = open(self.tmp / f"{table}.csv", "w", encoding="utf-8", newline="")
            self.fhs[table] = fh
            self.w[table] = csv.writer(fh, lineterminator="\r\n")
            self.w[table].writerow(cols)
        self.seen: set = set()
        lea = district.lea_id
        self.row("orgs", sourcedId=f"org-{lea}", name=district.name, type="district", identifier=lea)
        for s in district.schools:
            self.row("orgs", sourcedId=f"org-{s.school_id}", name=s.name, type="school", identifier=s.school_id,
                     parentSourcedId=f"org-{lea}")

    def row(self, table: str, **values) -> None:
        values.setdefault("status", "active")
        values.setdefault("dateLastModified", self.stamp)
        self.w[table].writerow(["" if values.get(c) is None else values.get(c, "") for c in TABLES[table]])

    def once(self, key) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def homeroom(self, school_id: str, sy: int, grade: str) -> str:
        """The homeroom class of (school, year, grade), writing its session/course/class rows once."""
        g = grade_code(grade)
        session = f"sy-{sy}"
        if self.once(("session", sy)):
            self.row("academicSessions", sourcedId=session, title=f"{sy - 1}-{sy}", type="schoolYear",
                     startDate=_d(year_start(sy)), endDate=_d(year_end(sy)), schoolYear=sy)
        course = f"crs-{school_id}-{g}"
        if self.once(("course", course)):
            self.row("courses", sourcedId=course, title=f"Homeroom grade {g}", courseCode=f"HR-{g}", grades=g,
                     orgSourcedId=f"org-{school_id}")
        cls = f"cls-{school_id}-{sy}-{g}"
        if self.once(("class", cls)):
            self.row("classes", sourcedId=cls, title=f"Homeroom {g} {sy - 1}-{sy}", grades=g, courseSourcedId=course,
                     classCode=f"HR-{g}-{sy}", classType="homeroom", schoolSourcedId=f"org-{school_id}",
                     termSourcedIds=session)
        return cls

    def add(self, y, p) -> None:
        lea = self.district.lea_id
        uid = user_sourced_id(lea, y.index)
        enrs = [e for e in y.enrollments if e.lea_id == lea]
        schools = list(dict.fromkeys(e.school_id for e in reversed(enrs)))   # current school first
        self.row("users", sourcedId=uid, enabledUser="true", orgSourcedIds=",".join(f"org-{s}" for s in schools),
                 role="student", username=f"{p.given[:1].lower()}{p.family.lower().replace(' ', '')}{y.index}",
                 userIds=f"{{stateId:{p.ssid}}}" if p.ssid else "", givenName=p.given, familyName=p.family,
                 middleName=p.middle, identifier=p.local_id, grades=grade_code(enrs[-1].grade))
        races = {c: "false" for c in RACE_COLUMN.values()} | {"nativeHawaiianOrOtherPacificIslander": "false"}
        col = race_column(y.race)
        if col:
            races[col] = "true"
        self.row("demographics", sourcedId=uid, birthDate=_d(p.birth_date),
                 sex={"F": "female", "M": "male"}.get(p.sex, "unspecified"), demographicRaceTwoOrMoreRaces="false",
                 hispanicOrLatinoEthnicity="true" if y.hispanic else "false", **races)
        for k, e in enumerate(enrs):
            cls = self.homeroom(e.school_id, e.school_year, e.grade)
            self.row("enrollments", sourcedId=f"enr-{uid}-{k}", classSourcedId=cls, schoolSourcedId=f"org-{e.school_id}",
                     userSourcedId=uid, role="student", primary="true", beginDate=_d(e.entry_date),
                     endDate=_d(e.exit_date))

    def close(self) -> Path:
        for fh in self.fhs.values():
            fh.close()
        manifest = [("propertyName", "value"), ("manifest.version", "1.0"), ("oneroster.version", "1.1")]
        manifest += [(f"file.{t}", "bulk") for t in TABLES]
        manifest += [(f"file.{t}", "absent") for t in ("lineItems", "categories", "results", "resources",
                                                        "classResources", "courseResources")]
        manifest += [("source.systemName", "Synthetic SIS"), ("source.systemCode", f"sis-{self.district.lea_id}")]
        with open(self.tmp / "manifest.csv", "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(manifest)
        target = self.folder / f"{self.district.lea_id}-oneroster.zip"
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in ("manifest", *TABLES):
                zf.write(self.tmp / f"{name}.csv", f"{name}.csv")
        shutil.rmtree(self.tmp)
        return target


class Writer:
    def __init__(self, county, out_dir: Path):
        self.county = county
        stamp = datetime.combine(county.as_of, time(0, 0), tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.districts = {d.lea_id: _District(d, Path(out_dir) / "sis" / f"{d.lea_id}-oneroster", stamp)
                          for d in county.districts if d.feed_format == "oneroster"}

    def add(self, y) -> None:
        for lea in dict.fromkeys(e.lea_id for e in y.enrollments):
            d = self.districts.get(lea)
            if d is not None:
                d.add(y, self.county.present(y, f"oneroster:{lea}"))

    def close(self) -> list[Path]:
        return [d.close() for d in self.districts.values()]
