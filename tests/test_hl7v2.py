"""HL7 v2 VXU^V04 adapter: fields, separators, escapes, batches, problems; `hep convert hl7v2`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from adapters import hl7v2
from adapters.base import Problem, Record

HEP = Path(sys.executable).parent / "hep"

GOOD = ("MSH|^~\\&|EHR|CLINICA^2.16.840.1.113883.3.72^ISO|IIS|CAIR|20240105120000-0800||VXU^V04^VXU_V04|MSG001|P|2.5.1|||ER|AL",
        "PID|1||MRN123^^^CLINICA^MR~123456789^^^SSA^SS||O\\S\\Brien^Ana^Maria^^^^L~Smith^Annie^^^^^A||20100315|F|||"
        "12 Main St^^Los Angeles^CA^90012-1234",
        "ORC|RE||IMM-1^CLINICA",
        "RXA|0|1|20240105||08^Hep B^CVX|0.5|mL^mL^UCUM||00^New^NIP001|1234^Nurse^Nancy|^^^CLINICA||||LOT123|20251231|"
        "MSD^Merck^MVX|||CP|A",
        "RXR|IM^Intramuscular^HL70162|LA^Left arm^HL70163",
        "OBX|1|CE|64994-7^Eligibility^LN|1|V02^VFC eligible^HL70064||||||F")
BAD_DATE = ("MSH|^~\\&|EHR|CLINICA|IIS|CAIR|20240105||VXU^V04|MSG002|P|2.5.1",
            "PID|1||MRN124^^^CLINICA^MR||Doe^Jon||20090101|M",
            "RXA|0|1|2024-01-05||03^MMR^CVX|999")
REFUSED = ("MSH|^~\\&|EHR|CLINICA|IIS|CAIR|20240105||VXU^V04|MSG003|P|2.5.1",
           "PID|1||MRN125^^^CLINICA^MR||Roe^Ann||20090101|F",
           "RXA|0|1|20240105||03^MMR^CVX|999|" + "|" * 11 + "00^Parental decision^NIP002||RE")  # RXA-18, RXA-20


def write(tmp_path, text, name="v.hl7") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


def run(path):
    items = list(hl7v2.convert(path))
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Problem)]


def test_full_message_maps_every_field(tmp_path):
    recs, probs = run(write(tmp_path, "\r".join(GOOD) + "\r"))
    assert probs == []
    pat, imm = recs
    assert pat.type == "Patient" and pat.category == "demographics_identity"
    assert pat.subject.identifiers == (("mrn|CLINICA", "MRN123"),)  # the SSN never leaves the adapter
    assert (pat.subject.family, pat.subject.given, pat.subject.middle) == ("O^Brien", "Ana", "Maria")
    assert pat.subject.aliases == (("Annie", "Smith"),)
    assert (pat.subject.birth_date, pat.subject.sex, pat.subject.postal_code) == ("2010-03-15", "F", "90012")
    r = imm.resource
    assert imm.type == "Immunization" and imm.category == "immunizations"
    assert r["vaccineCode"]["coding"][0] == {"system": "http://hl7.org/fhir/sid/cvx", "code": "08", "display": "Hep B"}
    assert r["occurrenceDateTime"] == "2024-01-05" and r["status"] == "completed"
    assert r["lotNumber"] == "LOT123" and r["expirationDate"] == "2025-12-31"
    assert r["manufacturer"]["identifier"] == {"system": "http://hl7.org/fhir/sid/mvx", "value": "MSD"}
    assert r["performer"][0]["actor"]["display"] == "Nancy Nurse"
    assert r["location"]["display"] == "CLINICA"
    assert r["primarySource"] is True
    assert r["doseQuantity"]["value"] == 0.5
    assert r["route"]["coding"][0]["code"] == "IM"
    assert r["programEligibility"][0]["coding"][0]["code"] == "V02"
    assert r["patient"]["reference"] == f"Patient/{pat.resource['id']}"
    assert imm.source == {"file": "v.hl7", "line": 4}
    assert r["meta"]["security"][0]["code"] == "N"
    # deterministic ids and keys
    again = run(write(tmp_path, "\r".join(GOOD) + "\r", "w.hl7"))[0]
    assert [x.resource["id"] for x in again] == [x.resource["id"] for x in recs]
    assert [x.key for x in again] == [x.key for x in recs]


@pytest.mark.parametrize("term", ["\r", "\n", "\r\n"])
def test_batch_with_broken_message_continues(tmp_path, term):
    text = term.join(("FHS|^~\\&|X", "BHS|^~\\&|X", *GOOD, *BAD_DATE, *REFUSED, "BTS|3", "FTS|1")) + term
    recs, probs = run(write(tmp_path, text))
    assert [r.type for r in recs] == ["Patient", "Immunization", "Patient", "Patient", "Immunization"]
    assert len(probs) == 1
    p = probs[0]
    assert (p.file, p.line, p.field) == ("v.hl7", 11, "RXA-3")  # FHS, BHS, 6 segments, MSH, PID, RXA
    refused = recs[-1].resource
    assert refused["status"] == "not-done"
    assert refused["statusReason"]["coding"][0]["code"] == "00"


def test_completion_status_and_action_codes(tmp_path):
    msg = list(GOOD)
    msg[3] = msg[3].replace("|CP|A", "|PA|D")
    recs, probs = run(write(tmp_path, "\r".join(msg)))
    imm = recs[1]
    assert imm.resource["isSubpotent"] is True and imm.action == "delete"
    msg[3] = msg[3].replace("|PA|D", "|XX|A")
    recs, probs = run(write(tmp_path, "\r".join(msg)))
    assert [p.field for p in probs] == ["RXA-20"]


def test_custom_separators_and_escapes(tmp_path):
    text = "\r".join(s.replace("|", "#").replace("^", "$").replace("\\", "!") for s in GOOD[:4])
    text = text.replace("MSH#$~!&#", "MSH#$~!&#")  # MSH-2 = $~!&
    recs, probs = run(write(tmp_path, text))
    assert probs == []
    assert recs[0].subject.family == "O$Brien"  # !S! unescapes to the component separator
    assert recs[1].resource["lotNumber"] == "LOT123"


def test_escape_sequences():
    enc = hl7v2.Encoding("|", "^~\\&")
    assert enc.unescape("a\\F\\b\\S\\c\\R\\d\\T\\e\\E\\f") == "a|b^c~d&e\\f"
    assert enc.unescape("x\\.br\\y\\H\\z\\N\\") == "x\nyz"
    assert enc.unescape("caf\\XC3A9\\") == "café"


def test_bad_pid_and_stray_segments_and_other_messages(tmp_path):
    text = "\r".join(("PID|1||X", "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|M1|P|2.5.1", "PID|1||Z^^^A^MR",
                      "MSH|^~\\&|A|B|C|D|20240101||VXU^V04|M2|P|2.5.1", "PID|1||||Doe^J",
                      "RXA|0|1|20240101||08^x^CVX", *GOOD))
    recs, probs = run(write(tmp_path, text))
    assert [(p.line, p.field, p.severity) for p in probs] == [(1, "PID", "error"), (2, "MSH-9", "warning"),
                                                              (5, "PID-3", "error")]
    assert [r.type for r in recs] == ["Patient", "Immunization"]


def test_not_hl7_is_fatal(tmp_path):
    _, probs = run(write(tmp_path, "hello\nworld\n"))
    assert probs[-1].fatal


def test_hep_convert_hl7v2_cli(tmp_path):
    text = "\n".join((*GOOD, *BAD_DATE)) + "\n"
    path = write(tmp_path, text)
    out = subprocess.run([str(HEP), "convert", "hl7v2", str(path)], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [orjson.loads(x) for x in out.stdout.splitlines()]
    assert [x["type"] for x in lines] == ["Patient", "Immunization", "Patient"]
    assert all(x["standard"] == "fhir" for x in lines)
    probs = [orjson.loads(x) for x in out.stderr.splitlines()]
    assert probs[0]["field"] == "RXA-3" and probs[0]["line"] == 9
