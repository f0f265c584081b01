"""HL7 v2 VXU^V04 (2.5.1, CDC IIS implementation guide shape) -> FHIR R4 Patient + Immunization.

`convert(path, **options)` streams a file holding one message, several messages, or an
FHS/BHS batch, with CR, LF or CRLF segment terminators (MLLP framing bytes are ignored). Each
message's separators come from its own MSH-1/MSH-2. A message that cannot be read becomes one
Problem (file, segment line, field such as "RXA-3") and the rest of the batch continues; a bad
RXA group costs only that immunization. RSP^K11 query responses carry the same segment groups
and are read the same way. Layout and decisions: docs/formats/hl7v2.md.

Options:
  validate   validate each resource with its R4B model (default True)
  max_bytes  size limit (default 512 MB)
"""
from __future__ import annotations

import io
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Iterator, Union

from pydantic import ValidationError

from . import sensitivity
from .ids import uuid5_str
from .base import FieldError, InputRefused, Item, Problem, Record, Subject, natural_key, truncate

NAMESPACE = uuid.UUID("0d3c6b1e-8f0a-5d43-9e0b-2a7f1c5e9b11")
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
SUPPORTED = {("VXU", "V04"), ("RSP", "K11")}
ENVELOPE = {"FHS", "BHS", "BTS", "FTS"}

CVX = "http://hl7.org/fhir/sid/cvx"
MVX = "http://hl7.org/fhir/sid/mvx"
CODE_SYSTEMS = {
    "CVX": CVX, "HL70292": CVX, "NDC": "http://hl7.org/fhir/sid/ndc",
    "MVX": MVX, "HL70227": MVX,
    "NIP002": "urn:oid:2.16.840.1.114222.4.11.1005",  # CDC PHIN VS "Immunization refusal reason"
    "HL70162": "http://terminology.hl7.org/CodeSystem/v2-0162",
    "HL70163": "http://terminology.hl7.org/CodeSystem/v2-0163",
    "NCIT": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl",
    "UCUM": "http://unitsofmeasure.org",
    "HL70064": "http://terminology.hl7.org/CodeSystem/v2-0064",
    "SCT": "http://snomed.info/sct", "LN": "http://loinc.org",
}
GENDER = {"F": "female", "M": "male", "O": "other", "U": "unknown", "A": "other", "N": "other", "X": "other"}
SUBJECT_SEX = {"F": "F", "M": "M", "O": "X", "A": "X", "N": "X", "X": "X"}
MRN_TYPES = {"MR", "MRN", "PI", "PT", "PN", "MA", "SR", ""}  # SS (SSN) and DL never leave the adapter
_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$")

_MODELS: dict[str, type] = {}


def _model(rtype: str):
    m = _MODELS.get(rtype)
    if m is None:
        from fhir.resources.R4B import get_fhir_model_class
        m = _MODELS[rtype] = get_fhir_model_class(rtype)
    return m


def resource_id(rtype: str, key: str) -> str:
    return uuid5_str(NAMESPACE, rtype + "\x1f" + key)


# --- segments -------------------------------------------------------------------------------

class Segment:
    """One segment, split on the message's separators; values are unescaped on access."""

    __slots__ = ("name", "fields", "line", "enc", "text")

    def __init__(self, text: str, line: int, enc: "Encoding"):
        self.line = line
        self.text = text
        self.enc = enc
        parts = text.split(enc.field)
        self.name = parts[0].strip()
        if self.name == "MSH":  # MSH-1 is the field separator itself, MSH-2 the encoding characters
            self.fields = ["MSH", enc.field] + parts[1:]
        else:
            self.fields = parts

    def raw(self, n: int) -> str:
        return self.fields[n] if n < len(self.fields) else ""

    def reps(self, n: int) -> list[str]:
        v = self.raw(n)
        if not v or (self.name == "MSH" and n <= 2):
            return [v] if v else []
        return v.split(self.enc.rep)

    def comp(self, n: int, c: int = 1, s: int = 1, rep: int = 0, value: str | None = None) -> str:
        """Field n, repetition rep, component c, subcomponent s (1-based), unescaped and stripped."""
        if value is None:
            r = self.reps(n)
            if rep >= len(r):
                return ""
            value = r[rep]
        comps = value.split(self.enc.comp)
        if c > len(comps):
            return ""
        subs = comps[c - 1].split(self.enc.sub)
        if s > len(subs):
            return ""
        return self.enc.unescape(subs[s - 1]).strip()

    def components(self, value: str) -> list[str]:
        return [self.enc.unescape(x.split(self.enc.sub)[0]).strip() for x in value.split(self.enc.comp)]


class Encoding:
    __slots__ = ("field", "comp", "rep", "esc", "sub", "_re")

    def __init__(self, field: str, chars: str):
        self.field = field
        chars = chars + "^~\\&"[len(chars):] if len(chars) < 4 else chars
        self.comp, self.rep, self.esc, self.sub = chars[0], chars[1], chars[2], chars[3]
        e = re.escape(self.esc)
        self._re = re.compile(e + r"(F|S|T|R|E|H|N|\.br|X[0-9A-Fa-f]*|C[0-9A-Fa-f]*|M[0-9A-Fa-f]*|Z[^" + e + r"]*)" + e)

    def unescape(self, v: str) -> str:
        if self.esc not in v:
            return v
        return self._re.sub(self._sub, v)

    def _sub(self, m) -> str:
        t = m.group(1)
        if t == "F":
            return self.field
        if t == "S":
            return self.comp
        if t == "T":
            return self.sub
        if t == "R":
            return self.rep
        if t == "E":
            return self.esc
        if t == ".br":
            return "\n"
        if t[0] == "X" and len(t) > 1 and len(t) % 2 == 1:
            try:
                return bytes.fromhex(t[1:]).decode("utf-8")
            except ValueError:
                return bytes.fromhex(t[1:]).decode("latin-1")
        return ""  # \H\ \N\ highlighting, \C..\ \M..\ character-set switches, \Z..\ local


# --- reading --------------------------------------------------------------------------------

def _lines(path: Path, max_bytes: int) -> Iterator[tuple[int, str]]:
    size = path.stat().st_size
    if size > max_bytes:
        raise InputRefused(f"{path.name}: {size:,} bytes is over the {max_bytes:,}-byte limit for an HL7 v2 file")
    raw = open(path, "rb")
    if raw.read(3) != b"\xef\xbb\xbf":
        raw.seek(0)
    # newline=None: CR, LF and CRLF all end a segment
    with io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=None) as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\n").strip("\x0b\x1c\x00")
            if line.strip():
                yield n, line


def _messages(path: Path, max_bytes: int) -> Iterator[tuple[int, list[tuple[int, str]]] | Problem]:
    """(line of MSH, [(line, text), ...]) per message; stray segments become Problems."""
    current: list[tuple[int, str]] | None = None
    for n, text in _lines(path, max_bytes):
        tag = text[:3]
        if tag == "MSH":
            if current:
                yield current[0][0], current
            current = [(n, text)]
        elif tag in ENVELOPE:
            if current:
                yield current[0][0], current
                current = None
        elif current is None:
            yield Problem(file=path.name, line=n, field=tag or None,
                          message=f"segment {tag!r} outside a message (no MSH before it); skipped",
                          raw=truncate(text, 500))
        else:
            current.append((n, text))
    if current:
        yield current[0][0], current


def _parse(lines: list[tuple[int, str]]) -> list[Segment]:
    first = lines[0][1]
    if len(first) < 8:
        raise FieldError("MSH-2", "MSH segment too short to hold its separators", lines[0][0])
    fs = first[3]
    enc_end = first.find(fs, 4)
    chars = first[4:enc_end if enc_end > 0 else None]
    if fs.isalnum() or len(chars) < 2 or len(set(chars + fs)) != len(chars) + 1:
        raise FieldError("MSH-2", f"unusable separators {fs + chars!r} in MSH-1/MSH-2", lines[0][0])
    enc = Encoding(fs, chars[:4])
    return [Segment(t, n, enc) for n, t in lines]


# --- datatypes ------------------------------------------------------------------------------

def ts(value: str, field: str, line: int, required: bool = False) -> str | None:
    """HL7 TS/DTM -> FHIR date or dateTime. A time without a UTC offset keeps the date only."""
    v = value.strip()
    if not v:
        if required:
            raise FieldError(field, f"{field} is required (date/time of administration)", line)
        return None
    m = _TS.match(v)
    if not m:
        raise FieldError(field, f"{field} {v!r} is not an HL7 date/time (YYYYMMDD[HHMM[SS]][+/-ZZZZ])", line)
    y, mo, d, hh, mi, ss, frac, off = m.groups()
    try:
        date(int(y), int(mo or 1), int(d or 1))
        if hh and (int(hh) > 23 or int(mi or 0) > 59 or int(ss or 0) > 59):
            raise ValueError
    except ValueError:
        raise FieldError(field, f"{field} {v!r} is not a valid date/time", line) from None
    if not mo:
        return y
    if not d:
        return f"{y}-{mo}"
    out = f"{y}-{mo}-{d}"
    if hh and off:
        out += f"T{hh}:{mi or '00'}:{ss or '00'}{frac or ''}{off[:3]}:{off[3:]}"
    return out


def coding(seg: Segment, n: int, rep: int = 0) -> list[dict]:
    """CE/CWE -> Codings (identifier^text^system, alternate in components 4-6)."""
    r = seg.reps(n)
    if rep >= len(r):
        return []
    c = seg.components(r[rep])
    out = []
    for i in (0, 3):
        code = c[i] if len(c) > i else ""
        if not code:
            continue
        d = {}
        system = (c[i + 2] if len(c) > i + 2 else "").upper()
        if system:
            d["system"] = CODE_SYSTEMS.get(system, f"urn:hl7v2:table:{system}" if system.isalnum() else system)
        d["code"] = code
        if len(c) > i + 1 and c[i + 1]:
            d["display"] = c[i + 1]
        out.append(d)
    return out


def cc(codings: list[dict], text: str | None = None) -> dict | None:
    if not codings and not text:
        return None
    d = {}
    if codings:
        d["coding"] = codings
    if text:
        d["text"] = text
    return d


# --- PID -> Patient + Subject ---------------------------------------------------------------

def _authority(seg: Segment, value: str) -> tuple[str, str | None]:
    comps = value.split(seg.enc.comp)
    hd = comps[3] if len(comps) > 3 else ""
    subs = [seg.enc.unescape(s).strip() for s in hd.split(seg.enc.sub)]
    namespace = subs[0] if subs else ""
    universal = subs[1] if len(subs) > 1 else ""
    utype = subs[2] if len(subs) > 2 else ""
    oid = universal if universal and (utype.upper() == "ISO" or re.fullmatch(r"[0-2](\.\d+)+", universal)) else None
    return namespace or universal, oid


def patient(pid: Segment, sender: str) -> tuple[dict, Subject, str]:
    idents, subj_ids, key_parts = [], [], []
    for rep in pid.reps(3):
        c = pid.components(rep)
        value = c[0] if c else ""
        if not value:
            continue
        id_type = (c[4] if len(c) > 4 else "").upper()
        if id_type in ("SS", "SSN", "DL"):
            continue
        authority, oid = _authority(pid, rep)
        authority = authority or sender
        ident = {"value": value}
        if oid:
            ident["system"] = f"urn:oid:{oid}"
        if id_type:
            ident["type"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": id_type}]}
        if authority:
            ident["assigner"] = {"display": authority}
        idents.append(ident)
        if id_type in MRN_TYPES:
            subj_ids.append((f"mrn|{authority}", value))
        else:
            subj_ids.append((f"source|{authority}-{id_type}", value))
        key_parts.append(f"{authority}|{id_type}|{value}")
    if not idents:
        raise FieldError("PID-3", "PID-3 has no patient identifier", pid.line)
    names, given, family, middle, aliases = [], None, None, None, []
    for i, rep in enumerate(pid.reps(5)):
        c = pid.components(rep)
        fam = c[0] if c else ""
        giv = c[1] if len(c) > 1 else ""
        mid = c[2] if len(c) > 2 else ""
        ntype = c[6] if len(c) > 6 else ""
        if not fam and not giv:
            continue
        hn = {}
        if fam:
            hn["family"] = fam
        g = [x for x in (giv, mid) if x]
        if g:
            hn["given"] = g
        hn["use"] = {"L": "official", "A": "usual", "M": "maiden", "N": "nickname"}.get(
            ntype, "official" if i == 0 else "usual")
        names.append(hn)
        if family is None:
            family, given, middle = fam or None, giv or None, mid or None
        else:
            aliases.append((giv, fam))
    res: dict = {"resourceType": "Patient", "identifier": idents}
    if names:
        res["name"] = names
    birth = ts(pid.comp(7), "PID-7", pid.line)
    if birth:
        birth = birth[:10]
        res["birthDate"] = birth
    sex = pid.comp(8).upper()
    if sex:
        res["gender"] = GENDER.get(sex, "unknown")
    addrs, postal = [], None
    for rep in pid.reps(11):
        c = pid.components(rep) + [""] * 6
        a = {}
        lines = [x for x in (c[0], c[1]) if x]
        if lines:
            a["line"] = lines
        for k, i in (("city", 2), ("state", 3), ("postalCode", 4), ("country", 5)):
            if c[i]:
                a[k] = c[i]
        if a:
            addrs.append(a)
            if postal is None and c[4]:
                postal = c[4][:5]
    if addrs:
        res["address"] = addrs
    phones = []
    for rep in pid.reps(13):
        c = pid.components(rep) + [""] * 7
        number = c[0] or (f"({c[5]}) {c[6][:3]}-{c[6][3:]}" if c[5] and len(c[6]) == 7 else (c[5] + c[6]))
        if number:
            phones.append({"system": "phone", "value": number, "use": "home"})
    if phones:
        res["telecom"] = phones
    subject = Subject(identifiers=tuple(subj_ids), given=given, family=family, middle=middle,
                      birth_date=birth if birth and len(birth) == 10 else None,
                      sex=SUBJECT_SEX.get(sex), postal_code=postal, aliases=tuple(aliases))
    key = natural_key("hl7v2", *sorted(key_parts))
    res["id"] = resource_id("Patient", key)
    return res, subject, key


# --- ORC/RXA/RXR/OBX -> Immunization --------------------------------------------------------

def _xcn(seg: Segment, n: int) -> dict | None:
    r = seg.reps(n)
    if not r:
        return None
    c = seg.components(r[0]) + [""] * 9
    name = " ".join(x for x in (c[2], c[3], c[1]) if x)
    if not name and not c[0]:
        return None
    ref: dict = {}
    if name:
        ref["display"] = name
    if c[0]:
        ref["identifier"] = {"value": c[0]}
        if c[8]:
            ref["identifier"]["assigner"] = {"display": c[8]}
    return ref


def immunization(group: dict, patient_ref: str, sender: str, patient_key: str) -> tuple[dict, str, str]:
    rxa: Segment = group["RXA"]
    orc: Segment | None = group.get("ORC")
    line = rxa.line
    vaccine = coding(rxa, 5)
    if not vaccine:
        raise FieldError("RXA-5", "RXA-5 (administered code, CVX) is empty", line)
    occurred = ts(rxa.comp(3), "RXA-3", line, required=True)
    status_code = rxa.comp(20).upper()
    if status_code not in ("", "CP", "RE", "NA", "PA"):
        raise FieldError("RXA-20", f"RXA-20 completion status {status_code!r} is not CP, RE, NA or PA", line)
    res: dict = {"resourceType": "Immunization",
                 "status": "not-done" if status_code in ("RE", "NA") else "completed",
                 "vaccineCode": {"coding": vaccine},
                 "patient": {"reference": patient_ref},
                 "occurrenceDateTime": occurred}
    if status_code == "PA":
        res["isSubpotent"] = True
    filler = orc.comp(3) if orc is not None else ""
    if filler:
        res["identifier"] = [{"value": filler, **({"system": f"urn:oid:{orc.comp(3, 3)}"}
                                                   if re.fullmatch(r"[0-2](\.\d+)+", orc.comp(3, 3)) else {})}]
    origin = rxa.comp(9)
    if origin:
        res["primarySource"] = origin == "00"
        if origin != "00":
            res["reportOrigin"] = cc(coding(rxa, 9))
    amount = rxa.comp(6)
    if amount and amount != "999":
        try:
            qty = {"value": float(amount)}
        except ValueError:
            raise FieldError("RXA-6", f"RXA-6 administered amount {amount!r} is not a number", line) from None
        unit = rxa.comp(7)
        if unit:
            qty["unit"] = unit
            if rxa.comp(7, 3).upper() == "UCUM":
                qty.update(system="http://unitsofmeasure.org", code=unit)
        res["doseQuantity"] = qty
    performer = _xcn(rxa, 10)
    if performer:
        res["performer"] = [{"function": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0443",
                                                        "code": "AP", "display": "Administering Provider"}]},
                             "actor": performer}]
    # RXA-11 administered-at location (LA2): facility is component 4 (HD)
    place = rxa.comp(11, 4) or rxa.comp(11, 1)
    if place:
        res["location"] = {"display": place}
    lot = rxa.comp(15)
    if lot:
        res["lotNumber"] = lot
    exp = ts(rxa.comp(16), "RXA-16", line)
    if exp:
        res["expirationDate"] = exp[:10] if len(exp) >= 10 else None
        if not res["expirationDate"]:
            del res["expirationDate"]
    mvx = coding(rxa, 17)
    if mvx:
        org = {"identifier": {"system": MVX, "value": mvx[0]["code"]}}
        if mvx[0].get("display"):
            org["display"] = mvx[0]["display"]
        res["manufacturer"] = org
    refusal = coding(rxa, 18)
    if res["status"] == "not-done":
        if refusal:
            res["statusReason"] = {"coding": refusal}
        elif status_code == "RE":
            res["statusReason"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                                               "code": "PATOBJ", "display": "patient objection"}]}
    rxr: Segment | None = group.get("RXR")
    if rxr is not None:
        route = coding(rxr, 1)
        if route:
            res["route"] = {"coding": route}
        site = coding(rxr, 2)
        if site:
            res["site"] = {"coding": site}
    for obx in group.get("OBX", ()):
        if obx.comp(3) == "64994-7":  # vaccine funding program eligibility category
            elig = coding(obx, 5)
            if elig:
                res.setdefault("programEligibility", []).append({"coding": elig})
    if filler:
        key = natural_key("hl7v2", sender, "ORC-3", filler)
    else:
        key = natural_key("hl7v2", sender, patient_key, vaccine[0].get("code"), occurred)
    res["id"] = resource_id("Immunization", key)
    action = "delete" if rxa.comp(21).upper() == "D" else "upsert"
    return res, key, action


# --- messages -------------------------------------------------------------------------------

def _validate(res: dict) -> str | None:
    try:
        _model(res["resourceType"]).model_validate(res)
    except ValidationError as e:
        return "; ".join(f"{'.'.join(str(p) for p in x['loc'])}: {x['msg']}" for x in e.errors()[:5])
    return None


def convert_message(lines: list[tuple[int, str]], name: str, validate: bool = True,
                    seen_patients: set | None = None) -> Iterator[Item]:
    raw = "\r".join(t for _, t in lines)
    msh_line = lines[0][0]
    try:
        segs = _parse(lines)
        msh = segs[0]
        mtype, trigger = msh.comp(9, 1).upper(), msh.comp(9, 2).upper()
        if (mtype, trigger) not in SUPPORTED:
            yield Problem(file=name, line=msh_line, field="MSH-9",
                          message=f"message type {mtype}^{trigger} is not an immunization message (VXU^V04, RSP^K11); skipped",
                          severity="warning", raw=truncate(raw, 500))
            return
        control = msh.comp(10)
        sender = "|".join(x for x in (msh.comp(4, 1) or msh.comp(4, 2), msh.comp(3, 1)) if x) or "unknown-sender"
        pids = [s for s in segs if s.name == "PID"]
        if len(pids) != 1:
            raise FieldError("PID", f"message {control or '?'} has {len(pids)} PID segments (expected 1)",
                             pids[1].line if len(pids) > 1 else msh_line)
        pat, subject, pkey = patient(pids[0], sender)
    except FieldError as e:
        yield Problem(file=name, line=e.line or msh_line, field=e.field, message=f"message skipped: {e}",
                      raw=truncate(raw, 2000))
        return
    patient_ref = f"Patient/{pat['id']}"
    source = {"file": name, "line": pids[0].line}
    if seen_patients is None or pkey not in seen_patients:
        err = _validate(pat) if validate else None
        if err:
            yield Problem(file=name, line=pids[0].line, field="PID", message=f"Patient did not validate as FHIR R4: {err}; "
                          "message skipped", raw=truncate(raw, 2000))
            return
        category, security = sensitivity.classify(pat, sensitivity.SourceFacts())
        if security:
            pat["meta"] = {"security": security}
        if seen_patients is not None:
            seen_patients.add(pkey)
        yield Record(standard="fhir", type="Patient", category=category, resource=pat, source=source,
                     key=pkey, subject=subject)
    # ORC/RXA groups: ORC opens a group, RXA belongs to the open group (or opens one), RXR/OBX follow RXA
    groups: list[dict] = []
    cur: dict | None = None
    for s in segs:
        if s.name == "ORC":
            cur = {"ORC": s}
            groups.append(cur)
        elif s.name == "RXA":
            if cur is None or "RXA" in cur:
                cur = {}
                groups.append(cur)
            cur["RXA"] = s
        elif s.name in ("RXR",) and cur is not None and "RXA" in cur:
            cur["RXR"] = s
        elif s.name == "OBX" and cur is not None and "RXA" in cur:
            cur.setdefault("OBX", []).append(s)
    if not any("RXA" in g for g in groups) and mtype == "VXU":
        yield Problem(file=name, line=msh_line, field="RXA", message=f"VXU message {control or '?'} has no RXA segment",
                      severity="warning")
    for g in groups:
        if "RXA" not in g:
            yield Problem(file=name, line=g["ORC"].line, field="RXA", message="ORC without an RXA segment; skipped",
                          severity="warning")
            continue
        try:
            res, key, action = immunization(g, patient_ref, sender, pkey)
        except FieldError as e:
            yield Problem(file=name, line=e.line or g["RXA"].line, field=e.field, message=str(e),
                          raw=truncate(g["RXA"].text, 1000))
            continue
        if validate:
            err = _validate(res)
            if err:
                yield Problem(file=name, line=g["RXA"].line, field="RXA",
                              message=f"Immunization did not validate as FHIR R4: {err}")
                continue
        category, security = sensitivity.classify(res, sensitivity.SourceFacts())
        if security:
            res["meta"] = {"security": security}
        yield Record(standard="fhir", type="Immunization", category=category, resource=res,
                     source={"file": name, "line": g["RXA"].line}, key=key, subject=subject, action=action,
                     labels={"message_control_id": control} if control else {})


def convert(path: Union[str, Path], **options) -> Iterator[Item]:
    path = Path(path)
    name = path.name
    validate = options.get("validate", True)
    max_bytes = options.get("max_bytes", DEFAULT_MAX_BYTES)
    seen: set = set()
    any_message = False
    try:
        for item in _messages(path, max_bytes):
            if isinstance(item, Problem):
                yield item
                continue
            any_message = True
            _, lines = item
            yield from convert_message(lines, name, validate, seen)
            if len(seen) > 100_000:  # bound memory on huge batches; a repeated Patient is an upsert anyway
                seen.clear()
    except InputRefused as e:
        yield Problem(file=name, line=None, field=None, message=str(e), fatal=True)
        return
    if not any_message:
        yield Problem(file=name, line=None, field="MSH", message=f"{name}: no HL7 v2 message (MSH segment) found",
                      fatal=True)
