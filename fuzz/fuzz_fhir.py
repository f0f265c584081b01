"""atheris harness for the fhir adapter (fuzz/harness.py): .venv/bin/python fuzz/fuzz_fhir.py [libFuzzer flags]"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.harness import main  # noqa: E402

if __name__ == "__main__":
    main("fhir")
