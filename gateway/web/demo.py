"""Demo accounts for `hep demo`: three workers with the largest caseloads, a supervisor (who has a
caseload too), an analyst and an operator. Passwords are regenerated on every run and printed."""
from __future__ import annotations

import os

from sqlalchemy import and_, func, or_, select

from ..clock import today
from ..store import schema as s
from . import accounts

DEMO = [("worker1", "social_worker"), ("worker2", "social_worker"), ("worker3", "social_worker"),
        ("supervisor", "supervisor"), ("analyst", "analyst"), ("operator", "operator")]


def busiest_workers(engine, tenant: str, n: int) -> list[tuple[str, str, int]]:
    a = s.care_assignment.c
    day = today()
    q = (select(a.person_id, func.max(a.name), func.count()).where(and_(
        a.tenant_id == tenant, a.role == "social_worker", a.start_date <= day,
        or_(a.end_date.is_(None), a.end_date >= day))).group_by(a.person_id)
        .order_by(func.count().desc(), a.person_id).limit(n))
    with engine.connect() as conn:
        return [(r[0], r[1] or r[0], r[2]) for r in conn.execute(q)]


def ensure_demo_accounts(engine, tenant: str) -> list[dict]:
    workers = busiest_workers(engine, tenant, 4)
    out = []
    for i, (username, role) in enumerate(DEMO):
        person, name, count = (workers[i] if role in ("social_worker", "supervisor") and i < len(workers)
                               else (None, username.title(), 0))
        if role == "supervisor":
            name = f"{name} (supervisor)"
        if role == "social_worker" and person is None:
            continue
        if accounts.get_user(engine, tenant, username) is None:
            _, pw = accounts.add_user(engine, tenant, username, role, display_name=name, person_id=person)
        else:
            pw = accounts.set_password(engine, tenant, username)
        out.append({"username": username, "password": pw, "role": role, "person": person, "caseload": count})
    return out


def signin_hints(base: str) -> list[str]:
    from ..store import open_store
    tenant = os.environ.get("HEP_TENANT", "la")
    rows = ensure_demo_accounts(open_store(), tenant)
    lines = [f"  staff pages (phone-sized)  {base}/signin   (accounts below; passwords change on every `hep demo`)"]
    for r in rows:
        extra = f", CWS {r['person']}, {r['caseload']} youth" if r["person"] else ""
        lines.append(f"    {r['username']:<11} {r['password']}   {r['role'].replace('_', ' ')}{extra}")
    lines.append("    more accounts: .venv/bin/hep staff add NAME --role social_worker --person SW00001")
    return lines
