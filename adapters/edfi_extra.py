"""Glue the OneRoster, SIF and Ed-Fi input adapters share on top of adapters.edfi_common.

* `edfi_record(collection, resource, source, subject)` builds the Record (category, natural key);
* `validate_json(collection, resource)` runs adapters.edfi_schema.validate when that module is
  present, else checks the required properties of the resource shape;
* `student_subject(...)` derives the identity Subject of an Ed-Fi resource;
* `key_of` / `category` cover the collections edfi_common does not list (program subclasses,
  section associations and section attendance).
"""
from __future__ import annotations

import re

import orjson

from .base import Record, Subject, natural_key
from . import edfi_common as ec
from .edfi_xml_shapes import COLLECTIONS, IDENTITY, REQUIRED, SHAPES

_SHAPE_OF = {c: s for c, s in COLLECTIONS.values()}
_SSID = re.compile(r"^\d{10}$")
_CDS7 = re.compile(r"^\d{7}$")
SEX_CODE = {"Female": "F", "Male": "M", "Not Selected": None, "Non-binary": "X", "X": "X"}

try:  # the marshmallow schemas (another module); checked at import so a missing one costs nothing per record
    from . import edfi_schema as _schema  # type: ignore
except ImportError:  # pragma: no cover - until edfi_schema lands
    _schema = None


def validate_json(collection: str, resource: dict) -> list[tuple[str, str]]:
    """[(json path, message)] for a resource that breaks the Ed-Fi API rules; [] when valid."""
    if _schema is not None and hasattr(_schema, "validate"):
        try:
            errs = _schema.validate(collection, resource)
        except KeyError:
            errs = None             # a collection edfi_schema has no schema for: fall back below
        if errs is not None:
            errs = _normalise(errs)
            if not (len(errs) == 1 and errs[0][1].startswith("unknown Ed-Fi collection")):
                return errs
    out = []
    for prop in REQUIRED.get(collection, ()):
        if resource.get(prop) in (None, "", [], {}):
            out.append((f"$.{prop}", "Missing data for required field."))
    return out


UNKNOWN_FIELD = "Unknown field."


def validate_and_prune(collection: str, resource: dict) -> tuple[list[tuple[str, str]], list[str]]:
    """Validate; properties the gateway's Ed-Fi profile does not keep (valid Ed-Fi, but not in
    adapters.edfi_schema) are removed from `resource` and returned as dropped paths, so the caller
    reports them instead of rejecting the record. Returns (remaining errors, dropped paths)."""
    errs = validate_json(collection, resource)
    dropped = [p for p, m in errs if m == UNKNOWN_FIELD]
    if not dropped:
        return errs, []
    for p in dropped:
        _remove(resource, p.split("."))
    return validate_json(collection, resource), dropped


def _remove(node, parts: list[str]) -> None:
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def _normalise(errs) -> list[tuple[str, str]]:
    if not errs:
        return []
    if isinstance(errs, dict):
        out = []
        for k, v in errs.items():
            msgs = v if isinstance(v, list) else [v]
            out.append((str(k), "; ".join(str(m) for m in msgs)))
        return out
    return [(str(e[0]), str(e[1])) if isinstance(e, (tuple, list)) else ("$", str(e)) for e in errs]


def category(collection: str, resource: dict) -> str:
    try:
        return ec.category_of(collection, resource)
    except KeyError:
        if collection.endswith("ProgramAssociations"):
            prog = resource.get("programReference") or {}
            return ec.program_category(prog.get("programTypeDescriptor"))
        if collection.startswith("studentSection"):
            return "attendance" if "Attendance" in collection else "grades_transcripts_credits"
        return "enrollment_school_placement"


def key_of(collection: str, resource: dict) -> str:
    """The natural key within the collection (the store scopes keys by collection already), the
    same string every adapter and the Ed-Fi API compute, so a record from any source updates
    the one stored."""
    try:
        return natural_key(*ec.key_parts(collection, resource))
    except (KeyError, TypeError):
        pass
    shape = SHAPES.get(_SHAPE_OF.get(collection, ""), {})
    parts: list = []
    for prop in IDENTITY.get(collection, ()):
        parts.append(resource.get(prop))
    for prop in sorted(REQUIRED.get(collection, ())):
        if shape.get(prop, "").startswith("r:"):
            parts.append(orjson.dumps(resource.get(prop), option=orjson.OPT_SORT_KEYS).decode())
    return natural_key(*parts)


def edfi_record(collection: str, resource: dict, source: dict, subject: Subject | None,
                action: str = "upsert", labels: dict | None = None) -> Record:
    labels = dict(labels or {})
    if collection in ec.REFERENCE_COLLECTIONS:
        labels.setdefault("reference_data", True)
    return Record(standard="edfi", type=collection, category=category(collection, resource), resource=resource,
                  source=source, key=key_of(collection, resource), subject=subject, labels=labels, action=action)


def unique_id_identifiers(uid: str, source: str, ssid_mode="auto") -> tuple[tuple[str, str], ...]:
    """Identifiers for an Ed-Fi studentUniqueId: always the per-source id; also the SSID when the
    feed follows the gateway convention studentUniqueId = SSID (ssid_mode True, or "auto" and the
    id is 10 digits)."""
    ids = [(f"source|{source}", uid)]
    if ssid_mode is True or (ssid_mode == "auto" and _SSID.match(uid or "")):
        ids.insert(0, ("ssid", uid))
    return tuple(ids)


def _sex(desc: str | None) -> str | None:
    code = ec.code_of(desc)
    return SEX_CODE.get(code, None) if code else None


def student_subject(collection: str, r: dict, *, source: str = "edfi", ssid_mode="auto") -> Subject | None:
    """The Subject of an Ed-Fi resource (None for schools and districts)."""
    if collection == "students":
        uid = r.get("studentUniqueId")
        return Subject(identifiers=unique_id_identifiers(uid, source, ssid_mode), given=r.get("firstName"),
                       family=r.get("lastSurname"), middle=r.get("middleName"), birth_date=r.get("birthDate"))
    ref = r.get("studentReference") or r.get("studentSectionAssociationReference") \
        or r.get("studentAcademicRecordReference") or {}
    uid = ref.get("studentUniqueId")
    if not uid:
        return None
    ids = list(unique_id_identifiers(uid, source, ssid_mode))
    sex = None
    if collection == "studentEducationOrganizationAssociations":
        sex = _sex(r.get("sexDescriptor"))
        edorg = (r.get("educationOrganizationReference") or {}).get("educationOrganizationId")
        for code in r.get("studentIdentificationCodes") or ():
            value = (code.get("identificationCode") or "").strip()
            assigning = (code.get("assigningOrganizationIdentificationCode") or "").strip().lower()
            system = ec.code_of(code.get("studentIdentificationSystemDescriptor")) or ""
            if not value:
                continue
            if system == "State" or assigning in ("state", "sea", "cde", "ca"):
                if ("ssid", value) not in ids:
                    ids.insert(0, ("ssid", value))
            elif system in ("District", "Local", "LEA") and edorg is not None and _CDS7.match(f"{int(edorg):07d}") \
                    and int(edorg) < 10_000_000:
                ids.append((f"lea-student|{int(edorg):07d}", value))
    return Subject(identifiers=tuple(ids), sex=sex)
