"""What a job carries: the requester (every field of auth.Requester), the types, `_since`, the group.

The worker rebuilds the Requester from the job's params and decides with it exactly as the API
would for a single read; nothing in the params widens what the requester may see (the
relationship is re-read from the store for every youth).
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone
from pathlib import Path

from ..auth import Requester

OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
HEP_RECORD = "HepRecord"
HEP_RECORD_FILE = "hep-record.ndjson"

# Stored FHIR resource types served from the store as they are (Patient is the canonical youth)
STORED_TYPES = ("AllergyIntolerance", "Condition", "DiagnosticReport", "DocumentReference", "Encounter",
                "Immunization", "Location", "MedicationRequest", "MedicationStatement", "Observation",
                "Organization", "Practitioner", "PractitionerRole", "Procedure", "Provenance")
# Rendered by the passport from Ed-Fi and case records
RENDERED_TYPES = ("Observation", "Organization", "EpisodeOfCare", "RelatedPerson", "CareTeam", "Consent", "Basic")
FHIR_TYPES = tuple(sorted({"Patient", *STORED_TYPES, *RENDERED_TYPES}))
SUPPORTED_TYPES = FHIR_TYPES + (HEP_RECORD,)
EDFI_OUTPUT = frozenset({"Observation", "Organization"})
CASE_OUTPUT = frozenset({"EpisodeOfCare", "RelatedPerson", "CareTeam", "Consent", "Basic"})

_REQUESTER_FIELDS = ("client_id", "kind", "role", "organization", "user_id", "user_role", "purpose_of_use",
                     "purpose_system", "scopes", "lea_ids", "token_id")


def requester_to_params(who: Requester) -> dict:
    out = {f: getattr(who, f) for f in _REQUESTER_FIELDS}
    out["scopes"] = sorted(who.scopes)
    out["lea_ids"] = list(who.lea_ids)
    return out


def requester_from_params(p: dict) -> Requester:
    return Requester(client_id=p["client_id"], kind=p["kind"], role=p["role"], organization=p.get("organization"),
                     user_id=p.get("user_id"), user_role=p.get("user_role"), purpose_of_use=p["purpose_of_use"],
                     purpose_system=p.get("purpose_system") or "local", scopes=frozenset(p.get("scopes") or ()),
                     lea_ids=tuple(p.get("lea_ids") or ()), token_id=p.get("token_id"))


def file_name(rtype: str) -> str:
    return HEP_RECORD_FILE if rtype == HEP_RECORD else f"{rtype}.ndjson"


def export_dir(job_id: str) -> Path:
    if not re.fullmatch(r"[0-9a-f-]{36}", job_id):
        raise ValueError("not a job id")
    return Path(os.environ.get("HEP_VAR_DIR", "var")) / "exports" / job_id


def parse_since(value: str) -> datetime:
    """A FHIR instant (or a date): naive values are taken as UTC. ValueError when not one."""
    v = value.strip().replace(" ", "+")   # a '+' offset that arrived unencoded in a query string
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        d = date.fromisoformat(v)
        return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
    ts = datetime.fromisoformat(v.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def parse_types(value: str | None) -> list[str] | None:
    """`_type` (comma separated, may repeat): the list, or None for every type. ValueError names an unknown type."""
    if not value:
        return None
    out = []
    for t in value.split(","):
        t = t.strip()
        if not t:
            continue
        if t not in SUPPORTED_TYPES:
            raise ValueError(f"resource type {t!r} is not exported here; supported: {', '.join(SUPPORTED_TYPES)}")
        if t not in out:
            out.append(t)
    return out or None
