"""`hep convert ccda FILE` prints the NDJSON contract."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from tests.conftest import shared_path

HEP = Path(sys.executable).with_name("hep")


def test_hep_convert_ccda_prints_ndjson():
    f = shared_path("ccda", "04_hl7_History_and_Physical_History_and_Physical.xml")
    proc = subprocess.run([str(HEP), "convert", "ccda", str(f)], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    lines = [orjson.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    assert len(lines) > 20
    for rec in lines:
        assert set(rec) == {"standard", "type", "category", "resource", "source"}
        assert rec["standard"] == "fhir" and rec["resource"]["resourceType"] == rec["type"]
        assert rec["source"]["file"] == f.name and rec["source"]["path"].startswith("/ClinicalDocument")
    types = {r["type"] for r in lines}
    assert {"Patient", "Immunization", "AllergyIntolerance", "Condition", "DocumentReference"} <= types
    imm = next(r for r in lines if r["type"] == "Immunization")
    assert imm["category"] == "immunizations"


def test_hep_convert_ccda_refuses_hostile_input_with_exit_2(tmp_path):
    p = tmp_path / "xxe.xml"
    p.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>')
    proc = subprocess.run([str(HEP), "convert", "ccda", str(p)], capture_output=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == b""
    assert b"entity" in proc.stderr.lower()
