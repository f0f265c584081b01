"""CALPADS column layouts (mappings/calpads/layouts/<year>.json) and line-level parsing.

Layouts are data: a new CFS year is a new JSON file, not a code change. A line is matched to a
layout by its record type, whether it is an ODS extract (`SENR-R`: two trailing date columns),
its column count, and its AcademicYearID (or the `layout=` option).
"""
from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path

LAYOUT_DIR = Path(__file__).resolve().parent.parent / "mappings" / "calpads" / "layouts"


class RowError(ValueError):
    def __init__(self, field: str | None, message: str, severity: str = "error"):
        super().__init__(message)
        self.field = field
        self.severity = severity


class Layout:
    __slots__ = ("name", "applies_from", "fields", "index", "extract_suffix", "trailing", "date_formats")

    def __init__(self, name: str, data: dict):
        self.name = name
        self.applies_from = int(data["applies_from_academic_year"][:4]) + 1   # ending year
        self.extract_suffix = data["extract"]["record_type_suffix"]
        self.trailing = tuple(data["extract"]["trailing_fields"])
        self.date_formats = tuple(data["date_formats"])
        self.fields = {rt: tuple(v["fields"]) for rt, v in data["record_types"].items()}
        self.index = {rt: {f: i for i, f in enumerate(fs)} for rt, fs in self.fields.items()}

    def count(self, rt: str, extract: bool) -> int | None:
        fs = self.fields.get(rt)
        if fs is None:
            return None
        return len(fs) + (len(self.trailing) if extract else 0)


@lru_cache(maxsize=None)
def layouts(directory: str | None = None) -> tuple[Layout, ...]:
    """All layouts, oldest first."""
    d = Path(directory) if directory else LAYOUT_DIR
    out = [Layout(p.stem, json.loads(p.read_text())) for p in sorted(d.glob("*.json"))]
    if not out:
        raise FileNotFoundError(f"no CALPADS layouts in {d}")
    return tuple(sorted(out, key=lambda l: l.applies_from))


def record_types() -> frozenset[str]:
    return frozenset(rt for l in layouts() for rt in l.fields)


def _year_of(text: str) -> int | None:
    t = text.strip()
    if len(t) == 9 and t.isascii() and t[4] == "-" and t[:4].isdigit() and t[5:].isdigit():
        return int(t[5:])
    return None


@lru_cache(maxsize=1024)
def _fitting(rt: str, extract: bool, n: int) -> tuple[Layout, ...]:
    """Layouts whose column count for this record type is n (asked once per line: cached)."""
    return tuple(l for l in layouts() if l.count(rt, extract) == n)


def select(rt: str, extract: bool, values: list[str], forced: str | None = None) -> Layout:
    """The layout for one line, or RowError naming the column-count mismatch."""
    n = len(values)
    all_ = layouts()
    if forced:
        chosen = [l for l in all_ if l.name == forced]
        if not chosen:
            raise RowError(None, f"unknown CALPADS layout {forced!r} (have {', '.join(l.name for l in all_)})")
        lay = chosen[0]
        want = lay.count(rt, extract)
        if want != n:
            raise RowError(None, f"{rt}{'-R' if extract else ''} line has {n} columns; layout {lay.name} expects {want}")
        return lay
    fits = _fitting(rt, extract, n)
    if not fits:
        wants = sorted({l.count(rt, extract) for l in all_ if l.count(rt, extract)})
        kind = "extract" if extract else "upload"
        raise RowError(None, f"{rt}{'-R' if extract else ''} line has {n} columns; {kind} layouts expect "
                             f"{' or '.join(map(str, wants))}")
    if len(fits) == 1:
        return fits[0]
    year = None
    idx = fits[-1].index[rt].get("AcademicYearID")
    if idx is not None and idx < n:
        year = _year_of(values[idx])
    if year is None:
        return fits[-1]
    ok = [l for l in fits if l.applies_from <= year]
    return ok[-1] if ok else fits[0]


@lru_cache(maxsize=65536)
def _iso_date(v: str) -> str | None:
    try:
        if len(v) == 8 and v.isdigit():
            return date(int(v[:4]), int(v[4:6]), int(v[6:])).isoformat()
        if len(v) == 10 and v[4] == "-" and v[7] == "-":
            return date(int(v[:4]), int(v[5:7]), int(v[8:])).isoformat()
        if "/" in v:
            m, d, y = v.split("/")
            if len(y) == 4:
                return date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        pass
    return None


def parse_date(value: str, field: str, required: bool = False) -> str | None:
    """CCYYMMDD (CFS), YYYY-MM-DD or MM/DD/YYYY -> ISO date text (a feed repeats its dates: cached)."""
    v = value.strip()
    if not v:
        if required:
            raise RowError(field, f"{field} is required")
        return None
    iso = _iso_date(v)
    if iso is not None:
        return iso
    raise RowError(field, f"{field} {v!r} is not a date (CCYYMMDD, YYYY-MM-DD or MM/DD/YYYY)")


def parse_number(value: str, field: str) -> float | int | None:
    v = value.strip()
    if not v:
        return None
    try:
        f = float(v)
    except ValueError:
        raise RowError(field, f"{field} {v!r} is not a number") from None
    if f != f or f in (float("inf"), float("-inf")) or f < 0:
        raise RowError(field, f"{field} {v!r} is not a non-negative number")
    return int(f) if f.is_integer() and "." not in v else f


def parse_yn(value: str, field: str) -> bool | None:
    v = value.strip().upper()
    if not v:
        return None
    if v in ("Y", "YES", "1", "TRUE"):
        return True
    if v in ("N", "NO", "0", "FALSE"):
        return False
    raise RowError(field, f"{field} {v!r} must be Y or N")
