"""Child-welfare case extract (docs/formats/cws-extract.md) -> case records.

The extract says who is in care (it defines the youth in scope), their placements, who is
assigned to them, court orders and consents on file. Input: the zip or a folder of its CSVs.
Tables are read in dependency order (clients first) and streamed row by row; aliases (a small
table) are read first so each youth record carries its aliases for identity matching.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import IO, Iterator

from .base import refusing_damaged, InputRefused, Item, Problem, Record, Subject, natural_key, truncate
from .cws_layout import (CONSENT_FORMS, CONSENT_GRANTORS, CONSENT_RECIPIENTS, CONSENT_STATUSES,
                         JURISDICTION_CODES, ORDER_STATUSES, ORDER_TYPES, PLACEMENT_TYPES, REQUIRED,
                         ROLE_CODES, TABLES)

ORDER = ["clients", "placements", "assignments", "court_orders", "consents"]
MAX_MEMBER_BYTES = 2 * 1024 ** 3  # a zip member claiming more is refused (zip bomb)
CATEGORIES = (
    "demographics_identity", "enrollment_school_placement", "attendance", "grades_transcripts_credits",
    "assessments", "discipline", "special_education_iep_504", "erh_identity", "immunizations", "allergies",
    "current_medications", "conditions_problems_hospitalizations", "mental_health",
    "substance_use_disorder_part2", "reproductive_sexual_health_minor_consented", "hiv",
    "placement_case_information", "court_orders")
ORDER_SCOPES = set(CATEGORIES) | {"education_records", "education_decisions", "health_records", "case_file"}
_DIGITS10 = re.compile(r"^\d{10}$")
_DIGITS19 = re.compile(r"^\d{19}$")


class RowError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class _Source:
    """A zip or a folder holding the extract's tables."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = None
        if path.is_dir():
            return
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise InputRefused(f"{path.name}: not a zip file or folder of CSV tables") from None
        for info in self.zip.infolist():
            if info.file_size > MAX_MEMBER_BYTES:
                raise InputRefused(f"{path.name}: member {info.filename} claims {info.file_size:,} bytes (limit {MAX_MEMBER_BYTES:,})")

    def label(self, table: str) -> str:
        return f"{self.path.name}:{table}.csv"

    def open(self, table: str) -> IO[str] | None:
        name = f"{table}.csv"
        if self.zip is not None:
            try:
                raw = self.zip.open(name)
            except KeyError:
                return None
        else:
            p = self.path / name
            if not p.exists():
                return None
            raw = open(p, "rb")
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def _date(row: dict, field: str, required: bool = False) -> str | None:
    v = (row.get(field) or "").strip()
    if not v:
        if required:
            raise RowError(field, f"{field} is required")
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(v, fmt).date().isoformat()
        except ValueError:
            continue
    raise RowError(field, f"{field} {v!r} is not a date (YYYY-MM-DD)")


def _yn(row: dict, field: str) -> bool | None:
    v = (row.get(field) or "").strip().upper()
    if not v:
        return None
    if v in ("Y", "YES", "TRUE", "1"):
        return True
    if v in ("N", "NO", "FALSE", "0"):
        return False
    raise RowError(field, f"{field} {v!r} must be Y or N")


def _list(row: dict, field: str, allowed, required: bool = True) -> list[str]:
    items = [x.strip() for x in (row.get(field) or "").split(";") if x.strip()]
    if required and not items:
        raise RowError(field, f"{field} is required")
    bad = [x for x in items if x not in allowed]
    if bad:
        raise RowError(field, f"{field} has unknown value(s) {', '.join(bad)}")
    return items


def _client_id(row: dict) -> str:
    v = (row.get("client_id") or "").strip()
    if not _DIGITS10.match(v):
        raise RowError("client_id", f"client_id {v!r} must be 10 digits")
    return v


def _ref(client_id: str) -> Subject:
    return Subject(identifiers=(("cws-client", client_id),))


def _client(row: dict, aliases: dict) -> tuple[dict, Subject]:
    cid = _client_id(row)
    case_id = row["case_id"].strip()
    if not _DIGITS19.match(case_id):
        raise RowError("case_id", f"case_id {case_id!r} must be 19 digits")
    sex = row["sex"].strip().upper()
    if sex not in ("F", "M", "X", "U"):
        raise RowError("sex", f"sex {sex!r} must be F, M, X or U")
    jur = row["jurisdiction"].strip()
    if jur not in JURISDICTION_CODES:
        raise RowError("jurisdiction", f"jurisdiction {jur!r} must be one of {', '.join(JURISDICTION_CODES)}")
    ssid = (row.get("ssid") or "").strip()
    if ssid and not _DIGITS10.match(ssid):
        raise RowError("ssid", f"ssid {ssid!r} must be 10 digits")
    birth = _date(row, "birth_date", required=True)
    if birth > date.today().isoformat():
        raise RowError("birth_date", f"birth_date {birth} is in the future")
    hisp = _yn(row, "hispanic")
    resource = {
        "client_id": cid, "case_id": case_id,
        "name": {"given": row["first_name"].strip(), "middle": (row.get("middle_name") or "").strip() or None,
                 "family": row["last_name"].strip(), "suffix": (row.get("name_suffix") or "").strip() or None},
        "aliases": aliases.get(cid, []),
        "birth_date": birth, "sex": sex, "ssid": ssid or None,
        "primary_language": (row.get("primary_language") or "").strip() or None,
        "race": (row.get("race") or "").strip() or None, "hispanic": hisp,
        "jurisdiction": JURISDICTION_CODES[jur], "office": (row.get("office") or "").strip() or None,
        "removal_date": _date(row, "removal_date"),
        "episode_status": (row.get("episode_status") or "open").strip().lower() or "open",
        "in_foster_care": (row.get("episode_status") or "open").strip().lower() != "closed",
    }
    ids = [("cws-client", cid), ("cws-case", case_id)] + ([("ssid", ssid)] if ssid else [])
    subject = Subject(identifiers=tuple(ids), given=resource["name"]["given"], family=resource["name"]["family"],
                      middle=resource["name"]["middle"], birth_date=birth, sex=sex if sex in "FMX" else None,
                      aliases=tuple((a["given"], a["family"]) for a in resource["aliases"]))
    return resource, subject


def _placement(row: dict) -> dict:
    ptype = row["placement_type"].strip()
    if ptype not in PLACEMENT_TYPES:
        raise RowError("placement_type", f"placement_type {ptype!r} is not a known type ({', '.join(PLACEMENT_TYPES)})")
    start, end = _date(row, "start_date", True), _date(row, "end_date")
    if end and end < start:
        raise RowError("end_date", f"end_date {end} is before start_date {start}")
    return {"placement_id": row["placement_id"].strip(), "client_id": _client_id(row), "start": start, "end": end,
            "placement_type": ptype, "placement_type_display": PLACEMENT_TYPES[ptype],
            "caregiver": {"id": (row.get("caregiver_id") or "").strip() or None,
                          "name": (row.get("caregiver_name") or "").strip() or None,
                          "phone": (row.get("phone") or "").strip() or None},
            "address": {"line": (row.get("address_line") or "").strip() or None, "city": (row.get("city") or "").strip() or None,
                        "state": (row.get("state") or "").strip() or None, "zip": (row.get("zip") or "").strip() or None}}


def _assignment(row: dict) -> dict:
    code = row["role"].strip().upper()
    if code not in ROLE_CODES:
        raise RowError("role", f"role {code!r} must be one of {', '.join(ROLE_CODES)}")
    start, end = _date(row, "start_date", True), _date(row, "end_date")
    if end and end < start:
        raise RowError("end_date", f"end_date {end} is before start_date {start}")
    jv535 = _date(row, "jv535_signed_date")
    return {"assignment_id": row["assignment_id"].strip(), "client_id": _client_id(row), "role": ROLE_CODES[code],
            "person_id": row["person_id"].strip(), "name": row["name"].strip(),
            "organization": (row.get("organization") or "").strip() or None,
            "phone": (row.get("phone") or "").strip() or None, "email": (row.get("email") or "").strip() or None,
            "start": start, "end": end, "jv535_signed": jv535,
            "erh_relationship": (row.get("erh_relationship") or "").strip() or None}


def _court_order(row: dict) -> dict:
    otype, status = row["order_type"].strip(), row["status"].strip().lower()
    if otype not in ORDER_TYPES:
        raise RowError("order_type", f"order_type {otype!r} must be one of {', '.join(ORDER_TYPES)}")
    if status not in ORDER_STATUSES:
        raise RowError("status", f"status {status!r} must be one of {', '.join(ORDER_STATUSES)}")
    return {"order_id": row["order_id"].strip(), "client_id": _client_id(row), "type": otype, "status": status,
            "issued": _date(row, "issued_date", True), "expires": _date(row, "expires_date"),
            "scope": _list(row, "scope", ORDER_SCOPES, required=False),
            "recipients": _list(row, "recipients", CONSENT_RECIPIENTS + ("education_rights_holder",), required=False),
            "limits_parent_ed_rights": bool(_yn(row, "limits_parent_ed_rights")),
            "vacates_order_id": (row.get("vacates_order_id") or "").strip() or None,
            "form": (row.get("form") or "").strip() or None}


def _consent(row: dict) -> dict:
    grantor, status, form = row["grantor"].strip(), row["status"].strip().lower(), row["form"].strip()
    if grantor not in CONSENT_GRANTORS:
        raise RowError("grantor", f"grantor {grantor!r} must be one of {', '.join(CONSENT_GRANTORS)}")
    if status not in CONSENT_STATUSES:
        raise RowError("status", f"status {status!r} must be one of {', '.join(CONSENT_STATUSES)}")
    if form not in CONSENT_FORMS:
        raise RowError("form", f"form {form!r} must be one of {', '.join(CONSENT_FORMS)}")
    signed, expires, revoked = _date(row, "signed_date", True), _date(row, "expires_date"), _date(row, "revoked_date")
    if status == "revoked" and not revoked:
        raise RowError("revoked_date", "a revoked consent needs revoked_date")
    if expires and expires < signed:
        raise RowError("expires_date", f"expires_date {expires} is before signed_date {signed}")
    return {"consent_id": row["consent_id"].strip(), "client_id": _client_id(row), "grantor": grantor,
            "scope": _list(row, "scope", CATEGORIES), "recipients": _list(row, "recipients", CONSENT_RECIPIENTS),
            "status": status, "form": form, "signed": signed, "expires": expires,
            "expiration_event": (row.get("expiration_event") or "").strip() or None, "revoked_on": revoked,
            "part2_compliant": _yn(row, "part2_compliant"), "single_disclosure": bool(_yn(row, "single_disclosure")),
            "purpose": (row.get("purpose") or "").strip() or None}


_MAPPERS = {
    "placements": ("placement", "placement_case_information", "placement_id", _placement),
    "assignments": ("assignment", "placement_case_information", "assignment_id", _assignment),
    "court_orders": ("courtOrder", "court_orders", "order_id", _court_order),
    "consents": ("consent", "placement_case_information", "consent_id", _consent),
}


def _rows(src: _Source, table: str) -> Iterator[tuple[int, dict | None, str | Problem]]:
    """(line, row dict or None, raw line | Problem) for each data row; header checked first."""
    fh = src.open(table)
    label = src.label(table)
    if fh is None:
        if table == "clients":
            yield 0, None, Problem(label, None, None, "the extract has no clients.csv table", fatal=True)
        return
    with fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            return
        expected = TABLES[table]
        missing = [c for c in REQUIRED.get(table, []) if c not in header]
        if missing:
            yield 1, None, Problem(label, 1, missing[0], f"header lacks required column(s): {', '.join(missing)}",
                                   raw=",".join(header), fatal=True)
            return
        unknown = [c for c in header if c not in expected]
        if unknown:
            yield 1, None, Problem(label, 1, unknown[0], f"unknown column(s) ignored: {', '.join(unknown)}",
                                   severity="warning")
        line = reader.line_num
        for values in reader:
            start, line = line + 1, reader.line_num
            raw = ",".join(values)
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield start, None, Problem(label, start, None,
                                           f"{len(values)} columns where the header has {len(header)}", raw=truncate(raw))
                continue
            row = dict(zip(header, values))
            missing = [c for c in REQUIRED.get(table, []) if not row.get(c, "").strip()]
            if missing:
                yield start, None, Problem(label, start, missing[0], f"{missing[0]} is required", raw=truncate(raw))
                continue
            yield start, row, raw


def convert(path, **options) -> Iterator[Item]:
    with refusing_damaged(Path(path).name):
        src = _Source(Path(path))
        aliases: dict[str, list[dict]] = {}
        for line, row, raw in _rows(src, "aliases"):
            if row is None:
                yield raw
                continue
            try:
                aliases.setdefault(_client_id(row), []).append(
                    {"given": row.get("alias_first_name", "").strip(), "middle": row.get("alias_middle_name", "").strip() or None,
                     "family": row["alias_last_name"].strip(), "type": row.get("alias_type", "").strip() or "AKA"})
            except RowError as e:
                yield Problem(src.label("aliases"), line, e.field, str(e), raw=truncate(raw))
        for table in ORDER:
            label = src.label(table)
            for line, row, raw in _rows(src, table):
                if row is None:
                    yield raw
                    continue
                try:
                    if table == "clients":
                        resource, subject = _client(row, aliases)
                        yield Record("case", "youth", "demographics_identity", resource, {"file": label, "line": line},
                                     key=resource["client_id"], subject=subject)
                        continue
                    rtype, category, key_field, mapper = _MAPPERS[table]
                    resource = mapper(row)
                    if rtype == "assignment" and resource["role"] == "education_rights_holder":
                        category = "erh_identity"
                    yield Record("case", rtype, category, resource, {"file": label, "line": line},
                                 key=natural_key(resource[key_field]), subject=_ref(resource["client_id"]))
                except RowError as e:
                    yield Problem(label, line, e.field, str(e), raw=truncate(raw))
