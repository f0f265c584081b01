"""Synthetic HIE feeds: well-formed CCDs with the expected entries per youth, Part 2 sidecar, VXU batches."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from adapters import hl7v2
from adapters.base import Problem, Record
from gateway.synth.county import County
from gateway.synth.feeds import health

NS = {"h": "urn:hl7-org:v3"}
SECTIONS = {"11369-6": "immunizations", "48765-2": "allergies", "10160-0": "medications",
            "11450-4": "problems", "46240-8": "encounters", "8716-3": "vitals"}


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    county = County(youth=120, districts=2, seed=11, as_of=date(2025, 9, 1), truth_path=out / "truth.jsonl")
    w = health.Writer(county, out)
    youth = []
    for y in county.iter_youth():
        w.add(y)
        if w.wanted(y):
            youth.append(y)
    files = w.close()
    county.truth.close()
    return out, youth, files


def counts(path: Path) -> dict[str, int]:
    root = etree.parse(str(path)).getroot()
    out = {}
    for sec in root.iterfind(".//h:section", NS):
        code = sec.find("h:code", NS).get("code")
        if code in SECTIONS:
            out[SECTIONS[code]] = len(sec.findall("h:entry", NS))
    return out


def test_every_ccd_is_well_formed_with_expected_counts(feed):
    out, youth, files = feed
    assert any(not y.in_care for y in youth)  # the HIE also sends people not in care
    for y in youth:
        c = counts(out / "hie" / "ccd" / f"{y.mrn}.xml")
        normal = [x for x in y.conditions if not x.part2_program]
        assert c == {"immunizations": len(y.immunizations), "allergies": max(1, len(y.allergies)),
                     "medications": len(y.medications), "problems": len(normal),
                     "encounters": len(y.encounters), "vitals": 1 if y.encounters else 0}, y.mrn
        root = etree.parse(str(out / "hie" / "ccd" / f"{y.mrn}.xml")).getroot()
        perf = root.findall(".//h:documentationOf/h:serviceEvent/h:performer", NS)
        assert len(perf) == len(y.providers)
        assert root.find("h:recordTarget/h:patientRole/h:id", NS).get("extension") == y.mrn
        if not y.allergies:
            obs = root.find(".//h:observation[@negationInd='true']", NS)
            assert obs is not None


def test_sensitive_entries_carry_ds4p_labels(feed):
    out, youth, _ = feed
    seen = 0
    expected = sum(1 for y in youth for c in y.conditions if c.minor_consented and not c.part2_program
                   and c.sensitivity != "hiv")
    for y in youth:
        root = etree.parse(str(out / "hie" / "ccd" / f"{y.mrn}.xml")).getroot()
        probs = root.xpath(".//h:section[h:code/@code='11450-4']/h:entry", namespaces=NS)
        normal = [x for x in y.conditions if not x.part2_program]
        for entry, cond in zip(probs, normal):
            codes = {v.get("code") for v in entry.iterfind(".//h:observation/h:value", NS)}
            if cond.minor_consented:
                assert {"R", "ADOL"} <= codes
                seen += 1
            elif cond.sensitivity == "hiv":
                assert {"R", "HIV"} <= codes
            else:
                assert "ADOL" not in codes and "R" not in codes
    assert seen == expected


def test_part2_documents_and_sidecar(feed):
    out, youth, files = feed
    senders = json.loads((out / "hie" / "senders.json").read_text())
    part2_youth = [y for y in youth if any(c.part2_program for c in y.conditions)]
    flagged = sorted(k for k, v in senders.items() if v["part2_program"])
    assert flagged == sorted(f"ccd/{y.mrn}-part2.xml" for y in part2_youth)
    assert len(senders) == len(youth) + len(part2_youth)
    for name in flagged:
        root = etree.parse(str(out / "hie" / name)).getroot()
        assert root.find("h:confidentialityCode", NS).get("code") == "R"
        assert root.find("h:templateId[@root='2.16.840.1.113883.3.3251.1.1']", NS) is not None
        priv = root.xpath(".//h:section[h:templateId/@root='2.16.840.1.113883.3.3251.1.5']", namespaces=NS)[0]
        assert "42 CFR part 2" in "".join(priv.find("h:text", NS).itertext())
        codes = {v.get("code") for v in priv.iterfind(".//h:value", NS)}
        assert {"R", "42CFRPart2", "NORDSCLCD"} <= codes


def test_part2_data_in_a_forced_youth(tmp_path):
    """A Part 2 condition always ends up in the -part2 CCD and never in the HIE CCD."""
    from gateway.synth.model import Condition
    county = County(youth=3, districts=1, seed=5, as_of=date(2025, 9, 1), truth_path=tmp_path / "t.jsonl")
    y = county.make_youth(0)
    y.conditions = [Condition("714829008", "F12.20", "Cannabis use disorder", date(2024, 1, 1), "sud", part2_program=True)]
    w = health.Writer(county, tmp_path)
    w.add(y)
    w.close()
    county.truth.close()
    assert counts(tmp_path / "hie" / "ccd" / f"{y.mrn}.xml")["problems"] == 0
    assert counts(tmp_path / "hie" / "ccd" / f"{y.mrn}-part2.xml")["problems"] == 1
    assert json.loads((tmp_path / "hie" / "senders.json").read_text())[f"ccd/{y.mrn}-part2.xml"]["part2_program"]


def test_vxu_batches_parse_back(feed):
    out, youth, files = feed
    batches = sorted((out / "hie" / "vxu").glob("batch-*.hl7"))
    assert batches
    expected = sum(len(y.immunizations) for y in youth if y.index % 3 == 0)
    n = 0
    for b in batches:
        for item in hl7v2.convert(b):
            assert not isinstance(item, Problem), item
            n += item.type == "Immunization"
    assert n == expected
