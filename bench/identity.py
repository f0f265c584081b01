"""Identity linking accuracy on the synthetic county's ground truth, by noise type.

Builds the roster as the CWS extract presents the youth in care (SSID known for most), then
links every person record the district and HIE feeds would present (with their noise),
including students who are not in care. Prints precision of `certain` links, recall with human
review (certain + possible pointing at the right youth), and the same by noise type.
Last line: {"precision": …, "recall": …, …}. `--quick` for a small county.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.base import Subject  # noqa: E402
from gateway.identity.linker import Linker  # noqa: E402
from gateway.identity.matching import Person  # noqa: E402
from gateway.synth.county import County  # noqa: E402


def roster_from_cws(county: County) -> tuple[Linker, list]:
    linker = Linker()
    youth = []
    for i in range(county.n_youth):
        y = county.make_youth(i)
        youth.append(y)
        ssid = y.ssid if y.ssid_known_to_cws else None
        linker.roster.add(y.client_id, Person.of(y.given, y.family, y.middle, y.birth_date, y.sex, ssid, y.aliases))
        linker.roster.identifiers[("cws-client", y.client_id)] = y.client_id
        if ssid:
            linker.roster.identifiers[("ssid", ssid)] = y.client_id
    return linker, youth


def presentations(county: County, y):
    """Each district that enrolled the youth presents them once (with SSID), the HIE once (without)."""
    leas = sorted({e.lea_id for e in y.enrollments})
    for lea in leas:
        p = county.present(y, f"calpads:{lea}")
        yield f"sis", Subject(identifiers=((("ssid", p.ssid),) if p.ssid else ()) + (("lea-student|" + lea, p.local_id),),
                              given=p.given, family=p.family, middle=p.middle, birth_date=p.birth_date.isoformat(),
                              sex=p.sex), p.noise
    p = county.present(y, "hie", ssid=False)
    yield "hie", Subject(identifiers=(("mrn|hie", y.mrn),), given=p.given, family=p.family, middle=p.middle,
                         birth_date=p.birth_date.isoformat(), sex=p.sex), p.noise


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--youth", type=int, default=30000)
    ap.add_argument("--districts", type=int, default=80)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.youth, args.districts = 3000, 12
    t0 = time.perf_counter()
    county = County(youth=args.youth, districts=args.districts, seed=args.seed, as_of=date(2026, 11, 23))
    linker, _ = roster_from_cws(county)
    tally = defaultdict(Counter)   # noise -> outcome counts
    n_links = 0
    for i in range(county.total):
        y = county.make_youth(i)
        truth = y.client_id if y.in_care else None
        for source, subject, noise in presentations(county, y):
            m = linker.resolve(subject)
            n_links += 1
            for kind in noise + (("all",)):
                t = tally[kind]
                if truth is None:
                    t["not_in_care"] += 1
                    t["false_" + m.status if m.status != "none" else "correct_none"] += 1
                    continue
                t["in_care"] += 1
                if m.status == "none":
                    t["missed"] += 1
                elif m.youth_id == truth:
                    t[m.status + "_right"] += 1
                else:
                    t[m.status + "_wrong"] += 1
    secs = time.perf_counter() - t0
    print(f"{n_links:,} person records from {county.total:,} people ({county.n_youth:,} in care), {secs:.1f}s")
    print(f"{'noise':<22}{'records':>9}{'certain ok':>12}{'certain bad':>12}{'review ok':>11}{'missed':>8}"
          f"{'precision':>11}{'recall':>8}")
    out = {}
    for kind in sorted(tally, key=lambda k: (k != "all", k)):
        t = tally[kind]
        certain = t["certain_right"] + t["certain_wrong"] + t["false_certain"]
        precision = t["certain_right"] / certain if certain else 1.0
        recall = (t["certain_right"] + t["possible_right"]) / t["in_care"] if t["in_care"] else 1.0
        print(f"{kind:<22}{t['in_care'] + t['not_in_care']:>9}{t['certain_right']:>12}"
              f"{t['certain_wrong'] + t['false_certain']:>12}{t['possible_right']:>11}{t['missed']:>8}"
              f"{precision:>11.4f}{recall:>8.4f}")
        out[kind] = {"precision": round(precision, 5), "recall": round(recall, 5)}
    a = tally["all"]
    print(f"students not in care: {a['not_in_care']:,} records; wrongly certain {a['false_certain']}, "
          f"sent to review {a['false_possible']}")
    print(json.dumps({"precision": out["all"]["precision"], "recall": out["all"]["recall"],
                      "certain_auto_link_rate": round((a["certain_right"] + a["certain_wrong"]) / max(1, a["in_care"]), 5),
                      "review_rate": round((a["possible_right"] + a["possible_wrong"] + a["false_possible"]) / max(1, n_links), 5),
                      "by_noise": {k: v for k, v in out.items() if k != "all"}, "youth": args.youth, "seconds": round(secs, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
