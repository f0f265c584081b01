"""C-CDA conversion recall per section and per document -> docs/hie-conversion.md.

Expected entries come from the independent counter in tests/test_ccda_conformance.py (lxml over
section templateIds, not the adapter); an entry counts as converted when a resource of the
section's type has its source path at (or below) that entry. The table replaces the block between
the `recall:start` / `recall:end` markers of docs/hie-conversion.md (use --no-write to only print).
The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters import ccda  # noqa: E402
from adapters.base import Problem  # noqa: E402
from tests.test_ccda_conformance import SECTIONS, measure, totals  # noqa: E402

DOC = ROOT / "docs" / "hie-conversion.md"
START, END = "<!-- recall:start -->", "<!-- recall:end -->"
SHORT = {"immunizations": "imm", "allergies": "alg", "medications": "med", "problems": "prob",
         "encounters": "enc", "results": "res", "vital_signs": "vit"}


def render(table: dict, problems: dict) -> str:
    agg = totals(table)
    lines = ["| section | expected | converted | recall |", "|---|---:|---:|---:|"]
    tn = th = 0
    for s in SECTIONS:
        n, h = agg.get(s, (0, 0))
        tn += n
        th += h
        lines.append(f"| {s} | {n} | {h} | {h / n:.1%} |" if n else f"| {s} | 0 | 0 | - |")
    lines.append(f"| **overall** | **{tn}** | **{th}** | **{th / tn:.2%}** |")
    lines += ["", "Per document (converted/expected; blank = section absent or empty; "
              "problems = error/warning Problems emitted):", "",
              "| document | " + " | ".join(SHORT[s] for s in SECTIONS) + " | problems (err/warn) |",
              "|---|" + "---:|" * (len(SECTIONS) + 1)]
    for name, row in table.items():
        cells = []
        for s in SECTIONS:
            n, h = row.get(s, (0, 0))
            cells.append(f"{h}/{n}" + (" ⚠" if h < n else "") if n else "")
        e, w = problems.get(name, (0, 0))
        lines.append(f"| `{name[:48]}` | " + " | ".join(cells) + f" | {e}/{w} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(ROOT.parent / "shared" / "data" / "ccda"))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    files = sorted(Path(args.dir).glob("*.xml"))
    if not files:
        raise SystemExit(f"no C-CDA documents under {args.dir}")
    problems: dict = collections.defaultdict(lambda: [0, 0])

    def convert(f):
        for item in ccda.convert(f):
            if isinstance(item, Problem):
                problems[f.name][0 if item.severity == "error" else 1] += 1
            yield item

    table = measure(files, convert)
    text = render(table, problems)
    print(text)
    if not args.no_write and DOC.exists():
        doc = DOC.read_text()
        if START in doc and END in doc:
            head, rest = doc.split(START, 1)
            _, tail = rest.split(END, 1)
            DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    agg = totals(table)
    tn = sum(n for n, _ in agg.values())
    th = sum(h for _, h in agg.values())
    summary = {"documents": len(files), "overall_recall": round(th / tn, 4),
               "sections": {s: round(h / n, 4) for s, (n, h) in agg.items() if n},
               "min_section_recall": round(min(h / n for n, h in agg.values() if n), 4),
               "error_problems": sum(v[0] for v in problems.values()),
               "warning_problems": sum(v[1] for v in problems.values())}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
