"""One youth's exportable resources, decided and released exactly as a single read.

For each youth: `decide_categories` with the job's requester (facts of a whole chunk loaded in a
handful of queries), then only the exportable categories are SELECTed (a denied category never
leaves the database). Exportable = permitted (permit / permit-redacted) and not carrying the
`view_only_no_export` obligation (the policy's "may view, but not export"). Each resource:
  - stored FHIR: served as stored, psychotherapy notes dropped under that redaction, identifiers
    removed under direct/indirect_identifiers, labels + obligations added (api.fhir.release.label),
    meta.versionId / meta.lastUpdated from the store; stored Patients are replaced by the canonical
    Patient; a stored Provenance only when every target it names is released for this youth.
  - Ed-Fi records: the passport's education Observations (passport.education.render), with the
    schools they reference as Organizations (once per job).
  - case records: the passport's EpisodeOfCare / RelatedPerson / CareTeam / Consent / Basic, with
    the case fields the decision redacts dropped.
  - Patient: api.fhir.patient.patient_resource when demographics_identity is exportable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import SimpleNamespace
from typing import Iterator

import orjson
from sqlalchemy import and_, or_, select

from ..enforce.decisions import ALL_CATEGORIES, YouthFacts, decide_categories
from ..ingest.sealing import unseal
from ..passport import case as case_fhir
from ..passport import education
from ..passport.redact import (IDENTIFIER_REDACTIONS, deidentify, drop_case_fields, is_psychotherapy_note,
                               redactions_of)
from ..passport.rows import Row, instant, load_schools
from ..store import schema as s
from . import hep_record
from .params import CASE_OUTPUT, EDFI_OUTPUT, HEP_RECORD, STORED_TYPES

VIEW_ONLY = "view_only_no_export"
DEMOGRAPHIC_EDFI = frozenset({"students", "studentEducationOrganizationAssociations"})
_R = s.resource.c
_COLS = (_R.id, _R.youth_id, _R.standard, _R.rtype, _R.category, _R.security, _R.body, _R.key_id, _R.source_system,
         _R.source_file, _R.source_locator, _R.received_at, _R.updated_at, _R.version)


def _utc(ts):
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


# --- facts and decisions for a chunk ---------------------------------------------------------

def load_chunk_facts(conn, tenant: str, ids: list[str]) -> dict[str, YouthFacts]:
    """The YouthFacts of every youth in `ids` in four queries (not four per youth)."""
    if not ids:
        return {}
    y = s.youth.c
    youth = {r.id: dict(r._mapping) for r in conn.execute(select(s.youth).where(and_(y.tenant_id == tenant,
                                                                                      y.id.in_(ids))))}
    per: dict[str, dict[str, list]] = {i: {"a": [], "c": [], "o": []} for i in youth}
    for key, table in (("a", s.care_assignment), ("c", s.consent), ("o", s.court_order)):
        for r in conn.execute(select(table).where(and_(table.c.tenant_id == tenant, table.c.youth_id.in_(ids)))):
            if r.youth_id in per:
                per[r.youth_id][key].append(dict(r._mapping))
    return {i: YouthFacts(youth=youth[i], assignments=per[i]["a"], consents=per[i]["c"], court_orders=per[i]["o"])
            for i in youth}


@dataclass
class YouthDecision:
    youth_id: str
    disclosure: object                  # enforce.Disclosure
    exportable: dict[str, dict]         # category -> decision
    view_only: list[str]                # permitted to view, not to export: withheld here


def decide_chunk(conn, tenant: str, requester, facts: dict[str, YouthFacts], as_of: date) -> list[YouthDecision]:
    out = []
    for yid in sorted(facts):
        d = decide_categories(conn, tenant, requester, yid, ALL_CATEGORIES, as_of=as_of, facts=facts[yid])
        permitted = d.permitted()
        view_only = sorted(c for c, dec in permitted.items() if VIEW_ONLY in (dec.get("obligations") or ()))
        out.append(YouthDecision(yid, d, {c: dec for c, dec in permitted.items() if c not in view_only}, view_only))
    return out


# --- rows ------------------------------------------------------------------------------------

@dataclass(slots=True)
class StoredRow:
    row: Row
    youth_id: str
    updated_at: datetime
    version: int


_ALL = object()


def _type_clause(types: set[str] | None):
    """Which stored rows can produce the wanted output types: _ALL (every row), None (no row is
    needed: only Patient wanted), or a WHERE clause."""
    if types is None or HEP_RECORD in types:
        return _ALL
    parts = []
    stored = sorted(t for t in types if t in STORED_TYPES)
    if stored:
        parts.append(and_(_R.standard == "fhir", _R.rtype.in_(stored)))
    if types & EDFI_OUTPUT:
        parts.append(_R.standard == "edfi")
    if types & CASE_OUTPUT:
        parts.append(_R.standard == "case")
    return or_(*parts) if parts else None


def iter_rows(conn, tenant: str, decisions: list[YouthDecision], types: set[str] | None) -> Iterator[tuple[str, list[StoredRow]]]:
    """(youth_id, rows) for every youth with something exportable, youth in id order. One query per
    distinct set of exportable categories (in practice one or two per chunk); each query selects
    only those categories for only those youth."""
    by_set: dict[frozenset, list[str]] = {}
    for yd in decisions:
        if yd.exportable:
            by_set.setdefault(frozenset(yd.exportable), []).append(yd.youth_id)
    clause = _type_clause(types)
    done: set[str] = set()
    for cats, ids in (by_set.items() if clause is not None else ()):
        q = select(*_COLS).where(and_(_R.tenant_id == tenant, _R.youth_id.in_(ids), _R.category.in_(sorted(cats)),
                                      _R.deleted.is_(False)))
        if clause is not _ALL:
            q = q.where(clause)
        pending = iter(sorted(ids))
        current, acc = None, []
        # streamed (a server-side cursor on PostgreSQL): memory holds one youth's rows, not a chunk's
        for r in conn.execution_options(stream_results=True, yield_per=2000).execute(
                q.order_by(_R.youth_id, _R.standard, _R.rtype, _R.id)):
            if r.youth_id != current:
                if current is not None:
                    done.add(current)
                    yield current, acc
                for yid in pending:            # youth without rows of these categories come first
                    if yid == r.youth_id:
                        break
                    done.add(yid)
                    yield yid, []
                current, acc = r.youth_id, []
            sec = r.security
            if isinstance(sec, (str, bytes)):
                sec = orjson.loads(sec)
            body = orjson.loads(unseal(tenant, r.category, r.body, r.key_id))
            acc.append(StoredRow(Row(r.id, r.standard, r.rtype, r.category, list(sec or ()), body, r.source_system,
                                     r.source_file, r.source_locator, r.received_at),
                                 r.youth_id, _utc(r.updated_at), r.version))
        if current is not None:
            done.add(current)
            yield current, acc
        for yid in pending:
            done.add(yid)
            yield yid, []
    for yd in decisions:
        if yd.exportable and yd.youth_id not in done:
            yield yd.youth_id, []


# --- rendering -------------------------------------------------------------------------------

class Schools:
    """School reference rows, loaded once per job (bounded by the number of schools, not youth)."""

    def __init__(self, tenant: str):
        self.tenant = tenant
        self.rows: dict[int, Row | None] = {}

    def get(self, conn, ids) -> dict[int, Row]:
        missing = {int(i) for i in ids if i is not None and int(i) not in self.rows}
        if missing:
            found = load_schools(conn, self.tenant, missing)
            for i in missing:
                self.rows[i] = found.get(i)
        return {int(i): self.rows[int(i)] for i in ids if i is not None and self.rows.get(int(i)) is not None}


@dataclass
class Rendered:
    resources: list[tuple[str, dict]] = field(default_factory=list)   # (resourceType, resource)
    hep_record: dict | None = None
    schools: set[int] = field(default_factory=set)                      # school ids emitted now


def _label(resource: dict, decision: dict) -> dict:
    from ..api.fhir.release import label
    return label(resource, decision)


def _meta(res: dict, updated, version=None) -> dict:
    meta = res.setdefault("meta", {})
    if version is not None:
        meta["versionId"] = str(version)
    meta["lastUpdated"] = instant(updated)
    return res


def render_youth(conn, tenant: str, yd: YouthDecision, youth: dict, rows: list[StoredRow], *, types: set[str] | None,
                 since: datetime | None, as_of: date, schools: Schools, emitted_schools: set[int]) -> Rendered:
    from ..api.fhir.patient import patient_resource
    allowed = yd.exportable
    red = {c: redactions_of(d) for c, d in allowed.items()}
    want = (lambda t: True) if types is None else (lambda t: t in types)
    out = Rendered()
    enrollment_ok = "enrollment_school_placement" in allowed
    school_ids = {(sr.row.body.get("schoolReference") or {}).get("schoolId") for sr in rows if sr.row.standard == "edfi"}
    school_rows = schools.get(conn, school_ids) if enrollment_ok else {}
    names = {sid: r.body.get("nameOfInstitution") for sid, r in school_rows.items()}
    youth_updated = _utc(youth.get("updated_at"))

    if types is not None and HEP_RECORD in types:
        out.hep_record = hep_record.build(youth, [sr.row for sr in rows], allowed, as_of, school_rows)
        if since is not None and not (youth_updated > since or any(sr.updated_at > since for sr in rows)):
            out.hep_record = None

    items: list[tuple[dict, str, datetime]] = []     # (resource, category, updated)
    school_of: dict[int, int] = {}                   # id(Organization) -> school id
    provs: list[tuple[dict, str, datetime]] = []
    team: list[tuple[dict, datetime]] = []
    if "demographics_identity" in allowed:
        p = patient_resource(SimpleNamespace(**youth), allowed["demographics_identity"])
        items.append((_meta(p, youth_updated, 1), "demographics_identity", youth_updated))
    for sr in rows:
        r, cat = sr.row, sr.row.category
        rd = red.get(cat, frozenset())
        if r.standard == "fhir":
            if r.rtype == "Patient":
                continue        # the canonical Patient stands for the youth
            if "psychotherapy_notes" in rd and is_psychotherapy_note(r.security, r.body):
                continue
            res = _meta(dict(r.body), sr.updated_at, sr.version)
            (provs if r.rtype == "Provenance" else items).append((res, cat, sr.updated_at))
        elif r.standard == "edfi":
            if r.rtype in DEMOGRAPHIC_EDFI:
                continue
            res = education.render(tenant, yd.youth_id, r, schools_literal=enrollment_ok, school_names=names)
            if res is not None:
                items.append((_meta(res, sr.updated_at), cat, sr.updated_at))
        else:
            body = drop_case_fields(r.body, rd)
            if r.rtype == "placement":
                items.extend((_meta(x, sr.updated_at), cat, sr.updated_at)
                             for x in case_fhir.placement(tenant, yd.youth_id, r, body))
            elif r.rtype == "assignment":
                rp = _meta(case_fhir.related_person(tenant, yd.youth_id, r, body), sr.updated_at)
                items.append((rp, cat, sr.updated_at))
                if cat == "placement_case_information":
                    team.append((rp, sr.updated_at))
            elif r.rtype == "consent":
                items.append((_meta(case_fhir.consent(tenant, yd.youth_id, r, body), sr.updated_at), cat, sr.updated_at))
            elif r.rtype == "courtOrder":
                items.append((_meta(case_fhir.court_order(tenant, yd.youth_id, r, body), sr.updated_at), cat,
                              sr.updated_at))
    if team:
        upd = max(u for _, u in team)
        ct = case_fhir.care_team(tenant, yd.youth_id, [rp for rp, _ in team])
        items.append((_meta(ct, upd), "placement_case_information", upd))
    if enrollment_ok:
        for res, cat, upd in list(items):
            for perf in res.get("performer") or ():
                ref = perf.get("reference") or ""
                if not ref.startswith("Organization/") or res.get("resourceType") != "Observation":
                    continue
                sid = int(perf["identifier"]["value"])
                if sid in emitted_schools or sid in school_of.values():
                    continue
                row = school_rows.get(sid)
                org = (education.school_organization(tenant, row) if row is not None else
                       {"resourceType": "Organization", "id": education.school_org_id(tenant, sid),
                        "identifier": [{"system": education.CDS_SYSTEM, "value": f"{sid:07d}"}], "name": f"CDS {sid:07d}"})
                school_of[id(org)] = sid
                items.append((_meta(org, upd), "enrollment_school_placement", upd))
    released = {f"{res['resourceType']}/{res['id']}" for res, _, _ in items}
    for res, cat, upd in provs:
        targets = {t.get("reference") for t in res.get("target") or []}
        if targets and targets <= released:     # never a Provenance of a withheld resource
            items.append((res, cat, upd))
    for res, cat, upd in items:
        rtype = res["resourceType"]
        if not want(rtype) or (since is not None and upd is not None and upd <= since):
            continue
        if red.get(cat, frozenset()) & IDENTIFIER_REDACTIONS:
            deidentify(res)
        if id(res) in school_of:
            out.schools.add(school_of[id(res)])
        out.resources.append((rtype, _label(res, allowed[cat])))
    return out
