"""C-CDA data types -> FHIR R4 JSON fragments: timestamps, codes, names, addresses, telecom, quantities.

Everything here works on lxml elements of the HL7 v3 namespace and returns plain dicts (FHIR JSON),
or None when the source carries nothing usable. Time-zone policy (see docs/hie-conversion.md):
a timestamp with a time of day but no UTC offset keeps only its date unless the caller configured
a zone (`tz="America/Los_Angeles"`), in which case the zone's offset for that instant is applied.
The original HL7 string is kept in an extension whenever precision is dropped.
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

V3 = "urn:hl7-org:v3"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SDTC = "urn:hl7-org:sdtc"
ORIGINAL_TS_URL = "http://hep.example.org/fhir/StructureDefinition/original-hl7-timestamp"


class _Tags:
    def __getattr__(self, name: str) -> str:
        tag = "{%s}%s" % (V3, name)
        setattr(self, name, tag)
        return tag


T = _Tags()

# --- code systems ------------------------------------------------------------------------------

CODE_SYSTEMS = {
    "2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "2.16.840.1.113883.6.1": "http://loinc.org",
    "2.16.840.1.113883.6.88": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "2.16.840.1.113883.12.292": "http://hl7.org/fhir/sid/cvx",
    "2.16.840.1.113883.6.59": "http://hl7.org/fhir/sid/cvx",
    "2.16.840.1.113883.6.90": "http://hl7.org/fhir/sid/icd-10-cm",
    "2.16.840.1.113883.6.3": "http://hl7.org/fhir/sid/icd-10",
    "2.16.840.1.113883.6.103": "http://hl7.org/fhir/sid/icd-9-cm",
    "2.16.840.1.113883.6.104": "http://hl7.org/fhir/sid/icd-9-cm",
    "2.16.840.1.113883.6.4": "http://www.cms.gov/Medicare/Coding/ICD10",
    "2.16.840.1.113883.6.69": "http://hl7.org/fhir/sid/ndc",
    "2.16.840.1.113883.6.12": "http://www.ama-assn.org/go/cpt",
    "2.16.840.1.113883.6.285": "urn:oid:2.16.840.1.113883.6.285",
    "2.16.840.1.113883.6.13": "http://ada.org/cdt",
    "2.16.840.1.113883.6.8": "http://unitsofmeasure.org",
    "2.16.840.1.113883.4.9": "http://fdasis.nlm.nih.gov",
    "2.16.840.1.113883.6.101": "http://nucc.org/provider-taxonomy",
    "2.16.840.1.113883.12.227": "http://hl7.org/fhir/sid/mvx",
    "2.16.840.1.113883.6.238": "urn:oid:2.16.840.1.113883.6.238",
    "2.16.840.1.113883.6.259": "https://www.cdc.gov/nhsn/cdaportal/terminology/codesystem/hsloc.html",
    "2.16.840.1.113883.3.26.1.1": "http://ncithesaurus-stage.nci.nih.gov",
    "2.16.840.1.113883.5.4": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "2.16.840.1.113883.5.1": "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender",
    "2.16.840.1.113883.5.8": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "2.16.840.1.113883.5.25": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "2.16.840.1.113883.5.83": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "2.16.840.1.113883.5.111": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
    "2.16.840.1.113883.5.88": "http://terminology.hl7.org/CodeSystem/v3-ParticipationFunction",
    "2.16.840.1.113883.5.90": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
    "2.16.840.1.113883.5.112": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
    "2.16.840.1.113883.5.1063": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "2.16.840.1.113883.5.60": "http://terminology.hl7.org/CodeSystem/v3-LanguageAbilityMode",
    "2.16.840.1.113883.5.2": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
    "2.16.840.1.113883.5.1076": "http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation",
    "2.16.840.1.113883.3.88.12.3221.8.9": "http://snomed.info/sct",  # body site VS mislabelled as system
    "2.16.840.1.113883.6.14": "urn:oid:2.16.840.1.113883.6.14",
}
PREFERRED = {
    "Immunization": ("http://hl7.org/fhir/sid/cvx", "http://hl7.org/fhir/sid/ndc"),
    "MedicationStatement": ("http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/ndc"),
    "Condition": ("http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"),
    "AllergyIntolerance": ("http://www.nlm.nih.gov/research/umls/rxnorm", "http://snomed.info/sct",
                           "http://fdasis.nlm.nih.gov"),
    "Observation": ("http://loinc.org", "http://snomed.info/sct"),
    "Procedure": ("http://snomed.info/sct", "http://www.ama-assn.org/go/cpt", "http://loinc.org"),
    "Encounter": ("http://www.ama-assn.org/go/cpt", "http://snomed.info/sct"),
}
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def system_uri(oid: str | None) -> str | None:
    if not oid:
        return None
    oid = oid.strip()
    uri = CODE_SYSTEMS.get(oid)
    if uri:
        return uri
    if _OID.match(oid):
        return "urn:oid:" + oid
    if _UUID.match(oid):
        return "urn:uuid:" + oid.lower()
    return None


def clean(s: str | None) -> str | None:
    if s is None:
        return None
    s = " ".join(s.split())
    return s or None


def text_of(el) -> str | None:
    return None if el is None else clean("".join(el.itertext()))


def xsi_type(el) -> str | None:
    t = el.get(XSI_TYPE)
    if t is None:
        return None
    return t.rsplit(":", 1)[-1]


def templates(el) -> set[str]:
    return {t.get("root") for t in el.iterchildren(T.templateId)}


class Narrative:
    """Resolves `<reference value="#id">` against the document's narrative blocks, lazily."""

    def __init__(self, root):
        self.root = root
        self._ids: dict[str, object] | None = None

    def resolve(self, ref: str | None) -> str | None:
        if not ref:
            return None
        if self._ids is None:
            self._ids = {}
            for el in self.root.iter():
                i = el.get("ID")
                if i is not None and isinstance(el.tag, str):
                    self._ids.setdefault(i, el)
        el = self._ids.get(ref.lstrip("#").strip())
        return text_of(el) if el is not None else None

    def original_text(self, el) -> str | None:
        """originalText of a code/value: its own text, else the narrative it references."""
        ot = el.find(T.originalText) if el is not None else None
        if ot is None:
            return None
        ref = ot.find(T.reference)
        if ref is not None:
            resolved = self.resolve(ref.get("value"))
            if resolved:
                return resolved
        return clean(ot.text) or text_of(ot)

    def entry_text(self, el) -> str | None:
        t = el.find(T.text) if el is not None else None
        if t is None:
            return None
        ref = t.find(T.reference)
        if ref is not None:
            r = self.resolve(ref.get("value"))
            if r:
                return r
        return text_of(t)


def coding(el) -> dict | None:
    code = el.get("code")
    if not code or el.get("nullFlavor"):
        return None
    code = code.strip()
    if not code:
        return None
    c = {}
    sysuri = system_uri(el.get("codeSystem"))
    if sysuri:
        c["system"] = sysuri
    c["code"] = code
    disp = clean(el.get("displayName"))
    if disp:
        c["display"] = disp
    return c


def codeable(el, narrative: Narrative, prefer: tuple[str, ...] = ()) -> dict | None:
    """CD/CE (code, nullFlavor, originalText, translations) -> CodeableConcept."""
    if el is None:
        return None
    codings = []
    c = coding(el)
    if c:
        codings.append(c)
    for tr in el.iterchildren(T.translation):
        tc = coding(tr)
        if tc and tc not in codings:
            codings.append(tc)
    if prefer and len(codings) > 1:
        rank = {s: i for i, s in enumerate(prefer)}
        codings.sort(key=lambda x: rank.get(x.get("system"), len(rank)))
    cc = {}
    if codings:
        cc["coding"] = codings
    text = narrative.original_text(el)
    if text:
        cc["text"] = text
    elif not codings:
        return None
    return cc


def cc_text(text: str) -> dict:
    return {"text": text}


# --- timestamps --------------------------------------------------------------------------------

_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d+)?([+-]\d{2}:?\d{2}|Z)?$")


class TimePolicy:
    """How to turn HL7 TS into FHIR date/dateTime/instant (see module docstring)."""

    def __init__(self, tz: str | None = None):
        self.tz_name = tz
        self._zone = None
        if tz:
            from zoneinfo import ZoneInfo
            self._zone = ZoneInfo(tz)

    def offset_for(self, y, mo, d, h, mi, s) -> str | None:
        if self._zone is None:
            return None
        try:
            off = datetime(y, mo, d, h, mi, s, tzinfo=self._zone).strftime("%z")
        except ValueError:
            return None
        return off[:3] + ":" + off[3:]

    def convert(self, value: str | None, instant: bool = False) -> tuple[str | None, bool]:
        """-> (FHIR value, precision_dropped). None when unparseable."""
        if not value:
            return None, False
        m = _TS.match(value.strip())
        if not m:
            return None, False
        y, mo, d, h, mi, s, frac, off = m.groups()
        try:
            datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0))
        except ValueError:
            return None, False
        if int(y) < 1800:
            return None, False
        if not mo:
            date = y
        elif not d:
            date = f"{y}-{mo}"
        else:
            date = f"{y}-{mo}-{d}"
        if h is None or not d:
            if instant:
                return None, False
            return date, False
        if off is None:
            off = self.offset_for(int(y), int(mo), int(d), int(h), int(mi or 0), int(s or 0))
            if off is None:
                if instant:
                    return None, True
                return date, True
        elif off != "Z":
            off = off if ":" in off else off[:3] + ":" + off[3:]
            if off in ("+00:00", "-00:00"):
                off = "+00:00"
        time = f"{h}:{mi or '00'}:{s or '00'}"
        if frac:
            time += frac
        return f"{date}T{time}{off}", False


def ts_value(el) -> str | None:
    """The point in time of a TS/IVL_TS: @value, else low/@value, else center/@value."""
    if el is None:
        return None
    v = el.get("value")
    if v:
        return v
    for child in ("low", "center"):
        c = el.find(getattr(T, child))
        if c is not None and c.get("value"):
            return c.get("value")
    return None


def set_dt(res: dict, field: str, hl7: str | None, policy: TimePolicy) -> bool:
    """Set a dateTime field, keeping the HL7 original in an extension when precision was dropped."""
    v, dropped = policy.convert(hl7)
    if v is None:
        return False
    res[field] = v
    if dropped:
        res["_" + field] = {"extension": [{"url": ORIGINAL_TS_URL, "valueString": hl7}]}
    return True


def period(el, policy: TimePolicy) -> dict | None:
    """IVL_TS (or TS) -> Period."""
    if el is None:
        return None
    p = {}
    low = el.find(T.low)
    high = el.find(T.high)
    if low is None and high is None:
        v, _ = policy.convert(el.get("value") or _child_value(el, "center"))
        if v:
            p["start"] = v
        return p or None
    if low is not None:
        v, _ = policy.convert(low.get("value"))
        if v:
            p["start"] = v
    if high is not None:
        v, _ = policy.convert(high.get("value"))
        if v:
            p["end"] = v
    if "start" in p and "end" in p and p["end"] < p["start"][: len(p["end"])]:
        p.pop("end")  # per-01: a reversed period keeps its start only
    return p or None


def _child_value(el, name):
    c = el.find(getattr(T, name))
    return c.get("value") if c is not None else None


def effective(stmt, policy: TimePolicy, prefix: str, res: dict) -> None:
    """Set <prefix>DateTime or <prefix>Period from the first usable effectiveTime."""
    for et in stmt.iterchildren(T.effectiveTime):
        typ = xsi_type(et)
        if typ in ("PIVL_TS", "EIVL_TS", "SXPR_TS"):
            continue
        low, high = et.find(T.low), et.find(T.high)
        if low is None and high is None:
            if set_dt(res, prefix + "DateTime", et.get("value") or _child_value(et, "center"), policy):
                return
            continue
        if high is not None and high.get("value"):
            p = period(et, policy)
            if p:
                res[prefix + "Period"] = p
                return
        if low is not None and set_dt(res, prefix + "DateTime", low.get("value"), policy):
            return


# --- quantities and values -------------------------------------------------------------------------

def decimal(v: str | None):
    if v is None:
        return None
    v = v.strip()
    try:
        f = float(v)
    except ValueError:
        return None
    if f != f or f in (float("inf"), float("-inf")):
        return None
    if re.match(r"^-?\d+$", v):
        return int(v)
    return f


@lru_cache(maxsize=512)
def _unit_ok(unit: str) -> bool:
    return bool(unit) and unit != "1" and " " not in unit


def quantity(el) -> dict | None:
    if el is None or el.get("nullFlavor"):
        return None
    val = decimal(el.get("value"))
    if val is None:
        return None
    q = {"value": val}
    unit = (el.get("unit") or "").strip()
    if unit and unit != "1":
        q["unit"] = unit
        if _unit_ok(unit):
            q["system"] = "http://unitsofmeasure.org"
            q["code"] = unit
    return q


def xpath_of(el) -> str:
    """An xpath-like location: /ClinicalDocument/component/structuredBody/component[3]/section/entry[2]/..."""
    parts = []
    while el is not None:
        parent = el.getparent()
        name = el.tag.rsplit("}", 1)[-1]
        if parent is None:
            parts.append("/" + name)
            break
        idx = 1
        same = 1
        tag = el.tag
        for sib in parent.iterchildren(tag):
            if sib is el:
                idx = same
            same += 1
        parts.append(f"/{name}[{idx}]" if same > 2 else "/" + name)
        el = parent
    return "".join(reversed(parts))


def code_or_none(el) -> str | None:
    return el.get("code") if el is not None and el.get("code") else None


# people, places and identifiers live in ccda_people.py; re-exported for the mappers
from .ccda_people import address, first_id, human_name, id_key, identifier, telecom  # noqa: E402,F401
