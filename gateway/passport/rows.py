"""Reading a youth's stored rows — only for the categories asked for.

A category that is not asked for is never selected (not filtered afterwards): a denied category
never leaves the database. Bodies are always read through ingest.sealing.unseal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import orjson
from sqlalchemy import and_, bindparam, select

from ..ingest.sealing import unseal
from ..store import schema as s


@dataclass(slots=True)
class Row:
    id: str
    standard: str
    rtype: str
    category: str
    security: list
    body: dict
    source_system: str
    source_file: str | None
    source_locator: str | None
    received_at: datetime


_R = s.resource.c
_COLS = (_R.id, _R.standard, _R.rtype, _R.category, _R.security, _R.body, _R.key_id, _R.source_system,
         _R.source_file, _R.source_locator, _R.received_at)


def _row(tenant: str, r) -> Row:
    plain = unseal(tenant, r.category, r.body, r.key_id)
    security = r.security
    if isinstance(security, (str, bytes)):
        security = orjson.loads(security)
    return Row(r.id, r.standard, r.rtype, r.category, list(security or ()), orjson.loads(plain), r.source_system,
               r.source_file, r.source_locator, r.received_at)


# built once (a passport runs each of these): only the bound values change per request
_ROWS = select(*_COLS).where(and_(_R.tenant_id == bindparam("tenant"), _R.youth_id == bindparam("youth"),
                                  _R.category.in_(bindparam("cats", expanding=True)), _R.deleted.is_(False)))
_SCHOOLS = select(*_COLS).where(and_(_R.tenant_id == bindparam("tenant"), _R.standard == "edfi", _R.rtype == "schools",
                                     _R.youth_id.is_(None), _R.natural_key.in_(bindparam("keys", expanding=True)),
                                     _R.deleted.is_(False)))


def load_rows(conn, tenant: str, youth_id: str, categories) -> list[Row]:
    """The youth's live (not deleted) resources of exactly these categories."""
    cats = sorted(set(categories))
    if not cats:
        return []
    # no ORDER BY: SQLite would then walk the (standard, rtype, natural_key) index over the whole
    # table instead of the (tenant, youth, category) one; sorting a youth's rows here is cheap
    rows = [_row(tenant, r) for r in conn.execute(_ROWS, {"tenant": tenant, "youth": youth_id, "cats": cats})]
    rows.sort(key=lambda r: (r.standard, r.rtype, r.id))
    return rows


def load_schools(conn, tenant: str, school_ids) -> dict[int, Row]:
    """Reference data (schools) by integer schoolId; only called when enrollment is released."""
    keys = sorted({str(int(x)) for x in school_ids if x is not None})
    if not keys:
        return {}
    out = {}
    for r in conn.execute(_SCHOOLS, {"tenant": tenant, "keys": keys}):
        row = _row(tenant, r)
        sid = row.body.get("schoolId")
        if sid is not None:
            out[int(sid)] = row
    return out


YOUTH_DEMOGRAPHICS = ("client_id", "case_id", "given", "middle", "family", "birth_date", "sex", "ssid", "aliases")


def load_youth(conn, tenant: str, youth_id: str, *, demographics: bool, removal: bool) -> dict | None:
    """The youth row: always its id; identity columns only when demographics are released; the
    removal date only when a fact that needs it (school of origin) may be shown."""
    y = s.youth.c
    cols = [y.id]
    if demographics:
        cols += [getattr(y, c) for c in YOUTH_DEMOGRAPHICS]
    if removal:
        cols.append(y.removal_date)
    r = conn.execute(select(*cols).where(and_(y.tenant_id == tenant, y.id == youth_id))).first()
    return None if r is None else project_youth(dict(r._mapping), demographics=demographics, removal=removal)


def project_youth(row: dict, *, demographics: bool, removal: bool) -> dict:
    """load_youth()'s view of a youth row the request already read in full (for its decision)."""
    out = {"id": row["id"]}
    if demographics:
        out.update((c, row[c]) for c in YOUTH_DEMOGRAPHICS)
    if removal:
        out["removal_date"] = row["removal_date"]
    if isinstance(out.get("aliases"), (str, bytes)):
        out["aliases"] = orjson.loads(out["aliases"])
    if isinstance(out.get("removal_date"), str):
        out["removal_date"] = date.fromisoformat(out["removal_date"])
    if isinstance(out.get("birth_date"), str):
        out["birth_date"] = date.fromisoformat(out["birth_date"])
    return out


_IDENTIFIERS = (select(s.youth_identifier.c.system, s.youth_identifier.c.value)
                .where(and_(s.youth_identifier.c.tenant_id == bindparam("tenant"),
                            s.youth_identifier.c.youth_id == bindparam("youth")))
                .order_by(s.youth_identifier.c.system, s.youth_identifier.c.value))


def load_identifiers(conn, tenant: str, youth_id: str) -> list[tuple[str, str]]:
    return [(r.system, r.value) for r in conn.execute(_IDENTIFIERS, {"tenant": tenant, "youth": youth_id})]


def instant(ts: datetime | str | None) -> str | None:
    """A stored timestamp as a FHIR instant (UTC when the database returns it naive)."""
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.isoformat()
