"""Small-cell suppression: turn raw counts into the tables analysts may see (and the CSV they download).

Rule (docs/indicators.md "Suppression"), with MIN = 11:

1. Primary. A row whose youth count (or, for retention, placement-change count) is under 11 is
   withheld whole. A numerator (youth or events) is withheld with its rate when it is under 11, or
   when the rest of the denominator (denominator - numerator) is under 11, since that could be
   worked out from the two shown numbers.
2. Complementary, per table and per column (row counts, then numerators): the withheld cells of a
   column must be two or more, and their sum — and for numerators the sum of their complements — must
   be 11 or more; otherwise the smallest shown cell of that column is withheld as well, until it holds
   (a single-row table withholds its total instead). So no withheld cell can be recovered, or narrowed
   to a small number, from the Total row and the other rows.
3. A cell withheld for being under 11 shows "<11"; a cell withheld only to protect another shows "*".
   A rate shows the marker of its numerator. Totals follow the same rules (a county with fewer than
   11 youth in a denominator shows nothing).
"""
from __future__ import annotations

from .compute import AGE_GROUPS, DIMENSIONS, INDICATORS, Acc, Raw

MIN = 11
LT = "<11"
COMP = "*"

NUM_LABEL = {"chronic_absence": "Chronically absent", "school_changes": "School changes",
             "origin_retention": "Stayed at the same school", "on_track": "On track",
             "ece": "Enrolled (PS/TK/KN)", "proficiency_ela": "Met or exceeded standard",
             "proficiency_math": "Met or exceeded standard"}
DEN_LABEL = {"origin_retention": "Placement changes"}
RATE_LABEL = {"share": "Rate (%)", "events_share": "Rate (%)", "per_year": "Changes per youth per year"}


def columns(key: str, kind: str) -> list[list[str]]:
    cols = [("n", "Youth")]
    if kind == "events_share":
        cols.append(("den", DEN_LABEL[key]))
    cols += [("num", NUM_LABEL[key]), ("rate", RATE_LABEL[kind])]
    return [list(c) for c in cols]      # lists: the cached JSON reads back the same


def _rate(kind: str, a: Acc):
    if kind == "per_year":
        return round(a.num / a.years, 2) if a.years > 0 else None
    base = a.den if kind == "events_share" else a.n
    return round(100.0 * a.num / base, 1) if base else None


def suppress_table(kind: str, accs: list[Acc]) -> list[set]:
    """accs: the rows, the Total last. Returns per row the set of withheld columns."""
    T = len(accs) - 1
    sup: list[set] = [set() for _ in accs]
    whole = {"n", "den", "num", "rate"}
    part = {"num", "rate"}
    base = (lambda a: a.den) if kind == "events_share" else (lambda a: a.n)
    for i, a in enumerate(accs):
        if a.n < MIN or (kind == "events_share" and a.den < MIN):
            sup[i] |= whole
        if a.num < MIN or (kind != "per_year" and base(a) - a.num < MIN):
            sup[i] |= part

    def complete(col: str, implied: set, checks, size) -> None:
        while True:
            S = [i for i in range(T) if col in sup[i]]
            if not S or col in sup[T]:
                return
            if len(S) != 1 and all(sum(f(accs[i]) for i in S) >= MIN for f in checks):
                return
            cand = [i for i in range(T) if col not in sup[i]]
            if not cand:
                sup[T] |= implied
                return
            sup[min(cand, key=lambda i: (size(accs[i]), i))] |= implied

    row_checks = [lambda a: a.n] + ([lambda a: a.den] if kind == "events_share" else [])
    complete("n", whole, row_checks, lambda a: a.n)
    num_checks = [lambda a: a.num] + ([lambda a: base(a) - a.num] if kind != "per_year" else [])
    complete("num", part, num_checks, lambda a: a.num)
    return sup


def _cell(col: str, a: Acc, kind: str, withheld: set):
    if col == "rate":
        if "rate" in withheld:
            return LT if a.num < MIN else COMP
        return _rate(kind, a)
    value = getattr(a, col)
    if col in withheld:
        return LT if value < MIN else COMP
    return value


def labels_of(raw: Raw, dim: str) -> list[str]:
    if dim == "age":
        return [g[0] for g in AGE_GROUPS] + sorted(raw.labels.get("age", set()) - {g[0] for g in AGE_GROUPS})
    return sorted(raw.labels.get(dim, set()), key=lambda s: (s.startswith(("No ", "District not")), s.lower()))


def publish(raw: Raw) -> dict:
    """Every indicator x breakdown table, suppressed; the only form in which counts leave the server."""
    out = {"as_of": raw.as_of.isoformat(), "min_cell": MIN, "indicators": []}
    total_youth = raw.youth
    out["youth"] = total_youth if total_youth >= MIN else LT
    for key, title, kind, counted in INDICATORS:
        ind = {"key": key, "title": title, "kind": kind, "counted": counted,
               "columns": columns(key, kind), "tables": []}
        total = raw.cells.get((key, "total", "Total")) or Acc()
        for dim, dim_title in DIMENSIONS:
            labels = labels_of(raw, dim)
            accs = [raw.cells.get((key, dim, lb)) or Acc() for lb in labels] + [total]
            sup = suppress_table(kind, accs)
            rows = [{"label": lb, "cells": {c: _cell(c, a, kind, w) for c, _ in ind["columns"]}}
                    for lb, a, w in zip(labels + ["Total"], accs, sup)]
            ind["tables"].append({"dimension": dim, "title": dim_title, "rows": rows[:-1], "total": rows[-1]})
        out["indicators"].append(ind)
    return out
