"""Section identification and entry mappers: immunizations, allergies, medications, problems.

Observation-like sections (results, vitals, social history), encounters and procedures live in
ccda_clinical.py. Each mapper gets one entry's clinical statement and emits zero or more
resources through the context; anything it cannot map becomes a Problem, never a silent drop.
"""
from __future__ import annotations

from .ccda_context import Ctx
from .ccda_datatypes import (PREFERRED, T, cc_text, codeable, effective, first_id, quantity,
                             set_dt, templates, ts_value, xsi_type)

P = "2.16.840.1.113883.10.20.22.2."
SECTION_TEMPLATES = {
    P + "2": "imm", P + "2.1": "imm",
    P + "6": "alg", P + "6.1": "alg",
    P + "1": "med", P + "1.1": "med",
    P + "11": "med", P + "11.1": "med",      # discharge medications
    P + "5": "prob", P + "5.1": "prob",
    P + "24": "dx", "1.3.6.1.4.1.19376.1.5.3.1.3.7": "dx",  # hospital discharge diagnosis
    P + "22": "enc", P + "22.1": "enc",
    P + "3": "res", P + "3.1": "res",
    P + "4": "vit", P + "4.1": "vit",
    P + "17": "soc",
    P + "7": "proc", P + "7.1": "proc",
    "2.16.840.1.113883.3.3251.1.5": "ds4p",
}
SECTION_LOINC = {
    "11369-6": "imm", "48765-2": "alg", "10160-0": "med", "10183-2": "med", "11450-4": "prob",
    "11535-2": "dx", "46240-8": "enc", "30954-2": "res", "8716-3": "vit", "29762-2": "soc",
    "47519-4": "proc", "57017-6": "ds4p",
}
SECTION_NAMES = {"imm": "immunizations", "alg": "allergies", "med": "medications", "prob": "problems",
                 "dx": "hospital discharge diagnoses", "enc": "encounters", "res": "results",
                 "vit": "vital signs", "soc": "social history", "proc": "procedures"}
STATEMENTS = ("observation", "act", "substanceAdministration", "encounter", "procedure", "organizer",
              "supply", "regionOfInterest", "observationMedia")
STATEMENT_TAGS = {getattr(T, s) for s in STATEMENTS}

SNOMED = "http://snomed.info/sct"
CLINICAL_STATUS = {"55561003": "active", "73425007": "inactive", "413322009": "resolved",
                   "277022003": "remission", "246455001": "recurrence", "90734009": "active",
                   "7087005": "inactive", "255227004": "recurrence"}
COND_CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALG_CLIN = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALG_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
NO_PROBLEMS = {"coding": [{"system": SNOMED, "code": "160245001", "display": "No current problems or disability"}],
               "text": "No known problems"}
NKA = {"coding": [{"system": SNOMED, "code": "716186003", "display": "No known allergy"}], "text": "No known allergy"}
ALLERGY_TYPE = {  # SNOMED allergy/intolerance type -> (type, category)
    "416098002": ("allergy", "medication"), "419511003": ("allergy", "medication"),
    "59037007": ("intolerance", "medication"), "414285001": ("allergy", "food"),
    "418471000": ("allergy", "food"), "235719002": ("intolerance", "food"),
    "426232007": ("allergy", "environment"), "232347008": ("allergy", "environment"),
    "419199007": ("allergy", None), "420134006": (None, None), "418038007": (None, None),
}
SEVERITY = {"255604002": "mild", "6736007": "moderate", "24484000": "severe", "371923003": "mild",
            "371924009": "moderate", "399166001": "severe", "442452003": "severe"}
CRITICALITY = {"CRITL": "low", "CRITH": "high", "CRITU": "unable-to-assess"}
MED_STATUS = {"active": "active", "completed": "completed", "aborted": "stopped", "suspended": "on-hold",
              "cancelled": "not-taken", "held": "on-hold", "nullified": "entered-in-error", "new": "intended"}
PIVL_UNITS = {"s": "s", "min": "min", "h": "h", "hr": "h", "d": "d", "wk": "wk", "mo": "mo", "a": "a"}


def section_kind(sec) -> str | None:
    for t in templates(sec):
        k = SECTION_TEMPLATES.get(t)
        if k:
            return k
    code = sec.find(T.code)
    if code is not None:
        return SECTION_LOINC.get(code.get("code"))
    return None


def statements(entry):
    return [c for c in entry if c.tag in STATEMENT_TAGS]


def is_negated(el) -> bool:
    return (el.get("negationInd") or "").lower() == "true"


def status_code(el) -> str | None:
    s = el.find(T.statusCode)
    return s.get("code") if s is not None else None


def code_or_text(ctx: Ctx, code_el, stmt, prefer=()) -> dict | None:
    cc = codeable(code_el, ctx.narrative, prefer)
    if cc is None:
        txt = ctx.narrative.entry_text(stmt)
        if txt:
            cc = cc_text(txt)
    return cc


def placeholder(ctx: Ctx, stmt, cc: dict | None, what: str) -> bool:
    """True (and a warning) for a nullFlavor placeholder entry that carries no information."""
    if stmt.get("nullFlavor") or cc is None:
        neg = " (negated: the source states there is none)" if is_negated(stmt) else ""
        ctx.problem(stmt, f"{what} entry is a nullFlavor placeholder with no code or text{neg}: nothing to convert",
                    severity="warning")
        return True
    return False


def nested(stmt, tag: str, template: str | None = None):
    """Clinical statements of a tag inside entryRelationship (optionally with a template)."""
    for er in stmt.iterchildren(T.entryRelationship):
        for c in er.iterchildren(getattr(T, tag)):
            if template is None or template in templates(c):
                yield c


def ref(r: str | None) -> dict | None:
    return {"reference": r} if r else None


# --- immunizations ---------------------------------------------------------------------------------

def immunization(ctx: Ctx, sa, labels) -> None:
    if sa.tag != T.substanceAdministration:
        ctx.problem(sa, f"immunization entry is a <{sa.tag.rsplit('}', 1)[-1]}>, expected substanceAdministration")
        return
    mood, status = sa.get("moodCode"), status_code(sa)
    if mood not in (None, "EVN"):
        if mood == "INT" and status == "completed":
            ctx.problem(sa, "immunization with moodCode INT and statusCode completed: converted as administered "
                        "(vendor quirk)", severity="warning")
        else:
            ctx.problem(sa, f"planned immunization (moodCode {mood}, status {status}) is not an administered "
                        "vaccine: not converted to Immunization", severity="warning")
            return
    mat = sa.find(f"{T.consumable}/{T.manufacturedProduct}/{T.manufacturedMaterial}")
    vaccine = code_or_text(ctx, mat.find(T.code) if mat is not None else None, sa, PREFERRED["Immunization"])
    if placeholder(ctx, sa, vaccine, "immunization"):
        return
    res: dict = {"resourceType": "Immunization", "vaccineCode": vaccine, "patient": ref(ctx.patient_ref)}
    if is_negated(sa):
        res["status"] = "not-done"
        for rr in nested(sa, "observation"):
            reason = codeable(rr.find(T.code), ctx.narrative)
            if reason and rr.getparent().get("typeCode") == "RSON":
                res["statusReason"] = reason
                break
    elif status in ("aborted", "cancelled"):
        res["status"] = "not-done"
    elif status == "nullified":
        res["status"] = "entered-in-error"
    else:
        res["status"] = "completed"
    hl7 = None
    for et in sa.iterchildren(T.effectiveTime):
        if xsi_type(et) not in ("PIVL_TS", "EIVL_TS"):
            hl7 = ts_value(et)
            if hl7:
                break
    if not (hl7 and set_dt(res, "occurrenceDateTime", hl7, ctx.policy)):
        res["occurrenceString"] = "unknown"
        if res["status"] == "completed":
            ctx.problem(sa, "immunization without a usable date: occurrence recorded as 'unknown'", severity="warning")
    if mat is not None:
        lot = mat.find(T.lotNumberText)
        if lot is not None and lot.text and lot.text.strip():
            res["lotNumber"] = lot.text.strip()
    mo = sa.find(f"{T.consumable}/{T.manufacturedProduct}/{T.manufacturerOrganization}")
    if mo is not None:
        mref = ctx.organization(mo)
        if mref:
            res["manufacturer"] = {"reference": mref}
    _route_dose(ctx, sa, res, res)
    rn = sa.find(T.repeatNumber)
    if rn is not None and (rn.get("value") or "").isdigit() and int(rn.get("value")) > 0:
        res["protocolApplied"] = [{"doseNumberPositiveInt": int(rn.get("value"))}]
    perf = [ctx.practitioner(p.find(T.assignedEntity)) for p in sa.iterchildren(T.performer)]
    perf = [{"actor": {"reference": p}} for p in perf if p]
    if perf:
        res["performer"] = perf
    res["primarySource"] = True
    ctx.emit(res, sa, ("imm", first_id(sa)) if first_id(sa) else ("imm", ctx.section_pos), labels)


def _route_dose(ctx: Ctx, sa, res: dict, dose_target: dict) -> None:
    route = codeable(sa.find(T.routeCode), ctx.narrative)
    if route:
        res["route"] = route
    site = codeable(sa.find(T.approachSiteCode), ctx.narrative)
    if site:
        res["site"] = site
    q = quantity(sa.find(T.doseQuantity))
    if q:
        dose_target["doseQuantity"] = q


# --- allergies -------------------------------------------------------------------------------------

def allergy_entry(ctx: Ctx, stmt, labels) -> None:
    if stmt.tag == T.observation:
        allergy(ctx, stmt, stmt, labels)
        return
    obs = list(nested(stmt, "observation", "2.16.840.1.113883.10.20.22.4.7")) or list(nested(stmt, "observation"))
    if not obs:
        ctx.problem(stmt, "allergy concern without an allergy observation")
        return
    for o in obs:
        allergy(ctx, stmt, o, labels)


def allergy(ctx: Ctx, concern, obs, labels) -> None:
    res: dict = {"resourceType": "AllergyIntolerance", "patient": ref(ctx.patient_ref)}
    value = obs.find(T.value)
    vcode = value.get("code") if value is not None else None
    kind = ALLERGY_TYPE.get(vcode)
    if kind:
        if kind[0]:
            res["type"] = kind[0]
        if kind[1]:
            res["category"] = [kind[1]]
    pe = obs.find(f"{T.participant}/{T.participantRole}/{T.playingEntity}")
    agent = codeable(pe.find(T.code), ctx.narrative, PREFERRED["AllergyIntolerance"]) if pe is not None else None
    if agent is None and pe is not None:
        name = pe.find(T.name)
        if name is not None and (name.text or "").strip():
            agent = cc_text(" ".join(name.text.split()))
    pe_code = pe.find(T.code) if pe is not None else None
    negated = is_negated(obs)
    no_known = vcode == "716186003" or (negated and (agent is None or (pe_code is not None and pe_code.get("nullFlavor") in ("NA", "NI", "UNK") and agent.get("coding") is None)))
    if no_known:
        res["code"] = NKA
        res["verificationStatus"] = {"coding": [{"system": ALG_VER, "code": "confirmed"}]}
        res["clinicalStatus"] = {"coding": [{"system": ALG_CLIN, "code": "active"}]}
    else:
        if agent is None:
            agent = codeable(value, ctx.narrative) if value is not None else None
            if agent is None:
                ctx.problem(obs, "allergy observation without an allergen (participant) or value")
                return
            ctx.problem(obs, "allergy observation without allergen participant (SHALL violation): "
                        "allergy type used as the code", severity="warning")
        res["code"] = agent
        ver = "refuted" if negated else "confirmed"
        res["verificationStatus"] = {"coding": [{"system": ALG_VER, "code": ver}]}
        if not negated:
            res["clinicalStatus"] = {"coding": [{"system": ALG_CLIN, "code": _allergy_status(ctx, concern, obs)}]}
    et = obs.find(T.effectiveTime)
    if et is not None:
        set_dt(res, "onsetDateTime", ts_value(et), ctx.policy)
    reactions = []
    for er in obs.iterchildren(T.entryRelationship):
        o = er.find(T.observation)
        if o is None:
            continue
        t = templates(o)
        v = o.find(T.value)
        if "2.16.840.1.113883.10.20.22.4.9" in t or er.get("typeCode") == "MFST":
            man = codeable(v, ctx.narrative) if v is not None else None
            if man:
                rx = {"manifestation": [man]}
                for sev in nested(o, "observation", "2.16.840.1.113883.10.20.22.4.8"):
                    sv = sev.find(T.value)
                    if sv is not None and SEVERITY.get(sv.get("code")):
                        rx["severity"] = SEVERITY[sv.get("code")]
                reactions.append(rx)
        elif "2.16.840.1.113883.10.20.22.4.145" in t and v is not None and v.get("code") in CRITICALITY:
            res["criticality"] = CRITICALITY[v.get("code")]
    if reactions and not no_known:
        res["reaction"] = reactions
    ctx.emit(res, obs, ("alg", first_id(obs) or first_id(concern), ctx.section_pos if not first_id(obs) else ""), labels)


def _allergy_status(ctx: Ctx, concern, obs) -> str:
    for so in nested(obs, "observation", "2.16.840.1.113883.10.20.22.4.28"):
        v = so.find(T.value)
        s = CLINICAL_STATUS.get(v.get("code")) if v is not None else None
        if s in ("active", "inactive", "resolved"):
            return s
    et = obs.find(T.effectiveTime)
    if et is not None and et.find(T.high) is not None and et.find(T.high).get("value"):
        return "resolved"
    if concern is not obs and status_code(concern) in ("completed", "aborted"):
        return "inactive"
    return "active"


# --- medications -----------------------------------------------------------------------------------

def medication_entry(ctx: Ctx, stmt, labels) -> None:
    if stmt.tag == T.substanceAdministration:
        medication(ctx, stmt, labels)
        return
    inner = list(nested(stmt, "substanceAdministration"))
    if not inner:
        ctx.problem(stmt, "medication entry without a substanceAdministration")
    for sa in inner:
        medication(ctx, sa, labels)


def medication(ctx: Ctx, sa, labels) -> None:
    mat = sa.find(f"{T.consumable}/{T.manufacturedProduct}/{T.manufacturedMaterial}")
    med = code_or_text(ctx, mat.find(T.code) if mat is not None else None, sa, PREFERRED["MedicationStatement"])
    if med is None and mat is not None:
        name = mat.find(T.name)
        if name is not None and (name.text or "").strip():
            med = cc_text(" ".join(name.text.split()))
    if placeholder(ctx, sa, med, "medication"):
        return
    mood, status = sa.get("moodCode"), status_code(sa)
    if is_negated(sa):
        st = "not-taken"
    elif mood in ("INT", "RQO", "PRP", "PRMS") and status not in ("completed", "aborted"):
        st = "intended" if status in (None, "new") else MED_STATUS.get(status, "intended")
    else:
        st = MED_STATUS.get(status, "unknown")
    res: dict = {"resourceType": "MedicationStatement", "status": st, "medicationCodeableConcept": med,
                 "subject": ref(ctx.patient_ref)}
    effective(sa, ctx.policy, "effective", res)
    dosage: dict = {}
    txt = ctx.narrative.entry_text(sa)
    if txt:
        dosage["text"] = txt
    for et in sa.iterchildren(T.effectiveTime):
        if xsi_type(et) == "PIVL_TS":
            per = et.find(T.period)
            if per is not None and per.get("value"):
                v = _posdec(per.get("value"))
                unit = PIVL_UNITS.get((per.get("unit") or "").strip())
                if v and unit:
                    dosage["timing"] = {"repeat": {"period": v, "periodUnit": unit}}
    route = codeable(sa.find(T.routeCode), ctx.narrative)
    if route:
        dosage["route"] = route
    q = quantity(sa.find(T.doseQuantity))
    if q:
        dosage["doseAndRate"] = [{"doseQuantity": q}]
    else:
        dq = sa.find(T.doseQuantity)
        if dq is not None and dq.find(T.low) is not None:
            lo, hi = quantity(dq.find(T.low)), quantity(dq.find(T.high))
            if lo or hi:
                dosage["doseAndRate"] = [{"doseRange": {k: v for k, v in (("low", lo), ("high", hi)) if v}}]
    if dosage:
        res["dosage"] = [dosage]
    reasons = [codeable(o.find(T.value), ctx.narrative) for o in nested(sa, "observation", "2.16.840.1.113883.10.20.22.4.19")]
    reasons = [r for r in reasons if r]
    if reasons:
        res["reasonCode"] = reasons
    ctx.emit(res, sa, ("med", first_id(sa)) if first_id(sa) else ("med", ctx.section_pos), labels)


def _posdec(v: str):
    try:
        f = float(v)
    except ValueError:
        return None
    if f <= 0:
        return None
    return int(f) if f.is_integer() else f


# --- problems ------------------------------------------------------------------------------------

def problem_entry(ctx: Ctx, stmt, labels, encounter_dx: bool = False) -> list[str]:
    if stmt.tag == T.observation:
        r = condition(ctx, stmt, stmt, labels, encounter_dx)
        return [r] if r else []
    obs = list(nested(stmt, "observation", "2.16.840.1.113883.10.20.22.4.4")) or list(nested(stmt, "observation"))
    if not obs:
        ctx.problem(stmt, "problem concern without a problem observation")
        return []
    out = []
    for o in obs:
        r = condition(ctx, stmt, o, labels, encounter_dx)
        if r:
            out.append(r)
    return out


def condition(ctx: Ctx, concern, obs, labels, encounter_dx: bool = False) -> str | None:
    value = obs.find(T.value)
    code = codeable(value, ctx.narrative, PREFERRED["Condition"]) if value is not None else None
    if code is None:
        code = code_or_text(ctx, None, obs) or (ctx.narrative.entry_text(concern) and cc_text(ctx.narrative.entry_text(concern)))
    if not code and is_negated(obs) and not obs.get("nullFlavor"):
        code = NO_PROBLEMS
    if placeholder(ctx, obs, code or None, "problem"):
        return None
    cat = "encounter-diagnosis" if encounter_dx else "problem-list-item"
    res: dict = {"resourceType": "Condition",
                 "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": cat}]}],
                 "code": code, "subject": ref(ctx.patient_ref)}
    negated = is_negated(obs) and code is not NO_PROBLEMS
    res["verificationStatus"] = {"coding": [{"system": COND_VER, "code": "refuted" if negated else "confirmed"}]}
    et = obs.find(T.effectiveTime)
    abated = False
    if et is not None:
        low, high = et.find(T.low), et.find(T.high)
        set_dt(res, "onsetDateTime", low.get("value") if low is not None else et.get("value"), ctx.policy)
        if high is not None and high.get("value"):
            abated = set_dt(res, "abatementDateTime", high.get("value"), ctx.policy)
    status = None
    for so in nested(obs, "observation", "2.16.840.1.113883.10.20.22.4.6"):
        v = so.find(T.value)
        status = CLINICAL_STATUS.get(v.get("code")) if v is not None else None
        if status:
            break
    if status is None:
        if abated:
            status = "resolved"
        elif concern is not obs and status_code(concern) in ("completed",):
            status = "resolved"
        else:
            status = "active"
    if abated and status in ("active", "recurrence", "relapse"):
        status = "resolved"  # con-4: an abated condition is not active
    res["clinicalStatus"] = {"coding": [{"system": COND_CLIN, "code": status}]}
    author_time = obs.find(f"{T.author}/{T.time}")
    if author_time is not None:
        set_dt(res, "recordedDate", author_time.get("value"), ctx.policy)
    oid = first_id(obs)
    return ctx.emit(res, obs, ("cond", oid) if oid else ("cond", ctx.section_pos, _tail(ctx, obs)), labels)


def _tail(ctx, el) -> str:
    from .ccda_datatypes import xpath_of
    return xpath_of(el)
