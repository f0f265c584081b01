"""PostgreSQL restarted under load: gunicorn serves passport reads and Ed-Fi writes, an ingest is in
the middle of its batch, and the database goes away (pg_ctl stop -m fast: every session is cut) and
comes back. The app recovers without anyone touching it (pool_pre_ping), requests during the outage
fail cleanly (a 5xx with an OperationOutcome or problem details, never a hang or a dropped
connection), the interrupted ingest leaves nothing behind and lands when run again, every
acknowledged write is there exactly once, and the audit chain verifies.

The test runs its own throw-away PostgreSQL cluster (initdb on a free port): restarting the shared
server at 127.0.0.1:5432 would break every other test running against it at the same time.
The scenario runs once (module fixture); the tests below each check one property of it.
"""
from __future__ import annotations

import os
import shutil
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
from gateway.demo import ingest_plan
from gateway.ingest.pipeline import ingest
from gateway.store import open_store
from gateway.store import schema as s
from tests.helpers import synth_county
from tests.test_auth_support import JWT_BEARER, ClientKey, make_assertion, register
from tests.test_faults_server import start_server, stop
from tests.test_server import free_port

# `hep ingest` whose fault point `ingest-mid-batch` comes after 50 records instead of 5,000
INGEST = ("import sys, gateway.ingest.pipeline as p\n"
          "p.FAULT_AFTER = 50\n"
          "from gateway.cli import main\n"
          "sys.exit(main(['ingest', *sys.argv[1:]]))\n")
OUTAGE_S = float(os.environ.get("HEP_FAULT_PG_OUTAGE", "4"))


def _pg_bin() -> Path | None:
    for v in ("17", "16", "15", "14"):
        p = Path(f"/usr/lib/postgresql/{v}/bin")
        if (p / "initdb").exists():
            return p
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PrivateCluster:
    def __init__(self):
        self.bin = _pg_bin()
        if self.bin is None:
            if os.environ.get("HEP_REQUIRE_POSTGRES"):
                pytest.fail("PostgreSQL server binaries (initdb) are required")
            pytest.skip("no PostgreSQL server binaries (initdb)")
        self.dir = Path(tempfile.mkdtemp(prefix="hep-pg-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        r = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{tool}: {r.stdout}\n{r.stderr}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                  f"-c full_page_writes=off -c max_connections=60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except AssertionError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Observed:
    def __init__(self):
        self.lock = threading.Lock()
        self.rows: list[tuple[float, str, int | None, str]] = []   # (time, kind, status, what the body is)
        self.acked: set[str] = set()

    def add(self, kind: str, status: int | None, what: str) -> None:
        with self.lock:
            self.rows.append((time.time(), kind, status, what))


def body_kind(r: requests.Response) -> str:
    try:
        doc = r.json()
    except ValueError:
        return f"not json: {r.headers.get('Content-Type')}"
    if doc.get("resourceType") == "OperationOutcome":
        return "OperationOutcome"
    if "status" in doc and "title" in doc and r.headers.get("Content-Type", "").startswith("application/problem+json"):
        return "problem"
    return doc.get("resourceType") or "json"


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    """Run the scenario once; returns what was observed."""
    cluster = PrivateCluster()
    proc = None
    stoppers: list[threading.Event] = []
    tmp = tmp_path_factory.mktemp("pgfault")
    try:
        cluster.start()
        url = cluster.url
        county = tmp / "county"
        manifest = synth_county(county, youth=40, districts=3, seed=7, formats=["cws", "calpads", "oneroster",
                                                                                  "sif", "edfi-xml", "edfi-json"])
        leas = [x["lea_id"] for x in manifest["districts"] if x["format"] == "calpads"]
        engine = open_store(url)
        assert ingest(engine, "cws", sorted((county / "cws").glob("*.zip"))).status == "committed"
        lea = leas[0]
        assert ingest(engine, "calpads", [county / "sis" / f"{lea}-calpads"],
                      source_system=f"calpads:{lea}").status == "committed"
        r_ = s.resource.c
        a = s.care_assignment.c
        with engine.connect() as c:
            school = c.execute(select(r_.natural_key).where(r_.standard == "edfi", r_.rtype == "schools")).scalar()
            students = sorted({k.split("\x1f")[-1] for (k,) in c.execute(select(r_.natural_key).where(
                r_.standard == "edfi", r_.rtype == "students", r_.source_system == f"calpads:{lea}",
                r_.youth_id.is_not(None)))})
            pairs = c.execute(select(a.person_id, a.youth_id).where(a.role == "social_worker", a.end_date.is_(None))
                              .order_by(a.person_id)).all()
        worker = pairs[0][0]
        caseload = [y for p, y in pairs if p == worker]
        sis_client, secret = add_client(engine, "la", "pg SIS", "sis_vendor", "school", scopes=["edfi"], lea_ids=[lea])
        key = ClientKey()
        cm = register(engine, key, role="county_social_worker", scopes=["system/*.rs"])
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "HEP_DATABASE_URL": url, "HEP_BASE_URL": base}
        proc = start_server(url, port)
        t1 = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(sis_client.client_id, secret), timeout=10).json()["access_token"]
        assertion = make_assertion(key, cm.client_id, aud=f"{base}/oauth/token", purpose_of_use="x-CW-CASEMGT",
                                   subject_id=worker, subject_role="county_social_worker")
        t2 = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials",
                                                       "client_assertion_type": JWT_BEARER,
                                                       "client_assertion": assertion, "scope": "system/*.rs"},
                           timeout=10).json()["access_token"]
        obs = Observed()
        stop_evt = threading.Event()
        counter = iter(range(10**6))
        lock = threading.Lock()

        def reader():
            i = 0
            while not stop_evt.is_set():
                i += 1
                try:
                    r = requests.get(f"{base}/fhir/Patient/{caseload[i % len(caseload)]}/$passport",
                                     headers={"Authorization": f"Bearer {t2}"}, timeout=30)
                    obs.add("passport", r.status_code, body_kind(r))
                except requests.RequestException as e:
                    obs.add("passport", None, type(e).__name__)
                time.sleep(0.02)

        def writer():
            while not stop_evt.is_set():
                with lock:
                    i = next(counter)
                uid, entry = students[i % len(students)], date(2026, 8, 17) + timedelta(days=i)
                body = {"studentReference": {"studentUniqueId": uid}, "schoolReference":
                        {"schoolId": int(school.split("\x1f")[-1])}, "entryDate": entry.isoformat(),
                        "entryGradeLevelDescriptor": "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade"}
                try:
                    r = requests.post(f"{base}/data/v3/ed-fi/studentSchoolAssociations", json=body,
                                      headers={"Authorization": f"Bearer {t1}"}, timeout=30)
                    obs.add("edfi_post", r.status_code, body_kind(r))
                    if 200 <= r.status_code < 300:
                        with obs.lock:
                            obs.acked.add(f"{uid}:{entry.isoformat()}")
                except requests.RequestException as e:
                    obs.add("edfi_post", None, type(e).__name__)
                time.sleep(0.02)

        threads = [threading.Thread(target=f, daemon=True) for f in (reader, reader, writer, writer)]
        for t in threads:
            t.start()
        stoppers.append(stop_evt)
        time.sleep(2)
        # an ingest of the second district stops in the middle of its batch (records written, no commit)
        marker = tmp / "mid-batch"
        fmt, paths, _, _ = next(x for x in ingest_plan(county, manifest) if x[0] != "cws" and x[2] != f"calpads:{lea}")
        ingest_cmd = [sys.executable, "-c", INGEST, fmt, *map(str, paths), "--source", "calpads:second"]
        mid = subprocess.Popen(ingest_cmd, env={**env, "HEP_FAULT": "ingest-mid-batch", "HEP_FAULT_MARKER": str(marker),
                                                "HEP_FAULT_WAIT": str(OUTAGE_S + 2)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while not marker.exists():
            assert mid.poll() is None, mid.stderr.read()[-2000:]
            assert time.time() < deadline
            time.sleep(0.05)
        down_at = time.time()
        cluster.stop("fast")                    # every session is terminated; the server is down
        time.sleep(OUTAGE_S)
        cluster.start()
        up_at = time.time()
        mid_out, mid_err = mid.communicate(timeout=120)
        healthy_at, health = None, []
        while time.time() < up_at + 60:
            try:
                h = requests.get(f"{base}/healthz", timeout=5)
                health.append((round(time.time() - up_at, 1), h.status_code, h.text[:100]))
                if h.status_code == 200:
                    healthy_at = time.time()
                    break
            except requests.RequestException as e:
                health.append((round(time.time() - up_at, 1), None, type(e).__name__))
            time.sleep(0.2)
        time.sleep(3)                           # requests after recovery
        stop_evt.set()
        for t in threads:
            t.join(timeout=60)
        retry = subprocess.run(ingest_cmd, env=env, capture_output=True, text=True, timeout=300)
        with engine.connect() as c:
            batches = c.execute(select(s.ingest_batch.c.source_system, s.ingest_batch.c.status)).all()
        counts = {}
        for key_ in obs.acked:
            uid, entry = key_.split(":")
            with engine.connect() as c:
                counts[key_] = c.execute(select(func.count()).select_from(s.resource).where(
                    r_.rtype == "studentSchoolAssociations", r_.deleted.is_(False), r_.natural_key.contains(uid),
                    r_.natural_key.contains(entry))).scalar()
        verify = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify"], env=env,
                                capture_output=True, text=True, timeout=120)
        server_alive = proc.poll() is None
        stop(proc)
        proc = None
        engine.dispose()
        yield {"rows": obs.rows, "down_at": down_at, "up_at": up_at, "healthy_at": healthy_at,
               "mid": (mid.returncode, mid_out, mid_err), "retry": retry, "batches": batches, "acked": counts,
               "verify": verify, "server_alive": server_alive,
               "health": health}
    finally:
        for e in stoppers:
            e.set()
        if proc is not None:
            stop(proc)
        cluster.destroy()


def test_the_app_recovers_by_itself(outage):
    o = outage
    assert o["server_alive"], "gunicorn died with the database"
    assert o["healthy_at"] is not None and o["healthy_at"] - o["up_at"] < 30, (
        o["health"][:3], o["health"][-3:], sorted({(r[1], r[2], r[3]) for r in o["rows"] if r[0] > o["up_at"]}))
    after = [r for r in o["rows"] if r[0] > o["healthy_at"] + 1]
    assert after and all(r[2] is not None and 200 <= r[2] < 300 for r in after), \
        sorted({(r[1], r[2], r[3]) for r in after})
    assert {r[1] for r in after} == {"passport", "edfi_post"}


def test_requests_during_the_outage_fail_cleanly(outage):
    o = outage
    during = [r for r in o["rows"] if o["down_at"] <= r[0] <= o["up_at"]]
    failed = [r for r in during if r[2] is None or r[2] >= 300]
    assert failed, "requests should have run into the outage"
    # an answer every time (no dropped connection, no hang), a server error, a machine-readable body
    assert all(r[2] is not None and r[2] >= 500 for r in failed), sorted({(r[1], r[2], r[3]) for r in failed})
    assert all((r[1], r[3]) in {("passport", "OperationOutcome"), ("edfi_post", "problem")} for r in failed), \
        sorted({(r[1], r[2], r[3]) for r in failed})


def test_requests_during_the_outage_are_503_transient(outage):
    o = outage
    failed = [r for r in o["rows"] if o["down_at"] <= r[0] <= o["up_at"] and r[2] is not None and r[2] >= 500]
    assert failed and all(r[2] == 503 for r in failed), sorted({(r[1], r[2]) for r in failed})


def test_the_interrupted_ingest_leaves_nothing_and_lands_when_run_again(outage):
    o = outage
    code, _, err = o["mid"]
    assert code != 0, "the ingest cut off from its database must not report success"
    assert "nothing of it was stored" in err and "Traceback" not in err, err[-2000:]   # says why, in one line
    assert o["retry"].returncode == 0, o["retry"].stderr[-2000:]
    second = [st for src, st in o["batches"] if src == "calpads:second"]
    assert second.count("committed") == 1 and "running" not in second, second
    assert all(st != "running" for _, st in o["batches"])


def test_acknowledged_writes_exactly_once_and_the_chain_verifies(outage):
    o = outage
    assert o["acked"] and set(o["acked"].values()) == {1}
    assert o["verify"].returncode == 0 and "verified" in o["verify"].stdout, o["verify"].stdout + o["verify"].stderr
