"""The store a load test or an API benchmark runs against, and the partners that use it.

A synthetic county (`hep synth`, every feed) is written once to var/load/county-<youth>-<seed> and
ingested once into a database of its own (PostgreSQL: database `hep_load_<youth>` next to the one in
HEP_LOAD_PG_ADMIN_URL; SQLite: var/load/hep-<youth>.sqlite3). Both are reused by later runs while
they hold the youth (a marker `ready.json` is written only after every batch committed).

Each run registers fresh partners (tokens are bound to clients; registering is cheap):
  * one SIS vendor per district that has a CALPADS feed (Ed-Fi POSTs, CALPADS uploads);
  * the county case-management system, a SMART backend client of role county_social_worker that
    acts for each social worker (subject_id = the worker's person id from the case extract);
  * the county HIE (smart_backend, scope `ingest`: C-CDA uploads);
  * the state (role state_cms, purpose x-CW-ADMIN: the bulk export).
Private keys stay in memory (never written anywhere).
"""
from __future__ import annotations

import json
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "load"
AS_OF = date(2026, 11, 23)
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PG_ADMIN = os.environ.get("HEP_LOAD_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def use_dirs(root: Path = VAR) -> dict:
    """Keys (the at-rest key ring sealing sensitive bodies) and var/ of the load store live under
    root, never in the checkout's certs/: the server and worker must be started with the same."""
    env = {"HEP_CERTS_DIR": str(root / "certs"), "HEP_VAR_DIR": str(root / "var")}
    os.environ.update(env)
    return env


def pg_database(name: str, admin_url: str = PG_ADMIN) -> str:
    """The URL of database `name` on the server of admin_url, created if missing."""
    import psycopg
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def ensure_county(youth: int, districts: int, seed: int = 1, root: Path = VAR) -> Path:
    out = root / f"county-{youth}-{seed}"
    if (out / "manifest.json").exists():
        return out
    from gateway.synth import generate
    t = time.perf_counter()
    tmp = root / f".county-{youth}-{seed}-{uuid.uuid4().hex[:6]}"
    generate(tmp, youth=youth, districts=districts, seed=seed, as_of=AS_OF)
    tmp.rename(out)
    log(f"synthesized {youth:,} youth into {out} in {time.perf_counter() - t:.0f} s")
    return out


def ensure_store(url: str, county: Path, marker: Path):
    """Open (migrate) the store at url and ingest the county into it unless marker says it is done."""
    from gateway.demo import ingest_plan
    from gateway.ingest.pipeline import ingest
    from gateway.store import open_store
    engine = open_store(url)
    if marker.exists() and json.loads(marker.read_text()).get("url") == url:
        return engine
    manifest = json.loads((county / "manifest.json").read_text())
    t, n = time.perf_counter(), 0
    plan, hie = [], {}
    for fmt, paths, source, opts in ingest_plan(county, manifest):
        if source.startswith("hie:"):      # one batch per sender and options, not one per document
            hie.setdefault((fmt, source, json.dumps(opts, sort_keys=True)), []).extend(paths)
        else:
            plan.append((fmt, paths, source, opts))
    for (fmt, source, opts), paths in sorted(hie.items()):
        for i in range(0, len(paths), 2000):
            plan.append((fmt, paths[i:i + 2000], source, json.loads(opts)))
    for fmt, paths, source, opts in plan:
        r = ingest(engine, fmt, paths, source_system=source, options=opts)
        if r.status not in ("committed", "duplicate"):
            raise RuntimeError(f"ingest {fmt} {paths[0]}: {r.status} {r.error}")
        n += 1
    secs = time.perf_counter() - t
    marker.write_text(json.dumps({"url": url, "batches": n, "ingest_seconds": round(secs, 1)}))
    log(f"ingested {n} batches in {secs:.0f} s")
    return engine


def store(youth: int, districts: int, backend: str = "postgres", seed: int = 1, root: Path = VAR):
    """(engine, url, county dir) of a ready store of `youth` youth."""
    root.mkdir(parents=True, exist_ok=True)
    use_dirs(root)
    county = ensure_county(youth, districts, seed, root)
    if backend == "postgres":
        url = pg_database(f"hep_load_{youth}_{seed}")
    else:
        url = f"sqlite:///{root / f'hep-{youth}-{seed}.sqlite3'}"
    engine = ensure_store(url, county, root / f"ready-{backend}-{youth}-{seed}.json")
    return engine, url, county


# --- partners -------------------------------------------------------------------------------------

@dataclass
class SmartClient:
    client_id: str
    key: object
    kid: str
    role: str
    scope: str

    def assertion(self, aud: str, **claims) -> str:
        now = int(time.time())
        body = {"iss": self.client_id, "sub": self.client_id, "aud": aud, "iat": now, "exp": now + 120,
                "jti": uuid.uuid4().hex, **claims}
        return jwt.encode(body, self.key, algorithm="ES384", headers={"kid": self.kid, "typ": "JWT"})

    def token_form(self, aud: str, **claims) -> dict:
        return {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
                "client_assertion": self.assertion(aud, **claims), "scope": self.scope}


@dataclass
class Partners:
    vendors: list[dict] = field(default_factory=list)        # {client_id, secret, lea, calpads_dir}
    case_mgmt: SmartClient | None = None
    hie: SmartClient | None = None
    state: SmartClient | None = None
    workers: list[tuple[str, list[str]]] = field(default_factory=list)   # (person id, [youth ids])
    students: list[dict] = field(default_factory=list)        # Ed-Fi student bodies of youth in care
    ccda: list[Path] = field(default_factory=list)


def _smart(engine, tenant: str, role: str, scopes: list[str], name: str, purpose: str | None = None) -> SmartClient:
    from gateway.auth.registry import add_client
    key = ec.generate_private_key(ec.SECP384R1())
    kid = uuid.uuid4().hex[:12]
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    client, _ = add_client(engine, tenant, name, "smart_backend", role, scopes=scopes, purpose=purpose,
                           jwks={"keys": [{**jwk, "kid": kid, "alg": "ES384", "use": "sig"}]})
    return SmartClient(client.client_id, key, kid, role, " ".join(scopes))


def partners(engine, county: Path, tenant: str = "la", max_workers: int = 400, seed: int = 1) -> Partners:
    from sqlalchemy import select

    from gateway.auth.registry import add_client
    from gateway.store import schema as s
    rng = random.Random(seed)
    manifest = json.loads((county / "manifest.json").read_text())
    p = Partners()
    tag = uuid.uuid4().hex[:6]
    a = s.care_assignment.c
    for d in manifest["districts"]:
        if d["format"] != "calpads":
            continue
        client, secret = add_client(engine, tenant, f"load SIS {d['lea_id']} {tag}", "sis_vendor", "school",
                                    scopes=["edfi", "ingest"], lea_ids=[d["lea_id"]])
        folder = county / "sis" / f"{d['lea_id']}-calpads"
        with engine.connect() as c:    # a vendor may update only students enrolled in its district
            r, y = s.resource.c, s.youth.c
            students = [{"studentUniqueId": x.ssid, "firstName": x.given, "lastSurname": x.family,
                         "birthDate": x.birth_date.isoformat()} for x in c.execute(
                select(y.ssid, y.given, y.family, y.birth_date).distinct().select_from(
                    s.youth.join(s.resource, r.youth_id == y.id)).where(
                    r.standard == "edfi", r.rtype == "studentSchoolAssociations",
                    r.source_system == f"calpads:{d['lea_id']}", y.ssid.is_not(None)).order_by(y.ssid))]
        if not students:
            continue
        p.vendors.append({"client_id": client.client_id, "secret": secret, "lea": d["lea_id"], "students": students,
                          "calpads": sorted(x for x in folder.iterdir() if x.is_file())})
    p.case_mgmt = _smart(engine, tenant, "county_social_worker", ["system/*.rs", "system/*.read"],
                         f"load case management {tag}")
    p.hie = _smart(engine, tenant, "treating_provider", ["ingest"], f"load HIE {tag}")
    p.state = _smart(engine, tenant, "state_cms", ["system/*.read"], f"load state {tag}", purpose="x-CW-ADMIN")
    a = s.care_assignment.c
    by_worker: dict[str, list[str]] = {}
    with engine.connect() as c:
        for person, yid in c.execute(select(a.person_id, a.youth_id).where(a.role == "social_worker",
                                                                          a.end_date.is_(None))):
            by_worker.setdefault(person, []).append(yid)
    workers = sorted(by_worker.items())
    rng.shuffle(workers)
    p.workers = workers[:max_workers]
    p.students = [st for v in p.vendors for st in v["students"]]
    p.ccda = sorted((county / "hie").rglob("*.xml"))
    return p
