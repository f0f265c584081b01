"""C-CDA (CCD R1.1 / R2.1, H&P, Referral Note, header-only) -> FHIR R4 records.

`convert(path, **options)` yields Records (FHIR R4 JSON validated with fhir.resources R4B models)
and Problems. One bad entry becomes one Problem; the rest of the document still converts. The
whole input is refused (a fatal Problem) only when it is not safe or not a ClinicalDocument.

Options:
  part2_program     sender is a 42 CFR Part 2 program (SourceFacts)
  minor_consented   service consented to by the minor alone (SourceFacts)
  tz                IANA zone applied to timestamps that carry a time but no UTC offset; default None
                    keeps the date only (the original string is kept in an extension)
  validate          validate each resource with its R4B model (default True)
  max_bytes         size limit (default adapters.xmlsafe.DEFAULT_MAX_BYTES)

Decisions are documented in docs/hie-conversion.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from . import xmlsafe
from .base import InputRefused, Item, Problem
from .ccda_clinical import encounter, organizer_entry, procedure, social_entry
from .ccda_context import Ctx
from .ccda_datatypes import V3, T, TimePolicy, code_or_none, text_of, xpath_of
from .ccda_header import (confidentiality_label, document_labels, document_reference, finish_patient,
                          patient, provenance, providers, security_observations)
from .ccda_sections import (SECTION_NAMES, allergy_entry, immunization, medication_entry,
                            problem_entry, section_kind, statements)

DEFAULT_FALLBACK_TZ = "America/Los_Angeles"


def _dispatch(kind: str):
    return {
        "imm": immunization,
        "alg": allergy_entry,
        "med": medication_entry,
        "prob": lambda ctx, s, lab: problem_entry(ctx, s, lab),
        "dx": lambda ctx, s, lab: problem_entry(ctx, s, lab, encounter_dx=True),
        "enc": encounter,
        "res": lambda ctx, s, lab: organizer_entry(ctx, s, lab, "laboratory"),
        "vit": lambda ctx, s, lab: organizer_entry(ctx, s, lab, "vital-signs"),
        "soc": social_entry,
        "proc": procedure,
    }.get(kind)


def convert(path: Union[str, Path], **options) -> Iterator[Item]:
    path = Path(path)
    name = path.name
    max_bytes = options.get("max_bytes", xmlsafe.DEFAULT_MAX_BYTES)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputRefused(f"{name}: {size:,} bytes is over the {max_bytes:,}-byte limit for one XML document")
        data = path.read_bytes()
        root = xmlsafe.parse_bytes(data, name, max_bytes)
    except InputRefused as e:
        yield Problem(file=name, line=None, field=None, message=str(e), fatal=True)
        return
    if root.tag != T.ClinicalDocument:
        yield Problem(file=name, line=getattr(root, "sourceline", None), field="/",
                      message=f"{name}: root element is {root.tag!r}, not an HL7 v3 ClinicalDocument "
                              f"(namespace {V3})", fatal=True)
        return
    yield from convert_tree(root, name, data, **options)


def convert_tree(root, name: str, data: bytes = b"", **options) -> Iterator[Item]:
    policy = TimePolicy(options.get("tz"))
    ctx = Ctx(root, name, policy, options)
    ctx.fallback_tz = options.get("tz") or DEFAULT_FALLBACK_TZ
    body = root.find(f"{T.component}/{T.structuredBody}")
    document_labels(ctx, root, body)
    patient(ctx, root)
    pcps = providers(ctx, root)
    if getattr(ctx, "pending_patient", None):
        finish_patient(ctx, pcps)
    yield from _drain(ctx)
    if body is not None:
        for comp in body.iterchildren(T.component):
            sec = comp.find(T.section)
            if sec is not None:
                yield from _section(ctx, sec, [])
    docref = document_reference(ctx, root, data)
    provenance(ctx, root, docref)
    yield from _drain(ctx)


def _drain(ctx: Ctx):
    out, ctx.out = ctx.out, []
    yield from out


def _section(ctx: Ctx, sec, inherited: list[dict]):
    kind = section_kind(sec)
    labels = list(inherited)
    for c in confidentiality_label(sec):
        if c not in labels:
            labels.append(c)
    entries = list(sec.iterchildren(T.entry))
    mapper = _dispatch(kind) if kind else None
    if entries and kind != "ds4p":
        if mapper is None:
            code = sec.find(T.code)
            title = text_of(sec.find(T.title)) or (code.get("code") if code is not None else "untitled")
            ctx.problem(sec, f"section {title!r} ({len(entries)} entries) is not mapped to FHIR resources; "
                        "its content stays in the source DocumentReference", severity="warning",
                        field=xpath_of(sec))
        else:
            code = sec.find(T.code)
            sec_code = code_or_none(code) or kind
            for pos, entry in enumerate(entries, 1):
                ctx.section_pos = f"{sec_code}#{pos}"
                stmts = statements(entry)
                if not stmts:
                    ctx.problem(entry, f"{SECTION_NAMES[kind]} entry without a clinical statement")
                    continue
                for stmt in stmts:
                    try:
                        mapper(ctx, stmt, _entry_labels(stmt, labels))
                    except Exception as e:  # one bad entry never fails the document
                        ctx.problem(stmt, f"could not convert {SECTION_NAMES[kind]} entry: {type(e).__name__}: {e}")
                yield from _drain(ctx)
    for comp in sec.iterchildren(T.component):
        sub = comp.find(T.section)
        if sub is not None:
            yield from _section(ctx, sub, labels)
    yield from _drain(ctx)


def _entry_labels(stmt, section_labels: list[dict]) -> list[dict]:
    extra = confidentiality_label(stmt)
    if stmt.find(f".//{T.observation}/{T.templateId}") is not None:
        extra += security_observations(stmt)
    if not extra:
        return section_labels
    out = list(section_labels)
    for c in extra:
        if c not in out:
            out.append(c)
    return out
