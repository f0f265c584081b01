"""OneRoster CSV bundle reading: zip or folder, manifest, header checks, rows with line numbers."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import IO, Iterator

from .base import InputRefused, Problem, truncate

MAX_MEMBER_BYTES = 2 * 1024 ** 3
COMMON = ("sourcedId", "status", "dateLastModified")
#: required columns per table (1EdTech OneRoster 1.1/1.2 CSV binding), besides the common three
REQUIRED = {
    "orgs": ("name", "type"),
    "academicSessions": ("title", "type", "startDate", "endDate", "schoolYear"),
    "courses": ("title", "orgSourcedId"),
    "classes": ("title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"),
    "users": ("enabledUser", "username", "givenName", "familyName"),
    "enrollments": ("classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    "demographics": (),
    "roles": ("userSourcedId", "roleType", "role", "orgSourcedId"),
    "lineItems": ("title", "classSourcedId", "gradingPeriodSourcedId"),
    "results": ("lineItemSourcedId", "studentSourcedId", "scoreStatus"),
}
KNOWN = {
    "orgs": ("identifier", "parentSourcedId"),
    "academicSessions": ("parentSourcedId",),
    "courses": ("schoolYearSourcedId", "courseCode", "grades", "subjects", "subjectCodes"),
    "classes": ("grades", "classCode", "location", "subjects", "subjectCodes", "periods", "resources"),
    "users": ("orgSourcedIds", "role", "userIds", "middleName", "identifier", "email", "sms", "phone",
              "agentSourcedIds", "grades", "password", "userMasterIdentifier", "preferredGivenName",
              "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns", "metadata.stateId"),
    "enrollments": ("primary", "beginDate", "endDate"),
    "demographics": ("birthDate", "sex", "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
                     "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
                     "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
                     "publicSchoolResidenceStatus"),
    "roles": ("beginDate", "endDate", "userProfileSourcedId"),
    "lineItems": ("description", "assignDate", "dueDate", "category", "resultValueMin", "resultValueMax",
                  "schoolSourcedId", "academicSessionSourcedId"),
    "results": ("score", "scoreDate", "comment", "textScore", "class", "learningObjectiveSet"),
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RowError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class Bundle:
    """A OneRoster CSV bundle in a zip or a folder; table names are matched case-insensitively
    (`userProfiles.csv` vs `userprofiles.csv` in the wild)."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = None
        if path.is_dir():
            self.names = {p.name.lower(): p.name for p in path.iterdir() if p.is_file()}
        else:
            try:
                self.zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                raise InputRefused(f"{path.name}: not a zip file or a folder of OneRoster CSV files") from None
            self.names = {}
            for info in self.zip.infolist():
                if info.file_size > MAX_MEMBER_BYTES:
                    raise InputRefused(f"{path.name}: member {info.filename} claims {info.file_size:,} bytes")
                self.names[info.filename.rsplit("/", 1)[-1].lower()] = info.filename
        self.manifest: dict[str, str] = {}
        self.version = None

    def label(self, table: str) -> str:
        return self.names.get(f"{table.lower()}.csv", f"{table}.csv")

    def has(self, table: str) -> bool:
        return f"{table.lower()}.csv" in self.names

    def open(self, table: str) -> IO[str] | None:
        name = self.names.get(f"{table.lower()}.csv")
        if name is None:
            return None
        raw = self.zip.open(name) if self.zip is not None else open(self.path / name, "rb")
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")

    def read_manifest(self) -> Iterator[Problem]:
        fh = self.open("manifest")
        if fh is None:
            yield Problem(file="manifest.csv", line=None, field=None, severity="warning",
                          message="no manifest.csv: version and bulk/delta mode unknown; reading every table present as bulk")
            return
        with fh:
            for n, row in enumerate(csv.reader(fh), start=1):
                if n == 1 or len(row) < 2:
                    continue
                self.manifest[row[0].strip()] = row[1].strip()
        self.version = self.manifest.get("oneroster.version")
        if self.version not in ("1.1", "1.2"):
            yield Problem(file="manifest.csv", line=None, field="oneroster.version", severity="warning",
                          message=f"oneroster.version {self.version!r} is not 1.1 or 1.2; reading as {self.layout}")

    @property
    def layout(self) -> str:
        if self.version in ("1.1", "1.2"):
            return self.version
        return "1.2" if self.has("roles") else "1.1"

    def mode(self, table: str) -> str | None:
        """bulk | delta | None (absent or not listed and not present)."""
        v = None
        for k, val in self.manifest.items():
            if k.lower() == f"file.{table.lower()}":
                v = val.lower()
        if v in ("bulk", "delta"):
            return v
        if not self.manifest and self.has(table):
            return "bulk"
        return None

    def rows(self, table: str) -> Iterator[tuple[int, dict] | Problem]:
        """(line, row) for each data row, or Problems for header faults and malformed rows."""
        label = self.label(table)
        fh = self.open(table)
        if fh is None:
            if self.mode(table):
                yield Problem(file=label, line=None, field=None,
                              message=f"manifest lists {table} as {self.mode(table)} but {table}.csv is missing")
            return
        with fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                return
            header = [h.strip() for h in header]
            while header and not header[-1]:
                header.pop()
            yield from _check_header(label, table, header)
            width = len(header)
            delta = self.mode(table) == "delta"
            for row in reader:
                line = reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if len(row) > width and not any(c.strip() for c in row[width:]):
                    row = row[:width]
                if len(row) != width:
                    yield Problem(file=label, line=line, field=None, raw=truncate(",".join(row), 500),
                                  message=f"{len(row)} columns where the header has {width}")
                    continue
                rec = dict(zip(header, (c.strip() for c in row)))
                if "dataLastModified" in rec and "dateLastModified" not in rec:
                    rec["dateLastModified"] = rec["dataLastModified"]
                for bad in ("prefferedGivenName", "prefferedMiddleName", "prefferedFamilyName"):
                    if bad in rec:
                        rec.setdefault("preferred" + bad[len("preffered"):], rec[bad])
                if not rec.get("sourcedId"):
                    yield Problem(file=label, line=line, field="sourcedId", message="sourcedId is empty",
                                  raw=truncate(",".join(row), 500))
                    continue
                if delta and not rec.get("status"):
                    yield Problem(file=label, line=line, field="status", severity="warning",
                                  message="status is required in a delta file; treated as active")
                dlm = rec.get("dateLastModified") or ""
                if dlm and not _iso_datetime(dlm):
                    yield Problem(file=label, line=line, field="dateLastModified", severity="warning",
                                  message=f"dateLastModified {dlm!r} is not ISO 8601 (ignored)")
                yield line, rec


def _check_header(label: str, table: str, header: list[str]) -> Iterator[Problem]:
    for col in header:
        if not col:
            yield Problem(file=label, line=1, field=None, severity="warning", message="empty column name in the header")
    have = set(header)
    if "dataLastModified" in have:
        yield Problem(file=label, line=1, field="dataLastModified", severity="warning",
                      message="header 'dataLastModified' is misspelled (dateLastModified); read as dateLastModified")
    for col in COMMON[:1] + REQUIRED.get(table, ()):
        if col not in have:
            yield Problem(file=label, line=1, field=col, message=f"required column {col} is missing from the header")
    known = set(COMMON) | set(REQUIRED.get(table, ())) | set(KNOWN.get(table, ())) | {"dataLastModified"}
    for col in header:
        if col and col not in known and not col.startswith("metadata."):
            hint = " (misspelling of preferred…; read as such)" if col.startswith("preffered") else ""
            yield Problem(file=label, line=1, field=col, severity="warning",
                          message=f"column {col!r} is not in the OneRoster {table} layout{hint}")


def _iso_datetime(v: str) -> bool:
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def iso_date(rec: dict, field: str, required: bool = False) -> str | None:
    v = rec.get(field) or ""
    if not v:
        if required:
            raise RowError(field, f"{field} is required")
        return None
    if _DATE.match(v):
        try:
            datetime.strptime(v, "%Y-%m-%d")
            return v
        except ValueError:
            pass
    elif len(v) > 10 and _DATE.match(v[:10]) and _iso_datetime(v):
        return v[:10]
    raise RowError(field, f"{field} {v!r} is not a date (YYYY-MM-DD)")


def split_list(v: str | None) -> list[str]:
    return [x.strip() for x in (v or "").split(",") if x.strip()]


def user_ids(v: str | None) -> list[tuple[str, str]]:
    """`{LDAP:12},{Fed:23}` -> [("LDAP", "12"), ("Fed", "23")]."""
    out = []
    for item in split_list(v):
        item = item.strip("{}")
        if ":" in item:
            t, _, val = item.partition(":")
            out.append((t.strip(), val.strip()))
    return out
