"""Entry mappers for results, vital signs, social history (Observation), encounters and procedures."""
from __future__ import annotations

from .ccda_context import Ctx
from .ccda_datatypes import (PREFERRED, T, clean, codeable, decimal, effective, first_id,
                             period, quantity, set_dt, templates, text_of, xsi_type)
from .ccda_sections import code_or_text, is_negated, nested, placeholder, problem_entry, ref, status_code

OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
OBS_STATUS = {"completed": "final", "active": "preliminary", "aborted": "cancelled", "cancelled": "cancelled",
              "nullified": "entered-in-error", "held": "registered", "new": "registered", "suspended": "registered"}
INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ENC_STATUS = {"completed": "finished", "active": "in-progress", "aborted": "cancelled", "cancelled": "cancelled",
              "nullified": "entered-in-error", "new": "planned", "held": "planned", "suspended": "onleave"}
PROC_STATUS = {"completed": "completed", "active": "in-progress", "aborted": "stopped", "cancelled": "not-done",
               "nullified": "entered-in-error", "new": "preparation", "held": "on-hold", "suspended": "on-hold"}
ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASS_NAMES = {"AMB": "ambulatory", "IMP": "inpatient encounter", "EMER": "emergency", "HH": "home health",
               "FLD": "field", "VR": "virtual", "ACUTE": "inpatient acute", "NONAC": "inpatient non-acute",
               "OBSENC": "observation encounter", "SS": "short stay", "PRENC": "pre-admission"}


# --- observations ------------------------------------------------------------------------------

def obs_value(ctx: Ctx, v, res: dict) -> bool:
    """Observation value (any HL7 data type) -> value[x]. False when nothing usable."""
    if v is None:
        return False
    t = xsi_type(v)
    if t in ("PQ", "IVL_PQ", "REAL", "INT", "MO") or (t is None and v.get("value") and not v.get("code")):
        if t == "IVL_PQ" or (v.find(T.low) is not None or v.find(T.high) is not None):
            lo, hi = quantity(v.find(T.low)), quantity(v.find(T.high))
            if lo or hi:
                res["valueRange"] = {k: x for k, x in (("low", lo), ("high", hi)) if x}
                return True
            return False
        if t == "INT":
            d = decimal(v.get("value"))
            if isinstance(d, int) and abs(d) < 2**31:
                res["valueInteger"] = d
                return True
        q = quantity(v)
        if q:
            res["valueQuantity"] = q
            return True
        raw = clean(v.get("value"))
        if raw:
            res["valueString"] = raw + (" " + v.get("unit") if v.get("unit") else "")
            return True
        return False
    if t in ("CD", "CE", "CV", "CO", "CS") or (t is None and (v.get("code") or v.find(T.originalText) is not None)):
        cc = codeable(v, ctx.narrative)
        if cc:
            res["valueCodeableConcept"] = cc
            return True
        return False
    if t == "BL":
        if v.get("value") in ("true", "false"):
            res["valueBoolean"] = v.get("value") == "true"
            return True
        return False
    if t in ("TS", "IVL_TS"):
        from .ccda_datatypes import ts_value
        return set_dt(res, "valueDateTime", ts_value(v), ctx.policy)
    if t == "RTO" or t == "RTO_PQ_PQ":
        n, d = quantity(v.find(T.numerator)), quantity(v.find(T.denominator))
        if n and d:
            res["valueRatio"] = {"numerator": n, "denominator": d}
            return True
    txt = ctx.narrative.original_text(v) if v.find(T.originalText) is not None else None
    if not txt:
        refel = v.find(T.reference)
        txt = ctx.narrative.resolve(refel.get("value")) if refel is not None else None
    txt = txt or text_of(v)
    if txt:
        res["valueString"] = txt[:10000]
        return True
    return False


def observation(ctx: Ctx, obs, category: str, labels, fallback_time=None, parts=None) -> str | None:
    code = code_or_text(ctx, obs.find(T.code), obs, PREFERRED["Observation"])
    if placeholder(ctx, obs, code, category):
        return None
    status = status_code(obs)
    res: dict = {"resourceType": "Observation", "status": OBS_STATUS.get(status, "final"),
                 "category": [{"coding": [{"system": OBS_CAT, "code": category}]}], "code": code,
                 "subject": ref(ctx.patient_ref)}
    effective(obs, ctx.policy, "effective", res)
    if "effectiveDateTime" not in res and "effectivePeriod" not in res and fallback_time is not None:
        effective(fallback_time, ctx.policy, "effective", res)
    vals = list(obs.iterchildren(T.value))
    if vals:
        if not obs_value(ctx, vals[0], res):
            nf = vals[0].get("nullFlavor")
            res["dataAbsentReason"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                                   "code": "unknown" if nf in (None, "UNK", "NI", "NA") else "masked" if nf == "MSK" else "unknown"}]}
    if is_negated(obs):
        res.setdefault("note", []).append({"text": "negated in source (negationInd=true): finding not present"})
    interp = [codeable(i, ctx.narrative) for i in obs.iterchildren(T.interpretationCode)]
    interp = [i for i in interp if i]
    if interp:
        res["interpretation"] = interp
    rr = []
    for r in obs.iterchildren(T.referenceRange):
        orng = r.find(T.observationRange)
        if orng is None:
            continue
        item: dict = {}
        v = orng.find(T.value)
        if v is not None:
            lo, hi = quantity(v.find(T.low)), quantity(v.find(T.high))
            if lo:
                item["low"] = lo
            if hi:
                item["high"] = hi
        txt = text_of(orng.find(T.text))
        if txt:
            item["text"] = txt
        if item:
            rr.append(item)
    if rr:
        res["referenceRange"] = rr
    site = codeable(obs.find(T.targetSiteCode), ctx.narrative)
    if site:
        res["bodySite"] = site
    oid = first_id(obs)
    return ctx.emit(res, obs, parts or (("obs", oid) if oid else ("obs", ctx.section_pos, _xp(obs))), labels)


def _xp(el):
    from .ccda_datatypes import xpath_of
    return xpath_of(el)


def organizer_entry(ctx: Ctx, stmt, labels, category: str) -> None:
    if stmt.tag == T.observation:
        observation(ctx, stmt, category, labels)
        return
    if stmt.tag != T.organizer:
        ctx.problem(stmt, f"{category} entry is a <{stmt.tag.rsplit('}', 1)[-1]}>, expected organizer or observation")
        return
    comps = [c.find(T.observation) for c in stmt.iterchildren(T.component)]
    comps = [c for c in comps if c is not None]
    if not comps:
        ctx.problem(stmt, f"{category} organizer without observations")
        return
    refs = [observation(ctx, o, category, labels, fallback_time=stmt) for o in comps]
    refs = [r for r in refs if r]
    if category == "laboratory" and refs:
        code = code_or_text(ctx, stmt.find(T.code), stmt, PREFERRED["Observation"])
        if code:
            rep: dict = {"resourceType": "DiagnosticReport", "status": OBS_STATUS.get(status_code(stmt), "final"),
                         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
                         "code": code, "subject": ref(ctx.patient_ref), "result": [{"reference": r} for r in refs]}
            effective(stmt, ctx.policy, "effective", rep)
            oid = first_id(stmt)
            ctx.emit(rep, stmt, ("report", oid) if oid else ("report", ctx.section_pos), labels)


def social_entry(ctx: Ctx, stmt, labels) -> None:
    if stmt.tag != T.observation:
        inner = list(nested(stmt, "observation"))
        if not inner:
            ctx.problem(stmt, "social history entry is not an observation: not converted", severity="warning")
        for o in inner:
            observation(ctx, o, "social-history", labels)
        return
    if stmt.get("moodCode") not in (None, "EVN"):
        ctx.problem(stmt, f"social history observation with moodCode {stmt.get('moodCode')}: not converted",
                    severity="warning")
        return
    observation(ctx, stmt, "social-history", labels)


# --- encounters ----------------------------------------------------------------------------------

def encounter(ctx: Ctx, enc, labels) -> None:
    if enc.tag != T.encounter:
        ctx.problem(enc, f"encounter entry is a <{enc.tag.rsplit('}', 1)[-1]}>, expected encounter")
        return
    mood = enc.get("moodCode")
    code_el = enc.find(T.code)
    typ = codeable(code_el, ctx.narrative, PREFERRED["Encounter"])
    status = ENC_STATUS.get(status_code(enc)) or ("planned" if mood not in (None, "EVN") else "finished")
    res: dict = {"resourceType": "Encounter", "status": status, "class": _enc_class(code_el, typ),
                 "subject": ref(ctx.patient_ref)}
    if typ:
        res["type"] = [typ]
    p = period(enc.find(T.effectiveTime), ctx.policy)
    if p:
        res["period"] = p
    parts = []
    for perf in enc.iterchildren(T.performer):
        ent = perf.find(T.assignedEntity)
        r = ctx.practitioner(ent, codeable(ent.find(T.code), ctx.narrative) if ent is not None else None)
        if r and r.startswith("Practitioner/"):
            parts.append({"individual": {"reference": r}})
    if parts:
        res["participant"] = parts
    locs = []
    for part in enc.iterchildren(T.participant):
        if part.get("typeCode") == "LOC":
            r = ctx.location(part.find(T.participantRole))
            if r:
                locs.append({"location": {"reference": r}})
    if locs:
        res["location"] = locs
    dd = enc.find("{urn:hl7-org:sdtc}dischargeDispositionCode")
    dcc = codeable(dd, ctx.narrative) if dd is not None else None
    if dcc:
        res["hospitalization"] = {"dischargeDisposition": dcc}
    reasons = [codeable(o.find(T.value), ctx.narrative) for o in nested(enc, "observation", "2.16.840.1.113883.10.20.22.4.19")]
    reasons = [r for r in reasons if r]
    if reasons:
        res["reasonCode"] = reasons
    oid = first_id(enc)
    ctx.assign(res, enc, ("enc", oid) if oid else ("enc", ctx.section_pos))
    diags = []
    for act in nested(enc, "act"):
        if "2.16.840.1.113883.10.20.22.4.80" in templates(act) or any(
                "2.16.840.1.113883.10.20.22.4.4" in templates(o) for o in nested(act, "observation")):
            for cref in problem_entry(ctx, act, labels, encounter_dx=True):
                diags.append({"condition": {"reference": cref}})
    for o in nested(enc, "observation", "2.16.840.1.113883.10.20.22.4.4"):
        from .ccda_sections import condition
        cref = condition(ctx, o, o, labels, encounter_dx=True)
        if cref:
            diags.append({"condition": {"reference": cref}})
    if diags:
        res["diagnosis"] = diags
    ctx.emit(res, enc, (), labels)


def _enc_class(code_el, typ) -> dict:
    codes = []
    if code_el is not None:
        codes.append(code_el)
        codes += list(code_el.iterchildren(T.translation))
    for c in codes:
        if c.get("codeSystem") == "2.16.840.1.113883.5.4" and c.get("code") in CLASS_NAMES:
            return {"system": ACTCODE, "code": c.get("code"), "display": CLASS_NAMES[c.get("code")]}
    for c in codes:
        code = c.get("code") or ""
        if c.get("codeSystem") == "2.16.840.1.113883.6.12" and code.isdigit():
            n = int(code)
            if 99221 <= n <= 99239 or 99251 <= n <= 99255:
                return {"system": ACTCODE, "code": "IMP", "display": CLASS_NAMES["IMP"]}
            if 99281 <= n <= 99288:
                return {"system": ACTCODE, "code": "EMER", "display": CLASS_NAMES["EMER"]}
            if 99341 <= n <= 99350:
                return {"system": ACTCODE, "code": "HH", "display": CLASS_NAMES["HH"]}
    text = " ".join(filter(None, [(typ or {}).get("text")] + [x.get("display", "") for x in (typ or {}).get("coding", [])])).lower()
    if "inpatient" in text or "hospital" in text or "admission" in text:
        return {"system": ACTCODE, "code": "IMP", "display": CLASS_NAMES["IMP"]}
    if "emergency" in text:
        return {"system": ACTCODE, "code": "EMER", "display": CLASS_NAMES["EMER"]}
    return {"system": ACTCODE, "code": "AMB", "display": CLASS_NAMES["AMB"]}


# --- procedures ----------------------------------------------------------------------------------

def procedure(ctx: Ctx, stmt, labels) -> None:
    mood = stmt.get("moodCode")
    if mood not in (None, "EVN"):
        ctx.problem(stmt, f"planned procedure (moodCode {mood}) is not a performed procedure: not converted",
                    severity="warning")
        return
    code = code_or_text(ctx, stmt.find(T.code), stmt, PREFERRED["Procedure"])
    if placeholder(ctx, stmt, code, "procedure"):
        return
    status = PROC_STATUS.get(status_code(stmt), "completed")
    if is_negated(stmt):
        status = "not-done"
    res: dict = {"resourceType": "Procedure", "status": status, "code": code, "subject": ref(ctx.patient_ref)}
    effective(stmt, ctx.policy, "performed", res)
    sites = [codeable(s, ctx.narrative) for s in stmt.iterchildren(T.targetSiteCode)]
    sites = [s for s in sites if s]
    if sites:
        res["bodySite"] = sites
    perf = []
    for p in stmt.iterchildren(T.performer):
        r = ctx.practitioner(p.find(T.assignedEntity))
        if r:
            perf.append({"actor": {"reference": r}})
    if perf:
        res["performer"] = perf
    oid = first_id(stmt)
    ctx.emit(res, stmt, ("proc", oid) if oid else ("proc", ctx.section_pos), labels)


__all__ = ["observation", "organizer_entry", "social_entry", "encounter", "procedure"]
