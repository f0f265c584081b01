"""End to end over a real gunicorn server: a synthetic county, real partner tokens, the policy,
the passport, and the audit chain verified by the CLI afterwards."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests
from fhir.resources.R4B.bundle import Bundle

from gateway.store import open_store
from tests.fhir_api_support import PART2_YOUTH, load_county, make_county, person_of, synthetic, youth_id
from tests.test_auth_support import JWT_BEARER, ClientKey, make_assertion, register
from tests.test_server import free_port

EDUCATION = {"enrollment_school_placement", "attendance", "grades_transcripts_credits"}


@pytest.fixture
def server(tmp_path, db_url):
    county = make_county(tmp_path / "county")
    engine = open_store(db_url)
    load_county(engine, county)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HEP_DATABASE_URL": db_url, "HEP_BASE_URL": base}
    # the server's log goes to a file: an unread pipe would block every thread once it filled
    log_path = tmp_path / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 180  # gunicorn on a loaded 2-core CI machine
    while True:
        try:
            requests.get(f"{base}/healthz", timeout=2)
            break
        except requests.RequestException:  # refused or slow to answer while starting
            assert proc.poll() is None, log_path.read_text()[-2000:]
            assert time.time() < deadline
            time.sleep(0.3)
    try:
        yield base, engine, env
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        engine.dispose()


def token(base, engine, role, user_id, purpose, scope="system/*.rs system/*.read"):
    key = ClientKey()
    client = register(engine, key, role=role, scopes=scope.split())
    assertion = make_assertion(key, client.client_id, aud=f"{base}/oauth/token", purpose_of_use=purpose,
                               subject_id=user_id, subject_role=role)
    r = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
                                                  "client_assertion": assertion, "scope": scope}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_passport_over_a_real_server(server):
    base, engine, env = server
    yid = youth_id(engine, PART2_YOUTH)
    lawyer = token(base, engine, "youth_attorney", person_of(engine, yid, "attorney"), "HLEGAL")
    r = requests.get(f"{base}/fhir/Patient/{yid}/$passport", headers=lawyer, timeout=30)
    assert r.status_code == 200, r.text
    doc = r.json()
    Bundle.model_validate(doc)
    assert doc["type"] == "document" and doc["entry"][0]["resource"]["resourceType"] == "Composition"
    sections = {c["code"] for s in doc["entry"][0]["resource"]["section"] for c in s["code"]["coding"]}
    assert EDUCATION <= sections, sections
    assert "substance_use_disorder_part2" not in sections and "hiv" not in sections
    released_labels = {l.get("code") for e in doc["entry"] for l in (e["resource"].get("meta") or {}).get("security", [])}
    assert "42CFRPart2" not in released_labels

    other = token(base, engine, "youth_attorney", "ATY-NOT-OF-RECORD", "HLEGAL")
    denied = requests.get(f"{base}/fhir/Patient/{yid}/$passport", headers=other, timeout=30)
    assert denied.status_code == 403 and denied.json()["resourceType"] == "OperationOutcome"

    youth = token(base, engine, "youth", synthetic(PART2_YOUTH).client_id, "PATRQT")
    events = requests.get(f"{base}/fhir/AuditEvent?patient={yid}", headers=youth, timeout=30).json()
    outcomes = [e["resource"]["outcome"] for e in events["entry"]]
    assert "0" in outcomes and any(o != "0" for o in outcomes)   # the passport release and the denial

    verify = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and "verified" in verify.stdout, verify.stdout + verify.stderr
