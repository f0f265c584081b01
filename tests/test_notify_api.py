"""FHIR Subscription create/read/search/delete with real tokens (SQLite and PostgreSQL), and
`hep notify` from the command line."""
from __future__ import annotations

import json

import pytest

from gateway.cli import main
from tests.test_notify_support import Clock, Subscriber, app_for, dispatch

SUB = {"resourceType": "Subscription", "status": "requested", "reason": "state CMS sync",
       "criteria": "Patient?hep-category=enrollment_school_placement,placement_case_information",
       "channel": {"type": "rest-hook", "endpoint": "https://cms.state.example/hep/notify",
                   "payload": "application/fhir+json", "header": ["Authorization: Bearer partner-secret"]}}


def post(sub: Subscriber, body):
    return sub.http.post("/fhir/Subscription", json=body, headers={**sub.headers(), "Content-Type": "application/fhir+json"})


@pytest.fixture
def pair(engine):
    app = app_for(engine)
    return (Subscriber(app, engine, "state_cms", "x-CW-ADMIN"), Subscriber(app, engine, "state_cms", "x-CW-ADMIN"),
            engine)


def test_subscription_crud_is_owner_only(pair):
    owner, other, engine = pair
    r = post(owner, SUB)
    assert r.status_code == 201
    res = r.get_json()
    sid = res["id"]
    assert r.headers["Location"] == f"/fhir/Subscription/{sid}"
    assert res["status"] == "requested" and res["criteria"] == SUB["criteria"]
    assert res["channel"]["header"] == ["Authorization: ***"]          # credentials are never echoed
    assert "partner-secret" not in r.get_data(as_text=True)
    assert len(res["extension"][0]["valueString"]) >= 40               # the HMAC key, shown once

    got = owner.http.get(f"/fhir/Subscription/{sid}", headers=owner.headers())
    assert got.status_code == 200 and got.get_json()["id"] == sid and "extension" not in got.get_json()
    assert got.headers["Content-Type"].startswith("application/fhir+json")
    # another client: as if it did not exist
    assert other.http.get(f"/fhir/Subscription/{sid}", headers=other.headers()).status_code == 404
    assert other.http.delete(f"/fhir/Subscription/{sid}", headers=other.headers()).status_code == 404
    mine = other.http.get("/fhir/Subscription", headers=other.headers()).get_json()
    assert mine["total"] == 0 and mine["entry"] == []
    assert post(other, {**SUB, "reason": "other"}).status_code == 201
    listed = owner.http.get("/fhir/Subscription", headers=owner.headers()).get_json()
    assert listed["type"] == "searchset" and [e["resource"]["id"] for e in listed["entry"]] == [sid]

    dispatch(engine, Clock())                                          # requested -> active
    assert owner.http.get(f"/fhir/Subscription/{sid}", headers=owner.headers()).get_json()["status"] == "active"
    active = owner.http.get("/fhir/Subscription?status=active", headers=owner.headers()).get_json()
    assert active["total"] == 1

    assert owner.http.delete(f"/fhir/Subscription/{sid}", headers=owner.headers()).status_code == 204
    assert owner.http.get(f"/fhir/Subscription/{sid}", headers=owner.headers()).status_code == 404
    assert owner.http.get("/fhir/Subscription", headers=owner.headers()).get_json()["total"] == 0
    meta = owner.http.get("/fhir/metadata").get_json()
    kinds = {r["type"] for r in meta["rest"][0]["resource"]}
    assert "Subscription" in kinds


@pytest.mark.parametrize("change, status, words", [
    ({"criteria": "Observation?code=x"}, 400, "Patients only"),
    ({"criteria": "Patient?hep-category=gossip"}, 400, "gossip"),
    ({"criteria": "Patient?_has=something-else"}, 400, "passport-changed"),
    ({"criteria": "Patient?name=smith"}, 400, "unsupported"),
    ({"criteria": ""}, 400, "required"),
    ({"channel": {"type": "websocket", "endpoint": "wss://x.example"}}, 422, "rest-hook"),
    ({"channel": {"type": "rest-hook", "endpoint": "http://partner.example/hook"}}, 400, "https"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://u:p@partner.example/hook"}}, 400, "credentials"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://p.example/h", "payload": "application/fhir+xml"}}, 422, "payload"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://p.example/h", "header": ["Idempotency-Key: 1"]}}, 400, "set by the gateway"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://p.example/h", "header": ["X: a\r\nY: b"]}}, 400, "one 'Name: value' line"),
    ({"status": "off"}, 400, "requested"),
    ({"end": "soon"}, 400, "instant"),
    ({"resourceType": "Patient"}, 400, "Subscription resource"),
])
def test_invalid_subscriptions_are_refused(pair, change, status, words):
    owner, _, _ = pair
    r = post(owner, {**SUB, **change})
    assert r.status_code == status, r.get_json()
    assert r.get_json()["resourceType"] == "OperationOutcome"
    assert words in r.get_json()["issue"][0]["diagnostics"]


def test_tokens_and_scopes(pair):
    owner, _, engine = pair
    assert owner.http.post("/fhir/Subscription", json=SUB).status_code == 401
    assert owner.http.get("/fhir/Subscription").status_code == 401
    app = app_for(engine)
    reader = Subscriber(app, engine, "state_cms", "x-CW-ADMIN", scopes=("system/Patient.rs", "system/Subscription.rs"))
    assert post(reader, SUB).status_code == 403                        # no create scope
    blind = Subscriber(app, engine, "state_cms", "x-CW-ADMIN", scopes=("system/Subscription.cruds",))
    r = post(blind, SUB)
    assert r.status_code == 403 and "Patient" in r.get_json()["issue"][0]["diagnostics"]


def test_hep_notify_cli(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    monkeypatch.setenv("HEP_DATABASE_URL", url)
    assert main(["notify", "run", "--once"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["delivered"] == 0 and out["errors"] == []
    assert main(["notify", "status"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deliveries": {}, "dead": []}
    assert main(["notify", "requeue"]) == 0
    assert json.loads(capsys.readouterr().out) == {"requeued": 0}
