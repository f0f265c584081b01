"""Hostile XML is refused quickly with a clear message, in bounded memory."""
from __future__ import annotations

import time
import tracemalloc

from adapters import ccda
from adapters.base import Problem, Record

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol9;</title></ClinicalDocument>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget><patientRole><patient><name><family>&xxe;</family>
</name></patient></patientRole></recordTarget></ClinicalDocument>
"""


def _refused(path):
    t0 = time.perf_counter()
    tracemalloc.start()
    try:
        items = list(ccda.convert(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - t0
    assert len(items) == 1 and isinstance(items[0], Problem) and items[0].fatal, items
    assert not any(isinstance(i, Record) for i in items)
    return items[0], elapsed, peak


def test_billion_laughs_is_refused(tmp_path):
    p = tmp_path / "lol.xml"
    p.write_text(BILLION_LAUGHS)
    prob, elapsed, peak = _refused(p)
    assert "entity" in prob.message.lower() and prob.file == "lol.xml"
    assert peak < 5_000_000


def test_external_entity_is_refused_and_never_read(tmp_path):
    p = tmp_path / "xxe.xml"
    p.write_text(XXE)
    prob, _, _ = _refused(p)
    assert "entity" in prob.message.lower()
    assert "root:" not in prob.message


def test_hundred_megabyte_document_is_refused_before_reading(tmp_path):
    p = tmp_path / "big.xml"
    chunk = ("<component><section><text>" + "x" * 1_000_000 + "</text></section></component>").encode()
    with open(p, "wb") as fh:
        fh.write(b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody>')
        for _ in range(100):
            fh.write(chunk)
        fh.write(b"</structuredBody></component></ClinicalDocument>")
    assert p.stat().st_size > 100_000_000
    prob, elapsed, peak = _refused(p)
    assert "limit" in prob.message and "bytes" in prob.message
    assert peak < 5_000_000  # nothing of the file was read into memory


def test_malformed_xml_is_a_fatal_problem_with_its_line(tmp_path):
    p = tmp_path / "bad.xml"
    p.write_text('<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3">\n<title>oops</titel>\n</ClinicalDocument>')
    prob, _, _ = _refused(p)
    assert "not well-formed" in prob.message and "line 3" in prob.message
