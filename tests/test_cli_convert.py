"""`hep convert` contract: NDJSON records on stdout, problems as NDJSON with file/line/field,
exit 0 when the input was read (even with rejected records), 2 when it could not be read."""
from __future__ import annotations

import glob
import subprocess
import sys

import orjson

from tests.helpers import rewrite_zip, synth_county


def hep(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, timeout=120, cwd=cwd)


def test_convert_cws_prints_contract_records_and_problems(tmp_path):
    synth_county(tmp_path, youth=15, districts=2, seed=4, formats=["cws"])
    extract = glob.glob(str(tmp_path / "cws" / "*.zip"))[0]

    def bad_birth_date(table, rows):
        if table == "clients":
            rows[1][6] = "31/31/2010"
        return rows

    bad = rewrite_zip(extract, tmp_path / "bad.zip", bad_birth_date)
    problems_file = tmp_path / "problems.ndjson"
    r = hep("convert", "cws", str(bad), "--problems", str(problems_file))
    assert r.returncode == 0, r.stderr
    records = [orjson.loads(l) for l in r.stdout.splitlines()]
    assert records and all(set(x) == {"standard", "type", "category", "resource", "source"} for x in records)
    assert {x["type"] for x in records} >= {"youth", "placement", "assignment"}
    assert sum(x["type"] == "youth" for x in records) == 14
    problems = [orjson.loads(l) for l in problems_file.read_bytes().splitlines()]
    assert problems == [{"file": "bad.zip:clients.csv", "line": 2, "field": "birth_date", "severity": "error",
                         "message": "birth_date '31/31/2010' is not a date (YYYY-MM-DD)"}]


def test_convert_exits_2_when_the_input_cannot_be_read(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    r = hep("convert", "cws", str(junk))
    assert r.returncode == 2
    problem = orjson.loads(r.stderr.splitlines()[-1])
    assert problem["file"].endswith("junk.zip") and "not a zip" in problem["message"]
    hostile = tmp_path / "bomb.xml"
    hostile.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
                       '<ClinicalDocument xmlns="urn:hl7-org:v3">&b;</ClinicalDocument>')
    r = hep("convert", "ccda", str(hostile))
    assert r.returncode == 2 and b"entit" in r.stderr.lower()


def test_unknown_format_is_a_clear_cli_error(tmp_path):
    r = hep("convert", "nonsense", str(tmp_path))
    assert r.returncode == 2 and b"unknown format 'nonsense'" in r.stderr
