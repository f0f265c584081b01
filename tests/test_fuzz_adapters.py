"""Property-based fuzzing of every adapter: arbitrary bytes and mutated real samples.

For each format (cws, calpads, oneroster, sif, edfi-xml, edfi-json, ccda, hl7v2, fhir):
  * convert() never raises anything but InputRefused,
  * never runs past a per-example time budget (SIGALRM in the main thread, a watchdog thread
    otherwise; fuzz/common.run_adapter),
  * yields only Record / Problem, each naming its file (and line or path),
  * and keeps a bounded memory peak (tracemalloc) on a bounded input.

Seeds are the real samples in ../shared/data plus synthetic feeds for the formats it lacks
(fuzz/common.seeds). Mutations: bit flips, truncation, duplicated / deleted / swapped lines,
injected control characters and broken encodings, and huge fields. Hostile XML constructs
(entities, DTDs, 100 MB documents) are tested in tests/test_ccda_hostile.py and not repeated.

CI runs a few examples per format (HEP_FUZZ_EXAMPLES, default 12); `make fuzz` runs many more
and the atheris harnesses in fuzz/.
"""
from __future__ import annotations

import os
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import common
from fuzz.common import FORMATS, ZIP_FORMATS
from tests.conftest import shared_path

EXAMPLES = int(os.environ.get("HEP_FUZZ_EXAMPLES", "12"))
BUDGET_S = float(os.environ.get("HEP_FUZZ_BUDGET_S", "10"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("HEP_FUZZ_EXAMPLES"),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large], database=None)

POS = st.integers(min_value=0, max_value=10**7)
OPS = st.one_of(
    st.tuples(st.just("flip"), st.tuples(POS, st.integers(0, 7))),
    st.tuples(st.just("truncate"), st.tuples(POS)),
    st.tuples(st.just("dup"), st.tuples(POS, st.integers(1, 40))),
    st.tuples(st.just("del"), st.tuples(POS)),
    st.tuples(st.just("swap"), st.tuples(POS, POS)),
    st.tuples(st.just("inject"), st.tuples(POS, st.sampled_from(common.CONTROL) | st.binary(min_size=1, max_size=40))),
    st.tuples(st.just("huge"), st.tuples(POS, st.integers(1_000, 300_000),
                                         st.sampled_from([b"A", b"9", b" ", b'"', b"<", b"^", b",", "\u200b".encode()]))),
)


@pytest.fixture(scope="module")
def shared_data_dir() -> str:
    return str(shared_path())


def _run(fmt: str, sample, **write):
    with tempfile.TemporaryDirectory(prefix="hep-fuzz-") as d:
        path = common.write_input(Path(d), sample, **write)
        return common.run_adapter(fmt, path, BUDGET_S)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_are_refused_or_reported_never_a_crash(fmt, data, shared_data_dir):
    sample = common.Sample(fmt, "arbitrary" + common.SUFFIX[fmt], data)
    if fmt in ZIP_FORMATS:
        _run(fmt, sample, raw_zip=data)                    # the bytes as the zip file itself
        template = common.seeds(fmt, shared_data_dir)[0]
        member = sorted(template.members)[len(data) % len(template.members)]
        _run(fmt, template, data=data, member=member)      # the bytes as one of its CSV tables
    else:
        _run(fmt, sample)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(choice=st.data(), ops=st.lists(OPS, min_size=1, max_size=4))
def test_mutated_real_samples_keep_the_adapter_contract(fmt, choice, ops, shared_data_dir):
    samples = common.seeds(fmt, shared_data_dir)
    sample = choice.draw(st.sampled_from(samples), label="sample")
    if fmt in ZIP_FORMATS:
        member = choice.draw(st.sampled_from(sorted(sample.members)), label="member")
        _run(fmt, sample, data=common.apply(sample.members[member], ops), member=member)
    else:
        _run(fmt, sample, data=common.apply(sample.data, ops))


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(choice=st.data(), seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 6))
def test_well_formed_documents_with_hostile_values_keep_the_contract(fmt, choice, seed, n_ops, shared_data_dir):
    """Structure-aware: the XML / JSON / delimited lines stay well-formed, values turn hostile
    (huge, empty, impossible dates, formulas, SQL, bidi overrides, wrong JSON types, deletions,
    duplicated elements), so the adapter's own mapping code is exercised, not only the parser."""
    sample = choice.draw(st.sampled_from(common.seeds(fmt, shared_data_dir)), label="sample")
    if fmt in ZIP_FORMATS:
        member = choice.draw(st.sampled_from(sorted(sample.members)), label="member")
        _run(fmt, sample, data=common.structured(fmt, sample.members[member], seed, n_ops), member=member)
    else:
        _run(fmt, sample, data=common.structured(fmt, sample.data, seed, n_ops))


@pytest.mark.parametrize("fmt", ZIP_FORMATS)
@FUZZ
@given(choice=st.data(), ops=st.lists(st.one_of(
    st.tuples(st.just("flip"), st.tuples(POS, st.integers(0, 7))),
    st.tuples(st.just("truncate"), st.tuples(POS))), min_size=1, max_size=3))
def test_damaged_zip_containers_are_refused_not_crashed(fmt, choice, ops, shared_data_dir):
    sample = choice.draw(st.sampled_from(common.seeds(fmt, shared_data_dir)), label="sample")
    _run(fmt, sample, raw_zip=common.apply(common.zip_bytes(sample.members), ops))


def test_seeds_convert_cleanly_so_mutations_start_from_real_records(shared_data_dir):
    """The fuzzers only mean something if the unmutated seeds get deep into each adapter."""
    for fmt in FORMATS:
        records = 0
        for sample in common.seeds(fmt, shared_data_dir)[:6]:
            items = _run(fmt, sample) or []
            records += sum(type(i).__name__ == "Record" for i in items)
        assert records > 0, f"{fmt}: no seed produced a record"


# memory: a bounded input (a seed with a 4 MB field, or 4 MB of one repeated line) must convert
# within a bounded Python-heap peak. lxml's own (C) allocations are not traced; the XML inputs are
# size-capped before parsing (adapters/xmlsafe.py) and tests/test_ccda_hostile.py covers them.
BIG = 4 * 1024 * 1024
PEAK_LIMIT = int(os.environ.get("HEP_FUZZ_PEAK_BYTES", 96 * 1024 * 1024))


def _bounded_inputs(fmt: str, shared: str):
    sample = max(common.seeds(fmt, shared), key=lambda s: len(s.data) + sum(map(len, s.members.values())))
    if fmt in ZIP_FORMATS:
        member = max(sample.members, key=lambda m: len(sample.members[m]))
        body = sample.members[member]
        yield sample, {"member": member, "data": common.huge_field(body, len(body) // 2, BIG)}
        lines = body.splitlines(keepends=True)
        yield sample, {"member": member, "data": lines[0] + lines[-1] * (BIG // max(1, len(lines[-1])))}
    else:
        yield sample, {"data": common.huge_field(sample.data, len(sample.data) // 2, BIG)}
        yield sample, {"data": common.huge_field(sample.data, len(sample.data) // 3, BIG, b'"')}


@pytest.mark.parametrize("fmt", FORMATS)
def test_memory_peak_is_bounded_on_a_bounded_input(fmt, shared_data_dir):
    for sample, write in _bounded_inputs(fmt, shared_data_dir):
        with tempfile.TemporaryDirectory(prefix="hep-fuzz-") as d:
            path = common.write_input(Path(d), sample, **write)
            tracemalloc.start()
            try:
                common.run_adapter(fmt, path, BUDGET_S * 3)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert peak < PEAK_LIMIT, f"{fmt}: {peak:,} bytes peak for a {BIG:,}-byte field"


# --- findings: the crashes the fuzzers found, kept as regression tests ---------------------------
# Each was a strict xfail until its adapter was fixed; a new finding goes in
# fuzz/common.KNOWN_FINDINGS (so the fuzzers look past it) with a strict-xfail reproducer here.

def _contract(fmt: str, path: Path) -> list:
    return common.run_adapter(fmt, path, BUDGET_S, tolerate_known=False)


def _corrupt_member(members: dict[str, bytes], name: str, stored: bool) -> bytes:
    """A zip whose member `name` has its (stored or deflated) data damaged in the middle."""
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    raw = bytearray(buf.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    mid = start + info.compress_size // 2
    if stored:
        raw[mid] ^= 0x01                            # one bit of the table changed: CRC mismatch
    else:
        raw[start:start + 8] = b"\xff" * 8          # a deflate stream that cannot be decoded
    return bytes(raw)


CSV_FINDING = ("adapters/cws.py _rows() and adapters/oneroster_csv.py Bundle.rows() let csv.Error "
               "('field larger than field limit (131072)') escape: a CSV field over 128 KiB, or one unbalanced "
               "quote, crashes convert() instead of becoming a Problem / InputRefused")
ZIP_FINDING = ("adapters/cws.py _Source / adapters/oneroster_csv.py Bundle only catch BadZipFile when opening the "
               "zip: a damaged member raises zipfile.BadZipFile (Bad CRC-32, after its rows were already yielded) "
               "or zlib.error while rows are read")


@pytest.mark.parametrize("fmt,member", [("cws", "clients.csv"), ("oneroster", "users.csv")])
@pytest.mark.parametrize("how", ["long-field", "unbalanced-quote"])
def test_finding_csv_field_over_the_csv_module_limit(fmt, member, how, shared_data_dir, tmp_path):
    sample = common.seeds(fmt, shared_data_dir)[-1]
    head, _, rest = sample.members[member].partition(b"\n")
    bad = b"x" * 200_000 if how == "long-field" else b'"' + b"unterminated, " * 12_000
    path = common.write_input(tmp_path, sample, member=member, data=head + b"\n" + bad + b"\n" + rest)
    _contract(fmt, path)


@pytest.mark.parametrize("fmt,member", [("cws", "clients.csv"), ("oneroster", "users.csv")])
@pytest.mark.parametrize("stored", [True, False], ids=["bad-crc", "bad-deflate"])
def test_finding_damaged_zip_member(fmt, member, stored, shared_data_dir, tmp_path):
    sample = common.seeds(fmt, shared_data_dir)[-1]
    path = common.write_input(tmp_path, sample, raw_zip=_corrupt_member(sample.members, member, stored))
    _contract(fmt, path)


FHIR_FINDING = ("adapters/fhir.py: _sender() calls .get on `meta` without checking it is an object "
                "(AttributeError), _Converter.one()/convert_bundle() use a non-string resourceType as the "
                "path string (TypeError: int/float + str), subject_of() iterates a numeric Patient.identifier")


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
@pytest.mark.parametrize("body", [
    b'{"resourceType":"Immunization","meta":"oops"}',
    b'{"resourceType":"Bundle","type":"collection","meta":"x","entry":[]}',
    b'{"resourceType":1.5}',
    b'{"resourceType":7,"id":"x"}',
    b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","identifier":1.5}}]}',
], ids=["meta-string", "bundle-meta-string", "resourceType-float", "resourceType-int", "identifier-number"])
def test_finding_fhir_json_of_the_wrong_type(body, suffix, tmp_path):
    path = tmp_path / f"input{suffix}"
    path.write_bytes(body + b"\n")
    _contract("fhir", path)


def test_finding_calpads_academic_year_with_a_non_ascii_digit(shared_data_dir, tmp_path):
    sample = next(s for s in common.seeds("calpads", shared_data_dir) if s.name.endswith("_SPRG.txt"))
    assert b"^2026-2027^" in sample.data
    bad = sample.data.replace(b"^2026-2027^", "^2026-\u00b2027^".encode(), 1)
    _contract("calpads", common.write_input(tmp_path, sample, data=bad))


def test_finding_edfi_xml_namespace_with_invalid_utf8(tmp_path):
    path = tmp_path / "Student.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n<InterchangeStudent xmlns="http://ed-fi.org/\x97">'
                     b"</InterchangeStudent>")
    _contract("edfi-xml", path)


@pytest.mark.parametrize("fmt", ZIP_FORMATS)
def test_finding_zip_member_name_not_utf8(fmt, shared_data_dir, tmp_path):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest\u00e9.csv", b"a,b\n")          # non-ASCII: the UTF-8 flag is set
    raw = buf.getvalue().replace("manifest\u00e9".encode(), b"manifest\x85\x85")
    path = tmp_path / "input.zip"
    path.write_bytes(raw)
    _contract(fmt, path)


@pytest.mark.parametrize("ref", [b'"x"', b'{"studentUniqueId": -1}'])
def test_finding_edfi_json_unknown_collection_is_not_validated(ref, tmp_path):
    path = tmp_path / "feed.ndjson"
    path.write_bytes(b'{"resource": "studentSchoolAssociations_later", "studentReference": ' + ref + b"}\n")
    _contract("edfi-json", path)


def test_edfi_json_refuses_collections_it_has_no_schema_for(tmp_path):
    """A type name no Ed-Fi schema knows is a Problem, never a Record type the store would keep."""
    path = tmp_path / "feed.ndjson"
    path.write_bytes(b'{"resource": "evilThings", "studentReference": {"studentUniqueId": "3000000878"}}\n')
    items = _contract("edfi-json", path)
    assert [type(i).__name__ for i in items] == ["Problem"] and items[0].field == "resource"
