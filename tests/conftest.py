"""Shared fixtures: the official artifacts in ../shared/data, and the store on SQLite and PostgreSQL."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HEP_SHARED_DIR", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data. Skips when ../shared is absent, unless HEP_REQUIRE_SHARED is set
    (CI), where a missing file fails the test instead."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        if os.environ.get("HEP_REQUIRE_SHARED"):
            pytest.fail(f"required shared data is missing: {path}")
        pytest.skip(f"../shared not present ({path})")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()
