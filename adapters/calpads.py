"""CALPADS flat files (upload layout or ODS `-R` extracts) -> Ed-Fi DS 5.x JSON records.

Input: one file or a folder of files; caret- or comma-separated, no header row, any mix of the
record types SENR, SINF, STAS, SPRG, SPED, SSRV, CRSC/CRSE, SCSC/SCSE, SDIS (SELA and other
known types are counted and reported, not converted). Column layouts are data
(mappings/calpads/layouts/*.json, chosen per line: see calpads_layout.select). Streams line by
line; the only state kept is bounded reference data (schools/LEAs seen, the course catalog and
special-education services read from CRSC/SSRV files beside the input).

options: layout="2024-25" forces a layout; siblings=False disables reading CRSC/SSRV companions.
docs/formats/calpads.md documents the mapping.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from .base import InputRefused, Item, Problem, Record, natural_key, truncate
from .calpads_layout import RowError, layouts, record_types, select
from . import calpads_records as R
from .edfi_common import category_of, key_parts, lea_resource, school_resource
from .edfi_schema import validate

CATALOG_TYPES = ("CRSC", "CRSE")
CONVERTED = {"SENR", "SINF", "STAS", "SPRG", "SPED", "SSRV", "SCSC", "SCSE", "SDIS"} | set(CATALOG_TYPES)
FIRST = {"CRSC": 0, "CRSE": 0, "SSRV": 1}
MAX_LINE = 64 * 1024


class _Ctx:
    def __init__(self, options: dict):
        self.layout = options.get("layout")
        self.siblings = options.get("siblings", True)
        self.schools: dict[str, tuple] = {}
        self.leas: dict[str, int] = {}
        self.last_sar: tuple | None = None
        self.catalog: dict = {}
        self.services: dict = {}
        self.companions_loaded = False
        self.last_student: tuple | None = None


def _split(line: str, delim: str) -> list[str]:
    if delim == "^":
        return line.split("^")
    if '"' not in line:
        return line.split(",")
    return next(csv.reader([line]))


def _lines(path: Path, label: str) -> Iterator[tuple[int, str | None, Problem | None]]:
    """(line number, text, problem) for each non-blank line; bytes that are not UTF-8 are read as
    Windows-1252 with a warning (SIS exports often are)."""
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise InputRefused(f"{path.name}: cannot read ({e.strerror})") from None
    with fh:
        for n, raw in enumerate(fh, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE:
                yield n, None, Problem(label, n, None, f"line longer than {MAX_LINE} bytes", raw=truncate(raw[:200].decode("latin-1")))
                continue
            if b"\x00" in raw:
                yield n, None, Problem(label, n, None, "line contains NUL bytes (binary data, not a CALPADS text file)",
                                       raw=truncate(raw[:200].decode("latin-1")))
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", errors="replace")
                yield n, None, Problem(label, n, None, "line is not valid UTF-8; read as Windows-1252", severity="warning",
                                       raw=truncate(text, 200))
            yield n, text, None


def _record(collection: str, resource: dict, label: str, line: int, subject, action: str = "upsert",
            labels: dict | None = None) -> Item:
    errs = validate(collection, resource)
    if errs:
        field, msg = errs[0]
        more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
        return Problem(label, line, f"{collection}.{field}", f"invalid Ed-Fi {collection}: {msg}{more}")
    return Record("edfi", collection, category_of(collection, resource), resource, {"file": label, "line": line},
                  key=natural_key(*key_parts(collection, resource)), subject=subject, labels=labels or {}, action=action)


NO_GRADE = "uri://ed-fi.org/GradeLevelDescriptor#No grade level"


def _note_reference(ctx: _Ctx, line: int, lea: str, school: str, grade: str | None) -> None:
    if lea and lea not in ctx.leas:
        ctx.leas[lea] = line
    if school:
        entry = ctx.schools.get(school)
        if entry is None:
            entry = ctx.schools[school] = (line, lea, set())
        if grade:
            entry[2].add(grade)


def _references(ctx: _Ctx, label: str) -> Iterator[Item]:
    """Schools and LEAs the file referenced, once each, with every grade level seen (bounded state)."""
    for lea, line in ctx.leas.items():
        yield _record("localEducationAgencies", lea_resource(lea, cds_code=lea), label, line, None,
                      labels={"reference_data": True})
    for school, (line, lea, grades) in ctx.schools.items():
        yield _record("schools", school_resource(school, lea_id=lea or None, cds_code=school,
                                                 grade_levels=sorted(grades) or [NO_GRADE]), label, line, None,
                      labels={"reference_data": True})
    ctx.leas.clear()
    ctx.schools.clear()


def _load_companions(ctx: _Ctx, current: Path) -> None:
    """Read CRSC/CRSE (course catalog) and SSRV (services) files beside `current`, quietly."""
    ctx.companions_loaded = True
    if not ctx.siblings or not current.parent.is_dir():
        return
    for p in sorted(current.parent.iterdir()):
        if p == current or not p.is_file():
            continue
        name = p.name.upper()
        if any(t in name for t in ("CRSC", "CRSE", "SSRV")):
            for item in _convert_file(p, ctx, quiet=True):
                pass


def _rows(path: Path, label: str, ctx: _Ctx) -> Iterator[tuple[int, str, bool, R.Row | None, Problem | None, str]]:
    delim = None
    known = record_types()
    for n, text, problem in _lines(path, label):
        if problem is not None:
            yield n, "", False, None, problem, ""
            if text is None:
                continue
        if text is None:
            continue
        if delim is None:
            delim = "^" if "^" in text else ","
        vals = _split(text, delim)
        rt_raw = vals[0].strip().upper()
        extract = rt_raw.endswith("-R")
        rt = rt_raw[:-2] if extract else rt_raw
        if rt not in known:
            if rt_raw.replace(" ", "") in ("RECORDTYPECODE", "RECORDTYPE") or (n == 1 and not rt.isalpha()):
                msg = "header row: CALPADS files have no header; line skipped"
            else:
                msg = f"unknown record type {vals[0].strip()[:20]!r}"
            yield n, rt, extract, None, Problem(label, n, "RecordTypeCode", msg, raw=truncate(text, 500)), text
            continue
        try:
            lay = select(rt, extract, vals, ctx.layout)
        except RowError as e:
            yield n, rt, extract, None, Problem(label, n, e.field, str(e), raw=truncate(text, 500)), text
            continue
        yield n, rt, extract, R.Row(vals, lay.index[rt]), None, text


def _convert_file(path: Path, ctx: _Ctx, quiet: bool = False) -> Iterator[Item]:
    label = path.name
    skipped: dict[str, list] = {}
    for n, rt, extract, row, problem, text in _rows(path, label, ctx):
        if problem is not None:
            if not quiet:
                yield problem
            continue
        if rt not in CONVERTED:
            s = skipped.setdefault(rt, [0, n])
            s[0] += 1
            continue
        warn: list = []
        try:
            if rt in CATALOG_TYPES:
                k, v = R.catalog_entry(row)
                ctx.catalog[k] = v
                ctx.catalog.setdefault((k[0], k[1], None), v)
                continue
            if rt == "SSRV":
                ssid = R._digits(row, "SSID", 10)
                ctx.services.setdefault((ssid, row("StudentSpecialEducationMeetingOrAmendmentIdentifier")), []).append(R.service(row))
                continue
            if quiet:
                continue
            ssid, lea, school = R.ids(row, warn)
            subject = R.subject(row, ssid, lea)
            delete = row("TransactionTypeCode").upper() == "D"
            action = "delete" if delete else "upsert"
            out: list[tuple[str, dict, str]] = []
            grade = None
            if rt == "SENR":
                if not delete:
                    stu = R.student(row, ssid, warn)
                    sig = (ssid, stu["firstName"], stu["lastSurname"], stu["birthDate"], stu.get("middleName"))
                    if sig != ctx.last_student:
                        ctx.last_student = sig
                        out.append(("students", stu, "upsert"))
                ssa = R.enrollment(row, ssid, school, warn)
                grade = ssa["entryGradeLevelDescriptor"]
                out.append(("studentSchoolAssociations", ssa, action))
            elif rt == "SINF":
                if not delete:
                    stu = R.student(row, ssid, warn)
                    sig = (ssid, stu["firstName"], stu["lastSurname"], stu["birthDate"], stu.get("middleName"))
                    if sig != ctx.last_student:
                        ctx.last_student = sig
                        out.append(("students", stu, "upsert"))
                out.append(("studentEducationOrganizationAssociations", R.seoa(row, ssid, lea, warn), action))
            elif rt == "STAS":
                out.append(("studentSchoolAttendanceSummaries", R.stas(row, ssid, school), action))
            elif rt == "SPRG":
                out.append(("studentProgramAssociations", R.program(row, ssid, lea, warn), action))
            elif rt == "SPED":
                if not ctx.companions_loaded:
                    _load_companions(ctx, path)
                services = ctx.services.get((ssid, row("StudentSpecialEducationMeetingOrAmendmentIdentifier")))
                out.append(("studentSpecialEducationProgramAssociations",
                            R.special_education(row, ssid, lea, warn, services), action))
            elif rt in ("SCSC", "SCSE"):
                if not ctx.companions_loaded:
                    _load_companions(ctx, path)
                sar, ct = R.transcript(row, ssid, school, ctx.catalog, warn)
                sar_key = (ssid, school, sar["schoolYearTypeReference"]["schoolYear"], sar["termDescriptor"])
                if not delete and sar_key != ctx.last_sar:
                    ctx.last_sar = sar_key
                    out.append(("studentAcademicRecords", sar, "upsert"))
                out.append(("courseTranscripts", ct, action))
            elif rt == "SDIS":
                for coll, res in R.discipline(row, ssid, school, warn):
                    out.append((coll, res, "upsert" if coll == "disciplineIncidents" and delete else action))
        except RowError as e:
            yield Problem(label, n, e.field, str(e), severity=e.severity, raw=truncate(text, 500))
            continue
        except (IndexError, KeyError, ValueError) as e:
            yield Problem(label, n, None, f"cannot convert {rt} line: {e}", raw=truncate(text, 500))
            continue
        for field, msg in warn:
            yield Problem(label, n, field, msg, severity="warning", raw=truncate(text, 500))
        _note_reference(ctx, n, lea, school, grade)
        for coll, res, act in out:
            yield _record(coll, res, label, n, subject, act)
    if quiet:
        return
    yield from _references(ctx, label)
    for rt, (count, first) in skipped.items():
        yield Problem(label, first, "RecordTypeCode",
                      f"{count} {rt} line(s) not converted (record type outside the passport's scope)", severity="warning")


def _order(p: Path) -> tuple:
    name = p.name.upper()
    for t, rank in FIRST.items():
        if t in name:
            return (rank, name)
    return (2, name)


def convert(path, **options) -> Iterator[Item]:
    """Stream Records and Problems from a CALPADS file or a folder of CALPADS files."""
    p = Path(path)
    if not p.exists():
        raise InputRefused(f"{p}: no such file or folder")
    layouts()  # fail early if the layout data is missing
    ctx = _Ctx(options)
    if p.is_dir():
        files = sorted((f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")), key=_order)
        ctx.companions_loaded = True   # catalog and services files come first in _order
        for f in files:
            yield from _convert_file(f, ctx)
        return
    yield from _convert_file(p, ctx)
