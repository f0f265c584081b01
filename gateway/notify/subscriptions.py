"""Subscriptions: what a partner asks to be told about, where, and as whom.

A subscription belongs to the client that created it (others never see it). It records the
Requester of the creating token (role, purpose of use, acting user), because every notification
is decided for that requester, per youth, by the enforcement layer.

Criteria (FHIR R4 `Subscription.criteria`; one topic, "the youth's passport changed"):

    Patient                                   every change the subscriber may see
    Patient?_has=passport-changed             the same (the form named in issue 7)
    Patient?hep-event=passport-changed        the same
    Patient?hep-category=a,b                  only changes in these data categories
    Patient?hep-event=passport-changed&hep-category=a,b

Channel: `type` rest-hook, `endpoint` https URL, `header` ["Name: value", ...] sent with every
notification, `payload` "application/fhir+json" (FHIR Bundle), "application/json" (plain
webhook JSON) or absent (an empty POST: "something changed, come and look").
"""
from __future__ import annotations

import ipaddress
import json
import re
import secrets as _secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import and_, func, select, update

from ..enforce.decisions import ALL_CATEGORIES
from ..store import schema as s

TOPIC = "passport-changed"
TOPIC_URL = "https://hep.lacounty.example/fhir/SubscriptionTopic/passport-changed"
SECRET_EXTENSION = "https://hep.lacounty.example/fhir/StructureDefinition/subscription-signing-secret"
PAYLOADS = {"": "", "application/fhir+json": "application/fhir+json", "application/json": "application/json"}
RESERVED_HEADERS = {"idempotency-key", "content-type", "content-length", "host", "transfer-encoding", "connection"}
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
MAX_HEADERS, MAX_HEADER_LEN, MAX_ENDPOINT = 10, 2000, 500


class SubscriptionError(ValueError):
    """A subscription the gateway cannot accept (400 / 422 with this message)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Criteria:
    text: str
    categories: list[str] | None      # None: every category


def parse_criteria(text: str | None) -> Criteria:
    text = (text or "").strip()
    if not text:
        raise SubscriptionError("Subscription.criteria is required, e.g. Patient?hep-category=placement_case_information")
    if len(text) > 500:
        raise SubscriptionError("Subscription.criteria is longer than 500 characters")
    rtype, _, query = text.partition("?")
    if rtype != "Patient":
        raise SubscriptionError("this server notifies about Patients only: criteria must start with 'Patient'")
    categories: list[str] | None = None
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        if name in ("_has", "hep-event"):
            if value != TOPIC:
                raise SubscriptionError(f"unknown event {value!r}: the only event is {TOPIC}")
        elif name == "hep-category":
            wanted = [c.strip() for c in value.split(",") if c.strip()]
            unknown = [c for c in wanted if c not in ALL_CATEGORIES]
            if unknown or not wanted:
                raise SubscriptionError(f"unknown data categor{'y' if len(unknown) == 1 else 'ies'} "
                                        f"{', '.join(unknown) or '(none given)'}; known: {', '.join(ALL_CATEGORIES)}")
            categories = sorted(set(wanted) | set(categories or ()))
        else:
            raise SubscriptionError(f"unsupported criteria parameter {name!r} (use hep-category or hep-event)")
    return Criteria(text, categories)


def check_endpoint(url: str | None, allow_http: bool = False) -> str:
    url = (url or "").strip()
    if not url:
        raise SubscriptionError("Subscription.channel.endpoint is required")
    if len(url) > MAX_ENDPOINT:
        raise SubscriptionError(f"Subscription.channel.endpoint is longer than {MAX_ENDPOINT} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SubscriptionError("Subscription.channel.endpoint must be an absolute https URL")
    if parts.username or parts.password:
        raise SubscriptionError("put credentials in Subscription.channel.header, not in the endpoint URL")
    if parts.scheme == "http" and not allow_http and not _loopback(parts.hostname):
        raise SubscriptionError("Subscription.channel.endpoint must use https (notifications name youth in care)")
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_headers(headers) -> list[str]:
    if headers in (None, []):
        return []
    if not isinstance(headers, list) or len(headers) > MAX_HEADERS:
        raise SubscriptionError(f"Subscription.channel.header must be a list of at most {MAX_HEADERS} 'Name: value' strings")
    out = []
    for h in headers:
        if not isinstance(h, str) or len(h) > MAX_HEADER_LEN or "\r" in h or "\n" in h or ":" not in h:
            raise SubscriptionError("each Subscription.channel.header must be one 'Name: value' line")
        name, _, value = h.partition(":")
        name = name.strip()
        if not _HEADER_NAME.match(name):
            raise SubscriptionError(f"invalid header name {name!r}")
        if name.lower() in RESERVED_HEADERS or name.lower().startswith("x-hep-"):
            raise SubscriptionError(f"header {name} is set by the gateway and cannot be configured")
        out.append(f"{name}: {value.strip()}")
    return out


def headers_dict(headers: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in headers:
        name, _, value = h.partition(":")
        out[name.strip()] = value.strip()
    return out


# --- secrets at rest: channel headers (often credentials) and the HMAC key ---------------------

def seal_secrets(sub_id: str, data: dict) -> tuple[bytes, str | None]:
    from ..crypto import keyring
    plain = json.dumps(data).encode()
    ring = keyring.current()
    if ring is None:
        return plain, None            # a bare store without keys (tests); `hep init` creates the key ring
    return ring.encrypt(plain, aad=f"subscription:{sub_id}".encode())


def open_secrets(sub_id: str, body: bytes, key_id: str | None) -> dict:
    if key_id is None:
        return json.loads(body)
    from ..crypto import keyring
    ring = keyring.current()
    if ring is None:
        raise RuntimeError(f"subscription secrets are encrypted with key {key_id} but no key ring is configured")
    return json.loads(ring.decrypt(body, key_id, aad=f"subscription:{sub_id}".encode()))


# --- FHIR <-> rows ------------------------------------------------------------------------------

def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_instant(value) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise SubscriptionError("Subscription.end must be a FHIR instant, e.g. 2027-06-30T00:00:00Z") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def requester_snapshot(who) -> dict:
    return {"client_id": who.client_id, "kind": who.kind, "role": who.role, "organization": who.organization,
            "user_id": who.user_id, "user_role": who.user_role, "purpose_of_use": who.purpose_of_use,
            "purpose_system": who.purpose_system, "scopes": sorted(who.scopes), "lea_ids": list(who.lea_ids)}


def from_fhir(body, *, allow_http: bool = False) -> dict:
    """Validate a FHIR R4 Subscription; the row values it asks for (no id, owner or secrets yet)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Subscription":
        raise SubscriptionError("the body must be a FHIR R4 Subscription resource (application/fhir+json)")
    status = body.get("status", "requested")
    if status not in ("requested", "active"):
        raise SubscriptionError("a new Subscription must have status 'requested' (or 'active')")
    crit = parse_criteria(body.get("criteria"))
    channel = body.get("channel")
    if not isinstance(channel, dict):
        raise SubscriptionError("Subscription.channel is required")
    if channel.get("type") != "rest-hook":
        raise SubscriptionError("only channel type 'rest-hook' is supported", 422)
    payload = channel.get("payload") or ""
    if payload not in PAYLOADS:
        raise SubscriptionError("channel.payload must be application/fhir+json, application/json, or absent", 422)
    end = parse_instant(body.get("end"))
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise SubscriptionError("Subscription.reason must be a string of at most 500 characters")
    return {"criteria": crit.text, "categories": crit.categories, "endpoint": check_endpoint(channel.get("endpoint"), allow_http),
            "payload": payload, "headers": check_headers(channel.get("header")), "end_at": end, "reason": reason}


def to_fhir(row, headers: list[str] | None = None, signing_secret: str | None = None) -> dict:
    m = row._mapping if hasattr(row, "_mapping") else row
    channel = {"type": "rest-hook", "endpoint": m["endpoint"]}
    if m["payload"]:
        channel["payload"] = m["payload"]
    if headers:
        # values are credentials for the subscriber's endpoint: shown by name only
        channel["header"] = [f"{h.partition(':')[0].strip()}: ***" for h in headers]
    res = {"resourceType": "Subscription", "id": m["id"], "meta": {"lastUpdated": _iso(m["updated_at"])},
           "status": m["status"], "criteria": m["criteria"], "channel": channel}
    if m["reason"]:
        res["reason"] = m["reason"]
    if m["end_at"]:
        res["end"] = _iso(m["end_at"])
    if m["error"]:
        res["error"] = m["error"]
    if signing_secret:
        res["extension"] = [{"url": SECRET_EXTENSION, "valueString": signing_secret}]
    return res


# --- store operations ---------------------------------------------------------------------------

def create(conn, tenant: str, who, values: dict, now: datetime) -> tuple[dict, str]:
    """Insert a subscription owned by `who`; returns (row as dict, the signing secret shown once)."""
    sub_id = str(uuid.uuid4())
    signing = _secrets.token_urlsafe(32)
    sealed, key_id = seal_secrets(sub_id, {"headers": values["headers"], "hmac": signing})
    since = conn.execute(select(func.max(s.outbox.c.id))).scalar() or 0
    row = {"id": sub_id, "tenant_id": tenant, "client_id": who.client_id, "status": "requested",
           "criteria": values["criteria"], "categories": values["categories"], "reason": values["reason"],
           "end_at": values["end_at"], "endpoint": values["endpoint"], "payload": values["payload"],
           "secrets": sealed, "key_id": key_id, "requester": requester_snapshot(who), "since_outbox_id": since,
           "events_since_start": 0, "error": None, "created_at": now, "updated_at": now}
    conn.execute(s.subscription.insert().values(**row))
    return row, signing


def get_owned(conn, tenant: str, client_id: str, sub_id: str):
    c = s.subscription.c
    return conn.execute(select(s.subscription).where(and_(c.tenant_id == tenant, c.id == sub_id,
                                                          c.client_id == client_id, c.status != "deleted"))).first()


def list_owned(conn, tenant: str, client_id: str, status: str | None = None):
    c = s.subscription.c
    q = select(s.subscription).where(and_(c.tenant_id == tenant, c.client_id == client_id, c.status != "deleted"))
    if status:
        q = q.where(c.status == status)
    return list(conn.execute(q.order_by(c.created_at, c.id)))


def delete(conn, tenant: str, sub_id: str, now: datetime, reason: str = "subscription deleted") -> None:
    """The row stays (deliveries and the audit trail refer to it); nothing more is sent."""
    conn.execute(update(s.subscription).where(s.subscription.c.id == sub_id).values(
        status="deleted", lease_owner=None, lease_until=None, updated_at=now))
    cancel_pending(conn, sub_id, reason)


def cancel_pending(conn, sub_id: str, reason: str) -> int:
    d = s.notification_delivery.c
    return conn.execute(update(s.notification_delivery).where(and_(
        d.subscription_id == sub_id, d.status.in_(("pending", "failed")))).values(
        status="cancelled", last_error=reason, blocking=False)).rowcount
