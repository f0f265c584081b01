"""A small synthetic county ingested into a test store, and partners with real tokens."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import select

from gateway.demo import ingest_plan
from gateway.ingest.pipeline import ingest
from gateway.store import schema as s
from gateway.synth import generate
from gateway.synth.county import County
from tests.test_auth_support import ClientKey, build_app, get_token, register

AS_OF = date(2026, 11, 23)
SEED, YOUTH, DISTRICTS = 10, 40, 6
PART2_YOUTH, HIV_YOUTH = 29, 1   # indexes of youth with Part 2 and HIV records in this county


def make_county(tmp: Path) -> Path:
    generate(tmp, youth=YOUTH, districts=DISTRICTS, seed=SEED, as_of=AS_OF, formats=["cws", "calpads", "hie"])
    return tmp


def load_county(engine, county_dir: Path) -> None:
    manifest = json.loads((county_dir / "manifest.json").read_text())
    for fmt, paths, source, opts in ingest_plan(county_dir, manifest):
        r = ingest(engine, fmt, paths, source_system=source, options=opts)
        assert r.status == "committed", r.error


def synthetic(index: int):
    return County(youth=YOUTH, districts=DISTRICTS, seed=SEED, as_of=AS_OF).make_youth(index)


def youth_id(engine, index: int) -> str:
    with engine.connect() as c:
        return c.execute(select(s.youth.c.id).where(s.youth.c.client_id == synthetic(index).client_id)).scalar()


def person_of(engine, yid: str, role: str) -> str:
    with engine.connect() as c:
        return c.execute(select(s.care_assignment.c.person_id).where(
            s.care_assignment.c.youth_id == yid, s.care_assignment.c.role == role,
            s.care_assignment.c.end_date.is_(None))).scalar()


class Partner:
    """A registered SMART backend client acting for one user."""

    def __init__(self, app, engine, role: str, user_id: str | None, purpose: str,
                 scopes=("system/*.rs", "system/*.read", "system/Consent.write", "system/Consent.c")):
        self.http = app.test_client()
        self.key = ClientKey()
        self.client = register(engine, self.key, role=role, scopes=scopes)
        claims = {"purpose_of_use": purpose}
        if user_id:
            claims.update(subject_id=user_id, subject_role=role)
        self.token = get_token(self.http, self.key, self.client.client_id, scope=" ".join(scopes), **claims)

    def get(self, url, **kw):
        return self.http.get(url, headers={"Authorization": f"Bearer {self.token}"}, **kw)

    def post(self, url, body, headers: dict | None = None):
        return self.http.post(url, json=body, headers={"Authorization": f"Bearer {self.token}",
                                                        "Content-Type": "application/fhir+json", **(headers or {})})


def app_for(engine):
    return build_app(engine)
