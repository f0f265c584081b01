"""Projects child-welfare case records into the tables the policy and caseloads query:
youth (who is in scope), placements, care-team assignments, court orders, consents."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import and_, bindparam, delete, select, update

from adapters.base import Record

from ..identity.linker import Linker
from ..identity.matching import Person
from ..store import schema as s
from ..store.bulk import insert_rows

_YOUTH_NS = uuid.UUID("0b7e4f5c-6a1d-4c62-8f0e-3d2b1a9c8e77")


def youth_id_for(tenant: str, client_id: str) -> str:
    return str(uuid.uuid5(_YOUTH_NS, f"{tenant}:{client_id}"))


def _d(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


class CaseWriter:
    """Buffers youth, identifiers and projections and writes them in chunks, youth first (the
    other rows reference them)."""

    def __init__(self, conn, tenant: str, linker: Linker, now):
        self.conn, self.tenant, self.linker, self.now = conn, tenant, linker, now
        self.youth_rows: dict[str, dict] = {}
        self.identifier_rows: list[dict] = []
        self.projections: dict[str, dict[str, dict]] = {}

    def upsert_youth(self, rec: Record, source_system: str) -> tuple[str, list[str]]:
        """Queue the youth's insert or update; returns (youth id, warnings about identifier conflicts)."""
        r = rec.resource
        yid = youth_id_for(self.tenant, r["client_id"])
        row = {"given": r["name"]["given"], "middle": r["name"].get("middle"), "family": r["name"]["family"],
               "birth_date": _d(r["birth_date"]), "sex": r["sex"], "ssid": r.get("ssid"), "case_id": r["case_id"],
               "aliases": r.get("aliases") or [], "jurisdiction": r["jurisdiction"], "office": r.get("office"),
               "in_foster_care": r.get("in_foster_care", True), "episode_status": r.get("episode_status"),
               "removal_date": _d(r.get("removal_date")), "updated_at": self.now,
               "id": yid, "tenant_id": self.tenant, "client_id": r["client_id"], "created_at": self.now}
        self.youth_rows[yid] = row
        warnings = []
        for system, value in rec.subject.identifiers:
            owner = self.linker.known(system, value)
            if owner == yid:
                continue
            if owner is not None:
                warnings.append(f"{system} {value} already belongs to another youth; not linked to client {r['client_id']}")
                continue
            self.add_identifier(system, value, yid, source_system, "cws", None)
        aliases = [(a.get("given", ""), a.get("family", "")) for a in row["aliases"]]
        self.linker.roster.add(yid, Person.of(row["given"], row["family"], row["middle"], row["birth_date"],
                                              row["sex"], row["ssid"], aliases))
        if len(self.youth_rows) >= 1000:
            self.flush()
        return yid, warnings

    def add_identifier(self, system: str, value: str, youth_id: str, source: str, method: str, score) -> None:
        self.linker.roster.identifiers[(system, value)] = youth_id
        self.identifier_rows.append({"tenant_id": self.tenant, "system": system, "value": value, "youth_id": youth_id,
                                     "source": source[:120], "method": method, "score": score, "created_at": self.now})

    def project(self, rec: Record, youth_id: str) -> None:
        r = rec.resource
        if rec.type == "placement":
            row = {"id": r["placement_id"], "start_date": _d(r["start"]), "end_date": _d(r.get("end")),
                   "placement_type": r["placement_type"], "caregiver_id": r["caregiver"].get("id"),
                   "caregiver_name": r["caregiver"].get("name"), "phone": r["caregiver"].get("phone"),
                   "address": r.get("address")}
        elif rec.type == "assignment":
            row = {"id": r["assignment_id"], "role": r["role"], "person_id": r["person_id"], "name": r["name"],
                   "organization": r.get("organization"), "phone": r.get("phone"), "email": r.get("email"),
                   "start_date": _d(r["start"]), "end_date": _d(r.get("end")), "jv535_signed": _d(r.get("jv535_signed")),
                   "erh_relationship": r.get("erh_relationship"), "source": "cws", "approved_by": None, "note": None}
        elif rec.type == "courtOrder":
            row = {"id": r["order_id"], "type": r["type"], "status": r["status"], "issued": _d(r["issued"]),
                   "expires": _d(r.get("expires")), "scope": r.get("scope") or [], "recipients": r.get("recipients") or [],
                   "limits_parent_ed_rights": r.get("limits_parent_ed_rights", False),
                   "vacates_order_id": r.get("vacates_order_id"), "form": r.get("form")}
        elif rec.type == "consent":
            row = {"id": r["consent_id"], "grantor": r["grantor"], "scope": r["scope"], "recipients": r["recipients"],
                   "recipient_person_id": None, "status": r["status"], "form": r["form"], "signed": _d(r["signed"]),
                   "expires": _d(r.get("expires")), "expiration_event": r.get("expiration_event"),
                   "revoked_on": _d(r.get("revoked_on")), "part2_compliant": r.get("part2_compliant"),
                   "single_disclosure": r.get("single_disclosure", False), "purpose": r.get("purpose"),
                   "source": "cws", "version": 1, "updated_at": self.now}
        else:
            return
        row.update(tenant_id=self.tenant, youth_id=youth_id)
        self.projections.setdefault(rec.type, {})[row["id"]] = row

    def flush(self) -> None:
        y = s.youth.c
        if self.youth_rows:
            rows = list(self.youth_rows.values())
            self.youth_rows = {}
            ids = [r["id"] for r in rows]
            have = {r.id for r in self.conn.execute(select(y.id).where(and_(y.tenant_id == self.tenant, y.id.in_(ids))))}
            new = [r for r in rows if r["id"] not in have]
            old = [{**{k: v for k, v in r.items() if k not in ("created_at", "tenant_id", "client_id", "id")},
                    "b_id": r["id"]} for r in rows if r["id"] in have]
            if new:
                insert_rows(self.conn, s.youth, new)
            if old:
                self.conn.execute(update(s.youth).where(and_(y.tenant_id == self.tenant, y.id == bindparam("b_id")))
                                  .values({k: bindparam(k) for k in old[0] if k != "b_id"}), old)
        if self.identifier_rows:
            insert_rows(self.conn, s.youth_identifier, self.identifier_rows)
            self.identifier_rows = []
        for rtype, rows_by_id in self.projections.items():
            table = _TABLES[rtype]
            ids = list(rows_by_id)
            # the extract is authoritative for these rows: replace them (delete + insert keeps one code path)
            for i in range(0, len(ids), 900):
                self.conn.execute(delete(table).where(and_(table.c.tenant_id == self.tenant, table.c.id.in_(ids[i:i + 900]))))
            insert_rows(self.conn, table, list(rows_by_id.values()))
        self.projections = {}


_TABLES = {"placement": s.placement, "assignment": s.care_assignment, "courtOrder": s.court_order, "consent": s.consent}


# A snapshot listing fewer than this share of the youth now in care is taken for a partial
# extract: nobody is closed on its word (a warning says so).
MIN_SNAPSHOT_SHARE = 0.5


def close_absent(conn, tenant: str, listed: set[str], now) -> tuple[list[str], str | None]:
    """The case extract is a snapshot: youth in care whom it no longer lists have left care.
    Returns (youth closed, or a reason for closing nobody)."""
    y = s.youth.c
    in_care = [r.id for r in conn.execute(select(y.id).where(and_(y.tenant_id == tenant, y.in_foster_care.is_(True))))]
    absent = sorted(yid for yid in in_care if yid not in listed)
    if not absent:
        return [], None
    if len(listed) < MIN_SNAPSHOT_SHARE * len(in_care):
        return [], (f"the extract lists {len(listed)} youth in care, under half of the {len(in_care)} the store has: "
                    f"taken for a partial extract, the {len(absent)} not listed stay in care")
    for i in range(0, len(absent), 900):
        conn.execute(update(s.youth).where(and_(y.tenant_id == tenant, y.id.in_(absent[i:i + 900])))
                     .values(in_foster_care=False, episode_status="closed", updated_at=now))
    return absent, None
