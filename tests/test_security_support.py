"""A loaded county for the security tests (no tests here): the real app over a synthetic county
(CWS, CALPADS, HIE), a youth with health data, the partner related to them and a stranger,
two SIS vendors of different districts. Built once per module; `secure_env` points the keys and
var/ of each test back at the module's (conftest gives every test fresh ones)."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import and_, func, select

from gateway.store import schema as s
from tests.fhir_api_support import PART2_YOUTH, Partner, load_county, make_county, person_of, synthetic, youth_id
from tests.test_auth_support import BASE

SQL_ERROR_MARKERS = ("sqlite3", "OperationalError", "ProgrammingError", "syntax error", "psycopg", "Traceback",
                     "SELECT ", "sqlalchemy", "near \"", "unrecognized token")


@dataclass
class World:
    root: Path
    engine: object
    app: object
    county: Path
    yid: str                 # a youth with health records (Part 2 among them)
    family: str
    client_id: str
    lea_a: str               # the district of the youth's CALPADS records
    lea_b: str               # another district
    birth_date: str = ""     # the youth's birth date (name searches need one)

    def env(self, monkeypatch) -> None:
        from gateway.auth import registry
        from gateway.crypto import keyring, signing
        monkeypatch.setenv("HEP_CERTS_DIR", str(self.root / "certs"))
        monkeypatch.setenv("HEP_VAR_DIR", str(self.root / "var"))
        keyring.reset()
        signing.reset()
        registry.forget()

    def lawyer(self) -> Partner:
        return Partner(self.app, self.engine, "youth_attorney", person_of(self.engine, self.yid, "attorney"), "HLEGAL")

    def stranger(self) -> Partner:
        return Partner(self.app, self.engine, "youth_attorney", "ATY-NOT-OF-RECORD", "HLEGAL")

    def vendor(self, lea: str, scopes=("edfi", "ingest")) -> dict:
        from gateway.auth.registry import add_client
        client, secret = add_client(self.engine, "la", f"vendor {lea}", "sis_vendor", "school", scopes=list(scopes),
                                    lea_ids=[lea])
        basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        r = self.app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                        headers={"Authorization": f"Basic {basic}"})
        assert r.status_code == 200, r.get_json()
        return {"Authorization": f"Bearer {r.get_json()['access_token']}"}

    def count(self, table, *where) -> int:
        with self.engine.connect() as c:
            return c.execute(select(func.count()).select_from(table).where(*where)).scalar()

    def resource_ids(self, youth: str | None = None) -> list[tuple[str, str, str]]:
        """(standard, rtype, id) of stored resources, of one youth or all."""
        r = s.resource.c
        q = select(r.standard, r.rtype, r.id).where(r.deleted.is_(False))
        if youth:
            q = q.where(r.youth_id == youth)
        with self.engine.connect() as c:
            return [tuple(x) for x in c.execute(q.order_by(r.standard, r.rtype, r.id))]

    def markers(self) -> list[str]:
        """Strings that must never reach a requester who may not see this youth."""
        ids = [i for _, _, i in self.resource_ids(self.yid)]
        return [self.yid, self.client_id] + ids


def build_world(root: Path, monkeypatch) -> World:
    from gateway.app import create_app
    from gateway.config import Settings
    from gateway.store import open_store
    (root / "certs").mkdir(parents=True, exist_ok=True)
    w = World(root, None, None, root / "county", "", "", "", "", "")
    w.env(monkeypatch)
    w.engine = open_store(f"sqlite:///{root}/hep.sqlite3")
    make_county(w.county)
    load_county(w.engine, w.county)
    w.app = create_app(Settings(base_url=BASE, tenant="la", log_json=False, var_dir=root / "var",
                                certs_dir=root / "certs"), engine=w.engine)
    w.yid = youth_id(w.engine, PART2_YOUTH)
    w.family = synthetic(PART2_YOUTH).family
    w.birth_date = synthetic(PART2_YOUTH).birth_date.isoformat()
    w.client_id = synthetic(PART2_YOUTH).client_id
    manifest = json.loads((w.county / "manifest.json").read_text())
    leas = sorted({Path(p).parts[1].split("-")[0] for p in manifest["files"].get("calpads", [])})
    r = s.resource.c
    with w.engine.connect() as c:
        mine = c.execute(select(r.source_system).where(and_(r.youth_id == w.yid, r.standard == "edfi"))).scalars().all()
    own = sorted({x.split(":", 1)[1] for x in mine if x and x.startswith("calpads:")})
    w.lea_a = own[0] if own else leas[0]
    w.lea_b = next(lea for lea in leas + ["1999999"] if lea != w.lea_a)
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    mp = pytest.MonkeyPatch()
    try:
        w = build_world(tmp_path_factory.mktemp("security-world"), mp)
        yield w
        w.engine.dispose()
    finally:
        mp.undo()


@pytest.fixture
def secure_env(world, monkeypatch) -> World:
    world.env(monkeypatch)
    return world


def leaks(body: str, markers: list[str]) -> list[str]:
    return [m for m in markers if m and m in body]
