"""Load test: SIS pushes, passport reads at peak, a state bulk export and HIE uploads, all at once,
against gunicorn over PostgreSQL on 127.0.0.1 (an open-loop threads driver; load/locustfile.py runs
the same scenario under locust).

  python -m load.run --minutes 30                  # 30,000-youth store (built once, cached under var/load/)
  python -m load.run --youth 2000 --seconds 60     # smaller
  make load LOAD_MINUTES=30

Arrivals are Poisson at the rates of load/scenario.py (x --scale); at most --clients requests are
in flight (30, as in the Ed-Fi ODS/API volume test). Latency is measured from the moment a request
is sent; `late_ms` says how long arrivals waited for a free client (non-zero means the driver, not
only the server, was saturated). Everything is bounded: a deadline, a maximum request count, and
requests time out after 60 s. Only 127.0.0.1 is ever targeted.

Writes var/load/results-<stamp>.json (and prints a table); last line is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import prepare, scenario

PY = sys.executable
SERVER_ENV = {   # one case-management client acts for thousands of workers: see docs/performance.md
    "HEP_TOKEN_RATE_CLIENT_BURST": "2000", "HEP_TOKEN_RATE_CLIENT_PER_S": "100",
    "HEP_TOKEN_RATE_ADDR_BURST": "4000", "HEP_TOKEN_RATE_ADDR_PER_S": "200",
}


class Http:
    """requests.Session bound to a base URL on loopback, with locust's `name=` accepted and ignored."""

    def __init__(self, base: str, timeout: float = 60.0):
        host = base.split("://", 1)[1].split("/", 1)[0].split(":")[0]
        if host != "127.0.0.1":
            raise SystemExit(f"load tests target 127.0.0.1 only, not {host}")
        self.base, self.timeout = base, timeout
        self.local = threading.local()

    IDLE = 1.0

    def request(self, method: str, path: str, name: str | None = None, **kw):
        s = getattr(self.local, "s", None)
        now = time.monotonic()
        if s is not None and now - self.local.used > self.IDLE:
            s.close()          # gunicorn closes idle keep-alive connections after 2 s: do not race it
        if s is None:
            s = self.local.s = requests.Session()
        kw.setdefault("timeout", self.timeout)
        try:
            return s.request(method, self.base + path, **kw)
        finally:
            self.local.used = time.monotonic()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(base: str, proc: subprocess.Popen, seconds: float = 90) -> bool:
    """Wait until `base`/healthz answers 200: True, or False once `proc` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)


class Stack:
    """gunicorn (`hep serve`) and one `hep worker`, started and always stopped."""

    def __init__(self, url: str, var_env: dict, workers: int = 2, threads: int = 4, port: int | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **var_env, **SERVER_ENV, "HEP_DATABASE_URL": url, "HEP_BASE_URL": self.base,
                    "HEP_LOG_JSON": "0"}
        self.workers, self.threads = workers, threads
        self.procs: list[subprocess.Popen] = []

    def start(self, worker: bool = True) -> Stack:
        try:
            return self._start(worker)
        except BaseException:
            self.stop()
            raise

    def _start(self, worker: bool) -> Stack:
        log = open(Path(self.env["HEP_VAR_DIR"]).parent / "server.log", "ab")  # noqa: SIM115 - handed to the children
        self.procs.append(subprocess.Popen(
            [PY, "-m", "gateway.cli", "serve", "--port", str(self.port), "--workers", str(self.workers),
             "--threads", str(self.threads)], env=self.env, stdout=log, stderr=log, start_new_session=True))
        if worker:
            self.procs.append(subprocess.Popen([PY, "-m", "gateway.cli", "worker", "--poll", "0.5"], env=self.env,
                                               stdout=log, stderr=log, start_new_session=True))
        if not healthy(self.base, self.procs[0]):
            self.stop()
            raise RuntimeError("the server did not start (see server.log)")
        return self

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        self.procs.clear()


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.rows: dict[str, dict] = {}

    def add(self, name: str, ms: float, status: int | None, late_ms: float, error: str | None = None) -> None:
        with self.lock:
            r = self.rows.setdefault(name, {"ms": [], "late": [], "status": {}, "errors": []})
            r["ms"].append(ms)
            r["late"].append(late_ms)
            key = str(status) if status is not None else "exception"
            r["status"][key] = r["status"].get(key, 0) + 1
            if error and len(r["errors"]) < 10:
                r["errors"].append(error)

    def summary(self, seconds: float) -> dict:
        out = {}
        for name, r in sorted(self.rows.items()):
            n = len(r["ms"])
            bad = sum(v for k, v in r["status"].items() if k == "exception" or int(k) >= 400)
            five = sum(v for k, v in r["status"].items() if k == "exception" or int(k) >= 500)
            out[name] = {"count": n, "rps": round(n / seconds, 2), "mean_ms": round(sum(r["ms"]) / n, 1),
                         "p50_ms": round(pct(r["ms"], 50), 1), "p95_ms": round(pct(r["ms"], 95), 1),
                         "p99_ms": round(pct(r["ms"], 99), 1), "max_ms": round(max(r["ms"]), 1),
                         "errors": bad, "errors_5xx": five, "error_rate": round(bad / n, 4),
                         "late_p99_ms": round(pct(r["late"], 99), 1), "status": r["status"],
                         "sample_errors": r["errors"]}
        return out


def drive(ctx: scenario.Context, http: Http, seconds: float, scale: float = 1.0, clients: int = 30,
          max_requests: int = 200_000, seed: int = 1, export: bool = True, rates: dict | None = None) -> dict:
    """Run the mix for `seconds`; returns the summary (per type, plus totals)."""
    rates = {k: v * scale for k, v in (rates or scenario.RATES).items()}
    rec = Recorder()
    rng = random.Random(seed)
    local = threading.local()

    def one(name: str, fn, due: float) -> None:
        r = getattr(local, "rng", None)
        if r is None:
            r = local.rng = random.Random(rng.random())
        start = time.perf_counter()
        late = max(0.0, (start - due) * 1000)
        try:
            resp = fn(http, ctx, r)
            ms = (time.perf_counter() - start) * 1000
            err = None if resp.status_code < 400 else f"{resp.status_code} {resp.text[:200]}"
            rec.add(name, ms, resp.status_code, late, err)
        except Exception as e:  # noqa: BLE001 - any failure is a failed request, counted
            rec.add(name, (time.perf_counter() - start) * 1000, None, late, f"{type(e).__name__}: {str(e)[:200]}")

    # arrivals: merge the Poisson processes of every type
    t0 = time.perf_counter()
    schedule: list[tuple[float, str]] = []
    for name, rate in rates.items():
        if rate <= 0:
            continue
        t = rng.expovariate(rate) if rate < 1 else rng.random() / rate
        while t < seconds:
            schedule.append((t, name))
            t += rng.expovariate(rate)
    schedule.sort()
    schedule = schedule[:max_requests]
    with ThreadPoolExecutor(max_workers=clients) as pool:
        if export:
            pool.submit(one, "export_kickoff", scenario.export_kickoff, time.perf_counter())
        next_poll = t0 + 10
        for at, name in schedule:
            due = t0 + at
            while True:
                now = time.perf_counter()
                if export and ctx.export_status and ctx.export_done is None and now >= next_poll:
                    pool.submit(one, "export_status", scenario.export_poll, now)
                    next_poll = now + 10
                if now >= due:
                    break
                time.sleep(min(due - now, 0.05))
            pool.submit(one, name, scenario.TASKS[name], due)
    elapsed = time.perf_counter() - t0
    summary = rec.summary(elapsed)
    n = sum(v["count"] for v in summary.values())
    errors = sum(v["errors"] for v in summary.values())
    return {"seconds": round(elapsed, 1), "requests": n, "rps": round(n / elapsed, 2), "errors": errors,
            "errors_5xx": sum(v["errors_5xx"] for v in summary.values()),
            "error_rate": round(errors / n, 4) if n else 0.0, "by_type": summary,
            "offered_rps": {k: round(v, 3) for k, v in rates.items()}, "clients": clients}


def wait_jobs(engine, ids: list[str], timeout: float) -> dict:
    from sqlalchemy import select

    from gateway.store import schema as s
    deadline = time.time() + timeout
    while True:
        with engine.connect() as c:
            rows = c.execute(select(s.job.c.status, s.job.c.error).where(s.job.c.id.in_(ids))).all() if ids else []
        counts: dict[str, int] = {}
        for st, _ in rows:
            counts[st] = counts.get(st, 0) + 1
        if not ids or counts.get("queued", 0) + counts.get("running", 0) == 0 or time.time() > deadline:
            counts["errors"] = [e[:200] for st, e in rows if st == "failed" and e][:5]
            return counts
        time.sleep(1)


def audit_verify(url: str, env: dict) -> tuple[bool, str]:
    r = subprocess.run([PY, "-m", "gateway.cli", "audit", "verify"], env={**env, "HEP_DATABASE_URL": url},
                       capture_output=True, text=True, timeout=1800)
    return r.returncode == 0, (r.stdout + r.stderr).strip()[-300:]


def table(res: dict) -> str:
    lines = [f"{'type':<16}{'count':>8}{'req/s':>8}{'mean':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'errors':>8}",
             "-" * 72]
    for name, v in res["by_type"].items():
        lines.append(f"{name:<16}{v['count']:>8}{v['rps']:>8}{v['mean_ms']:>8}{v['p50_ms']:>8}{v['p95_ms']:>8}"
                     f"{v['p99_ms']:>8}{v['errors']:>8}")
    lines.append(f"{'all':<16}{res['requests']:>8}{res['rps']:>8}{'':>32}{res['errors']:>8}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--youth", type=int, default=30000)
    ap.add_argument("--districts", type=int)
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("LOAD_MINUTES", "30")))
    ap.add_argument("--seconds", type=float, help="overrides --minutes")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every arrival rate")
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    ap.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--root", type=Path, default=prepare.VAR, help="where the county and results live")
    ap.add_argument("--no-verify", action="store_true", help="skip `hep audit verify` at the end")
    args = ap.parse_args(argv)
    seconds = args.seconds or args.minutes * 60
    districts = args.districts or max(2, min(80, args.youth // 375))
    engine, url, county = prepare.store(args.youth, districts, args.backend, root=args.root)
    var_env = prepare.use_dirs(args.root)
    p = prepare.partners(engine, county)
    prepare.log(f"store ready ({url}): {len(p.workers)} social workers, {len(p.students)} students, "
                f"{len(p.vendors)} SIS vendors, {len(p.ccda)} C-CDA documents")
    stack = Stack(url, var_env, args.workers, args.threads).start()
    try:
        ctx = scenario.Context(p, stack.base)
        http = Http(stack.base)
        prepare.log(f"driving {seconds:.0f} s at scale {args.scale} with {args.clients} clients against {stack.base}")
        res = drive(ctx, http, seconds, args.scale, args.clients, args.max_requests)
        res["jobs"] = wait_jobs(engine, ctx.jobs, timeout=600)
        if ctx.export_status and ctx.export_done is None:     # let the export finish, bounded
            deadline = time.time() + 1800
            while ctx.export_done is None and time.time() < deadline:
                scenario.export_poll(http, ctx)
                time.sleep(5)
        res["export"] = {"seconds": round(ctx.export_done - ctx.export_started, 1) if ctx.export_done else None,
                         "resources": ctx.export_outputs}
    finally:
        stack.stop()
    res.update(youth=args.youth, backend=args.backend, gunicorn={"workers": args.workers, "threads": args.threads},
               machine={"cores": os.cpu_count(), "loadavg_at_end": os.getloadavg()})
    if not args.no_verify:
        ok, out = audit_verify(url, var_env)
        res["audit_verify"] = {"ok": ok, "output": out}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = args.root / f"results-{args.youth}-{stamp}.json"
    path.write_text(json.dumps(res, indent=1))
    print(table(res))
    print(f"jobs: {res['jobs']}  export: {res['export']}  audit: {res.get('audit_verify', {}).get('output')}")
    print(f"results: {path}")
    print(json.dumps({k: res[k] for k in ("requests", "rps", "errors", "errors_5xx", "error_rate", "seconds")}
                     | {"p99_ms": {k: v["p99_ms"] for k, v in res["by_type"].items()}}))
    return 0 if res["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
