"""`hep synth`: a deterministic, realistic synthetic county for demos, tests and benchmarks.

One pass over the youth (each rebuilt from its own seed), every feed writer appending as it goes,
so time is linear and memory flat in the number of youth. Writers live in `feeds/`: a module
with `FORMATS` (the District.feed_format values it renders, or "cws" / "hie") and a `Writer`
class (`__init__(county, out_dir)`, `add(youth)`, `close() -> list[Path]`).
"""
from __future__ import annotations

import importlib
import pkgutil
from datetime import date
from pathlib import Path

import orjson

from .county import County


def writer_modules() -> dict[str, object]:
    from . import feeds
    out = {}
    for info in pkgutil.iter_modules(feeds.__path__):
        mod = importlib.import_module(f"{feeds.__name__}.{info.name}")
        for fmt in getattr(mod, "FORMATS", ()):
            out[fmt] = mod
    return out


def generate(out_dir: Path, *, youth: int, districts: int, seed: int, as_of: date,
             tenant: str = "la", progress: bool = False, formats: list[str] | None = None) -> dict:
    """Write the county's feeds under out_dir and return the manifest (also written as manifest.json)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    county = County(youth=youth, districts=districts, seed=seed, as_of=as_of, tenant=tenant,
                    truth_path=out_dir / "truth.jsonl")
    mods = writer_modules()
    wanted = {"cws", "hie"} | {d.feed_format for d in county.districts}
    if formats:
        wanted &= set(formats)
    # a district whose format has no writer yet falls back to CALPADS, the format every CA SIS emits
    for d in county.districts:
        if d.feed_format not in mods:
            d.feed_format = "calpads"
    writers = {}
    for fmt in sorted(wanted):
        mod = mods.get(fmt)
        if mod is not None and id(mod) not in {id(m) for m, _ in writers.values()}:
            writers[fmt] = (mod, mod.Writer(county, out_dir))
    it = county.iter_youth()
    if progress:
        from tqdm import tqdm
        it = tqdm(it, total=county.total, unit="youth", desc="synth", mininterval=0.5)
    for y in it:
        for _, w in writers.values():
            w.add(y)
    files: dict[str, list[str]] = {}
    for fmt, (mod, w) in writers.items():
        for path in w.close():
            kind = getattr(w, "format_of", lambda p: fmt)(path)
            files.setdefault(kind, []).append(str(Path(path).relative_to(out_dir)))
    county.truth.close()
    manifest = {
        "tenant": tenant, "seed": seed, "as_of": as_of.isoformat(), "youth_in_care": county.n_youth,
        "students_not_in_care": county.n_others, "districts": [
            {"lea_id": d.lea_id, "name": d.name, "format": d.feed_format,
             "schools": [{"school_id": s.school_id, "name": s.name, "level": s.level} for s in d.schools]}
            for d in county.districts],
        "files": files, "truth": "truth.jsonl", "truth_records": county.truth.count,
    }
    (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest
