"""A resource's version history: earlier versions in resource_version, the current one in resource.

Only superseded versions are copied to resource_version (when an update or delete replaces them),
so a first write stores its body once. versions() puts the two together, oldest first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, text

from . import schema as s


@dataclass(frozen=True)
class Version:
    version: int
    deleted: bool
    content_hash: str
    category: str
    batch_id: str | None
    recorded_at: datetime | str


def versions(conn, tenant: str, resource_id: str) -> list[Version]:
    v, r = s.resource_version.c, s.resource.c
    old = conn.execute(select(v.version, v.deleted, v.content_hash, v.category, v.batch_id, v.recorded_at)
                       .where(and_(v.tenant_id == tenant, v.resource_id == resource_id))).all()
    cur = conn.execute(select(r.version, r.deleted, r.content_hash, r.category, r.batch_id, r.updated_at)
                       .where(and_(r.tenant_id == tenant, r.id == resource_id))).all()
    return sorted((Version(*row) for row in (*old, *cur)), key=lambda x: x.version)


# Copies the current version of each (tenant_id, id) into history before it is replaced. Plain SQL
# run with executemany: the bodies never travel through Python.
SUPERSEDE = text(
    "INSERT INTO resource_version (tenant_id, resource_id, version, content_hash, body, key_id, category, security, "
    "deleted, batch_id, recorded_at) SELECT tenant_id, id, version, content_hash, body, key_id, category, security, "
    "deleted, batch_id, updated_at FROM resource WHERE tenant_id = :tenant_id AND id = :id")
