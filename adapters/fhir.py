"""FHIR R4 JSON input -> validated FHIR records.

Accepts a Bundle (transaction, batch, collection, document, searchset, message), a single
resource, or NDJSON (one resource per line; `.ndjson` / `.jsonl`, or any file whose first line
is a complete JSON object followed by more lines). Every resource is validated with its
`fhir.resources.R4B` model (resolved by resourceType; an unknown type is a Problem), categorised
and labelled by `sensitivity.classify` (labels already in meta.security count and are never
lowered), and given a deterministic id so a re-send updates instead of duplicating:

  key  = natural_key("fhir", sender, resourceType, source id)        when the resource has an id
       = natural_key("fhir", sender, resourceType, first identifier)  else, when it has one
       = natural_key("fhir", sender, resourceType, content hash)      else (urn:uuid-only entries)
  id   = uuid5(NAMESPACE, resourceType + key)

`sender` is the `sender` option, else Bundle.meta.source / resource meta.source, else "fhir".
References to resources in the same Bundle (fullUrl `urn:uuid:...`, `Type/id`, absolute URL)
and, in NDJSON, every relative `Type/id` reference are rewritten to the new ids. The Subject
of each record is the Bundle's Patient (identifiers `mrn|<system>` from Patient.identifier, plus
`source|fhir:<sender>` = the source Patient id, names, birthDate, gender F/M/X, postal code).

Problems name the file, the NDJSON line or the JSON path (`Bundle.entry[3].resource.code`) in
`field`, and the pydantic error location.

Options: sender, part2_program, minor_consented (SourceFacts for the whole file), validate,
max_bytes.
"""
from __future__ import annotations

import copy
import hashlib
import uuid
from pathlib import Path
from typing import Iterator, Union

import orjson
from pydantic import ValidationError

from . import sensitivity
from .ids import uuid5_str
from .base import InputRefused, Item, Problem, Record, Subject, natural_key, truncate

NAMESPACE = uuid.UUID("2b8a4f3e-61c7-5e0d-8c1a-5f7e9d3b2a60")
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
BUNDLE_TYPES = {"transaction", "batch", "collection", "document", "searchset", "message"}
SSN_SYSTEMS = {"http://hl7.org/fhir/sid/us-ssn", "urn:oid:2.16.840.1.113883.4.1"}
SEX = {"female": "F", "male": "M", "other": "X"}

_MODELS: dict[str, type | None] = {}


def model_for(rtype: str):
    if rtype not in _MODELS:
        from fhir.resources.R4B import get_fhir_model_class
        try:
            _MODELS[rtype] = get_fhir_model_class(rtype)
        except (KeyError, ValueError, AttributeError, ImportError):
            _MODELS[rtype] = None
    return _MODELS[rtype]


def resource_id(rtype: str, key: str) -> str:
    return uuid5_str(NAMESPACE, rtype + "\x1f" + key)


def _loc(loc) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


# --- identity ---------------------------------------------------------------------------------

def key_of(res: dict, sender: str) -> str:
    rtype = res.get("resourceType")
    if res.get("id"):
        return natural_key("fhir", sender, rtype, res["id"])
    idents = res.get("identifier")
    for ident in idents if isinstance(idents, list) else ():
        if isinstance(ident, dict) and ident.get("value"):
            return natural_key("fhir", sender, rtype, ident.get("system", ""), ident["value"])
    body = {k: v for k, v in res.items() if k not in ("id", "meta", "text")}
    return natural_key("fhir", sender, rtype, "sha256:" + hashlib.sha256(
        orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32])


def subject_of(pat: dict, sender: str) -> Subject:
    ids = []
    idents = pat.get("identifier")
    for ident in idents if isinstance(idents, list) else ():
        if not isinstance(ident, dict) or not isinstance(ident.get("value"), str) or not ident["value"]:
            continue
        system = ident.get("system") or ""
        codes = {c.get("code") for c in ((ident.get("type") or {}).get("coding") or ()) if isinstance(c, dict)}
        if system in SSN_SYSTEMS or "SS" in codes:
            continue  # never propagate an SSN
        ids.append((f"mrn|{system or (ident.get('assigner') or {}).get('display') or sender}", ident["value"]))
    if pat.get("id"):
        ids.append((f"source|fhir:{sender}", pat["id"]))
    names = [n for n in pat.get("name") or () if isinstance(n, dict)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = official.get("given") or []
    aliases = tuple(((n.get("given") or [""])[0], n.get("family") or "") for n in names
                    if n is not official and n.get("family"))
    postal = None
    for a in pat.get("address") or ():
        if isinstance(a, dict) and a.get("postalCode"):
            postal = a["postalCode"][:5]
            break
    birth = pat.get("birthDate")
    return Subject(identifiers=tuple(ids), given=given[0] if given else None, family=official.get("family"),
                   middle=given[1] if len(given) > 1 else None,
                   birth_date=birth if isinstance(birth, str) and len(birth) == 10 else None,
                   sex=SEX.get(pat.get("gender")), postal_code=postal, aliases=aliases)


def _rewrite(node, refmap: dict[str, str], relative: bool, found: set[str]) -> None:
    """Rewrite Reference.reference strings in place; collect the rewritten Patient references."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                new = refmap.get(v)
                if new is None and relative:
                    parts = v.split("/")
                    if len(parts) == 2 and parts[0][:1].isupper() and parts[1]:
                        new = f"{parts[0]}/{resource_id(parts[0], refmap['__key__'](parts[0], parts[1]))}"
                if new is not None:
                    node[k] = new
                    if new.startswith("Patient/"):
                        found.add(new)
            elif isinstance(v, (dict, list)) and k != "contained":
                _rewrite(v, refmap, relative, found)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, (dict, list)):
                _rewrite(v, refmap, relative, found)


# --- one resource -----------------------------------------------------------------------------

class _Converter:
    def __init__(self, name: str, options: dict):
        self.name = name
        self.options = options
        self.validate = options.get("validate", True)
        self.facts = sensitivity.SourceFacts(part2_program=bool(options.get("part2_program")),
                                             minor_consented=bool(options.get("minor_consented")))

    def one(self, res: dict, sender: str, refmap: dict, relative: bool, where: dict, path: str,
            subjects: dict[str, Subject], default_subject: Subject | None) -> Item:
        line = where.get("line")
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        if not isinstance(rtype, str):
            return Problem(self.name, line, path + ".resourceType", "not a FHIR resource (no resourceType)",
                           raw=truncate(orjson.dumps(res).decode(errors="replace"), 1000))
        model = model_for(rtype)
        if model is None:
            return Problem(self.name, line, path + ".resourceType",
                           f"unknown FHIR R4 resource type {rtype!r}",
                           raw=truncate(orjson.dumps(res).decode(errors="replace"), 1000))
        if self.validate:
            try:
                model.model_validate(res)
            except ValidationError as e:
                errs = e.errors()
                first = path + _loc(errs[0]["loc"]) if errs else path
                msg = "; ".join(f"{path}{_loc(x['loc'])}: {x['msg']}" for x in errs[:5])
                return Problem(self.name, line, first, f"{rtype} did not validate as FHIR R4: {msg}",
                               raw=truncate(orjson.dumps(res).decode(errors="replace"), 1000))
        res = copy.deepcopy(res)
        key = key_of(res, sender)
        res["id"] = resource_id(rtype, key)
        found: set[str] = set()
        _rewrite(res, refmap, relative, found)
        category, security = sensitivity.classify(res, self.facts)
        meta = dict(res.get("meta") or {})
        meta["security"] = security
        res["meta"] = meta
        if rtype == "Patient":
            subject = subjects.get(f"Patient/{res['id']}")
        else:
            subject = next((subjects[r] for r in sorted(found) if r in subjects), None) or default_subject
        labels = {}
        if self.facts.part2_program:
            labels["part2_program"] = True
        if self.facts.minor_consented:
            labels["minor_consented"] = True
        return Record(standard="fhir", type=rtype, category=category, resource=res,
                      source={"file": self.name, **where}, key=key, subject=subject, labels=labels)


# --- bundles and NDJSON -----------------------------------------------------------------------

def _sender(options: dict, res: dict) -> str:
    meta = res.get("meta") if isinstance(res, dict) else None
    source = meta.get("source") if isinstance(meta, dict) else None
    return options.get("sender") or (source if isinstance(source, str) else None) or "fhir"


def convert_bundle(bundle: dict, name: str, options: dict) -> Iterator[Item]:
    conv = _Converter(name, options)
    sender = _sender(options, bundle)
    if bundle.get("resourceType") != "Bundle":
        entries = [{"resource": bundle}]
        base = bundle.get("resourceType") if isinstance(bundle.get("resourceType"), str) else "resource"
        paths = [base]
    else:
        btype = bundle.get("type")
        if btype not in BUNDLE_TYPES:
            yield Problem(name, None, "Bundle.type", f"Bundle type {btype!r} is not read (expected one of "
                          f"{', '.join(sorted(BUNDLE_TYPES))})", fatal=True)
            return
        entries = bundle.get("entry") or []
        if not isinstance(entries, list):
            yield Problem(name, None, "Bundle.entry", "Bundle.entry is not a list", fatal=True)
            return
        paths = [f"Bundle.entry[{i}].resource" for i in range(len(entries))]
    # pass 1: ids, reference map, subjects
    refmap: dict = {"__key__": lambda t, i: natural_key("fhir", sender, t, i)}
    subjects: dict[str, Subject] = {}
    for e in entries:
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            continue
        rtype = res["resourceType"]
        new = f"{rtype}/{resource_id(rtype, key_of(res, sender))}"
        full = e.get("fullUrl")
        if isinstance(full, str) and full:
            refmap[full] = new
            tail = full.rstrip("/").split("/")
            if len(tail) >= 2 and tail[-2] == rtype:
                refmap[f"{tail[-2]}/{tail[-1]}"] = new
        if res.get("id"):
            refmap[f"{rtype}/{res['id']}"] = new
        if rtype == "Patient":
            subjects[new] = subject_of(res, sender)
    default_subject = next(iter(subjects.values())) if len(subjects) == 1 else None
    for i, e in enumerate(entries):
        path = paths[i]
        if not isinstance(e, dict):
            yield Problem(name, None, f"Bundle.entry[{i}]", "entry is not an object")
            continue
        res = e.get("resource")
        if res is None:
            req = e.get("request") or {}
            yield Problem(name, None, f"Bundle.entry[{i}]",
                          f"entry without a resource ({req.get('method', '?')} {req.get('url', '')}); not applied",
                          severity="warning")
            continue
        where = {"path": path}
        item = conv.one(res, sender, refmap, False, where, path, subjects, default_subject)
        if isinstance(item, Record) and isinstance(e.get("request"), dict) and e["request"].get("method") == "DELETE":
            item.action = "delete"
        yield item


def convert_ndjson(fh, name: str, options: dict) -> Iterator[Item]:
    conv = _Converter(name, options)
    sender_opt = options.get("sender")
    for n, raw in enumerate(fh, 1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            res = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            yield Problem(name, n, None, f"line is not JSON: {e}", raw=truncate(raw.decode(errors="replace"), 1000))
            continue
        if not isinstance(res, dict):
            yield Problem(name, n, None, "line is not a JSON object", raw=truncate(raw.decode(errors="replace"), 1000))
            continue
        if res.get("resourceType") == "Bundle":
            for item in convert_bundle(res, name, options):
                if isinstance(item, Problem) and item.line is None:
                    item.line = n
                elif isinstance(item, Record):
                    item.source["line"] = n
                yield item
            continue
        sender = sender_opt or _sender(options, res)
        refmap = {"__key__": lambda t, i, s=sender: natural_key("fhir", s, t, i)}
        subjects = {}
        if res.get("resourceType") == "Patient" and res.get("id"):
            subjects[f"Patient/{resource_id('Patient', key_of(res, sender))}"] = subject_of(res, sender)
        rtype = res.get("resourceType") if isinstance(res.get("resourceType"), str) else "resource"
        yield _ndjson_subject(conv.one(res, sender, refmap, True, {"line": n}, rtype, subjects, None), sender, res)


def _ndjson_subject(item: Item, sender: str, src: dict) -> Item:
    """In NDJSON a resource names its Patient only by reference: Subject = the source Patient id."""
    if isinstance(item, Record) and item.subject is None and item.type != "Patient":
        for field in ("subject", "patient", "beneficiary"):
            ref = (src.get(field) or {}).get("reference") if isinstance(src.get(field), dict) else None
            if isinstance(ref, str) and ref.startswith("Patient/"):
                item.subject = Subject(identifiers=((f"source|fhir:{sender}", ref.split("/", 1)[1]),))
                break
    return item


def convert(path: Union[str, Path], **options) -> Iterator[Item]:
    path = Path(path)
    name = path.name
    max_bytes = options.get("max_bytes", DEFAULT_MAX_BYTES)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputRefused(f"{name}: {size:,} bytes is over the {max_bytes:,}-byte limit for FHIR JSON")
    except InputRefused as e:
        yield Problem(name, None, None, str(e), fatal=True)
        return
    with open(path, "rb") as fh:
        head = fh.read(3)
        if head != b"\xef\xbb\xbf":
            fh.seek(0)
        ndjson = path.suffix.lower() in (".ndjson", ".jsonl")
        if not ndjson:
            start = fh.tell()
            first = fh.readline()
            second = fh.readline()
            fh.seek(start)
            if first.strip().startswith(b"{") and second.strip().startswith(b"{"):
                try:
                    orjson.loads(first)
                    ndjson = True
                except orjson.JSONDecodeError:
                    pass
        if ndjson:
            yield from convert_ndjson(fh, name, options)
            return
        data = fh.read()
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        yield Problem(name, None, None, f"{name}: not JSON ({e}); FHIR XML is not read", fatal=True)
        return
    if not isinstance(doc, dict):
        yield Problem(name, None, None, f"{name}: top-level JSON is not a FHIR resource", fatal=True)
        return
    yield from convert_bundle(doc, name, options)
