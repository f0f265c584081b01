"""kill -9 of the whole server (gunicorn master and every worker) in the middle of a stream of
writes, then a restart on the same store: every write that was acknowledged (2xx) is there exactly
once, nothing is half-written (no batch left running), the writes the client never got an answer
for land exactly once when the client sends them again (Ed-Fi POST is an upsert on the natural
key), and `hep audit verify` passes.

Writes: Ed-Fi studentSchoolAssociations (a SIS vendor; each with its own entryDate, so each is a
distinct resource) and FHIR Consent creates (a social worker for youth on their caseload; each with
its own expiry date, so each is recognisable)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from gateway.auth.registry import add_client
from gateway.ingest.pipeline import ingest
from gateway.store import open_store
from gateway.store import schema as s
from load.run import healthy
from tests.helpers import synth_county
from tests.test_auth_support import JWT_BEARER, ClientKey, make_assertion, register
from tests.test_server import free_port

ACKS_BEFORE_KILL = int(os.environ.get("HEP_FAULT_ACKS", "30"))
ENTRY0 = date(2026, 8, 17)
EXP0 = date(2027, 1, 1)


def start_server(db_url: str, port: int, env_extra: dict | None = None) -> subprocess.Popen:
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HEP_DATABASE_URL": db_url, "HEP_BASE_URL": base, **(env_extra or {})}
    # stderr to a file, never an unread pipe: under errors the logs would fill it and block every thread
    log = tempfile.NamedTemporaryFile(prefix="hep-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "2",
                             "--threads", "4"], env=env, stdout=subprocess.DEVNULL, stderr=log,
                            start_new_session=True)
    proc.log_path = log.name
    log.close()
    if not healthy(base, proc):
        log_tail = Path(proc.log_path).read_text()[-2000:]
        kill_all(proc)
        raise AssertionError("the server did not start: " + log_tail)
    return proc


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def kill_all(proc: subprocess.Popen) -> list[int]:
    """kill -9 the gunicorn master and its workers at once (its own process group)."""
    pids = [proc.pid, *children(proc.pid)]
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    Path(getattr(proc, "log_path", "/nonexistent")).unlink(missing_ok=True)
    return pids


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_all(proc)
    Path(getattr(proc, "log_path", "/nonexistent")).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    d = tmp_path_factory.mktemp("county")
    manifest = synth_county(d, youth=30, districts=3, seed=7, formats=["cws", "calpads"])
    lea = next(x["lea_id"] for x in manifest["districts"] if x["format"] == "calpads")
    return d, lea


class Writer:
    """Sends writes from a few threads; remembers which were acknowledged and which were not."""

    def __init__(self, base: str):
        self.base = base
        self.acked: dict[str, object] = {}
        self.unacked: dict[str, tuple] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.unexpected: list[str] = []

    def send(self, key: str, path: str, body: dict, headers: dict) -> None:
        try:
            r = requests.post(self.base + path, json=body, headers=headers, timeout=30)
        except requests.RequestException:
            with self.lock:
                self.unacked[key] = (path, body, headers)
            return
        with self.lock:
            if 200 <= r.status_code < 300:
                self.acked[key] = r.headers.get("Location")
            elif r.status_code >= 500:
                self.unacked[key] = (path, body, headers)
            else:
                self.unexpected.append(f"{path}: {r.status_code} {r.text[:500]}")


def consent_body(yid: str, expires: date) -> dict:
    ext = "https://hep.lacounty.example/fhir/StructureDefinition/"
    cs = "https://hep.lacounty.example/fhir/CodeSystem/"
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{yid}"}, "dateTime": "2026-11-20",
            "extension": [{"url": ext + "consent-grantor", "valueCoding": {"system": cs + "hep-consent-grantor", "code": "youth"}},
                          {"url": ext + "consent-form", "valueCoding": {"system": cs + "hep-consent-form", "code": "part2_2.31"}},
                          {"url": ext + "consent-part2-compliant", "valueBoolean": True}],
            "provision": {"type": "permit", "period": {"end": expires.isoformat()},
                          "actor": [{"role": {"coding": [{"system": cs + "hep-requester-role", "code": "youth_attorney"}]},
                                     "reference": {"display": "attorney of record"}}],
                          "class": [{"system": cs + "hep-data-category", "code": "substance_use_disorder_part2"}]}}


def ssa_rows(engine, uid: str, entry: date) -> int:
    r = s.resource.c
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(s.resource).where(
            r.standard == "edfi", r.rtype == "studentSchoolAssociations", r.deleted.is_(False),
            r.natural_key.contains(uid), r.natural_key.contains(entry.isoformat()))).scalar()


def consent_rows(engine, yid: str, expires: date) -> int:
    c_ = s.consent.c
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(s.consent).where(c_.youth_id == yid,
                                                                          c_.expires == expires)).scalar()


def test_kill_9_server_mid_stream_loses_and_duplicates_nothing_acknowledged(db_url, county, tmp_path):
    d, lea = county
    engine = open_store(db_url)
    assert ingest(engine, "cws", sorted((d / "cws").glob("*.zip"))).status == "committed"
    assert ingest(engine, "calpads", [d / "sis" / f"{lea}-calpads"], source_system=f"calpads:{lea}").status == "committed"
    r_ = s.resource.c
    with engine.connect() as c:
        school = c.execute(select(r_.natural_key).where(r_.standard == "edfi", r_.rtype == "schools")).scalar()
        students = sorted({k.split("\x1f")[-1] for (k,) in c.execute(select(r_.natural_key).where(
            r_.standard == "edfi", r_.rtype == "students", r_.source_system == f"calpads:{lea}", r_.youth_id.is_not(None)))})
        worker, caseload = None, []
        for person, yid in c.execute(select(s.care_assignment.c.person_id, s.care_assignment.c.youth_id).where(
                s.care_assignment.c.role == "social_worker", s.care_assignment.c.end_date.is_(None))
                .order_by(s.care_assignment.c.person_id)):
            if worker in (None, person):
                worker = person
                caseload.append(yid)
    school_id = int(school.split("\x1f")[-1])
    assert students and caseload
    sis_client, secret = add_client(engine, "la", "fault SIS", "sis_vendor", "school", scopes=["edfi"], lea_ids=[lea])
    sis_id = sis_client.client_id
    key = ClientKey()
    cm = register(engine, key, role="county_social_worker", scopes=["system/*.rs", "system/Consent.c"])

    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def tokens():
        t1 = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(sis_id, secret),
                           timeout=10)
        a = make_assertion(key, cm.client_id, aud=f"{base}/oauth/token", purpose_of_use="x-CW-CASEMGT",
                           subject_id=worker, subject_role="county_social_worker")
        t2 = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
                                                       "client_assertion": a, "scope": "system/*.rs system/Consent.c"},
                           timeout=10)
        assert t1.status_code == 200 and t2.status_code == 200, (t1.text, t2.text)
        return ({"Authorization": f"Bearer {t1.json()['access_token']}"},
                {"Authorization": f"Bearer {t2.json()['access_token']}", "Content-Type": "application/fhir+json"})

    proc = start_server(db_url, port)
    try:
        sis, sw = tokens()
        w = Writer(base)
        plan = []
        for i in range(400):
            uid = students[i % len(students)]
            entry = ENTRY0 + timedelta(days=i)
            plan.append((f"ssa:{uid}:{entry}", "/data/v3/ed-fi/studentSchoolAssociations",
                         {"studentReference": {"studentUniqueId": uid}, "schoolReference": {"schoolId": school_id},
                          "entryDate": entry.isoformat(),
                          "entryGradeLevelDescriptor": "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade"}, sis))
            if i % 3 == 0:
                yid, exp = caseload[i % len(caseload)], EXP0 + timedelta(days=i)
                plan.append((f"consent:{yid}:{exp}", "/fhir/Consent", consent_body(yid, exp), sw))
        def count(k: str) -> int:
            kind, a, b = k.split(":")
            return ssa_rows(engine, a, date.fromisoformat(b)) if kind == "ssa" else \
                consent_rows(engine, a, date.fromisoformat(b))

        plan = [p for p in plan if count(p[0]) == 0]      # only writes that are new (CALPADS made some)
        it = iter(plan)
        it_lock = threading.Lock()

        def pump():
            while not w.stop.is_set():
                with it_lock:
                    item = next(it, None)
                if item is None:
                    return
                w.send(*item)
        threads = [threading.Thread(target=pump) for _ in range(6)]
        for t in threads:
            t.start()
        deadline = time.time() + 120
        while len(w.acked) < ACKS_BEFORE_KILL and time.time() < deadline:
            time.sleep(0.01)
        killed = kill_all(proc)                   # mid-stream: requests are in flight in every worker
        w.stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not w.unexpected, w.unexpected[:3]
        assert len(killed) >= 3 and len(w.acked) >= ACKS_BEFORE_KILL
        sent = set(w.acked) | set(w.unacked)
        assert len(sent) > len(w.acked), "the kill should have caught requests in flight"

        # nothing half-written: no batch stays 'running'; acknowledged writes exactly once, others at most once
        with engine.connect() as c:
            assert c.execute(select(func.count()).select_from(s.ingest_batch).where(
                s.ingest_batch.c.status == "running")).scalar() == 0
        assert {k: count(k) for k in w.acked} == {k: 1 for k in w.acked}
        assert all(count(k) <= 1 for k in w.unacked)

        proc = start_server(db_url, port)          # restart on the same store and port
        sis, sw = tokens()
        for k, (path, body, headers) in sorted(w.unacked.items()):
            if k.startswith("ssa:"):               # the SIS sends what it never got an answer for again
                r = requests.post(base + path, json=body, headers=sis, timeout=30)
                assert r.status_code in (200, 201), r.text
        assert {k: count(k) for k in w.acked} == {k: 1 for k in w.acked}
        assert {k: count(k) for k in w.unacked if k.startswith("ssa:")} == \
            {k: 1 for k in w.unacked if k.startswith("ssa:")}
        assert all(count(k) <= 1 for k in w.unacked)
        assert requests.get(f"{base}/fhir/Patient/{caseload[0]}/$passport",
                            headers={"Authorization": sw["Authorization"]}, timeout=30).status_code == 200
    finally:
        stop(proc)
    verify = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify"],
                            env={**os.environ, "HEP_DATABASE_URL": db_url}, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and "verified" in verify.stdout, verify.stdout + verify.stderr
    engine.dispose()
