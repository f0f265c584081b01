"""Disclosure decisions per second on one core, rules loaded once.

Mix: the eight worked examples in ../shared/policy/examples.json (if present) plus generated
variants across roles, categories, ages, consents and court orders. Last line of output is one
JSON object {"decisions_per_s": N}. --quick runs for about half a second.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.policy import default_policy  # noqa: E402

SHARED = Path(os.environ.get("HEP_SHARED_DIR", ROOT.parent / "shared"))


def requests(n: int, seed: int = 7) -> list[dict]:
    policy = default_policy()
    v = policy.vocab
    rnd = random.Random(seed)
    base = []
    examples = SHARED / "policy" / "examples.json"
    if examples.exists():
        base = json.loads(examples.read_text())
    roles, cats = sorted(v.roles), list(v.categories)
    out = []
    for i in range(n):
        if base and i % 4 == 0:
            out.append(copy.deepcopy(base[i % len(base)]))
            continue
        role = rnd.choice(roles)
        purpose = rnd.choice(sorted(v.roles[role].purposes))
        cat = rnd.choice(cats)
        age = rnd.choice([10, 11, 12, 13, 16, 17, 18, 19])
        consents = []
        if rnd.random() < 0.5:
            consents.append({
                "grantor": rnd.choice(["youth", "parent", "erh", "court"]),
                "scope": [cat] if rnd.random() < 0.8 else [rnd.choice(cats)],
                "recipients": [role], "status": rnd.choice(["active", "active", "revoked"]),
                "expires": rnd.choice(["2026-06-30", "2027-06-30"]),
                "form": rnd.choice(list(v.forms)), "signed": "2026-01-10",
                "part2_compliant": rnd.random() < 0.7, "single_disclosure": True})
        order = None
        if rnd.random() < 0.2:
            order = {"type": rnd.choice(sorted(v.court_order_types)), "status": "active",
                     "issued": "2025-01-01", "expires": None, "scope": [cat], "recipients": [role]}
        out.append({
            "id": f"B-{i}", "as_of": "2026-07-01",
            "requester": {"role": role, "on_caseload": rnd.random() < 0.9,
                          "assigned_to_youth": rnd.random() < 0.9,
                          "school_relation": rnd.choice(["receiving", "school_of_origin", "unrelated"]),
                          "deidentified_request": rnd.random() < 0.8},
            "purpose_of_use": purpose, "purpose_of_use_system": v.purposes[purpose],
            "youth": {"age": age, "in_foster_care": True,
                      "court_limited_parent_ed_rights": rnd.random() < 0.5,
                      "jurisdiction": rnd.choice(["dependent_300", "ward_602_foster_placement"]),
                      "part2_program_record": rnd.random() < 0.1,
                      "minor_consented_service": rnd.random() < 0.1},
            "consents": consents, "court_order": order, "category": cat,
        })
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run (about 0.5 s)")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args(argv)
    seconds = 0.5 if args.quick else args.seconds
    decide = default_policy().decide          # rules loaded and compiled once, outside the clock
    batch = requests(2000)
    counts: dict[str, int] = {}
    for r in batch:
        d = decide(r)["decision"]
        counts[d] = counts.get(d, 0) + 1
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for r in batch:
            decide(r)
        done += len(batch)
    elapsed = time.perf_counter() - start
    rate = int(done / elapsed)
    print(f"mix of {len(batch)} requests: {dict(sorted(counts.items()))}")
    print(f"{done} decisions in {elapsed:.2f} s on one core")
    print(json.dumps({"decisions_per_s": rate}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
