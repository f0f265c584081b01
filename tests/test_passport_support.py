"""Shared by the passport tests: one small synthetic county (cws + calpads + hie; 30 youth, 3
districts) generated once per session and ingested into each test's store, and independent readers
of the stored rows (plain SQL + unseal, not the passport's own loader)."""
from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from tests.helpers import AS_OF, synth_county

YOUTH, DISTRICTS, SEED = 30, 3, 7


@pytest.fixture(scope="session")
def county_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("passport-county")
    manifest = synth_county(out, youth=YOUTH, districts=DISTRICTS, seed=SEED, formats=["cws", "calpads", "hie"])
    return out, manifest


def ingest_county(engine, county_files) -> None:
    from gateway.demo import ingest_plan
    from gateway.ingest.pipeline import ingest
    out, manifest = county_files
    for fmt, paths, source, opts in ingest_plan(out, manifest):
        r = ingest(engine, fmt, paths, source_system=source, options=opts, submitted_by="test")
        assert r.status == "committed", (fmt, r.error)


def youth_ids(engine) -> list[str]:
    from gateway.store import schema as s
    with engine.connect() as conn:
        return [r.id for r in conn.execute(select(s.youth.c.id).order_by(s.youth.c.client_id))]


def youth_row(engine, yid) -> dict:
    from gateway.store import schema as s
    with engine.connect() as conn:
        return dict(conn.execute(select(s.youth).where(s.youth.c.id == yid)).first()._mapping)


def stored_rows(engine, yid) -> list[dict]:
    """The youth's live stored rows with their bodies (read independently of gateway.passport)."""
    from gateway.ingest.sealing import unseal
    from gateway.store import schema as s
    r = s.resource.c
    with engine.connect() as conn:
        rows = conn.execute(select(r.id, r.standard, r.rtype, r.category, r.security, r.body, r.key_id)
                            .where(r.youth_id == yid, r.deleted.is_(False))).all()
    out = []
    for x in rows:
        sec = x.security if not isinstance(x.security, (str, bytes)) else orjson.loads(x.security)
        out.append({"id": x.id, "standard": x.standard, "rtype": x.rtype, "category": x.category, "security": sec,
                    "body": orjson.loads(unseal("la", x.category, x.body, x.key_id))})
    return out


def test_county_links_every_youth(engine, county_files):
    ingest_county(engine, county_files)
    ids = youth_ids(engine)
    assert len(ids) == YOUTH
    cats = {r["category"] for y in ids[:5] for r in stored_rows(engine, y)}
    assert {"enrollment_school_placement", "immunizations", "placement_case_information"} <= cats


__all__ = ["AS_OF", "county_files", "ingest_county", "stored_rows", "youth_ids", "youth_row"]
