"""The tamper-evident audit log: every disclosure and denial, hash-chained per tenant and
periodically signed. See docs/audit.md.

    from gateway.audit import append, to_audit_event, accounting
    with write_tx(engine) as conn:
        ...                                   # what is being disclosed / recorded
        append(conn, tenant, actor_id=..., actor_role=..., client_id=..., youth_id=...,
               action="$passport", purpose="x-EDU-SUPPORT", outcome="permit", entry={...})
"""
from __future__ import annotations

from .chain import (OUTCOMES, ZERO_HASH, append, append_many, canonical_bytes, decision_entry,
                    row_hash)
from .fhir import to_audit_event

__all__ = ["OUTCOMES", "ZERO_HASH", "append", "append_many", "canonical_bytes", "decision_entry",
           "row_hash", "to_audit_event", "accounting", "checkpoint", "maybe_checkpoint", "verify",
           "VerifyResult"]


def __getattr__(name):  # the heavier parts load on first use
    if name == "accounting":
        from .accounting import accounting
        return accounting
    if name in ("checkpoint", "maybe_checkpoint"):
        from . import checkpoint as cp
        return getattr(cp, name)
    if name in ("verify", "VerifyResult"):
        from . import verify as v
        return getattr(v, name)
    raise AttributeError(name)
