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
