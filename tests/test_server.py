"""The gateway as deployed: `hep serve` (gunicorn) answers /healthz and /fhir/metadata over HTTP."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import requests
from fhir.resources.R4B.capabilitystatement import CapabilityStatement


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_served_capability_statement_is_valid_r4(tmp_path):
    port = free_port()
    env = {**os.environ, "HEP_DATABASE_URL": f"sqlite:///{tmp_path}/hep.sqlite3", "HEP_BASE_URL": f"http://127.0.0.1:{port}"}
    log_path = tmp_path / "server.log"   # a file, not an unread pipe (a full pipe blocks the server)
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.time() + 180  # gunicorn on a loaded 2-core CI machine
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.RequestException:  # refused or slow to answer while starting
                assert proc.poll() is None, log_path.read_text()[-2000:]
                assert time.time() < deadline, "server did not start"
                time.sleep(0.3)
        assert r.json() == {"status": "ok", "store": "ok"}
        meta = requests.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=5)
        assert meta.headers["Content-Type"].startswith("application/fhir+json")
        cs = CapabilityStatement.model_validate(meta.json())
        types = {r.type for r in cs.rest[0].resource}
        assert {"Patient", "Immunization", "Consent", "AuditEvent"} <= types
        missing = requests.get(f"http://127.0.0.1:{port}/fhir/Nope/1", timeout=5)
        assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
