"""Synthetic HIE feeds: C-CDA R2.1 CCDs, Part 2 program CCDs with a sender sidecar, VXU batches.

For every youth in care (and every 10th person not in care: the HIE also sends people who are not
in foster care) the writer emits, streaming one youth at a time:

  hie/ccd/<mrn>.xml          CCD R2.1 from the county HIE: immunizations, allergies (or a negated
                             no-known-allergies entry), medications, problems, encounters, vital signs;
                             providers in documentationOf/serviceEvent/performer. Entries for a service
                             the youth consented to alone and HIV entries carry entry-level DS4P security
                             observations (confidentiality R + sensitivity, ADOL for minor consent).
                             CDA R2 clinical statements have no confidentialityCode element, so the
                             entry-level code travels as a DS4P security observation (2.16.840.1.113883.3.445.12).
  hie/ccd/<mrn>-part2.xml    only for youth with Part 2 SUD data: a CCD from the Part 2 program, document
                             confidentialityCode R, DS4P privacy-segmented header and privacy section with
                             the 42 CFR 2.32 notice and R / ETH / 42CFRPart2 / NORDSCLCD security observations.
  hie/senders.json           {"ccd/<file>": {"sender": ..., "part2_program": bool}} for every document.
  hie/vxu/batch-<n>.hl7      VXU^V04 2.5.1 messages (FHS/BHS batches of BATCH_SIZE) for every 3rd youth.

Identity in the documents is `county.present(youth, "hie", ssid=False)`: the HIE's view with noise.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

FORMATS = ("hie",)
BATCH_SIZE = 200
HIE_OID = "2.16.840.1.113883.3.9999.1"          # the county HIE's MRN assigning authority (synthetic)
PART2_OID = "2.16.840.1.113883.3.9999.2"        # the Part 2 program's MRN assigning authority (synthetic)
HIE_NAME = "Los Angeles County Health Information Exchange"
PART2_NAME = "Harbor Youth Recovery Services (42 CFR Part 2 program)"
LOINC, SNOMED, RXNORM, ICD10CM, CVX, CPT, ACTCODE = (
    "2.16.840.1.113883.6.1", "2.16.840.1.113883.6.96", "2.16.840.1.113883.6.88", "2.16.840.1.113883.6.90",
    "2.16.840.1.113883.12.292", "2.16.840.1.113883.6.12", "2.16.840.1.113883.5.4")
CONF = "2.16.840.1.113883.5.25"
SECOBS = "2.16.840.1.113883.1.11.20471"
REACTIONS = {"Hives": "247472004", "Rash": "271807003", "Anaphylaxis": "39579001", "Swelling": "65124004",
             "Wheezing": "56018004"}
ENCOUNTER_CODES = {"office": ("99213", "AMB", "ambulatory"), "emergency": ("99283", "EMER", "emergency"),
                   "inpatient": ("99223", "IMP", "inpatient encounter")}
PART2_NOTICE = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules (42 CFR part 2). "
    "These rules prohibit you from using or disclosing this record, or testimony that describes the information "
    "contained in this record, in any civil, criminal, administrative, or legislative proceedings by any Federal, "
    "State, or local authority, against the patient, unless authorized by the consent of the patient, except as "
    "provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR 2.64 or 2.65. In "
    "addition, the Federal rules prohibit you from making any other use or disclosure of this record unless at "
    "least one of the following applies: (i) further use or disclosure is expressly permitted by the written "
    "consent of the individual whose information is being disclosed in this record or as otherwise permitted by "
    "42 CFR part 2; (ii) you are a covered entity or business associate and have received the record for "
    "treatment, payment, or health care operations; or (iii) you have received the record from a covered entity "
    "or business associate as permitted by 45 CFR part 164, subparts A and E. A general authorization for the "
    "release of medical or other information is NOT sufficient to meet the required elements of written consent "
    "to further use or redisclose the record (see 42 CFR 2.31).")


def a(v) -> str:
    return quoteattr(str(v))


def t(v) -> str:
    return escape(str(v))


def ts(d: date) -> str:
    return d.strftime("%Y%m%d")


def hl7(v: str) -> str:
    """HL7 v2 escaping for the standard separators |^~\\&."""
    return (str(v).replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
            .replace("~", "\\R\\").replace("&", "\\T\\"))


# --- C-CDA building blocks -----------------------------------------------------------------------

def _security(codes: list[tuple[str, str]]) -> str:
    """Entry-level DS4P security observations (CDA DS4P R1 privacy annotations)."""
    out = []
    for code, system in codes:
        tmpl = "2.16.840.1.113883.3.445.12" if system == CONF else "2.16.840.1.113883.3.445.21"
        out.append(
            f'<entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN">'
            f'<templateId root="2.16.840.1.113883.3.445.21"/>'
            + (f'<templateId root="{tmpl}"/>' if tmpl != "2.16.840.1.113883.3.445.21" else "")
            + f'<code code="SECCLASSOBS" codeSystem="2.16.840.1.113883.1.11.20457" displayName="Security Category"/>'
            f'<value xsi:type="CE" code={a(code)} codeSystem={a(system)}/></observation></entryRelationship>')
    return "".join(out)


def _labels_for(c) -> list[tuple[str, str]]:
    labels: list[tuple[str, str]] = []
    if c.sensitivity == "hiv":
        labels += [("R", CONF), ("HIV", ACTCODE)]
    elif c.minor_consented:
        sens = {"mental_health": "MH", "reproductive": "STD" if c.icd10.startswith("A") else "SEX",
                "sud": "ETH"}.get(c.sensitivity, "SEX")
        labels += [("R", CONF), (sens, ACTCODE), ("ADOL", ACTCODE)]
    return labels


def _section(tmpl: str, code: str, title: str, text: str, entries: list[str], null: bool = False) -> str:
    nf = ' nullFlavor="NI"' if null else ""
    return (f'<component><section{nf}><templateId root="{tmpl}"/><templateId root="{tmpl}" extension="2015-08-01"/>'
            f'<code code="{code}" codeSystem="{LOINC}" codeSystemName="LOINC"/><title>{t(title)}</title>'
            f'<text>{text}</text>{"".join(entries)}</section></component>')


def _table(headers: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "None recorded."
    head = "".join(f"<th>{t(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{t(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _immunizations(y) -> str:
    entries, rows = [], []
    for k, im in enumerate(y.immunizations):
        entries.append(
            f'<entry typeCode="DRIV"><substanceAdministration classCode="SBADM" moodCode="EVN" negationInd="false">'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.52"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.52" extension="2015-08-01"/>'
            f'<id root="{HIE_OID}.4" extension={a(f"{y.mrn}-imm-{k}")}/>'
            f'<statusCode code="completed"/><effectiveTime value="{ts(im.date)}"/>'
            f'<consumable><manufacturedProduct classCode="MANU">'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.54"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.54" extension="2014-06-09"/>'
            f'<manufacturedMaterial><code code={a(im.cvx)} codeSystem="{CVX}" codeSystemName="CVX" '
            f'displayName={a(im.display)}/></manufacturedMaterial></manufacturedProduct></consumable>'
            f'</substanceAdministration></entry>')
        rows.append([im.display, im.date.isoformat()])
    return _section("2.16.840.1.113883.10.20.22.2.2.1", "11369-6", "Immunizations",
                    _table(["Vaccine", "Date"], rows), entries)


def _allergy_obs(y, k, al=None) -> str:
    neg = ' negationInd="true"' if al is None else ""
    if al is None:
        value = (f'<value xsi:type="CD" code="419199007" codeSystem="{SNOMED}" '
                 f'displayName="Allergy to substance (disorder)"/>')
        part = ('<participant typeCode="CSM"><participantRole classCode="MANU"><playingEntity classCode="MMAT">'
                '<code nullFlavor="NA"/></playingEntity></participantRole></participant>')
        reaction = ""
    else:
        if al.system == "rxnorm":
            value = (f'<value xsi:type="CD" code="416098002" codeSystem="{SNOMED}" '
                     f'displayName="Allergy to drug (finding)"/>')
            sub = f'<code code={a(al.code)} codeSystem="{RXNORM}" codeSystemName="RxNorm" displayName={a(al.display)}/>'
        else:
            value = f'<value xsi:type="CD" code={a(al.code)} codeSystem="{SNOMED}" displayName={a(al.display)}/>'
            sub = f'<code nullFlavor="OTH"><originalText>{t(al.display)}</originalText></code>'
        part = (f'<participant typeCode="CSM"><participantRole classCode="MANU"><playingEntity classCode="MMAT">'
                f'{sub}</playingEntity></participantRole></participant>')
        rc = REACTIONS.get(al.reaction)
        reaction = (f'<entryRelationship typeCode="MFST" inversionInd="true"><observation classCode="OBS" moodCode="EVN">'
                    f'<templateId root="2.16.840.1.113883.10.20.22.4.9"/>'
                    f'<templateId root="2.16.840.1.113883.10.20.22.4.9" extension="2014-06-09"/>'
                    f'<id root="{HIE_OID}.5" extension={a(f"{y.mrn}-rx-{k}")}/>'
                    f'<code code="ASSERTION" codeSystem="{ACTCODE}"/><statusCode code="completed"/>'
                    + (f'<value xsi:type="CD" code="{rc}" codeSystem="{SNOMED}" displayName={a(al.reaction)}/>'
                       if rc else f'<value xsi:type="CD" nullFlavor="OTH"><originalText>{t(al.reaction)}</originalText></value>')
                    + '</observation></entryRelationship>')
    return (f'<entry typeCode="DRIV"><act classCode="ACT" moodCode="EVN">'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.30"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.30" extension="2015-08-01"/>'
            f'<id root="{HIE_OID}.6" extension={a(f"{y.mrn}-alc-{k}")}/>'
            f'<code code="CONC" codeSystem="2.16.840.1.113883.5.6"/><statusCode code="active"/>'
            f'<effectiveTime><low nullFlavor="UNK"/></effectiveTime>'
            f'<entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN"{neg}>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.7"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.7" extension="2014-06-09"/>'
            f'<id root="{HIE_OID}.7" extension={a(f"{y.mrn}-alg-{k}")}/>'
            f'<code code="ASSERTION" codeSystem="{ACTCODE}"/><statusCode code="completed"/>'
            f'<effectiveTime><low nullFlavor="UNK"/></effectiveTime>{value}{part}{reaction}'
            f'</observation></entryRelationship></act></entry>')


def _allergies(y) -> str:
    if not y.allergies:
        return _section("2.16.840.1.113883.10.20.22.2.6.1", "48765-2", "Allergies and Intolerances",
                        "No known allergies.", [_allergy_obs(y, 0)])
    return _section("2.16.840.1.113883.10.20.22.2.6.1", "48765-2", "Allergies and Intolerances",
                    _table(["Substance", "Reaction"], [[x.display, x.reaction] for x in y.allergies]),
                    [_allergy_obs(y, k, al) for k, al in enumerate(y.allergies)])


def _medications(y) -> str:
    entries = []
    for k, m in enumerate(y.medications):
        entries.append(
            f'<entry typeCode="DRIV"><substanceAdministration classCode="SBADM" moodCode="EVN">'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.16"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.16" extension="2014-06-09"/>'
            f'<id root="{HIE_OID}.8" extension={a(f"{y.mrn}-med-{k}")}/>'
            f'<statusCode code="active"/><effectiveTime xsi:type="IVL_TS"><low value="{ts(m.start)}"/></effectiveTime>'
            f'<consumable><manufacturedProduct classCode="MANU">'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.23"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.23" extension="2014-06-09"/>'
            f'<manufacturedMaterial><code code={a(m.rxnorm)} codeSystem="{RXNORM}" codeSystemName="RxNorm" '
            f'displayName={a(m.display)}/></manufacturedMaterial></manufacturedProduct></consumable>'
            f'</substanceAdministration></entry>')
    return _section("2.16.840.1.113883.10.20.22.2.1.1", "10160-0", "Medications",
                    _table(["Medication", "Start"], [[m.display, m.start.isoformat()] for m in y.medications]),
                    entries)


def _problem(y, k: int, c, oid: str) -> str:
    status = "completed" if c.resolved else "active"
    high = f'<high value="{ts(c.onset + timedelta(days=60))}"/>' if c.resolved else ""
    return (f'<entry typeCode="DRIV"><act classCode="ACT" moodCode="EVN">'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.3"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.3" extension="2015-08-01"/>'
            f'<id root="{oid}.9" extension={a(f"{y.mrn}-pc-{k}")}/>'
            f'<code code="CONC" codeSystem="2.16.840.1.113883.5.6"/><statusCode code="{status}"/>'
            f'<effectiveTime><low value="{ts(c.onset)}"/>{high}</effectiveTime>'
            f'<entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.4"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.4" extension="2015-08-01"/>'
            f'<id root="{oid}.10" extension={a(f"{y.mrn}-pr-{k}")}/>'
            f'<code code="55607006" codeSystem="{SNOMED}" displayName="Problem">'
            f'<translation code="75326-9" codeSystem="{LOINC}" displayName="Problem"/></code>'
            f'<statusCode code="completed"/><effectiveTime><low value="{ts(c.onset)}"/>{high}</effectiveTime>'
            f'<value xsi:type="CD" code={a(c.snomed)} codeSystem="{SNOMED}" displayName={a(c.display)}>'
            f'<translation code={a(c.icd10)} codeSystem="{ICD10CM}" codeSystemName="ICD-10-CM" '
            f'displayName={a(c.display)}/></value>{_security(_labels_for(c))}'
            f'</observation></entryRelationship></act></entry>')


def _problems(y, conds, oid=HIE_OID) -> str:
    return _section("2.16.840.1.113883.10.20.22.2.5.1", "11450-4", "Problems",
                    _table(["Problem", "Onset", "Status"],
                           [[c.display, c.onset.isoformat(), "resolved" if c.resolved else "active"] for c in conds]),
                    [_problem(y, k, c, oid) for k, c in enumerate(conds)])


def _encounters(y) -> str:
    entries = []
    for k, e in enumerate(y.encounters):
        cpt, act, disp = ENCOUNTER_CODES.get(e.kind, ENCOUNTER_CODES["office"])
        high = f'<high value="{ts(e.date + timedelta(days=e.days))}"/>' if e.days else ""
        entries.append(
            f'<entry typeCode="DRIV"><encounter classCode="ENC" moodCode="EVN">'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.49"/>'
            f'<templateId root="2.16.840.1.113883.10.20.22.4.49" extension="2015-08-01"/>'
            f'<id root="{HIE_OID}.11" extension={a(f"{y.mrn}-enc-{k}")}/>'
            f'<code code="{cpt}" codeSystem="{CPT}" codeSystemName="CPT-4"><originalText>{t(e.reason)}</originalText>'
            f'<translation code="{act}" codeSystem="{ACTCODE}" displayName="{disp}"/></code>'
            f'<effectiveTime><low value="{ts(e.date)}"/>{high}</effectiveTime></encounter></entry>')
    return _section("2.16.840.1.113883.10.20.22.2.22.1", "46240-8", "Encounters",
                    _table(["Encounter", "Date"], [[e.reason, e.date.isoformat()] for e in y.encounters]), entries)


def growth(y, on: date) -> tuple[float, float]:
    """Plausible height (cm) and weight (kg) for the age: deterministic from the youth index."""
    age = max(0.1, (on - y.birth_date).days / 365.25)
    h = min(50 + 25 * min(age, 1) + 6.5 * max(0, age - 1), 150 + (15 if y.sex == "M" else 8)) + (y.index % 7 - 3)
    w = max(3.5, (h / 100) ** 2 * (16 + min(age, 18) * 0.35 + (y.index % 5)))
    return round(h, 1), round(w, 1)


def _vitals(y) -> str:
    if not y.encounters:
        return _section("2.16.840.1.113883.10.20.22.2.4.1", "8716-3", "Vital Signs", "None recorded.", [])
    day = max(e.date for e in y.encounters)
    h, w = growth(y, day)

    def obs(n, code, disp, value, unit):
        return (f'<component><observation classCode="OBS" moodCode="EVN">'
                f'<templateId root="2.16.840.1.113883.10.20.22.4.27"/>'
                f'<templateId root="2.16.840.1.113883.10.20.22.4.27" extension="2014-06-09"/>'
                f'<id root="{HIE_OID}.13" extension={a(f"{y.mrn}-vs-{n}")}/>'
                f'<code code="{code}" codeSystem="{LOINC}" displayName="{disp}"/><statusCode code="completed"/>'
                f'<effectiveTime value="{ts(day)}"/><value xsi:type="PQ" value="{value}" unit="{unit}"/>'
                f'</observation></component>')
    entry = (f'<entry typeCode="DRIV"><organizer classCode="CLUSTER" moodCode="EVN">'
             f'<templateId root="2.16.840.1.113883.10.20.22.4.26"/>'
             f'<templateId root="2.16.840.1.113883.10.20.22.4.26" extension="2015-08-01"/>'
             f'<id root="{HIE_OID}.12" extension={a(f"{y.mrn}-vs")}/>'
             f'<code code="46680005" codeSystem="{SNOMED}" displayName="Vital signs">'
             f'<translation code="74728-7" codeSystem="{LOINC}" displayName="Vital signs"/></code>'
             f'<statusCode code="completed"/><effectiveTime value="{ts(day)}"/>'
             f'{obs(1, "8302-2", "Body height", h, "cm")}{obs(2, "29463-7", "Body weight", w, "kg")}'
             f'</organizer></entry>')
    return _section("2.16.840.1.113883.10.20.22.2.4.1", "8716-3", "Vital Signs",
                    _table(["Date", "Height (cm)", "Weight (kg)"], [[day.isoformat(), str(h), str(w)]]), [entry])


def _performer(p) -> str:
    return (f'<performer typeCode="PRF"><assignedEntity><id root="2.16.840.1.113883.4.6" extension={a(p.npi)}/>'
            f'<addr use="WP"><streetAddressLine>{t(p.address)}</streetAddressLine><city>{t(p.city)}</city>'
            f'<state>CA</state><postalCode>{t(p.zip)}</postalCode><country>US</country></addr>'
            f'<telecom use="WP" value={a("tel:" + p.phone)}/>'
            f'<assignedPerson><name><given>{t(p.given)}</given><family>{t(p.family)}</family></name></assignedPerson>'
            f'<representedOrganization><name>{t(p.organization)}</name></representedOrganization>'
            f'</assignedEntity></performer>')


def _header(y, pp, doc_id: str, title: str, now: date, mrn_root: str, mrn: str, org: str, conf: str,
            performers: list, extra_templates: str = "", start: date | None = None) -> str:
    addr = ""
    if y.placements:
        pl = y.placements[-1]
        addr = (f'<addr use="HP"><streetAddressLine>{t(pl.address)}</streetAddressLine><city>{t(pl.city)}</city>'
                f'<state>CA</state><postalCode>{t(pl.zip)}</postalCode><country>US</country></addr>')
    else:
        addr = '<addr nullFlavor="UNK"/>'
    middle = f"<given>{t(pp.middle)}</given>" if pp.middle else ""
    low = ts(start or y.birth_date)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:sdtc="urn:hl7-org:sdtc">'
        '<realmCode code="US"/><typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>'
        '<templateId root="2.16.840.1.113883.10.20.22.1.1"/>'
        '<templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>'
        '<templateId root="2.16.840.1.113883.10.20.22.1.2"/>'
        '<templateId root="2.16.840.1.113883.10.20.22.1.2" extension="2015-08-01"/>'
        f'{extra_templates}'
        f'<id root="{mrn_root}.1" extension={a(doc_id)}/>'
        f'<code code="34133-9" codeSystem="{LOINC}" codeSystemName="LOINC" '
        'displayName="Summarization of Episode Note"/>'
        f'<title>{t(title)}</title><effectiveTime value="{ts(now)}"/>'
        f'<confidentialityCode code="{conf}" codeSystem="{CONF}"/><languageCode code="en-US"/>'
        f'<recordTarget><patientRole><id root="{mrn_root}" extension={a(mrn)}/>{addr}'
        '<telecom nullFlavor="UNK"/>'
        f'<patient><name use="L"><given>{t(pp.given)}</given>{middle}<family>{t(pp.family)}</family></name>'
        f'<administrativeGenderCode code="{t(pp.sex)}" codeSystem="2.16.840.1.113883.5.1"/>'
        f'<birthTime value="{ts(pp.birth_date)}"/></patient></patientRole></recordTarget>'
        f'<author><time value="{ts(now)}"/><assignedAuthor><id root="{mrn_root}.2" extension="system"/>'
        f'<addr nullFlavor="UNK"/><telecom nullFlavor="UNK"/>'
        f'<assignedAuthoringDevice><softwareName>{t(org)} export</softwareName></assignedAuthoringDevice>'
        f'<representedOrganization><name>{t(org)}</name></representedOrganization></assignedAuthor></author>'
        f'<custodian><assignedCustodian><representedCustodianOrganization><id root="{mrn_root}"/>'
        f'<name>{t(org)}</name><telecom nullFlavor="UNK"/><addr nullFlavor="UNK"/>'
        f'</representedCustodianOrganization></assignedCustodian></custodian>'
        f'<documentationOf><serviceEvent classCode="PCPR"><effectiveTime><low value="{low}"/>'
        f'<high value="{ts(now)}"/></effectiveTime>{"".join(_performer(p) for p in performers)}'
        f'</serviceEvent></documentationOf>')


def _privacy_section(now: date) -> str:
    obs = []
    for tmpl, code, system, disp in (
            ("2.16.840.1.113883.3.445.12", "R", CONF, "Restricted"),
            ("2.16.840.1.113883.3.445.21", "ETH", ACTCODE, "substance abuse information sensitivity"),
            ("2.16.840.1.113883.3.445.21", "42CFRPart2", ACTCODE, "42 CFR Part2"),
            ("2.16.840.1.113883.3.445.23", "NORDSCLCD", ACTCODE, "no redisclosure without consent directive")):
        extra = f'<templateId root="{tmpl}"/>' if tmpl != "2.16.840.1.113883.3.445.21" else ""
        obs.append(f'<component><observation classCode="OBS" moodCode="EVN">'
                   f'<templateId root="2.16.840.1.113883.3.445.21"/>{extra}'
                   f'<code code="SECCLASSOBS" codeSystem="2.16.840.1.113883.1.11.20457" displayName="Security Category"/>'
                   f'<value xsi:type="CE" code="{code}" codeSystem="{system}" displayName={a(disp)}/>'
                   f'</observation></component>')
    return (f'<component><section><templateId root="2.16.840.1.113883.3.3251.1.5"/>'
            f'<code code="57017-6" codeSystem="{LOINC}" displayName="Privacy policy Organization"/>'
            f'<title>Security and Privacy Prohibitions</title><text>{t(PART2_NOTICE)}</text>'
            f'<confidentialityCode code="R" codeSystem="{CONF}"/>'
            f'<entry typeCode="COMP"><templateId root="2.16.840.1.113883.3.3251.1.9"/>'
            f'<organizer classCode="CLUSTER" moodCode="EVN"><templateId root="2.16.840.1.113883.3.3251.1.4"/>'
            f'<statusCode code="active"/>{"".join(obs)}</organizer></entry></section></component>')


class Writer:
    def __init__(self, county, out_dir: Path):
        self.county = county
        self.dir = Path(out_dir) / "hie"
        self.ccd_dir = self.dir / "ccd"
        self.vxu_dir = self.dir / "vxu"
        self.ccd_dir.mkdir(parents=True, exist_ok=True)
        self.vxu_dir.mkdir(parents=True, exist_ok=True)
        self.senders: dict[str, dict] = {}
        self.files: list[Path] = []
        self._vxu = None
        self._vxu_count = 0
        self._batches = 0
        self.now = county.as_of

    def format_of(self, path: Path) -> str:
        p = Path(path)
        if p.suffix == ".hl7":
            return "hl7v2"
        if p.name == "senders.json":
            return "hie-senders"
        return "ccda"

    def wanted(self, y) -> bool:
        return y.in_care or y.index % 10 == 0

    def add(self, y) -> None:
        if not self.wanted(y):
            return
        pp = self.county.present(y, "hie", ssid=False)
        normal = [c for c in y.conditions if not c.part2_program]
        part2 = [c for c in y.conditions if c.part2_program]
        performers = [p for p in y.providers]
        body = (_immunizations(y) + _allergies(y) + _medications(y) + _problems(y, normal) + _encounters(y)
                + _vitals(y))
        xml = (_header(y, pp, f"{y.mrn}-ccd", "Continuity of Care Document", self.now, HIE_OID, y.mrn, HIE_NAME,
                       "N", performers)
               + f"<component><structuredBody>{body}</structuredBody></component></ClinicalDocument>\n")
        path = self.ccd_dir / f"{y.mrn}.xml"
        path.write_text(xml, encoding="utf-8")
        self.files.append(path)
        self.senders[f"ccd/{path.name}"] = {"sender": HIE_NAME, "part2_program": False}
        if part2:
            mrn2 = "P2" + y.mrn[3:]
            counselor = _part2_counselor(y)
            body2 = _privacy_section(self.now) + _problems(y, part2, PART2_OID)
            xml2 = (_header(y, pp, f"{mrn2}-ccd", "Substance Use Disorder Treatment Summary (42 CFR Part 2)",
                            self.now, PART2_OID, mrn2, PART2_NAME, "R", [counselor],
                            extra_templates='<templateId root="2.16.840.1.113883.3.3251.1.1"/>',
                            start=min(c.onset for c in part2))
                    + f"<component><structuredBody>{body2}</structuredBody></component></ClinicalDocument>\n")
            p2 = self.ccd_dir / f"{y.mrn}-part2.xml"
            p2.write_text(xml2, encoding="utf-8")
            self.files.append(p2)
            self.senders[f"ccd/{p2.name}"] = {"sender": PART2_NAME, "part2_program": True}
        if y.index % 3 == 0 and y.immunizations:
            self._write_vxu(y, pp)

    # --- VXU ------------------------------------------------------------------------------------
    def _write_vxu(self, y, pp) -> None:
        if self._vxu is None or self._vxu_count >= BATCH_SIZE:
            self._close_batch()
            self._batches += 1
            path = self.vxu_dir / f"batch-{self._batches}.hl7"
            self.files.append(path)
            self._vxu = open(path, "w", encoding="utf-8", newline="")
            self._vxu_count = 0
            stamp = self.now.strftime("%Y%m%d") + "120000-0800"
            self._vxu.write(f"FHS|^~\\&|CLINICA|LAHIE|CAIR|CDPH|{stamp}\r"
                            f"BHS|^~\\&|CLINICA|LAHIE|CAIR|CDPH|{stamp}||||B{self._batches:05d}\r")
        self._vxu_count += 1
        stamp = self.now.strftime("%Y%m%d") + "120000-0800"
        sex = pp.sex if pp.sex in ("F", "M") else "U"
        addr = ""
        if y.placements:
            pl = y.placements[-1]
            addr = f"{hl7(pl.address)}^^{hl7(pl.city)}^CA^{hl7(pl.zip)}^USA^L"
        seg = [f"MSH|^~\\&|CLINICA|LAHIE^{HIE_OID}^ISO|CAIR|CDPH|{stamp}||VXU^V04^VXU_V04|VXU{y.index:09d}|P|2.5.1|||ER|AL",
               f"PID|1||{hl7(y.mrn)}^^^LAHIE&{HIE_OID}&ISO^MR||{hl7(pp.family)}^{hl7(pp.given)}^{hl7(pp.middle)}^^^^L||"
               f"{ts(pp.birth_date)}|{sex}|||{addr}"]
        for k, im in enumerate(y.immunizations):
            seg.append(f"ORC|RE||{hl7(y.mrn)}-{k}^LAHIE")
            seg.append(f"RXA|0|1|{ts(im.date)}||{hl7(im.cvx)}^{hl7(im.display)}^CVX|999|||01^Historical^NIP001"
                       + "|" * 11 + "CP|A")
        self._vxu.write("\r".join(seg) + "\r")

    def _close_batch(self) -> None:
        if self._vxu is not None:
            self._vxu.write(f"BTS|{self._vxu_count}\rFTS|1\r")
            self._vxu.close()
            self._vxu = None

    def close(self) -> list[Path]:
        self._close_batch()
        path = self.dir / "senders.json"
        path.write_text(json.dumps(self.senders, indent=1, sort_keys=True) + "\n")
        return self.files + [path]


def _part2_counselor(y):
    from ..model import Provider
    return Provider(kind="sud", given="Jordan", family="Reyes", npi=f"17{y.index % 100000000:08d}",
                    organization=PART2_NAME, address="400 Harbor Blvd", city="Los Angeles", zip="90731",
                    phone="(310) 555-0142")
