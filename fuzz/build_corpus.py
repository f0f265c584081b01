"""Write the seed corpus of every atheris harness into var/fuzz-corpus/<format>/ from the shared
samples (../shared/data) and the synthetic county (fuzz/common.seeds). Idempotent: files are named
by content hash, and inputs libFuzzer added earlier are kept."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(out: Path = ROOT / "var" / "fuzz-corpus") -> dict[str, int]:
    from fuzz import common
    counts = {}
    for fmt in common.FORMATS:
        folder = out / fmt
        folder.mkdir(parents=True, exist_ok=True)
        n = 0
        for s in common.seeds(fmt):
            data = common.encode_members(s.members) if fmt in common.ZIP_FORMATS else s.data
            blobs = [data] + ([common.zip_bytes(s.members)] if fmt in common.ZIP_FORMATS else [])
            for b in blobs:
                (folder / ("seed-" + hashlib.sha1(b).hexdigest())).write_bytes(b)
                n += 1
        counts[fmt] = n
    return counts


if __name__ == "__main__":
    for fmt, n in build().items():
        print(f"{fmt}: {n} seeds")
