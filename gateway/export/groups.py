"""Groups for Group-level export: one per DCFS regional office and one per social worker caseload.

  office-<slug>          youth whose `youth.office` slugifies to <slug> (e.g. office-west-la)
  caseload-<person_id>   youth with an active social_worker care_assignment of that person on the
                         as-of date (the CWS extract's assignments; end date inclusive)

Membership is read from the store when the job runs (and when a Group is read), never stored.
"""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import and_, func, or_, select

from ..store import schema as s

_Y = s.youth.c
_A = s.care_assignment.c


def slug(office: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", office.lower()).strip("-")


def offices(conn, tenant: str) -> dict[str, str]:
    """slug -> office name."""
    rows = conn.execute(select(_Y.office).where(and_(_Y.tenant_id == tenant, _Y.office.is_not(None))).distinct())
    return {slug(r.office): r.office for r in rows if r.office and slug(r.office)}


def _active(as_of: date):
    return and_(_A.role == "social_worker", _A.start_date <= as_of, or_(_A.end_date.is_(None), _A.end_date >= as_of))


def caseload_workers(conn, tenant: str, as_of: date) -> list[tuple[str, str | None, int]]:
    """(person_id, name, number of youth) of every active caseload."""
    q = (select(_A.person_id, func.max(_A.name), func.count(func.distinct(_A.youth_id)))
         .where(and_(_A.tenant_id == tenant, _active(as_of))).group_by(_A.person_id).order_by(_A.person_id))
    return [(r[0], r[1], int(r[2])) for r in conn.execute(q)]


class UnknownGroup(LookupError):
    pass


def member_query(conn, tenant: str, group_id: str | None, as_of: date):
    """A SELECT of the member youth ids (column `id`), or UnknownGroup. None group: every youth."""
    if group_id is None:
        return select(_Y.id.label("id")).where(_Y.tenant_id == tenant)
    if group_id.startswith("office-"):
        name = offices(conn, tenant).get(group_id[len("office-"):])
        if name is None:
            raise UnknownGroup(group_id)
        return select(_Y.id.label("id")).where(and_(_Y.tenant_id == tenant, _Y.office == name))
    if group_id.startswith("caseload-"):
        person = group_id[len("caseload-"):]
        q = select(_A.youth_id.label("id")).where(and_(_A.tenant_id == tenant, _A.person_id == person,
                                                      _active(as_of))).distinct()
        if conn.execute(select(func.count()).select_from(q.subquery())).scalar() == 0:
            raise UnknownGroup(group_id)
        return q
    raise UnknownGroup(group_id)


def member_ids_after(conn, tenant: str, group_id: str | None, as_of: date, after: str | None, limit: int) -> list[str]:
    """The next `limit` member ids in id order after `after` (keyset paging: restart-safe, no offsets)."""
    sub = member_query(conn, tenant, group_id, as_of).subquery()
    q = select(sub.c.id)
    if after is not None:
        q = q.where(sub.c.id > after)
    return [r.id for r in conn.execute(q.order_by(sub.c.id).limit(limit))]


def member_count(conn, tenant: str, group_id: str | None, as_of: date) -> int:
    sub = member_query(conn, tenant, group_id, as_of).subquery()
    return int(conn.execute(select(func.count()).select_from(sub)).scalar())


def group_resource(group_id: str, name: str, quantity: int, members: list[str] | None = None) -> dict:
    g = {"resourceType": "Group", "id": group_id, "type": "person", "actual": True, "name": name,
         "quantity": quantity,
         "characteristic": [{"code": {"text": "DCFS regional office" if group_id.startswith("office-")
                                      else "social worker caseload"},
                             "valueBoolean": True, "exclude": False}]}
    if members is not None:
        g["member"] = [{"entity": {"reference": f"Patient/{m}"}} for m in members]
    return g


def list_groups(conn, tenant: str, as_of: date) -> list[dict]:
    """Every Group without members (name and size only)."""
    counts = dict(conn.execute(select(_Y.office, func.count()).where(and_(_Y.tenant_id == tenant, _Y.office.is_not(None)))
                               .group_by(_Y.office)).all())
    out = [group_resource(f"office-{sl}", f"DCFS regional office {name}", int(counts.get(name, 0)))
           for sl, name in sorted(offices(conn, tenant).items())]
    out += [group_resource(f"caseload-{pid}", f"Caseload of social worker {pid}", n)
            for pid, _name, n in caseload_workers(conn, tenant, as_of)]
    return out


def group_name(conn, tenant: str, group_id: str) -> str:
    if group_id.startswith("office-"):
        return f"DCFS regional office {offices(conn, tenant).get(group_id[7:], group_id[7:])}"
    return f"Caseload of social worker {group_id[len('caseload-'):]}"
