"""The tamper-evident audit log: every disclosure and denial, hash-chained per tenant and
periodically signed. See docs/audit.md.

    from gateway.audit import append, to_audit_event, accounting
    with write_tx(engine) as conn:
        ...                                   # what is being disclosed / recorded
        append(conn, tenant, actor_id=..., actor_role=..., client_id=..., youth_id=...,
               action="$passport", purpose="x-EDU-SUPPORT", outcome="permit", entry={...})

Modules: chain (append, canonical hashing), checkpoints (signing, rotation), verifier (verify),
fhir (to_audit_event), accounting (accounting of disclosures).
"""
from __future__ import annotations

from .accounting import accounting
from .chain import (OUTCOMES, ZERO_HASH, append, append_many, canonical_bytes, decision_entry,
                    row_hash)
from .checkpoints import checkpoint, maybe_checkpoint, rotate_key, trusted_keys
from .fhir import to_audit_event
from .verifier import VerifyResult, verify

__all__ = ["OUTCOMES", "ZERO_HASH", "VerifyResult", "accounting", "append", "append_many",
           "canonical_bytes", "checkpoint", "decision_entry", "maybe_checkpoint", "rotate_key",
           "row_hash", "to_audit_event", "trusted_keys", "verify"]
