"""Helpers for the Bulk Data export tests (no tests here): kick-off, run the worker, download."""
from __future__ import annotations

import orjson
from sqlalchemy import select

from gateway.jobs import worker
from gateway.store import schema as s
from tests.test_auth_support import BASE

STATE_FORBIDDEN = ("hiv", "substance_use_disorder_part2", "reproductive_sexual_health_minor_consented")
STATE_ROLE, STATE_PURPOSE = "state_cms", "x-CW-ADMIN"


def path(url: str) -> str:
    return url.replace(BASE, "")


def kick_off(partner, url: str = "/fhir/$export", prefer: bool = True):
    headers = {"Authorization": f"Bearer {partner.token}", "Accept": "application/fhir+json"}
    if prefer:
        headers["Prefer"] = "respond-async"
    return partner.http.get(url, headers=headers)


def run_jobs(engine) -> int:
    n = 0
    while worker.run_one(engine, "test-worker", ["export"]):
        n += 1
    return n


def export(partner, engine, url: str = "/fhir/$export") -> tuple[dict, dict[str, list[dict]]]:
    """Kick off, run the worker, return (manifest, {type: [resources]})."""
    r = kick_off(partner, url)
    assert r.status_code == 202, r.get_json()
    status = path(r.headers["Content-Location"])
    run_jobs(engine)
    done = partner.get(status)
    assert done.status_code == 200, done.data
    manifest = done.get_json()
    out: dict[str, list[dict]] = {}
    for o in manifest["output"]:
        body = partner.get(path(o["url"]))
        assert body.status_code == 200
        lines = [orjson.loads(x) for x in body.data.splitlines() if x.strip()]
        assert len(lines) == o["count"]
        out.setdefault(o["type"], []).extend(lines)
    return manifest, out


def store_ids(engine, *, categories=None, rtype=None, standard="fhir") -> set[str]:
    r = s.resource.c
    q = select(r.id).where(r.standard == standard, r.deleted.is_(False), r.youth_id.is_not(None))
    if categories is not None:
        q = q.where(r.category.in_(list(categories)))
    if rtype is not None:
        q = q.where(r.rtype == rtype)
    with engine.connect() as c:
        return {x for (x,) in c.execute(q)}


def labels(res: dict) -> set[str]:
    return {l.get("code") for l in (res.get("meta") or {}).get("security") or []}
