"""What the load test does, shared by the threads driver (load/run.py) and locust (load/locustfile.py).

Each request type is a function `(http, ctx, rng) -> response` where `http.request(method, path,
name=..., **kw)` is a requests.Session bound to the base URL (run.py) or locust's HttpSession.

Peak traffic (the rates below at --scale 1; the reasoning is in docs/performance.md, "Load"):
  passport        11.0 /s  7,800 social workers x 20 passport views a day, an 8-hour day, peak hour 2x average
  edfi_post        4.0 /s  SIS pushes (Ed-Fi POST /students upserts): 30,000 youth x 2 changes a school day, peak 2x
  calpads_upload  1/min    a district's CALPADS extract (all files of one district) uploaded and ingested
  ccda_upload      0.1 /s  HIE C-CDA documents: ~1,500 a day at the 30,000-youth scale, peak 2x
  export          once     the state's bulk $export of everyone, kicked off at the start and polled
"""
from __future__ import annotations

import random
import threading
import time

RATES = {"passport": 11.0, "edfi_post": 4.0, "calpads_upload": 1 / 60, "ccda_upload": 0.1}
RETRY_STATUS = {429}


class Tokens:
    """Access tokens per (client, acting user), fetched once and renewed a minute before expiry."""

    def __init__(self, base_url: str):
        self.aud = f"{base_url}/oauth/token"
        self._t: dict[tuple, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, http, key: tuple, fetch) -> str:
        with self._lock:
            hit = self._t.get(key)
        if hit and hit[1] > time.time() + 60:
            return hit[0]
        for attempt in range(5):
            r = fetch(http)
            if r.status_code == 200:
                body = r.json()
                tok = body["access_token"]
                with self._lock:
                    self._t[key] = (tok, time.time() + int(body.get("expires_in", 300)))
                return tok
            if r.status_code not in RETRY_STATUS:
                raise RuntimeError(f"token for {key}: HTTP {r.status_code} {r.text[:300]}")
            time.sleep(float(r.headers.get("Retry-After", 1)))
        raise RuntimeError(f"token for {key}: still throttled")


class Context:
    def __init__(self, partners, base_url: str):
        self.p = partners
        self.base = base_url
        self.tokens = Tokens(base_url)
        self.export_status: str | None = None
        self.export_started: float | None = None
        self.export_done: float | None = None
        self.export_outputs: int | None = None
        self.jobs: list[str] = []
        self._lock = threading.Lock()

    # tokens -----------------------------------------------------------------------------------
    def worker_token(self, http, person: str) -> str:
        cm = self.p.case_mgmt
        return self.tokens.get(http, ("cm", person), lambda h: h.request(
            "POST", "/oauth/token", name="token", data=cm.token_form(
                self.tokens.aud, purpose_of_use="x-CW-CASEMGT", subject_id=person, subject_role=cm.role)))

    def smart_token(self, http, client, **claims) -> str:
        return self.tokens.get(http, (client.client_id,), lambda h: h.request(
            "POST", "/oauth/token", name="token", data=client.token_form(self.tokens.aud, **claims)))

    def vendor_token(self, http, v: dict) -> str:
        return self.tokens.get(http, (v["client_id"],), lambda h: h.request(
            "POST", "/oauth/token", name="token", data={"grant_type": "client_credentials"},
            auth=(v["client_id"], v["secret"])))


def passport(http, ctx: Context, rng: random.Random):
    person, youth = rng.choice(ctx.p.workers)
    tok = ctx.worker_token(http, person)
    return http.request("GET", f"/fhir/Patient/{rng.choice(youth)}/$passport", name="passport",
                        headers={"Authorization": f"Bearer {tok}"})


def edfi_post(http, ctx: Context, rng: random.Random):
    v = rng.choice(ctx.p.vendors)
    body = dict(rng.choice(v["students"]))
    if rng.random() < 0.5:                 # half change something (a new version), half repeat (unchanged)
        body["middleName"] = rng.choice(["Ann", "Lee", "Marie", "Jose", "Rae", "Jo"])
    return http.request("POST", "/data/v3/ed-fi/students", name="edfi_post", json=body,
                        headers={"Authorization": f"Bearer {ctx.vendor_token(http, v)}"})


def _accepted(ctx: Context, r) -> None:
    if r.status_code == 202:
        with ctx._lock:
            ctx.jobs.append(r.json()["jobId"])


def calpads_upload(http, ctx: Context, rng: random.Random):
    v = rng.choice(ctx.p.vendors)
    files = [("file", (f.name, f.read_bytes(), "text/plain")) for f in v["calpads"]]
    r = http.request("POST", f"/ingest/calpads?lea={v['lea']}", name="calpads_upload", files=files,
                     headers={"Authorization": f"Bearer {ctx.vendor_token(http, v)}"})
    _accepted(ctx, r)
    return r


def ccda_upload(http, ctx: Context, rng: random.Random):
    doc = rng.choice(ctx.p.ccda)
    tok = ctx.smart_token(http, ctx.p.hie, purpose_of_use="TREAT")
    r = http.request("POST", f"/ingest/ccda?filename={doc.name}", name="ccda_upload", data=doc.read_bytes(),
                     headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/xml"})
    _accepted(ctx, r)
    return r


def export_kickoff(http, ctx: Context, rng: random.Random | None = None):
    tok = ctx.smart_token(http, ctx.p.state, purpose_of_use="x-CW-ADMIN")
    r = http.request("GET", "/fhir/$export", name="export_kickoff",
                     headers={"Authorization": f"Bearer {tok}", "Accept": "application/fhir+json",
                              "Prefer": "respond-async"})
    if r.status_code == 202:
        ctx.export_status = r.headers["Content-Location"].split("://", 1)[-1].split("/", 1)[-1]
        ctx.export_status = "/" + ctx.export_status
        ctx.export_started = time.time()
    return r


def export_poll(http, ctx: Context, rng: random.Random | None = None):
    tok = ctx.smart_token(http, ctx.p.state, purpose_of_use="x-CW-ADMIN")
    r = http.request("GET", ctx.export_status, name="export_status", headers={"Authorization": f"Bearer {tok}"})
    if r.status_code == 200 and ctx.export_done is None:
        ctx.export_done = time.time()
        ctx.export_outputs = sum(o.get("count", 0) for o in r.json().get("output", []))
    return r


TASKS = {"passport": passport, "edfi_post": edfi_post, "calpads_upload": calpads_upload, "ccda_upload": ccda_upload}
