"""Helpers for the notification tests (no tests here): a small CWS county, subscribers with real
tokens, a clock the tests advance, and a recording webhook endpoint served through `responses`."""
from __future__ import annotations

import glob
import hashlib
import hmac
import json
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests
import responses
from sqlalchemy import select

from gateway.ingest.pipeline import ingest
from gateway.notify import NotifyConfig, run_once
from gateway.store import schema as s
from tests.helpers import synth_county
from tests.test_auth_support import ClientKey, build_app, get_token, register

BASE = "https://hep.test"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
SCOPES = ("system/Patient.rs", "system/Subscription.cruds")
CONFIG = NotifyConfig(base_delay=30.0, max_delay=6 * 3600.0, max_age=3 * 86400.0)


def make_extract(tmp: Path) -> Path:
    synth_county(tmp, youth=12, districts=2, seed=5, formats=["cws"])
    return Path(glob.glob(str(tmp / "cws" / "*.zip"))[0])


def load(engine, extract: Path) -> None:
    r = ingest(engine, "cws", [extract])
    assert r.status == "committed", r.error


class Clock:
    def __init__(self, start: datetime = T0):
        self.now = start

    def advance(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now


class Subscriber:
    """A registered SMART backend client acting for one user, holding a real access token."""

    def __init__(self, app, engine, role: str, purpose: str, user_id: str | None = None, scopes=SCOPES):
        self.http = app.test_client()
        self.key = ClientKey()
        self.client = register(engine, self.key, role=role, scopes=scopes)
        claims = {"purpose_of_use": purpose}
        if user_id:
            claims.update(subject_id=user_id, subject_role=role)
        self.token = get_token(self.http, self.key, self.client.client_id, scope=" ".join(scopes), **claims)
        self.subscription: dict | None = None
        self.secret: str | None = None

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def subscribe(self, endpoint: str, criteria: str = "Patient?_has=passport-changed",
                  payload: str | None = "application/fhir+json", header=None, **extra) -> dict:
        channel = {"type": "rest-hook", "endpoint": endpoint}
        if payload is not None:
            channel["payload"] = payload
        if header:
            channel["header"] = header
        body = {"resourceType": "Subscription", "status": "requested", "reason": "test", "criteria": criteria,
                "channel": channel, **extra}
        r = self.http.post("/fhir/Subscription", json=body,
                           headers={**self.headers(), "Content-Type": "application/fhir+json"})
        assert r.status_code == 201, r.get_json()
        self.subscription = r.get_json()
        self.secret = next(e["valueString"] for e in self.subscription["extension"])
        return self.subscription


class Endpoint:
    """One subscriber's webhook, served by `responses`: records each request and answers with
    the next scripted status (the last one repeats), or raises ConnectionError while `down`."""

    def __init__(self, rsps: responses.RequestsMock, url: str, statuses=(200,), reject=None):
        self.url, self.statuses, self.reject = url, list(statuses), reject
        self.calls: list[dict] = []
        self.down = False
        rsps.add_callback(responses.POST, url, callback=self._answer)

    def _answer(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        if self.down:
            self.calls.append({"headers": dict(request.headers), "body": body, "status": None})
            raise requests.ConnectionError("connection refused")
        doc = json.loads(body) if body else None
        if self.reject and doc is not None and self.reject(doc):
            status = 400
        else:
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        self.calls.append({"headers": dict(request.headers), "body": body, "status": status, "json": doc})
        return status, {}, "" if status < 300 else '{"error": "no"}'

    @property
    def acknowledged(self) -> list[dict]:
        return [c for c in self.calls if c["status"] is not None and 200 <= c["status"] < 300]


def focus_of(doc: dict) -> str:
    """The Patient a notification is about (FHIR Bundle or plain JSON)."""
    if doc.get("resourceType") == "Bundle":
        event = next(p for p in doc["entry"][0]["resource"]["parameter"] if p["name"] == "notification-event")
        return next(p["valueReference"]["reference"] for p in event["part"] if p["name"] == "focus")
    return doc["patient"]


def categories_of(doc: dict) -> list[str]:
    if doc.get("resourceType") == "Bundle":
        event = next(p for p in doc["entry"][0]["resource"]["parameter"] if p["name"] == "notification-event")
        return [p["valueCoding"]["code"] for p in event["part"] if p["name"] == "hep-category"]
    return doc["categories"]


def event_number_of(doc: dict) -> int:
    if doc.get("resourceType") == "Bundle":
        event = next(p for p in doc["entry"][0]["resource"]["parameter"] if p["name"] == "notification-event")
        return int(next(p["valueString"] for p in event["part"] if p["name"] == "event-number"))
    return doc["eventNumber"]


def signature_ok(secret: str, call: dict) -> bool:
    key = call["headers"]["Idempotency-Key"]
    mac = hmac.new(secret.encode(), key.encode() + b"\n" + call["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(call["headers"]["X-HEP-Signature"], "sha256=" + mac)


def dispatch(engine, when, config: NotifyConfig = CONFIG, seed: int = 1):
    """One dispatcher pass at `when` (a Clock or a datetime)."""
    now = when.now if isinstance(when, Clock) else when
    return run_once(engine, now, config, base_url=BASE, rng=random.Random(seed), owner="test-dispatcher")


def deliveries(engine, subscription_id: str | None = None) -> list:
    d = s.notification_delivery.c
    q = select(s.notification_delivery).order_by(d.outbox_id, d.id)
    if subscription_id:
        q = q.where(d.subscription_id == subscription_id)
    with engine.connect() as c:
        return list(c.execute(q))


def youth_rows(engine) -> list:
    with engine.connect() as c:
        return list(c.execute(select(s.youth).order_by(s.youth.c.client_id)))


def active_person(engine, youth_id: str, role: str) -> str | None:
    a = s.care_assignment.c
    with engine.connect() as c:
        return c.execute(select(a.person_id).where(a.youth_id == youth_id, a.role == role,
                                                   a.end_date.is_(None))).scalar()


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def app_for(engine):
    return build_app(engine)
