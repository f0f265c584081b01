"""Benchmark: our C-CDA adapter vs the PyPI peer `ccda-to-fhir` on the same shared documents.

The peer is a benchmark-only comparison (`.venv/bin/pip install ccda-to-fhir`), not a project
dependency. Both convert every document of ../shared/data/ccda in the same process; we report
documents/s (median of the passes), resources produced, failed documents (exception or fatal
problem) and a count-based recall per section against the independent counter of
tests/test_ccda_conformance.py (same measure for both converters).

Usage: python bench/ccda.py [--quick] [--dir DIR]
The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import collections
import logging
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters import ccda  # noqa: E402
from adapters.base import Problem, Record  # noqa: E402
from tests.test_ccda_conformance import expected_units  # noqa: E402

SECTION_MATCH = {  # section -> (resourceType, observation/condition category or None)
    "immunizations": ("Immunization", None), "allergies": ("AllergyIntolerance", None),
    "medications": ("MedicationStatement", None), "problems": ("Condition", "problem-list-item"),
    "encounters": ("Encounter", None), "results": ("Observation", "laboratory"),
    "vital_signs": ("Observation", "vital-signs"),
}


def _category_codes(res: dict) -> set[str]:
    out = set()
    for cat in res.get("category") or []:
        if isinstance(cat, dict):
            out |= {c.get("code") for c in cat.get("coding") or []}
    return out


def ours(files):
    per_doc, failed, n = {}, 0, 0
    for f in files:
        resources = []
        fatal = False
        try:
            for item in ccda.convert(f):
                if isinstance(item, Record):
                    resources.append(item.resource)
                elif isinstance(item, Problem) and item.fatal:
                    fatal = True
        except Exception:  # noqa: BLE001 - a benchmark counts failures, it does not stop
            fatal = True
        failed += fatal
        n += len(resources)
        per_doc[f.name] = resources
    return per_doc, failed, n


def peer(files):
    from ccda_to_fhir import convert_document
    per_doc, failed, n, errors = {}, 0, 0, collections.Counter()
    for f in files:
        try:
            text = f.read_bytes().decode("utf-8-sig")
            result = convert_document(text)
            bundle = result["bundle"] if isinstance(result, dict) else result.bundle
            if not isinstance(bundle, dict):
                bundle = bundle.model_dump(mode="json", exclude_none=True)
            resources = [e["resource"] for e in bundle.get("entry") or [] if "resource" in e]
        except Exception as e:  # noqa: BLE001
            failed += 1
            errors[type(e).__name__] += 1
            resources = []
        n += len(resources)
        per_doc[f.name] = resources
    return per_doc, failed, n, errors


def recall(per_doc: dict, expected: dict) -> dict:
    agg = collections.defaultdict(lambda: [0, 0])
    for name, exp in expected.items():
        resources = per_doc.get(name, [])
        for section, units in exp.items():
            rtype, cat = SECTION_MATCH[section]
            got = sum(1 for r in resources if r.get("resourceType") == rtype and (cat is None or cat in _category_codes(r)))
            agg[section][0] += len(units)
            agg[section][1] += min(len(units), got)
    out = {s: round(h / n, 4) if n else None for s, (n, h) in sorted(agg.items())}
    tn = sum(v[0] for v in agg.values())
    out["overall"] = round(sum(v[1] for v in agg.values()) / tn, 4) if tn else None
    return out


def timed(fn, files, passes):
    times, result = [], None
    for _ in range(passes):
        t0 = time.perf_counter()
        result = fn(files)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one pass instead of three")
    ap.add_argument("--dir", default=str(ROOT.parent / "shared" / "data" / "ccda"))
    args = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the peer logs every skipped element
    files = sorted(Path(args.dir).glob("*.xml"))
    if not files:
        raise SystemExit(f"no C-CDA documents under {args.dir}")
    passes = 1 if args.quick else 3
    expected = {f.name: expected_units(f) for f in files}

    ours(files[:2])  # warm up imports and model classes for both sides
    try:
        peer(files[:2])
        have_peer = True
    except ImportError:
        have_peer = False

    t_ours, (o_docs, o_failed, o_n) = timed(ours, files, passes)
    print(f"ours: {len(files) / t_ours:7.1f} docs/s  {o_n} resources  {o_failed} failed documents")
    o_recall = recall(o_docs, expected)
    print(f"      recall (count-based): {o_recall}")
    summary = {"ours_docs_per_s": round(len(files) / t_ours, 2), "ours_resources": o_n, "ours_failed": o_failed,
               "ours_recall": o_recall["overall"]}
    if have_peer:
        t_peer, (p_docs, p_failed, p_n, p_err) = timed(peer, files, passes)
        p_recall = recall(p_docs, expected)
        print(f"peer: {len(files) / t_peer:7.1f} docs/s  {p_n} resources  {p_failed} failed documents {dict(p_err)}")
        print(f"      recall (count-based): {p_recall}")
        print(f"speed ratio ours/peer: {t_peer / t_ours:.1f}x")
        summary.update({"peer_docs_per_s": round(len(files) / t_peer, 2), "peer_resources": p_n,
                        "peer_failed": p_failed, "peer_recall": p_recall["overall"]})
    else:
        print("peer: ccda-to-fhir not installed (.venv/bin/pip install ccda-to-fhir)")
        summary.update({"peer_docs_per_s": None, "peer_failed": None})
    print(orjson.dumps(summary).decode())
    return summary


if __name__ == "__main__":
    main()
