"""`$passport` over HTTP under gunicorn: p50/p99 and requests/s at 1, 10 and 50 concurrent clients,
beside a bare Flask JSON endpoint served with the same gunicorn settings (bench/bare_app.py).

  python bench/api.py             # 30,000-youth store on PostgreSQL (built once under var/load/, see load/prepare.py)
  python bench/api.py --quick     # 2,000 youth, shorter rounds
  python bench/api.py --backend sqlite

Each client is a thread in a closed loop (send, wait for the answer, send again) acting for one of
the county's social workers, reading the passport of a youth on that worker's caseload with a real
SMART backend token (policy, enforcement and an audit row per request: the full path). The clients
run on the same 2 cores as the server, so figures are a floor for the server alone.
Targets: p99 < 100 ms at 50 clients; requests/s at least 30% of the bare endpoint's.
Last line: {"p99_ms_50": ..., "rps_50": ..., "bare_rps_50": ..., ...}
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import prepare
from load.run import Stack, free_port, pct
from load.scenario import Context

LEVELS = (1, 10, 50)


def closed_loop(clients: int, seconds: float, make_request) -> dict:
    """`clients` threads each sending make_request(session, rng) back to back for `seconds`."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def run(i: int) -> None:
        s, rng, mine, bad = requests.Session(), random.Random(i), [], 0
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            try:
                r = make_request(s, rng)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            mine.append((time.perf_counter() - t) * 1000)
            bad += not ok
        with lock:
            lat.extend(mine)
            errors[0] += bad
    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"clients": clients, "requests": len(lat), "rps": round(len(lat) / elapsed, 1),
            "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1), "errors": errors[0]}


def bare_server(port: int, workers: int, threads: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", str(workers), "--threads",
                             str(threads), "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT / "bench"),
                             "--log-level", "warning", "bare_app:app"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/json", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("the bare app did not start")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 youth, 5-second rounds")
    ap.add_argument("--youth", type=int)
    ap.add_argument("--seconds", type=float, help="length of each round")
    ap.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args(argv)
    youth = args.youth or (2000 if args.quick else 30000)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    engine, url, county = prepare.store(youth, max(2, min(80, youth // 375)), args.backend)
    env = prepare.use_dirs()
    p = prepare.partners(engine, county, max_workers=200)
    stack = Stack(url, env, args.workers, args.threads).start(worker=False)
    bare = None
    try:
        ctx = Context(p, stack.base)
        http = requests.Session()

        class H:       # the token helpers speak `request(method, path, name=...)`
            @staticmethod
            def request(method, path, name=None, **kw):
                return http.request(method, stack.base + path, timeout=30, **kw)
        tokens = {person: ctx.worker_token(H, person) for person, _ in p.workers}

        def passport(s, rng):
            person, youth_ids = rng.choice(p.workers)
            return s.get(f"{stack.base}/fhir/Patient/{rng.choice(youth_ids)}/$passport",
                         headers={"Authorization": f"Bearer {tokens[person]}"}, timeout=60)
        closed_loop(2, 2.0, passport)                               # warm up both workers
        api = {c: closed_loop(c, seconds, passport) for c in LEVELS}
        stack.stop()
        port = free_port()
        bare = bare_server(port, args.workers, args.threads)
        closed_loop(2, 1.0, lambda s, rng: s.get(f"http://127.0.0.1:{port}/json", timeout=30))
        floor = {c: closed_loop(c, seconds, lambda s, rng: s.get(f"http://127.0.0.1:{port}/json", timeout=30))
                 for c in LEVELS}
    finally:
        stack.stop()
        if bare is not None:
            os.killpg(bare.pid, signal.SIGTERM)
            bare.wait(timeout=20)
    print(f"$passport over gunicorn ({args.workers} workers x {args.threads} threads, {args.backend}, "
          f"{youth:,} youth), {seconds:.0f} s per level; clients share the machine's {os.cpu_count()} cores")
    print(f"{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}   {'bare req/s':>11}{'bare p99':>9}"
          f"{'ratio':>7}")
    for c in LEVELS:
        a, b = api[c], floor[c]
        print(f"{c:>8}{a['rps']:>9}{a['p50_ms']:>9}{a['p99_ms']:>9}{a['errors']:>8}   {b['rps']:>11}{b['p99_ms']:>9}"
              f"{a['rps'] / b['rps']:>7.2f}")
    out = {"p99_ms_50": api[50]["p99_ms"], "rps_50": api[50]["rps"], "bare_rps_50": floor[50]["rps"],
           "p50_ms_50": api[50]["p50_ms"], "ratio_50": round(api[50]["rps"] / floor[50]["rps"], 3),
           "youth": youth, "backend": args.backend,
           "levels": {str(c): {"api": api[c], "bare": floor[c]} for c in LEVELS},
           "errors": sum(api[c]["errors"] for c in LEVELS),
           "targets_met": {"p99_lt_100ms_at_50": api[50]["p99_ms"] < 100,
                           "rps_ge_30pct_of_bare": api[50]["rps"] >= 0.3 * floor[50]["rps"]}}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
