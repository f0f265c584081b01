"""Versioned upsert of converted records into the resource table, in chunks.

A record whose natural key exists with the same content hash changes nothing (idempotent
re-ingest); a changed one gets version+1, its previous version copied to history first; a delete
marks it deleted (a version too). A first write stores its body once (store/history.py).
Lookups and writes go in chunks so ingest runs at tens of thousands of records a second.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import orjson
from sqlalchemy import and_, bindparam, select, update

from adapters.base import Record
from adapters.ids import uuid5_str

from ..store import schema as s
from ..store.bulk import insert_rows
from ..store.history import SUPERSEDE
from .sealing import sealer

CHUNK = 2000
_ID_NS = uuid.UUID("6f1c3d1e-2b8f-4d3a-9a51-0c9b8e7d6a21")
NO_SECURITY = ()  # shared: stored as [] (one JSON conversion per chunk, not per row)


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    changed_youth: dict = field(default_factory=dict)  # youth_id -> set of categories changed

    def touch(self, youth_id, category) -> None:
        if youth_id:
            cats = self.changed_youth.get(youth_id)
            if cats is None:
                self.changed_youth[youth_id] = {category}
            else:
                cats.add(category)


def resource_id(tenant: str, standard: str, rtype: str, key: str, body: dict) -> str:
    """FHIR resources keep the adapter's deterministic id (internal references use it); others
    get a uuid5 of their natural key, so a retried batch produces the same ids."""
    rid = body.get("id") if standard == "fhir" else None
    if isinstance(rid, str) and 0 < len(rid) <= 36:
        return rid
    return uuid5_str(_ID_NS, f"{tenant}\x1f{standard}\x1f{rtype}\x1f{key}")


def _rewrite_patient_refs(node, youth_id: str):
    """Point every Patient reference at the youth's canonical Patient (the passport subject)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str) and v.startswith("Patient/"):
                node[k] = f"Patient/{youth_id}"
            else:
                _rewrite_patient_refs(v, youth_id)
    elif isinstance(node, list):
        for v in node:
            _rewrite_patient_refs(v, youth_id)


class ResourceWriter:
    def __init__(self, conn, tenant: str, batch_id: str, source_system: str, now, before_flush=None):
        self.conn, self.tenant, self.batch_id, self.source_system, self.now = conn, tenant, batch_id, source_system, now
        self.before_flush = before_flush  # writes rows ours reference (youth) first
        self.buffer: dict[tuple, tuple[Record, str | None]] = {}
        self.counts = WriteCounts()

    def add(self, rec: Record, youth_id: str | None) -> None:
        if youth_id and rec.standard == "fhir" and rec.type != "Patient":
            _rewrite_patient_refs(rec.resource, youth_id)
        k = (rec.standard, rec.type, rec.key)
        self.buffer.pop(k, None)  # the later record for the same key wins within a batch
        self.buffer[k] = (rec, youth_id)
        if len(self.buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.before_flush is not None:
            self.before_flush()
        if not self.buffer:
            return
        items = list(self.buffer.values())
        self.buffer.clear()
        by_type: dict[tuple[str, str], list] = {}
        for rec, yid in items:
            by_type.setdefault((rec.standard, rec.type), []).append((rec, yid))
        for (standard, rtype), group in by_type.items():
            self._flush_type(standard, rtype, group)

    def _flush_type(self, standard: str, rtype: str, group: list) -> None:
        r = s.resource.c
        keys = [rec.key for rec, _ in group]
        existing = {}
        for i in range(0, len(keys), 900):  # stay under SQLite's bound-parameter limit
            rows = self.conn.execute(
                select(r.id, r.natural_key, r.content_hash, r.version, r.deleted, r.youth_id)
                .where(and_(r.tenant_id == self.tenant, r.standard == standard, r.rtype == rtype,
                            r.natural_key.in_(keys[i:i + 900]))))
            existing.update({row.natural_key: row for row in rows})
        inserts, updates = [], []
        c = self.counts
        seal = sealer(self.tenant)
        for rec, yid in group:
            old = existing.get(rec.key)
            deleting = rec.action == "delete"
            if old is None:
                if deleting:
                    c.unchanged += 1  # deleting what we never had changes nothing
                    continue
                rid = resource_id(self.tenant, standard, rtype, rec.key, rec.resource)
                if standard == "fhir":
                    rec.resource["id"] = rid
                plain = orjson.dumps(rec.resource, option=orjson.OPT_SORT_KEYS)
                body, key_id, digest = seal(rec.category, plain)
                security = _security(rec)
                inserts.append({
                    "tenant_id": self.tenant, "id": rid, "youth_id": yid, "standard": standard, "rtype": rtype,
                    "natural_key": rec.key, "category": rec.category, "security": security, "version": 1,
                    "content_hash": digest, "body": body, "key_id": key_id, "source_system": self.source_system,
                    "source_file": str(rec.source.get("file", ""))[:500], "source_locator": _locator(rec.source),
                    "batch_id": self.batch_id, "received_at": self.now, "updated_at": self.now, "deleted": False})
                c.created += 1
                c.touch(yid, rec.category)
                continue
            if deleting:
                if old.deleted:
                    c.unchanged += 1
                    continue
                updates.append({"b_id": old.id, "version": old.version + 1, "deleted": True, "updated_at": self.now,
                                "batch_id": self.batch_id})
                c.deleted += 1
                c.touch(old.youth_id, rec.category)
                continue
            if standard == "fhir":
                rec.resource["id"] = old.id
            plain = orjson.dumps(rec.resource, option=orjson.OPT_SORT_KEYS)
            body, key_id, digest = seal(rec.category, plain)
            if digest == old.content_hash and not old.deleted:
                c.unchanged += 1
                continue
            security = _security(rec)
            updates.append({"b_id": old.id, "version": old.version + 1, "deleted": False, "updated_at": self.now,
                            "batch_id": self.batch_id, "content_hash": digest, "body": body, "key_id": key_id,
                            "category": rec.category, "security": security, "youth_id": yid or old.youth_id,
                            "source_system": self.source_system, "source_file": str(rec.source.get("file", ""))[:500],
                            "source_locator": _locator(rec.source)})
            c.updated += 1
            c.touch(yid or old.youth_id, rec.category)
        insert_rows(self.conn, s.resource, inserts)
        if updates:
            self.conn.execute(SUPERSEDE, [{"tenant_id": self.tenant, "id": u["b_id"]} for u in updates])
        full = [u for u in updates if "body" in u]
        marks = [u for u in updates if "body" not in u]
        for batch, values in ((full, None), (marks, ("version", "deleted", "updated_at", "batch_id"))):
            if batch:
                keys = values or [k for k in batch[0] if k != "b_id"]
                self.conn.execute(
                    update(s.resource).where(and_(r.tenant_id == self.tenant, r.id == bindparam("b_id")))
                    .values({k: bindparam(k) for k in keys}), batch)


def _security(rec: Record) -> list | tuple:
    if rec.standard == "fhir":
        return list((rec.resource.get("meta") or {}).get("security") or NO_SECURITY)
    return NO_SECURITY


def _locator(source: dict) -> str:
    if source.get("line") is not None and source.get("path"):
        return f"line {source['line']} {source['path']}"[:500]
    if source.get("line") is not None:
        return f"line {source['line']}"
    return str(source.get("path", ""))[:500]
