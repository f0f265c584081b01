"""The resource writer's fast paths give exactly what the plain library calls give: ids stay
the uuid5 of the natural key (stores written before keep their ids), and chunked inserts store
the same values SQLAlchemy would."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st
from sqlalchemy import select

from adapters.ids import uuid5_str
from gateway.ingest.resources import _ID_NS
from gateway.store import schema as s
from gateway.store.bulk import insert_rows
from gateway.store.engine import write_tx


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_uuid5_str_is_uuid5(name):
    assert uuid5_str(_ID_NS, name) == str(uuid.uuid5(_ID_NS, name))


def test_insert_rows_matches_sqlalchemy_insert(engine):
    now = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    later = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
    empty = ()

    def row(i, ts, security):
        return {"tenant_id": "la", "id": f"r{i}", "youth_id": None, "standard": "edfi", "rtype": "schools",
                "natural_key": f"k{i}", "category": "enrollment_school_placement", "security": security,
                "version": 1, "content_hash": f"{i:064d}", "body": b'{"a":%d}' % i, "key_id": None,
                "source_system": "t", "source_file": "f", "source_locator": f"line {i}", "batch_id": None,
                "received_at": ts, "updated_at": ts, "deleted": False}

    # repeated objects (the memo) mixed with distinct ones, through both paths
    fast = [row(i, now if i % 3 else later, empty if i % 2 else [{"code": "R"}]) for i in range(6)]
    slow = [row(i + 100, now if i % 3 else later, empty if i % 2 else [{"code": "R"}]) for i in range(6)]
    with write_tx(engine) as c:
        c.execute(s.tenant_table.insert().values(id="la", name="la", created_at=now))
        insert_rows(c, s.resource, fast)
        c.execute(s.resource.insert(), slow)
    cols = [s.resource.c.security, s.resource.c.body, s.resource.c.received_at, s.resource.c.updated_at,
            s.resource.c.deleted]
    with engine.connect() as c:
        got = {r.id: tuple(r[1:]) for r in c.execute(select(s.resource.c.id, *cols))}
    for i in range(6):
        assert got[f"r{i}"][2:] == got[f"r{i + 100}"][2:]
        assert bytes(got[f"r{i}"][1]) == b'{"a":%d}' % i
        assert list(got[f"r{i}"][0]) == list(got[f"r{i + 100}"][0])
    assert got["r0"][2] != got["r1"][2] and list(got["r0"][0]) == [{"code": "R"}] and list(got["r1"][0]) == []
