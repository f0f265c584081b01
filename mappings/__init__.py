"""Declarative code translations and value sets, as FHIR ConceptMap / ValueSet JSON.

Adapters call `translate(map_name, code)`; the maps are data county staff can read and change
(`mappings/conceptmaps/*.json`, `mappings/valuesets/*.json`), loaded once per process.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).parent


@lru_cache(maxsize=None)
def categories() -> dict[str, dict]:
    """The 18 data categories (the unit of disclosure), keyed by code."""
    data = json.loads((HERE / "categories.json").read_text())
    return {c["code"]: c for c in data["categories"]}


@dataclass(frozen=True, slots=True)
class Translation:
    code: str
    display: str | None
    system: str | None
    equivalence: str  # FHIR R4 ConceptMap equivalence: equivalent, wider, narrower, inexact, unmatched...


@lru_cache(maxsize=None)
def concept_map(name: str) -> dict[str, Translation]:
    """Load `conceptmaps/<name>.json` into {source code: first target}."""
    cm = json.loads((HERE / "conceptmaps" / f"{name}.json").read_text())
    out: dict[str, Translation] = {}
    for group in cm.get("group", []):
        for el in group.get("element", []):
            targets = el.get("target") or []
            if not targets:
                continue
            t = targets[0]
            out[el["code"]] = Translation(
                code=t.get("code"), display=t.get("display"), system=group.get("target"),
                equivalence=t.get("equivalence", "equivalent"),
            )
    return out


def translate(name: str, code: str) -> Translation | None:
    return concept_map(name).get(code)


@lru_cache(maxsize=None)
def value_set(name: str) -> dict[str, frozenset[str]]:
    """Load `valuesets/<name>.json` into {system: codes}. `compose.include[].concept[]` and
    `compose.include[].filter` with op "is-a"/"regex" on code prefixes are supported via
    `value_set_prefixes`."""
    vs = json.loads((HERE / "valuesets" / f"{name}.json").read_text())
    out: dict[str, set[str]] = {}
    for inc in vs.get("compose", {}).get("include", []):
        codes = out.setdefault(inc["system"], set())
        for c in inc.get("concept", []):
            codes.add(c["code"])
    return {k: frozenset(v) for k, v in out.items()}
