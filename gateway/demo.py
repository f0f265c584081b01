"""`hep demo`: init, a synthetic county, ingest every feed, then serve. Grows with each capability."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

FOLDER_FORMATS = ("calpads", "sif")
HIE_KINDS = {".xml": "ccda", ".hl7": "hl7v2", ".json": "fhir", ".ndjson": "fhir"}


def ingest_plan(out_dir: Path, manifest: dict) -> list[tuple[str, list[Path], str, dict]]:
    """(format, paths, source system, adapter options) in dependency order: the case extract
    first (it defines who is in scope), then district feeds (one batch per district), then HIE."""
    plan = []
    files = manifest["files"]
    for rel in files.get("cws", []):
        plan.append(("cws", [out_dir / rel], "cws:la-county", {}))
    for fmt in ("calpads", "oneroster", "sif", "edfi-xml", "edfi-json"):
        by_district: dict[str, list[Path]] = defaultdict(list)
        for rel in files.get(fmt, []):
            p = out_dir / rel
            lea = next((part.split("-")[0] for part in p.parts if part[:7].isdigit() and "-" in part), p.parent.name)
            by_district[lea].append(p)
        for lea, paths in sorted(by_district.items()):
            # CALPADS and SIF read a district's folder as one feed: course titles, services and
            # SchoolInfo RefIds join across its files
            if fmt in FOLDER_FORMATS:
                plan.append((fmt, [paths[0].parent], f"{fmt}:{lea}", {"lea_id": lea} if fmt == "sif" else {}))
            else:
                plan.append((fmt, sorted(paths), f"{fmt}:{lea}", {}))
    senders = {}
    sidecar = out_dir / "hie" / "senders.json"
    if sidecar.exists():
        senders = json.loads(sidecar.read_text())
    for kind in ("hie", "ccda", "hl7v2", "fhir"):
        for rel in files.get(kind, []):
            p = out_dir / rel
            fmt = kind if kind != "hie" else HIE_KINDS.get(p.suffix)
            if fmt is None:
                continue
            facts = senders.get(rel) or senders.get(p.name) or {}
            opts = {k: v for k, v in facts.items() if k in ("part2_program", "minor_consented")}
            plan.append((fmt, [p], f"hie:{facts.get('sender', 'la-county-hie')}", opts))
    return plan


def run_demo(var_dir: Path, youth: int, districts: int, seed: int, as_of, progress: bool = True) -> dict:
    from .crypto import keyring
    from .ingest.pipeline import ingest
    from .store import open_store
    from .synth import generate

    engine = open_store()
    keyring.init()
    out = var_dir / "demo-county"
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
    else:
        print(f"generating a synthetic county: {youth} youth in care, {districts} districts …", flush=True)
        manifest = generate(out, youth=youth, districts=districts, seed=seed, as_of=as_of, progress=progress)
    totals = defaultdict(int)
    plan = ingest_plan(out, manifest)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(plan), unit="batch", desc="ingest")
    for fmt, paths, source, opts in plan:
        r = ingest(engine, fmt, paths, source_system=source, options=opts, submitted_by="demo")
        for k in ("records_read", "created", "updated", "unchanged", "rejected", "out_of_scope", "pending_review"):
            totals[k] += getattr(r, k)
        totals[f"batches_{r.status}"] += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return {"manifest": manifest, "totals": dict(totals)}
