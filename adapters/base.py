"""The adapter contract: source bytes in, records and problems out.

Adapters are pure: they read the input they are given and yield `Record`s and `Problem`s in
source order. They never touch the database or Flask, never drop a record silently (a record
they cannot map becomes a Problem naming file, line and field), and stream (memory does not
grow with file size).
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Union

import orjson

STANDARDS = ("edfi", "fhir", "case")
SEVERITIES = ("error", "warning")


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a record is about, as the source knows them; the identity linker resolves it.

    `identifiers` are (system, value) pairs. Systems used across adapters:
      ssid                  California Statewide Student Identifier (10 digits)
      cws-client            CWS/CMS client id (10 digits)
      cws-case              CWS/CMS case id (19 digits)
      lea-student|<lea>     a district's local student id, <lea> = 7-digit county-district code
      mrn|<assigner>        a health organisation's medical record number
      source|<name>         any other stable per-source id (OneRoster sourcedId, SIF RefId)
    A subject with only identifiers (no names/birth date) is a reference to a person the same
    feed describes elsewhere (e.g. an enrollment pointing at its student).
    """

    identifiers: tuple[tuple[str, str], ...] = ()
    given: str | None = None
    family: str | None = None
    middle: str | None = None
    birth_date: str | None = None  # ISO yyyy-mm-dd
    sex: str | None = None  # "F" | "M" | "X" | None
    postal_code: str | None = None
    aliases: tuple[tuple[str, str], ...] = ()  # (given, family) pairs

    @property
    def has_demographics(self) -> bool:
        return bool(self.family and self.birth_date)

    def to_dict(self) -> dict:
        d = {"identifiers": [list(i) for i in self.identifiers]}
        for k in ("given", "family", "middle", "birth_date", "sex", "postal_code"):
            v = getattr(self, k)
            if v:
                d[k] = v
        if self.aliases:
            d["aliases"] = [list(a) for a in self.aliases]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Subject":
        return cls(
            identifiers=tuple(tuple(i) for i in d.get("identifiers", ())),
            given=d.get("given"), family=d.get("family"), middle=d.get("middle"),
            birth_date=d.get("birth_date"), sex=d.get("sex"), postal_code=d.get("postal_code"),
            aliases=tuple(tuple(a) for a in d.get("aliases", ())),
        )


@dataclass(slots=True)
class Record:
    """One converted resource.

    standard  "edfi" | "fhir" | "case"
    type      Ed-Fi resource collection name (e.g. "studentSchoolAssociations"), FHIR
              resourceType, or a case record type ("youth", "placement", "assignment",
              "courtOrder", "consent")
    category  exactly one data category (mappings/categories.json)
    resource  the Ed-Fi JSON / FHIR JSON / case record body, already validated
    source    {"file": ..., "line": n} or {"file": ..., "path": "/xpath/or/json-pointer"}
    key       the natural key within (standard, type): re-sending the same key updates, never
              duplicates. Adapters build it from the source's own identity of the thing.
    subject   the person it is about (None for reference data such as schools)
    labels    extra facts for categorisation downstream (e.g. {"part2_program": True});
              security labels themselves live in FHIR meta.security.
    action    "upsert" (default) or "delete" (OneRoster tobedeleted, CALPADS transaction D)
    """

    standard: str
    type: str
    category: str
    resource: dict
    source: dict
    key: str
    subject: Subject | None = None
    labels: dict = field(default_factory=dict)
    action: str = "upsert"

    def contract_dict(self) -> dict:
        """The `hep convert` NDJSON line (the public contract)."""
        return {
            "standard": self.standard,
            "type": self.type,
            "category": self.category,
            "resource": self.resource,
            "source": self.source,
        }


@dataclass(slots=True)
class Problem:
    """A record (or a whole input) that could not be converted, and why.

    Keep `raw` (the offending line or element text, truncated) so nothing is lost: the store
    keeps rejected records with their reason.
    """

    file: str
    line: int | None
    field: str | None
    message: str
    severity: str = "error"
    raw: str | None = None
    fatal: bool = False  # the input as a whole could not be read (exit 2 from `hep convert`)

    def contract_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "severity": self.severity,
            "message": self.message,
        }


Item = Union[Record, Problem]


class FieldError(ValueError):
    """A value an adapter cannot map, naming the field (and line when the adapter knows it)."""

    def __init__(self, field: str, message: str, line: int | None = None):
        super().__init__(message)
        self.field = field
        self.line = line


class InputRefused(Exception):
    """The input as a whole is refused (hostile, too large, unreadable). Carries a clear message."""


# What a damaged container or CSV raises while being read: the input as a whole is refused (the
# ingest is atomic, so rows already read are rolled back), never a crash. NotImplementedError is
# zipfile's answer to a member packed with a compression method it does not support, not a stub.
DAMAGED_INPUT = (csv.Error, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, UnicodeDecodeError,
                 zipfile.LargeZipFile)


@contextlib.contextmanager
def refusing_damaged(name: str):
    try:
        yield
    except DAMAGED_INPUT as e:
        raise InputRefused(f"{name}: damaged input, refused whole ({type(e).__name__}: {e})") from None


def natural_key(*parts) -> str:
    """Stable key from identifying parts; short, so indexes stay small."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    if len(joined) <= 120:
        return joined
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()


def content_hash(resource: dict) -> str:
    return hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()


def open_text(path: Union[str, Path], encoding: str = "utf-8") -> IO[str]:
    """Open a text file, removing a UTF-8 BOM and keeping line endings (CRLF-safe)."""
    raw = open(path, "rb")
    head = raw.read(3)
    if head != codecs.BOM_UTF8:
        raw.seek(0)
    return io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")


def truncate(text: str | None, limit: int = 2000) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit] + "…"


CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def defuse_csv_cell(value: str) -> str:
    """Neutralise spreadsheet formula injection in values we later export as CSV."""
    if value and value[0] in CSV_FORMULA_PREFIXES and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False
