"""Small builders shared by tests: synthetic counties and CWS extracts written to tmp dirs."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 23)


def synth_county(tmp: Path, youth: int = 60, districts: int = 3, seed: int = 7, formats=None) -> dict:
    from gateway.synth import generate
    return generate(tmp, youth=youth, districts=districts, seed=seed, as_of=AS_OF, formats=formats)


def read_zip_table(path: Path, table: str) -> list[dict]:
    with zipfile.ZipFile(path) as zf, zf.open(f"{table}.csv") as fh:
        return list(csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8")))


def rewrite_zip(src: Path, dst: Path, edit) -> Path:
    """Copy a CWS extract, letting edit(table, rows) change each table's rows (list of lists incl. header)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            text = zin.read(info.filename).decode()
            rows = list(csv.reader(io.StringIO(text)))
            rows = edit(info.filename[:-4], rows) or rows
            buf = io.StringIO()
            csv.writer(buf).writerows(rows)
            zout.writestr(info.filename, buf.getvalue())
    return dst


# --- synthetic district feeds round-tripped through their adapters ------------------------------
SYNTH_SEED, SYNTH_YOUTH, SYNTH_DISTRICTS = 7, 200, 11   # 11 districts: every SIS format is in the mix


def synth_feed(out: Path, formats: list[str]) -> tuple[Path, dict, dict]:
    """Generate the feeds of `formats`; returns (folder, manifest, presented subjects by source)."""
    from collections import defaultdict

    import orjson

    from gateway.synth import generate
    manifest = generate(out, youth=SYNTH_YOUTH, districts=SYNTH_DISTRICTS, seed=SYNTH_SEED, as_of=AS_OF,
                        formats=formats)
    truth = defaultdict(list)
    for line in (out / manifest["truth"]).read_bytes().splitlines():
        row = orjson.loads(line)
        truth[row["source"]].append(row["subject"])
    return out, manifest, truth


def students_of(lea: str) -> list:
    """Youth with an enrollment in `lea`, in the order the writers saw them (= truth.jsonl order)."""
    from gateway.synth.county import County
    county = County(youth=SYNTH_YOUTH, districts=SYNTH_DISTRICTS, seed=SYNTH_SEED, as_of=AS_OF)
    return [y for y in county.iter_youth() if any(e.lea_id == lea for e in y.enrollments)]


def grade_descriptor(calpads_grade: str) -> str:
    from adapters import edfi_common as ec
    from mappings import translate
    return ec.descriptor("GradeLevelDescriptor", translate("calpads-grade-level", calpads_grade).code)
