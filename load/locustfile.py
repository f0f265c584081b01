"""The load scenario of load/scenario.py under locust (pip install -e '.[load]'), for those who want
locust's web UI or distributed workers. `make load` uses load/run.py, which needs nothing extra and
also starts and stops the server; here the gateway must already be running on 127.0.0.1:

  export HEP_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hep_load_30000_1 \
         HEP_CERTS_DIR=var/load/certs HEP_VAR_DIR=var/load/var HEP_BASE_URL=http://127.0.0.1:8080 \
         HEP_TOKEN_RATE_CLIENT_BURST=2000 HEP_TOKEN_RATE_CLIENT_PER_S=100 \
         HEP_TOKEN_RATE_ADDR_BURST=4000 HEP_TOKEN_RATE_ADDR_PER_S=200
  hep serve --port 8080 & hep worker &
  LOAD_YOUTH=30000 locust -f load/locustfile.py --headless -u 30 -r 5 -t 30m --host http://127.0.0.1:8080

30 users split by weight so that, each at its constant throughput, they offer the peak rates of
load/scenario.py; one StateUser runs the bulk export once.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from locust import HttpUser, constant_throughput, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from load import prepare, scenario

_ctx: scenario.Context | None = None


@events.test_start.add_listener
def _prepare(environment, **_kw):
    global _ctx
    host = environment.host or ""
    if not host.startswith("http://127.0.0.1:"):
        raise SystemExit("load tests target http://127.0.0.1:<port> only")
    youth = int(os.environ.get("LOAD_YOUTH", "30000"))
    engine, _url, county = prepare.store(youth, max(2, min(80, youth // 375)))
    _ctx = scenario.Context(prepare.partners(engine, county), host)


class _User(HttpUser):
    abstract = True

    def on_start(self):
        self.rng = random.Random()


class PassportUser(_User):           # 20 users x 0.55/s = 11/s
    weight = 20
    wait_time = constant_throughput(scenario.RATES["passport"] / 20)

    @task
    def passport(self):
        scenario.passport(self.client, _ctx, self.rng)


class SisUser(_User):                # 8 users x 0.5/s = 4/s, and now and then a CALPADS upload
    weight = 8
    wait_time = constant_throughput(scenario.RATES["edfi_post"] / 8)

    @task(240)
    def edfi_post(self):
        scenario.edfi_post(self.client, _ctx, self.rng)

    @task(1)
    def calpads_upload(self):
        scenario.calpads_upload(self.client, _ctx, self.rng)


class HieUser(_User):                # 1 user x 0.1/s
    weight = 1
    wait_time = constant_throughput(scenario.RATES["ccda_upload"])

    @task
    def ccda_upload(self):
        scenario.ccda_upload(self.client, _ctx, self.rng)


class StateUser(_User):              # kicks off one export, then polls it every 10 s
    weight = 1
    fixed_count = 1
    wait_time = constant_throughput(0.1)

    @task
    def export(self):
        if _ctx.export_status is None:
            scenario.export_kickoff(self.client, _ctx)
        elif _ctx.export_done is None:
            scenario.export_poll(self.client, _ctx)
