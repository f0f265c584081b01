"""Ed-Fi Data Standard 5.2 XML interchanges -> Ed-Fi API JSON records.

Input: one interchange file (`InterchangeStudent`, `InterchangeStudentEnrollment`, ...) or a folder
of them. Each document is streamed record by record (xmlsafe.iterparse_file); each record is
validated against the official interchange XSD (chosen from the root element; the XSD folder is the
`xsd_dir` option or `HEP_EDFI_XSD_DIR`, either the folder of Interchange-*.xsd files or one holding
`<version>/` folders). Without an XSD folder the adapter checks structure only (root, namespace,
shapes, required JSON fields) and says so in a warning Problem. A record that fails validation or
conversion becomes a Problem with its line and element; the other records still come through.

Converted collections (adapters/edfi_xml_shapes.COLLECTIONS): Student, School, LocalEducationAgency,
StudentSchoolAssociation, StudentEducationOrganizationAssociation, StudentSchool/SectionAttendanceEvent,
StudentSectionAssociation, the student program associations (special education, homeless, CTE,
migrant, Title I, food service, language instruction, neglected/delinquent), CourseTranscript,
StudentAcademicRecord, Grade, DisciplineIncident, DisciplineAction,
StudentDisciplineIncidentBehaviorAssociation. Other entities (contacts, courses, sections,
descriptors...) are counted and reported in one warning per entity type and file.
"""
from __future__ import annotations

import copy
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from lxml import etree

from . import xmlsafe
from .base import InputRefused, Item, Problem, truncate
from .edfi_extra import edfi_record, student_subject, validate_and_prune
from .edfi_xml_convert import ConvertError, Converter, local
from .edfi_xml_shapes import COLLECTIONS

NS_PREFIX = "http://ed-fi.org/"
SUPPORTED_VERSIONS = ("5.2.0", "5.1.0", "5.0.0")
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?(Interchange[A-Za-z]+)\b([^>]*)>")
_XMLNS = re.compile(rb"""xmlns(?::([\w.\-]+))?\s*=\s*["']([^"']*)["']""")
_ELEMENT_MSG = re.compile(r"Element '(?:\{[^}]*\})?([^']+)'")


def xsd_folder(option: str | Path | None, version: str) -> Path | None:
    """The folder holding Interchange-*.xsd for `version`, from the option or HEP_EDFI_XSD_DIR."""
    base = option or os.environ.get("HEP_EDFI_XSD_DIR")
    if not base:
        return None
    base = Path(base)
    for cand in (base / version, base):
        if (cand / "Ed-Fi-Core.xsd").exists():
            return cand
    return None


@lru_cache(maxsize=64)
def _schema(folder: str, interchange: str) -> etree.XMLSchema:
    path = Path(folder) / f"Interchange-{interchange[len('Interchange'):]}.xsd"
    if not path.exists():
        raise InputRefused(f"no XSD {path.name} in {folder} for root element {interchange}")
    # the XSD folder is operator configuration, not input: parsed with a base URL so xs:include of
    # Ed-Fi-Core.xsd resolves, still with no network access and no entity expansion
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser=parser))


def _root_of(path: Path) -> tuple[str, str]:
    """(root local name, namespace) from the document head, without building a tree."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    xmlsafe.check_prolog(head, path.name)
    m = _ROOT.search(head)
    if not m:
        raise InputRefused(f"{path.name}: no Ed-Fi Interchange root element in the first 64 KB")
    try:
        prefix = (m.group(1) or b"")[:-1].decode()
        ns = next((v.decode() for p, v in _XMLNS.findall(m.group(3)) if (p or b"").decode() == prefix), "")
        return m.group(2).decode(), ns
    except UnicodeDecodeError:
        raise InputRefused(f"{path.name}: the root element is not valid UTF-8") from None


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.xml") if p.is_file())
    return [path]


def convert(path, *, xsd_dir: str | Path | None = None, source: str = "edfi", validate: bool = True,
            unique_id_is_ssid: str | bool = "auto", **_options) -> Iterator[Item]:
    """Stream records and problems from an Ed-Fi XML interchange file or folder."""
    path = Path(path)
    if not path.exists():
        raise InputRefused(f"{path}: no such file or folder")
    warned_no_xsd = False
    for f in _files(path):
        try:
            root, ns = _root_of(f)
        except InputRefused as e:
            yield Problem(file=f.name, line=None, field=None, message=str(e), fatal=path.is_file())
            continue
        version = ns[len(NS_PREFIX):] if ns.startswith(NS_PREFIX) else ""
        if version not in SUPPORTED_VERSIONS:
            yield Problem(file=f.name, line=1, field=root, fatal=path.is_file(),
                          message=f"namespace {ns!r} is not an Ed-Fi Data Standard 5.x namespace "
                                  f"({', '.join(NS_PREFIX + v for v in SUPPORTED_VERSIONS)})")
            continue
        schema = None
        if validate:
            folder = xsd_folder(xsd_dir, version)
            if folder is None:
                if not warned_no_xsd:
                    warned_no_xsd = True
                    yield Problem(file=f.name, line=None, field=None, severity="warning",
                                  message="no Ed-Fi XSD folder (option xsd_dir or HEP_EDFI_XSD_DIR): documents are "
                                          "checked structurally only, not against the official XSD")
            else:
                try:
                    schema = _schema(str(folder), root)
                except (InputRefused, etree.XMLSchemaParseError) as e:
                    yield Problem(file=f.name, line=1, field=root, message=str(e), fatal=path.is_file())
                    continue
        yield from _convert_file(f, root, ns, schema, source, unique_id_is_ssid)


def _convert_file(f: Path, root: str, ns: str, schema, source: str, ssid_mode) -> Iterator[Item]:
    skipped: dict[str, int] = {}
    unmapped: dict[str, int] = {}
    conv = Converter(on_unmapped=lambda p: unmapped.__setitem__(p, unmapped.get(p, 0) + 1))
    tags = [f"{{{ns}}}{name}" for name in COLLECTIONS]
    converted = set(tags)
    seen = False
    try:
        for el in xmlsafe.iterparse_file(f, tags):
            parent = el.getparent()
            if parent is None or parent.getparent() is not None:
                continue            # a nested element of the same name: part of its record, not a record
            seen = True
            prev = el.getprevious()
            while prev is not None:      # root children we do not convert, about to be discarded
                if prev.tag in converted:
                    break                # the previous record (already converted); older siblings are gone
                if isinstance(prev.tag, str):
                    if prev.get("id"):
                        conv.remember(prev.get("id"), prev)
                    skipped[local(prev.tag)] = skipped.get(local(prev.tag), 0) + 1
                prev = prev.getprevious()
            yield from _one(el, f, root, ns, schema, conv, source, ssid_mode)
    except InputRefused as e:
        yield Problem(file=f.name, line=None, field=None, message=str(e), fatal=True)
        return
    if not seen:
        _count_all(f, skipped)
    for name, n in sorted(skipped.items()):
        yield Problem(file=f.name, line=None, field=name, severity="warning",
                      message=f"{n} {name} element(s) not converted: not a collection the gateway keeps")
    for p, n in sorted(unmapped.items()):
        yield Problem(file=f.name, line=None, field=p, severity="warning",
                      message=f"{n} value(s) at {p} have no Ed-Fi API JSON property and were not carried over")


def _count_all(f: Path, skipped: dict) -> None:
    """A file with none of the converted entities (descriptors, master schedule...): count its records."""
    try:
        tree = xmlsafe.parse_file(f)
    except InputRefused:
        return
    for child in tree:
        if isinstance(child.tag, str):
            skipped[local(child.tag)] = skipped.get(local(child.tag), 0) + 1


def _validate_xsd(el, root: str, ns: str, schema) -> tuple[int | None, str, str] | None:
    doc = etree.Element(f"{{{ns}}}{root}", nsmap={None: ns})
    c = copy.deepcopy(el)
    for r in c.iter():
        if isinstance(r.tag, str) and "ref" in r.attrib:
            del r.attrib["ref"]     # IDREFs are resolved by the converter against the whole file
    doc.append(c)
    if schema.validate(doc):
        return None
    err = schema.error_log[0]
    m = _ELEMENT_MSG.search(err.message)
    return err.line, (m.group(1) if m else local(el.tag)), err.message


def _one(el, f: Path, root: str, ns: str, schema, conv: Converter, source: str, ssid_mode) -> Iterator[Item]:
    name = local(el.tag)
    collection, shape = COLLECTIONS[name]
    line = el.sourceline
    if schema is not None:
        bad = _validate_xsd(el, root, ns, schema)
        if bad:
            yield Problem(file=f.name, line=bad[0] or line, field=bad[1],
                          message=f"{name} is not valid against the Ed-Fi XSD: {bad[2]}",
                          raw=truncate(etree.tostring(el, encoding="unicode"), 2000))
            return
    try:
        res = conv.record(el, shape)
    except ConvertError as e:
        yield Problem(file=f.name, line=e.line or line, field=e.field, message=f"{name}: {e}",
                      raw=truncate(etree.tostring(el, encoding="unicode"), 2000))
        return
    errors, dropped = validate_and_prune(collection, res)
    for p in dropped:
        conv.on_unmapped(f"{name}/{p} (not in the gateway's Ed-Fi profile)")
    if errors:
        fld, msg = errors[0]
        yield Problem(file=f.name, line=line, field=fld, message=f"{name}: {fld}: {msg}",
                      raw=truncate(etree.tostring(el, encoding="unicode"), 2000))
        return
    subject = student_subject(collection, res, source=source, ssid_mode=ssid_mode)
    yield edfi_record(collection, res, {"file": f.name, "line": line}, subject)
