"""C-CDA header -> Patient (+ Subject), the youth's providers, DS4P labels, DocumentReference, Provenance."""
from __future__ import annotations

import base64
import hashlib

from .base import Subject, natural_key
from .ccda_context import Ctx
from .ccda_datatypes import SDTC, T, address, clean, codeable, human_name, identifier, telecom, templates, text_of

CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACTREASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONF_CODES = {"U", "L", "M", "N", "R", "V"}
PURPOSES = {"TREAT", "ETREAT", "HPAYMT", "HOPERAT", "PUBHLTH", "HRESCH", "PATRQT", "FAMRQT", "PWATRNY",
            "SUPNWK", "HLEGAL", "GOV", "COVERAGE", "ELIGDTRM", "HDIRECT", "TRAIN", "SYSDEV", "CAREMGT",
            "COC", "BTG", "HMARKT", "HSYSADMIN"}
DS4P_SECTION = "2.16.840.1.113883.3.3251.1.5"
SECURITY_OBS_PREFIX = "2.16.840.1.113883.3.445."
GENDER = {"F": "female", "M": "male", "UN": "other"}
SEX = {"F": "F", "M": "M", "UN": "X"}
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETH = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"
OMB_RACE = {"1002-5", "2028-9", "2054-5", "2076-8", "2106-3"}
OMB_ETH = {"2135-2", "2186-5"}


# --- security labels --------------------------------------------------------------------------------

def security_coding(code: str | None, display: str | None = None) -> dict | None:
    if not code:
        return None
    code = code.strip()
    if code in CONF_CODES:
        c = {"system": CONF, "code": code}
    elif code in PURPOSES:
        c = {"system": ACTREASON, "code": code}
    else:
        c = {"system": ACTCODE, "code": code}
    if display:
        c["display"] = display
    return c


def confidentiality_label(el) -> list[dict]:
    cc = el.find(T.confidentialityCode) if el is not None else None
    if cc is None or not cc.get("code"):
        return []
    c = security_coding(cc.get("code"))
    return [c] if c else []


def security_observations(el) -> list[dict]:
    """DS4P security observations (templates 2.16.840.1.113883.3.445.*) below an element."""
    out = []
    for obs in el.iter(T.observation):
        if any((t or "").startswith(SECURITY_OBS_PREFIX) for t in templates(obs)):
            v = obs.find(T.value)
            if v is not None:
                c = security_coding(v.get("code"), clean(v.get("displayName")))
                if c and c not in out:
                    out.append(c)
    return out


def document_labels(ctx: Ctx, root, body) -> None:
    cc = root.find(T.confidentialityCode)
    ctx.confidentiality = cc.get("code") if cc is not None and cc.get("code") else None
    labels = confidentiality_label(root)
    if body is not None:
        for comp in body.iterchildren(T.component):
            sec = comp.find(T.section)
            if sec is not None and DS4P_SECTION in templates(sec):
                for c in confidentiality_label(sec) + security_observations(sec):
                    if c not in labels:
                        labels.append(c)
    ctx.doc_labels = labels


# --- patient ----------------------------------------------------------------------------------------

def patient(ctx: Ctx, root) -> None:
    rt = root.find(T.recordTarget)
    role = rt.find(T.patientRole) if rt is not None else None
    if role is None:
        ctx.problem(root, "no recordTarget/patientRole: the document names no patient", field="/ClinicalDocument/recordTarget")
        ctx.subject = Subject()
        return
    pat = role.find(T.patient)
    res: dict = {"resourceType": "Patient"}
    ids, subj_ids = [], []
    for i in role.iterchildren(T.id):
        fi = identifier(i)
        if fi:
            ids.append(fi)
        if i.get("root") == "2.16.840.1.113883.4.1" and (i.get("extension") or "").strip():
            subj_ids.append(("ssn", i.get("extension").strip()))  # a US SSN is not an MRN
        elif i.get("root") and (i.get("extension") or "").strip():
            subj_ids.append((f"mrn|{i.get('root').strip()}", i.get("extension").strip()))
        elif i.get("root") and not i.get("nullFlavor"):  # a root-only II is itself the identifier
            subj_ids.append(("source|hl7-ii", i.get("root").strip()))
    if ids:
        res["identifier"] = ids
    names = []
    given = family = middle = None
    sex = birth = None
    if pat is not None:
        for n in pat.iterchildren(T.name):
            hn = human_name(n)
            if hn:
                names.append(hn)
        official = next((n for n in names if n.get("family")), None)
        if official:
            family = official.get("family")
            g = official.get("given") or []
            given = g[0] if g else None
            middle = " ".join(g[1:]) or None
        gc = pat.find(T.administrativeGenderCode)
        if gc is not None and gc.get("code"):
            res["gender"] = GENDER.get(gc.get("code"), "unknown")
            sex = SEX.get(gc.get("code"))
        bt = pat.find(T.birthTime)
        if bt is not None and bt.get("value"):
            v, _ = ctx.policy.convert(bt.get("value")[:8])
            if v:
                res["birthDate"] = v
                birth = v if len(v) == 10 else None
        dec = pat.find("{%s}deceasedInd" % SDTC)
        if dec is not None and dec.get("value") in ("true", "false"):
            res["deceasedBoolean"] = dec.get("value") == "true"
        ms = codeable(pat.find(T.maritalStatusCode), ctx.narrative)
        if ms:
            res["maritalStatus"] = ms
        ext = _race_eth(pat)
        if ext:
            res["extension"] = ext
        comm = []
        for lc in pat.iterchildren(T.languageCommunication):
            code = lc.find(T.languageCode)
            if code is not None and code.get("code"):
                entry = {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": code.get("code")}]}}
                pref = lc.find(T.preferenceInd)
                if pref is not None and pref.get("value") in ("true", "false"):
                    entry["preferred"] = pref.get("value") == "true"
                comm.append(entry)
        if comm:
            res["communication"] = comm
        contacts = []
        for g in pat.iterchildren(T.guardian):
            c: dict = {}
            rel = codeable(g.find(T.code), ctx.narrative)
            c["relationship"] = [rel] if rel else [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}], "text": "guardian"}]
            gp = g.find(T.guardianPerson)
            if gp is not None:
                hn = human_name(gp.find(T.name))
                if hn:
                    c["name"] = hn
            a = address(g.find(T.addr))
            if a:
                c["address"] = a
            tel = [t for t in (telecom(x) for x in g.iterchildren(T.telecom)) if t]
            if tel:
                c["telecom"] = tel
            if len(c) > 1:
                contacts.append(c)
        if contacts:
            res["contact"] = contacts
    if names:
        res["name"] = names
    addrs = [a for a in (address(x) for x in role.iterchildren(T.addr)) if a]
    if addrs:
        res["address"] = addrs
    tels = [t for t in (telecom(x) for x in role.iterchildren(T.telecom)) if t]
    if tels:
        res["telecom"] = tels
    postal = next((a.get("postalCode") for a in addrs if a.get("postalCode")), None)
    ctx.subject = Subject(identifiers=tuple(subj_ids), given=given, family=family, middle=middle,
                          birth_date=birth, sex=sex, postal_code=postal[:5] if postal else None)
    org = ctx.organization(role.find(T.providerOrganization))
    if org:
        res["managingOrganization"] = {"reference": org}
    # The patient is keyed by its identifiers (same HIE MRN -> same Patient), not by the document.
    pkey = natural_key("patient", *sorted(f"{s}|{v}" for s, v in subj_ids)) if subj_ids else None
    ctx.assign(res, role, ("patient",), key=pkey)
    ctx.patient_ref = f"Patient/{res['id']}"
    ctx.pending_patient = (res, role)


def finish_patient(ctx: Ctx, pcps: list[str]) -> None:
    res, role = ctx.pending_patient
    if pcps:
        res["generalPractitioner"] = [{"reference": r} for r in pcps]
    ctx.emit(res, role)


def _race_eth(pat) -> list[dict]:
    out = []
    for url, tags, omb in ((US_CORE_RACE, ("raceCode",), OMB_RACE), (US_CORE_ETH, ("ethnicGroupCode",), OMB_ETH)):
        codes = []
        for tag in tags:
            codes += list(pat.iterchildren(getattr(T, tag)))
            codes += list(pat.iterchildren("{%s}%s" % (SDTC, tag)))
        exts, texts = [], []
        for c in codes:
            code = c.get("code")
            if not code or c.get("nullFlavor"):
                continue
            kind = "ombCategory" if code in omb else "detailed"
            cod = {"system": CDC_RACE, "code": code}
            if c.get("displayName"):
                cod["display"] = clean(c.get("displayName"))
                texts.append(cod["display"])
            exts.append({"url": kind, "valueCoding": cod})
        if exts:
            exts.append({"url": "text", "valueString": ", ".join(texts) or "unknown"})
            out.append({"url": url, "extension": exts})
    return out


# --- providers ----------------------------------------------------------------------------------------

def providers(ctx: Ctx, root) -> list[str]:
    """Author, care-team performers (WIC 16010 providers), legal authenticator, custodian.

    Returns references of primary care providers (performer functionCode PCP) for generalPractitioner."""
    pcps = []
    for doc_of in root.iterchildren(T.documentationOf):
        se = doc_of.find(T.serviceEvent)
        if se is None:
            continue
        for perf in se.iterchildren(T.performer):
            ent = perf.find(T.assignedEntity)
            fc = perf.find(T.functionCode)
            fcc = codeable(fc, ctx.narrative)
            role_cc = codeable(ent.find(T.code), ctx.narrative) if ent is not None else None
            ref = ctx.practitioner(ent, role_cc, fcc)
            if ref and fc is not None and (fc.get("code") in ("PCP", "PP") or "primary" in (fcc or {}).get("text", "").lower()):
                pcps.append(ref)
    for author in root.iterchildren(T.author):
        aa = author.find(T.assignedAuthor)
        if aa is not None and aa.find(T.assignedPerson) is not None:
            ctx.practitioner(aa, codeable(aa.find(T.code), ctx.narrative))
        elif aa is not None:
            ctx.organization(aa.find(T.representedOrganization))
    la = root.find(T.legalAuthenticator)
    if la is not None:
        ctx.practitioner(la.find(T.assignedEntity))
    cust = root.find(T.custodian)
    if cust is not None:
        ace = cust.find(T.assignedCustodian)
        rco = ace.find(T.representedCustodianOrganization) if ace is not None else None
        ctx.custodian_ref = ctx.organization(rco)
    return pcps


# --- DocumentReference and Provenance -------------------------------------------------------------------

def document_reference(ctx: Ctx, root, data: bytes) -> str | None:
    res: dict = {"resourceType": "DocumentReference", "status": "current"}
    mid = identifier(root.find(T.id))
    if mid:
        res["masterIdentifier"] = mid
    ids = [identifier(x) for x in root.iterchildren(T.setId)]
    ids = [i for i in ids if i]
    if ids:
        res["identifier"] = ids
    code = codeable(root.find(T.code), ctx.narrative, ("http://loinc.org",))
    if code:
        res["type"] = code
    res["category"] = [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                                    "code": "clinical-note", "display": "Clinical Note"}]}]
    if ctx.patient_ref:
        res["subject"] = {"reference": ctx.patient_ref}
    et = root.find(T.effectiveTime)
    if et is not None:
        inst, _ = ctx.policy.convert(et.get("value"), instant=True)
        if inst:
            res["date"] = inst
    if getattr(ctx, "custodian_ref", None):
        res["custodian"] = {"reference": ctx.custodian_ref}
    conf = ctx.confidentiality
    if conf in CONF_CODES:
        res["securityLabel"] = [{"coding": [{"system": CONF, "code": conf}]}]
    title = text_of(root.find(T.title))
    att = {"contentType": "application/xml", "size": len(data),
           "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(), "title": title or ctx.file}
    res["content"] = [{"attachment": att,
                       "format": {"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
                                  "code": "urn:hl7-org:sdwg:ccda-structuredBody:2.1"
                                  if any(t.get("extension") for t in root.iterchildren(T.templateId))
                                  else "urn:hl7-org:sdwg:ccda-structuredBody:1.1"}}]
    period_el = None
    for doc_of in root.iterchildren(T.documentationOf):
        se = doc_of.find(T.serviceEvent)
        if se is not None and se.find(T.effectiveTime) is not None:
            period_el = se.find(T.effectiveTime)
            break
    if period_el is not None:
        from .ccda_datatypes import period
        p = period(period_el, ctx.policy)
        if p:
            res["context"] = {"period": p}
    return ctx.emit(res, root, ("DocumentReference",))


def provenance(ctx: Ctx, root, docref: str | None) -> None:
    if not ctx.targets:
        return
    res: dict = {"resourceType": "Provenance", "target": list(ctx.targets)}
    et = root.find(T.effectiveTime)
    recorded = None
    if et is not None:
        recorded, _ = ctx.policy.convert(et.get("value"), instant=True)
        if recorded is None and et.get("value"):
            # no offset and no configured zone: an instant needs one; use the fallback zone (documented)
            from .ccda_datatypes import TimePolicy
            recorded, _ = TimePolicy(ctx.fallback_tz).convert(et.get("value"), instant=True)
            if recorded is None and len(et.get("value")) >= 8:
                v = et.get("value")
                recorded, _ = TimePolicy(ctx.fallback_tz).convert(v[:8] + "000000", instant=True)
    if recorded is None:  # invalid document time: the earliest author time instead
        from .ccda_datatypes import TimePolicy
        times = sorted(t.get("value") for t in root.iterfind(f"{T.author}/{T.time}") if t.get("value"))
        for v in times:
            recorded, _ = TimePolicy(ctx.fallback_tz).convert(v if len(v) > 8 else v[:8] + "000000", instant=True)
            if recorded:
                break
    if recorded is None:
        ctx.problem(et if et is not None else root, "document effectiveTime missing or invalid: Provenance not emitted",
                    severity="warning")
        return
    res["recorded"] = recorded
    agents = []
    for author in root.iterchildren(T.author):
        aa = author.find(T.assignedAuthor)
        if aa is None:
            continue
        who = ctx.practitioner(aa) if aa.find(T.assignedPerson) is not None else ctx.organization(aa.find(T.representedOrganization))
        if who:
            ag = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                       "code": "author"}]}, "who": {"reference": who}}
            org = ctx.organization(aa.find(T.representedOrganization))
            if org and org != who:
                ag["onBehalfOf"] = {"reference": org}
            agents.append(ag)
    if getattr(ctx, "custodian_ref", None):
        agents.append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                            "code": "custodian"}]}, "who": {"reference": ctx.custodian_ref}})
    if not agents:
        agents.append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                            "code": "assembler"}]}, "who": {"display": "HEP gateway C-CDA adapter"}})
    res["agent"] = agents
    if docref:
        res["entity"] = [{"role": "source", "what": {"reference": docref}}]
    ctx.emit(res, root, ("Provenance",))
