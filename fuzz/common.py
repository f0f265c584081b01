"""What every adapter fuzzer shares: seed samples, mutations, writing an input to disk, and the
adapter contract checked on each run.

The contract (adapters/base.py): `convert(path, **options)` yields `Record | Problem` and never
raises anything but `InputRefused`; a Problem names its file (and line where the format has
lines); a Record's `source` names its file and a line or a path. Used by
tests/test_fuzz_adapters.py (hypothesis) and fuzz/fuzz_<format>.py (atheris).

Seeds: the real samples in ../shared/data (C-CDA, Ed-Fi XML, SIF, OneRoster) plus the formats
../shared has no sample of (CWS extract, CALPADS extracts, Ed-Fi JSON, HL7 v2, FHIR) written by
the synthetic county generator into a temporary folder, and a FHIR Bundle built from C-CDA
conversions.
"""
from __future__ import annotations

import atexit
import functools
import io
import os
import shutil
import signal
import tempfile
import threading
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("cws", "calpads", "oneroster", "sif", "edfi-xml", "edfi-json", "ccda", "hl7v2", "fhir")
# formats whose input is a zip (or folder) of CSV tables: fuzzed member by member and re-zipped
ZIP_FORMATS = ("cws", "oneroster")
SUFFIX = {"cws": ".zip", "calpads": ".txt", "oneroster": ".zip", "sif": ".xml", "edfi-xml": ".xml",
          "edfi-json": ".ndjson", "ccda": ".xml", "hl7v2": ".hl7", "fhir": ".json"}
# the container encoding the atheris harnesses use for zip formats: members separated by this line
MEMBER_MARK = b"\n#=#=# member "


def shared_root() -> Path:
    return Path(os.environ.get("HEP_SHARED_DIR", ROOT.parent / "shared")) / "data"


class Sample:
    """One seed input. `members` is set for zip formats (name -> bytes); `data` otherwise.
    (A plain class: hypothesis prints dataclasses field by field in falsifying examples.)"""

    __slots__ = ("fmt", "name", "data", "members")

    def __init__(self, fmt: str, name: str, data: bytes = b"", members: dict[str, bytes] | None = None):
        self.fmt, self.name, self.data, self.members = fmt, name, data, dict(members or {})

    def __repr__(self) -> str:
        size = len(self.data) + sum(map(len, self.members.values()))
        return f"Sample({self.fmt!r}, {self.name!r}, <{size} bytes>)"


# --- seeds -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def synthetic_county() -> Path:
    """A 4-youth synthetic county (every feed format), written once per process."""
    from gateway.synth import generate
    out = Path(tempfile.mkdtemp(prefix="hep-fuzz-seeds-"))
    atexit.register(shutil.rmtree, out, True)
    generate(out / "county", youth=4, districts=6, seed=3, as_of=date(2026, 11, 23))
    return out / "county"


def _zip_members(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file() and p.suffix == ".csv"}
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _fhir_bundle(ccda_paths: list[Path]) -> list[Sample]:
    """FHIR Bundles (and an NDJSON file) made of what the C-CDA adapter produces."""
    import orjson

    from adapters import ccda
    from adapters.base import Record
    out = []
    for i, p in enumerate(ccda_paths):
        resources = [it.resource for it in ccda.convert(p) if isinstance(it, Record) and it.standard == "fhir"]
        resources = resources[:40]
        if not resources:
            continue
        bundle = {"resourceType": "Bundle", "type": "collection" if i % 2 else "transaction",
                  "entry": [{"fullUrl": f"urn:uuid:{r.get('id', n)}", "resource": r,
                             **({} if i % 2 else {"request": {"method": "POST", "url": r["resourceType"]}})}
                            for n, r in enumerate(resources)]}
        out.append(Sample("fhir", f"bundle-{p.stem[:20]}.json", orjson.dumps(bundle, option=orjson.OPT_INDENT_2)))
        out.append(Sample("fhir", f"resources-{p.stem[:20]}.ndjson", b"\n".join(orjson.dumps(r) for r in resources)))
    return out


@functools.lru_cache(maxsize=None)
def seeds(fmt: str, shared: str | None = None) -> tuple[Sample, ...]:
    """Seed samples for one format. `shared` is ../shared/data (None: shared_root())."""
    sh = Path(shared) if shared else shared_root()
    county = synthetic_county()
    files: list[Path] = []
    out: list[Sample] = []
    if fmt == "cws":
        out = [Sample(fmt, p.name, members=_zip_members(p)) for p in sorted(county.glob("cws/*.zip"))]
    elif fmt == "oneroster":
        dirs = [sh / "sis/oneroster/moodle-enrol_oneroster/Test_minimal_data_set",
                sh / "sis/oneroster/moodle-enrol_oneroster/Test_full_data_set"]
        out = [Sample(fmt, p.name + ".zip", members=_zip_members(p)) for p in dirs if p.is_dir()]
        out += [Sample(fmt, p.name, members=_zip_members(p)) for p in sorted(county.glob("sis/*-oneroster/*.zip"))]
    elif fmt == "calpads":
        files = sorted(county.glob("sis/*-calpads/*.txt"))
    elif fmt == "sif":
        files = sorted(sh.glob("sis/sif/samples/*/*.xml")) + sorted(county.glob("sis/*-sif/*.xml"))
    elif fmt == "edfi-xml":
        files = sorted(sh.glob("edfi/sample/5.2.0/*.xml")) + sorted(sh.glob("edfi/sample/6.1.0-excerpts/*.xml")) \
            + sorted(county.glob("sis/*-edfi-xml/*.xml"))
        # the large interchange files make every example slow; keep the ones under 300 KB
        files = [p for p in files if p.stat().st_size < 300_000]
    elif fmt == "edfi-json":
        files = sorted(county.glob("sis/*-edfi-json/*")) + sorted((ROOT / "tests/data/edfi_pull").glob("students*.json")) \
            + sorted((ROOT / "tests/data/edfi_pull").glob("studentSchool*.json"))
    elif fmt == "ccda":
        files = [p for p in sorted(sh.glob("ccda/*.xml")) if p.stat().st_size < 400_000] + sorted(county.glob("hie/ccd/*.xml"))
    elif fmt == "hl7v2":
        files = sorted(county.glob("hie/vxu/*.hl7"))
    elif fmt == "fhir":
        out = _fhir_bundle(sorted(county.glob("hie/ccd/*.xml"))[:2] + sorted(sh.glob("ccda/0[19]_*.xml")))
    else:
        raise ValueError(fmt)
    out += [Sample(fmt, p.name, p.read_bytes()) for p in files]
    if not out:
        raise FileNotFoundError(f"no seed samples for {fmt} (shared data at {sh})")
    return tuple(out)


# --- mutations ---------------------------------------------------------------------------------

CONTROL = [bytes([c]) for c in range(0, 32)] + [b"\x7f", "\u2028".encode(), "\ufeff".encode(), b"\xff\xfe",
                                                b"\xc3", b"\xed\xa0\x80", b"\r", b"\r\n", b'"', b"^", b"|", b",",
                                                b"<", b"&", b"]]>", b"{", b"}"]


def bit_flip(data: bytes, pos: int, bit: int) -> bytes:
    if not data:
        return data
    pos %= len(data)
    return data[:pos] + bytes([data[pos] ^ (1 << (bit % 8))]) + data[pos + 1:]


def truncate(data: bytes, pos: int) -> bytes:
    return data[:pos % (len(data) + 1)]


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def duplicate_line(data: bytes, i: int, times: int = 1) -> bytes:
    lines = _lines(data)
    i %= len(lines)
    return b"".join(lines[:i + 1] + [lines[i]] * times + lines[i + 1:])


def delete_line(data: bytes, i: int) -> bytes:
    lines = _lines(data)
    i %= len(lines)
    return b"".join(lines[:i] + lines[i + 1:])


def swap_lines(data: bytes, i: int, j: int) -> bytes:
    lines = _lines(data)
    i, j = i % len(lines), j % len(lines)
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def inject(data: bytes, pos: int, what: bytes) -> bytes:
    pos %= len(data) + 1
    return data[:pos] + what + data[pos:]


def huge_field(data: bytes, pos: int, size: int, fill: bytes = b"A") -> bytes:
    """A very long run of one byte inserted inside the data (a field, text node or JSON string)."""
    return inject(data, pos, fill * size)


def apply(data: bytes, ops) -> bytes:
    """Apply a list of (name, args) mutations in order."""
    fns = {"flip": bit_flip, "truncate": truncate, "dup": duplicate_line, "del": delete_line, "swap": swap_lines,
           "inject": inject, "huge": huge_field}
    for name, args in ops:
        data = fns[name](data, *args)
    return data


# --- writing an input and running an adapter ---------------------------------------------------

def write_input(folder: Path, sample: Sample, data: bytes | None = None, member: str | None = None,
                raw_zip: bytes | None = None) -> Path:
    """Write a (possibly mutated) sample to folder and return the path to hand to convert().

    Zip formats: `member` is replaced by `data` and the tables re-zipped (so mutations reach the
    CSV reader), or `raw_zip` is written as the zip file itself (mutations of the container)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = sample.name if sample.name.endswith(SUFFIX[sample.fmt]) or sample.fmt not in ZIP_FORMATS \
        else sample.name + ".zip"
    path = folder / name
    if sample.fmt in ZIP_FORMATS:
        if raw_zip is not None:
            path.write_bytes(raw_zip)
            return path
        members = dict(sample.members)
        if member is not None:
            members[member] = data if data is not None else members.get(member, b"")
        path.write_bytes(zip_bytes(members))
        return path
    path.write_bytes(sample.data if data is None else data)
    return path


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, b in members.items():
            zf.writestr(zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0)), b, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def encode_members(members: dict[str, bytes]) -> bytes:
    """The atheris corpus form of a zip format: each member after a mark line naming it."""
    return b"".join(MEMBER_MARK + n.encode() + b"\n" + b for n, b in members.items())


def decode_members(data: bytes) -> dict[str, bytes] | None:
    if not data.startswith(MEMBER_MARK):
        return None
    out = {}
    for chunk in data.split(MEMBER_MARK)[1:]:
        head, _, body = chunk.partition(b"\n")
        name = head.decode("utf-8", "replace").replace("/", "_")[:60] or "x.csv"
        out[name] = body
    return out


# Crashes already found and reported (docs/security.md "Findings"), each reproduced by a strict
# xfail test in tests/test_fuzz_adapters.py. The fuzzers note them and go on looking for new ones;
# HEP_FUZZ_STRICT=1 turns them back into failures. Remove an entry when its adapter is fixed
# (its xfail test then passes and fails as XPASS, which is the reminder).
KNOWN_FINDINGS: dict[str, tuple[tuple[str, str], ...]] = {
    # format -> (exception type name, message fragment) of crashes reported and not yet fixed.
    # The first round (CSV field limits, damaged zips, FHIR/Ed-Fi JSON of the wrong shape, a
    # non-ASCII CALPADS year, an undecodable Ed-Fi namespace) is fixed; its reproducers stay in
    # tests/test_fuzz_adapters.py as regression tests.
}


def known_finding(fmt: str, exc: BaseException) -> bool:
    if os.environ.get("HEP_FUZZ_STRICT"):
        return False
    return any(type(exc).__name__ == name and text in str(exc) for name, text in KNOWN_FINDINGS.get(fmt, ()))


class Hang(Exception):
    """An adapter ran past its time budget on one input."""


class ContractBroken(AssertionError):
    pass


def run_adapter(fmt: str, path: Path, budget_s: float, tolerate_known: bool = True, use_signal: bool = True,
                **options) -> list:
    """Convert `path` with the adapter under a time budget and check the adapter contract on
    everything it yields. Returns the items (InputRefused -> []). Raises Hang when over budget,
    ContractBroken when an item breaks the contract, and lets any other exception through (the
    finding) unless it is a KNOWN_FINDINGS entry and tolerate_known (then returns None)."""
    import adapters
    from adapters.base import InputRefused
    mod = adapters.get(fmt)

    def work():
        try:
            return list(mod.convert(path, **options))
        except InputRefused:
            return []
        except Exception as e:
            if tolerate_known and known_finding(fmt, e):
                return None
            raise

    if use_signal and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def on_alarm(signum, frame):
            raise Hang(f"{fmt}: convert({path.name}) ran over {budget_s:.1f}s")
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, budget_s)
        try:
            items = work()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    else:   # not the main thread (no signals here): a watchdog thread that we wait for
        box: dict = {}

        def target():
            try:
                box["items"] = work()
            except BaseException as e:   # handed back to the caller below
                box["error"] = e
        t = threading.Thread(target=target, daemon=True, name=f"fuzz-{fmt}")
        t.start()
        t.join(budget_s)
        if t.is_alive():
            raise Hang(f"{fmt}: convert({path.name}) ran over {budget_s:.1f}s")
        if "error" in box:
            raise box["error"]
        items = box["items"]
    if items is None:
        return None
    check_items(fmt, path, items)
    return items


def check_items(fmt: str, path: Path, items: list) -> None:
    from adapters.base import STANDARDS, Problem, Record
    for it in items:
        if isinstance(it, Problem):
            if not isinstance(it.file, str) or not it.file:
                raise ContractBroken(f"{fmt}: a Problem without a file: {it!r}"[:500])
            if it.line is not None and (not isinstance(it.line, int) or it.line < 0):
                raise ContractBroken(f"{fmt}: a Problem with line {it.line!r}"[:500])
            if not isinstance(it.message, str) or not it.message:
                raise ContractBroken(f"{fmt}: a Problem without a message: {it!r}"[:500])
        elif isinstance(it, Record):
            src = it.source
            if not isinstance(src, dict) or not src.get("file"):
                raise ContractBroken(f"{fmt}: a Record whose source names no file: {src!r}"[:500])
            if "line" not in src and "path" not in src:
                raise ContractBroken(f"{fmt}: a Record whose source has neither line nor path: {src!r}"[:500])
            line = src.get("line")
            if line is not None and (not isinstance(line, int) or line < 0):
                raise ContractBroken(f"{fmt}: a Record with source line {line!r}")
            if it.standard not in STANDARDS or not isinstance(it.resource, dict) or not it.category:
                raise ContractBroken(f"{fmt}: a malformed Record {it.standard!r}/{it.type!r}/{it.category!r}")
        else:
            raise ContractBroken(f"{fmt}: yielded {type(it).__name__}, not Record or Problem")


# --- structure-aware mutations -------------------------------------------------------------------
# Byte mutations of XML and JSON mostly stop at the parser. These keep the document well-formed
# and change what the adapter's own code reads: a text node, attribute, JSON value or delimited field.

EVIL_STRINGS = ["", " ", "0", "-1", "99999999999999999999999", "2026-02-30", "9999-99-99", "0000-00-00", "1e309",
                "NaN", "-0", "\u202eevil", "<>&'\"", "=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)",
                "../../etc/passwd", "' OR 1=1--", "\"; DROP TABLE youth;--", "😀" * 50, "A" * 70_000,
                "\t\r\n", "null", "true", "%s%n", "\\u0000", "20261301", "19000101", "x" * 11, "|^~\\&"]
EVIL_JSON = [None, 0, -1, 2**63 - 1, 1.5e308, -1e-320, True, False, "", [], {}, [[[[[]]]]], {"a": {"b": {}}},
             "A" * 70_000, ["x"] * 500] + EVIL_STRINGS[:20]
XML_FORMATS = ("sif", "edfi-xml", "ccda")
DELIMITER = {"calpads": b"^", "hl7v2": b"|", "cws": b",", "oneroster": b","}


def structured(fmt: str, data: bytes, seed: int, n_ops: int = 3) -> bytes:
    import random
    rnd = random.Random(seed)
    if fmt in XML_FORMATS:
        return _xml_mutate(data, rnd, n_ops)
    if fmt in ("edfi-json", "fhir"):
        return _json_mutate(data, rnd, n_ops)
    return _field_mutate(data, DELIMITER.get(fmt, b","), rnd, n_ops)


def _xml_mutate(data: bytes, rnd, n_ops: int) -> bytes:
    from lxml import etree
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return data
    els = [e for e in root.iter() if isinstance(e.tag, str)]
    for _ in range(n_ops):
        el = rnd.choice(els)
        op = rnd.randrange(5)
        try:
            if op == 0:
                el.text = rnd.choice(EVIL_STRINGS)
            elif op == 1 and el.attrib:
                el.set(rnd.choice(list(el.attrib)), rnd.choice(EVIL_STRINGS))
            elif op == 2 and el.getparent() is not None:
                el.getparent().remove(el)
                els = [e for e in root.iter() if isinstance(e.tag, str)]
            elif op == 3 and el.getparent() is not None:
                for _ in range(rnd.choice((1, 2, 50))):
                    el.addnext(etree.fromstring(etree.tostring(el)))
                els = [e for e in root.iter() if isinstance(e.tag, str)]
            elif op == 4 and el.attrib:
                del el.attrib[rnd.choice(list(el.attrib))]
        except (ValueError, TypeError):   # e.g. a string lxml will not put in XML: the same as no change
            pass
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _json_leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,)
            yield from _json_leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,)
            yield from _json_leaves(v, path + (i,))


def _json_mutate(data: bytes, rnd, n_ops: int) -> bytes:
    import orjson
    try:
        docs, ndjson = [orjson.loads(data)], False
    except orjson.JSONDecodeError:
        try:
            docs, ndjson = [orjson.loads(line) for line in data.splitlines() if line.strip()], True
        except orjson.JSONDecodeError:
            return data
    if not docs:
        return data
    for _ in range(n_ops):
        d = rnd.randrange(len(docs))
        paths = list(_json_leaves(docs[d]))
        if not paths:
            docs[d] = rnd.choice(EVIL_JSON)
            continue
        path = rnd.choice(paths)
        parent = docs[d]
        for part in path[:-1]:
            parent = parent[part]
        if rnd.random() < 0.2 and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = rnd.choice(EVIL_JSON)
    if ndjson:
        return b"\n".join(orjson.dumps(x) for x in docs) + b"\n"
    return orjson.dumps(docs[0])


def _field_mutate(data: bytes, delim: bytes, rnd, n_ops: int) -> bytes:
    lines = data.splitlines(keepends=True)
    if not lines:
        return data
    for _ in range(n_ops):
        i = rnd.randrange(len(lines))
        body = lines[i].rstrip(b"\r\n")
        end = lines[i][len(body):]
        fields = body.split(delim)
        k = rnd.randrange(len(fields))
        value = rnd.choice(EVIL_STRINGS).encode()
        if delim == b",":      # quote it, so it stays one CSV field (the cell content is what is evil)
            value = b'"' + value.replace(b'"', b'""') + b'"'
        fields[k] = value if rnd.random() < 0.8 else fields[k] + delim * rnd.choice((1, 30))
        lines[i] = delim.join(fields) + end
    return b"".join(lines)
