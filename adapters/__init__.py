"""Source-format adapters. Each module exposes `convert(path, **options) -> Iterator[Record | Problem]`.

`FORMATS` maps the format name used on the command line (`hep convert FORMAT`, `hep ingest
FORMAT`, `POST /ingest/{format}`) to its module; modules are imported on first use so a
deployment that never sees SIF never loads it.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .base import InputRefused, Item, Problem, Record, Subject  # noqa: F401

FORMATS: dict[str, str] = {
    "cws": "adapters.cws",
    "calpads": "adapters.calpads",
    "oneroster": "adapters.oneroster",
    "sif": "adapters.sif",
    "edfi-xml": "adapters.edfi_xml",
    "edfi-json": "adapters.edfi_json",
    "ccda": "adapters.ccda",
    "hl7v2": "adapters.hl7v2",
    "fhir": "adapters.fhir",
}


class UnknownFormat(ValueError):
    pass


def get(fmt: str) -> ModuleType:
    try:
        modname = FORMATS[fmt]
    except KeyError:
        raise UnknownFormat(f"unknown format {fmt!r}; known: {', '.join(sorted(FORMATS))}") from None
    return importlib.import_module(modname)


def available() -> list[str]:
    """Formats whose module is present in this build."""
    out = []
    for name, mod in FORMATS.items():
        if importlib.util.find_spec(mod) is not None:
            out.append(name)
    return out
