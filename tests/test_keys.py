"""Sensitive categories are sealed at rest, readable through the store, and survive key rotation."""
from __future__ import annotations

import glob

import orjson
from sqlalchemy import select

from gateway.crypto import keyring, rotation
from gateway.ingest.pipeline import ingest
from gateway.ingest.sealing import unseal
from gateway.store import schema as s
from tests.fhir_api_support import load_county, make_county


def test_sensitive_bodies_are_sealed_and_rotation_reencrypts(engine, tmp_path):
    keyring.init()
    county = make_county(tmp_path / "county")
    load_county(engine, county)
    with engine.connect() as c:
        rows = c.execute(select(s.resource.c.tenant_id, s.resource.c.category, s.resource.c.body,
                                s.resource.c.key_id, s.resource.c.content_hash)).all()
    sealed = [r for r in rows if r.key_id]
    assert sealed and {r.category for r in sealed} <= keyring.ENCRYPTED_CATEGORIES
    assert all(r.key_id is None for r in rows if r.category not in keyring.ENCRYPTED_CATEGORIES)
    for r in sealed:
        assert b"resourceType" not in r.body                       # ciphertext, not JSON
        assert orjson.loads(unseal(r.tenant_id, r.category, r.body, r.key_id))["resourceType"]
    before = rotation.usage(engine)
    assert set(before) == {"k1"}
    new = keyring.rotate()
    assert new.active == "k2"
    assert rotation.reencrypt(engine) == before["k1"]
    assert rotation.usage(engine) == {"k2": before["k1"]}
    rotation.retire("k1", engine)
    with engine.connect() as c:
        for r in c.execute(select(s.resource.c.tenant_id, s.resource.c.category, s.resource.c.body,
                                  s.resource.c.key_id).where(s.resource.c.key_id.is_not(None))):
            assert orjson.loads(unseal(r.tenant_id, r.category, r.body, r.key_id))
    # unchanged content is still recognised after re-encryption: re-ingesting stores nothing new
    zip_ = glob.glob(str(county / "cws" / "*.zip"))[0]
    again = ingest(engine, "cws", [zip_], source_system="again")
    assert again.status in ("duplicate", "committed") and again.created == 0
