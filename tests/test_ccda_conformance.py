"""Conformance of the C-CDA adapter on the 44 shared vendor documents.

The expected entries are counted here INDEPENDENTLY of the adapter: a small lxml walk over section
templateIds (R1.1 and R2.1 OIDs, LOINC section code as fallback). An entry is expected to yield a
resource of the section's type unless it is a nullFlavor placeholder (its key code is null with no
originalText and no coded translation) or a planned act (moodCode other than EVN, except the
documented "INT + completed" immunization quirk). Results and vital signs are counted per
component observation.
"""
from __future__ import annotations

import collections
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import shared_path

V3 = "urn:hl7-org:v3"
NS = {"v": V3}
SECTIONS = {  # section -> (template roots, LOINC code, resource type)
    "immunizations": ({"2.16.840.1.113883.10.20.22.2.2", "2.16.840.1.113883.10.20.22.2.2.1"}, "11369-6", "Immunization"),
    "allergies": ({"2.16.840.1.113883.10.20.22.2.6", "2.16.840.1.113883.10.20.22.2.6.1"}, "48765-2", "AllergyIntolerance"),
    "medications": ({"2.16.840.1.113883.10.20.22.2.1", "2.16.840.1.113883.10.20.22.2.1.1"}, "10160-0", "MedicationStatement"),
    "problems": ({"2.16.840.1.113883.10.20.22.2.5", "2.16.840.1.113883.10.20.22.2.5.1"}, "11450-4", "Condition"),
    "encounters": ({"2.16.840.1.113883.10.20.22.2.22", "2.16.840.1.113883.10.20.22.2.22.1"}, "46240-8", "Encounter"),
    "results": ({"2.16.840.1.113883.10.20.22.2.3", "2.16.840.1.113883.10.20.22.2.3.1"}, "30954-2", "Observation"),
    "vital_signs": ({"2.16.840.1.113883.10.20.22.2.4", "2.16.840.1.113883.10.20.22.2.4.1"}, "8716-3", "Observation"),
}


def _path(el) -> str:
    """Location string: local names, [n] only where a parent has several children of that name."""
    steps = []
    while el is not None:
        parent = el.getparent()
        local = etree.QName(el).localname
        if parent is None:
            steps.insert(0, "/" + local)
        else:
            same = [c for c in parent if c.tag == el.tag]
            steps.insert(0, f"/{local}[{same.index(el) + 1}]" if len(same) > 1 else "/" + local)
        el = parent
    return "".join(steps)


def _informative(code) -> bool:
    if code is None:
        return False
    if code.get("code") and not code.get("nullFlavor"):
        return True
    if code.xpath("v:translation[@code]", namespaces=NS):
        return True
    ot = code.find(f"{{{V3}}}originalText")
    return ot is not None and (bool("".join(ot.itertext()).strip()) or ot.find(f"{{{V3}}}reference") is not None)


def _stmt(entry):
    kids = [c for c in entry if isinstance(c.tag, str) and etree.QName(c).localname != "templateId"]
    return kids[0] if kids else None


def expected_units(path: Path) -> dict[str, list[str]]:
    """section -> paths of the elements that should each yield a resource."""
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    out: dict[str, list[str]] = collections.defaultdict(list)
    for sec in tree.iterfind(".//v:section", NS):
        roots = {t.get("root") for t in sec.findall("v:templateId", NS)}
        code = sec.find("v:code", NS)
        name = next((n for n, (tids, loinc, _) in SECTIONS.items() if roots & tids), None)
        if name is None and code is not None:
            name = next((n for n, (_, loinc, _) in SECTIONS.items() if code.get("code") == loinc), None)
        if name is None:
            continue
        for entry in sec.findall("v:entry", NS):
            st = _stmt(entry)
            if st is None or st.get("nullFlavor"):
                continue
            mood = st.get("moodCode")
            if name == "immunizations":
                status = st.find("v:statusCode", NS)
                if mood != "EVN" and not (mood == "INT" and status is not None and status.get("code") == "completed"):
                    continue
                if _informative(st.find("v:consumable/v:manufacturedProduct/v:manufacturedMaterial/v:code", NS)):
                    out[name].append(_path(entry))
            elif name == "medications":
                mats = st.xpath(".//v:manufacturedMaterial", namespaces=NS)
                if any(_informative(m.find("v:code", NS)) or m.find("v:name", NS) is not None for m in mats):
                    out[name].append(_path(entry))
            elif name == "problems":
                if any(_informative(v) for v in st.xpath(".//v:observation/v:value|self::v:observation/v:value", namespaces=NS)):
                    out[name].append(_path(entry))
            elif name == "allergies":
                obs = st.xpath(".//v:observation[v:participant or v:value]|self::v:observation", namespaces=NS)
                if any(_informative(o.find("v:participant/v:participantRole/v:playingEntity/v:code", NS))
                       or _informative(o.find("v:value", NS)) or o.get("negationInd") == "true" for o in obs):
                    out[name].append(_path(entry))
            elif name == "encounters":
                out[name].append(_path(entry))
            else:  # results / vital signs: one Observation per component observation
                comps = st.findall("v:component/v:observation", NS) if etree.QName(st).localname == "organizer" else [st]
                for o in comps:
                    if not o.get("nullFlavor") and _informative(o.find("v:code", NS)):
                        out[name].append(_path(o))
    return out


def measure(files, convert) -> dict:
    """Per document and section: expected units and how many got a resource of the right type."""
    table = {}
    for f in files:
        exp = expected_units(f)
        produced = collections.defaultdict(list)
        for item in convert(f):
            if hasattr(item, "resource"):
                produced[item.type].append(item.source["path"])
        row = {}
        for name, units in exp.items():
            rtype = SECTIONS[name][2]
            paths = produced.get(rtype, [])
            if name in ("results", "vital_signs"):
                hit = sum(1 for u in units if u in set(paths))
            else:
                hit = sum(1 for u in units if any(p == u or p.startswith(u + "/") for p in paths))
            row[name] = (len(units), hit)
        table[f.name] = row
    return table


def totals(table: dict) -> dict:
    agg = collections.defaultdict(lambda: [0, 0])
    for row in table.values():
        for name, (n, hit) in row.items():
            agg[name][0] += n
            agg[name][1] += hit
    return {k: tuple(v) for k, v in agg.items()}


@pytest.fixture(scope="module")
def recall_table():
    from adapters import ccda
    folder = shared_path("ccda")
    files = sorted(folder.glob("*.xml"))
    assert len(files) >= 40
    return measure(files, ccda.convert)


def test_expected_counts_match_the_manifest_for_flat_sections():
    """The independent counter agrees with the published manifest on the flat sections."""
    import json
    folder = shared_path("ccda")
    manifest = {m["file"]: m["section_entries"] for m in json.loads((folder / "manifest.json").read_text())}
    f = folder / "01_hl7_CCD_1_CCD.xml"
    exp = expected_units(f)
    assert len(exp["immunizations"]) == manifest[f.name]["imm"] == 5
    assert len(exp["problems"]) == manifest[f.name]["prob"]


def test_overall_recall_at_least_98_percent(recall_table):
    agg = totals(recall_table)
    n = sum(v[0] for v in agg.values())
    hit = sum(v[1] for v in agg.values())
    assert n > 500
    assert hit / n >= 0.98, agg


@pytest.mark.parametrize("section", list(SECTIONS))
def test_no_section_below_95_percent(recall_table, section):
    n, hit = totals(recall_table)[section]
    assert n > 0
    assert hit / n >= 0.95, (section, n, hit)
