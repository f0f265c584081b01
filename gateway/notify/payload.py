"""Notification bodies and the headers that authenticate them.

`application/fhir+json`: a Bundle of type "history" in the style of the FHIR Subscriptions
Backport IG for R4 (an "event-notification" subscription-status Parameters first). It names the
youth's Patient and the changed data categories the subscriber may see; no resource content
(the subscriber reads the passport through the API, where every read is decided and audited).

`application/json`: the plain webhook form, the same facts as a small JSON object.

Empty payload: no body; the headers still carry the event number and the signature.
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timezone

import orjson

from .subscriptions import TOPIC, TOPIC_URL

CATEGORY_SYSTEM = "https://hep.lacounty.example/fhir/CodeSystem/hep"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
NS = uuid.UUID("5b0c7a55-6d2e-4c1e-9a77-0d5f2b3c4e61")


def iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def fhir_bundle(*, base_url: str, subscription_id: str, status: str, event_number: int, occurred_at: datetime,
                youth_id: str, categories: list[str], idempotency_key: str) -> dict:
    base = base_url.rstrip("/") + "/fhir"
    event = [{"name": "event-number", "valueString": str(event_number)},
             {"name": "timestamp", "valueInstant": iso(occurred_at)},
             {"name": "focus", "valueReference": {"reference": f"Patient/{youth_id}"}}]
    event += [{"name": "hep-category", "valueCoding": {"system": CATEGORY_SYSTEM, "code": c}} for c in categories]
    params = {
        "resourceType": "Parameters", "id": str(uuid.uuid5(NS, f"status:{idempotency_key}")),
        "meta": {"profile": [f"{BACKPORT}/backport-subscription-status-r4"]},
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": f"{base}/Subscription/{subscription_id}"}},
            {"name": "topic", "valueCanonical": TOPIC_URL},
            {"name": "status", "valueCode": status},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(event_number)},
            {"name": "notification-event", "part": event},
        ]}
    return {
        "resourceType": "Bundle", "id": str(uuid.uuid5(NS, idempotency_key)),
        "meta": {"profile": [f"{BACKPORT}/backport-subscription-notification-r4"]},
        "type": "history", "timestamp": iso(occurred_at),
        "entry": [{"fullUrl": f"urn:uuid:{params['id']}", "resource": params,
                   "request": {"method": "GET", "url": f"{base}/Subscription/{subscription_id}/$status"},
                   "response": {"status": "200"}}]}


def plain_json(*, subscription_id: str, event_number: int, occurred_at: datetime, youth_id: str,
               categories: list[str], idempotency_key: str) -> dict:
    return {"type": TOPIC, "subscription": f"Subscription/{subscription_id}", "eventNumber": event_number,
            "occurredAt": iso(occurred_at), "patient": f"Patient/{youth_id}", "categories": categories,
            "idempotencyKey": idempotency_key}


def body_for(payload: str, **facts) -> bytes:
    if payload == "application/fhir+json":
        return orjson.dumps(fhir_bundle(**facts))
    if payload == "application/json":
        facts = {k: v for k, v in facts.items() if k not in ("base_url", "status")}
        return orjson.dumps(plain_json(**facts))
    return b""


def signature(secret: str, idempotency_key: str, body: bytes) -> str:
    """`X-HEP-Signature: sha256=<hex>`: HMAC-SHA256 over "<Idempotency-Key>\\n<body>" with the
    subscription's signing secret (returned once, when the subscription was created)."""
    mac = hmac.new(secret.encode(), idempotency_key.encode() + b"\n" + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
