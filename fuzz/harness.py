"""The atheris (libFuzzer) harness shared by fuzz/fuzz_<format>.py.

    .venv/bin/python fuzz/fuzz_ccda.py                       # FUZZ_SECONDS (60) on var/fuzz-corpus/ccda
    .venv/bin/python fuzz/fuzz_ccda.py -runs=1 CRASHFILE     # replay one input (a reproducer)

Each input is written to a temporary file and given to the adapter's convert(); anything but
InputRefused, a Record/Problem breaking the contract, or a run over HEP_FUZZ_BUDGET_S (5 s) is a
crash, saved by libFuzzer under var/fuzz-crashes/<format>-crash-<sha1>. Zip formats (cws,
oneroster) take either a raw zip or the member encoding of fuzz/common.encode_members (so
mutations reach the CSV reader instead of breaking the zip's CRC). Crashes already reported
(fuzz/common.KNOWN_FINDINGS) are skipped unless HEP_FUZZ_STRICT=1. Seed corpus:
fuzz/build_corpus.py (make fuzz runs it).
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(fmt: str) -> None:
    import atheris

    import adapters
    with atheris.instrument_imports(include=["adapters"]):
        adapters.get(fmt)          # the adapter module and what it imports, instrumented for coverage
    from fuzz import common

    budget = float(os.environ.get("HEP_FUZZ_BUDGET_S", "5"))
    work = Path(tempfile.mkdtemp(prefix=f"hep-atheris-{fmt}-"))
    sample = common.Sample(fmt, "input" + common.SUFFIX[fmt])

    def one_input(data: bytes) -> None:
        folder = work / "in"
        shutil.rmtree(folder, ignore_errors=True)
        if fmt in common.ZIP_FORMATS:
            members = common.decode_members(data)
            if members is None:
                path = common.write_input(folder, sample, raw_zip=data)
            else:
                path = common.write_input(folder, common.Sample(fmt, "input.zip", members=members))
        else:
            path = common.write_input(folder, sample, data)
        common.run_adapter(fmt, path, budget, use_signal=False)

    corpus = ROOT / "var" / "fuzz-corpus" / fmt
    crashes = ROOT / "var" / "fuzz-crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    argv = list(sys.argv)
    flags = [a for a in argv[1:] if a.startswith("-")]
    if not any(a.startswith("-max_total_time") for a in flags) and not any(a.startswith("-runs") for a in flags):
        argv.append(f"-max_total_time={int(os.environ.get('FUZZ_SECONDS', '60'))}")
    if not any(a.startswith("-artifact_prefix") for a in flags):
        argv.append(f"-artifact_prefix={crashes}/{fmt}-")
    if not any(a.startswith("-timeout") for a in flags):
        argv.append(f"-timeout={int(budget * 4)}")      # libFuzzer's own hang detector, behind ours
    if not any(a.startswith("-rss_limit_mb") for a in flags):
        argv.append("-rss_limit_mb=2048")
    if not [a for a in argv[1:] if not a.startswith("-")]:
        argv.append(str(corpus))                        # new interesting inputs are added here
    try:
        atheris.Setup(argv, one_input)
        atheris.Fuzz()
    finally:
        shutil.rmtree(work, ignore_errors=True)
