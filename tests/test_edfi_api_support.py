"""Shared setup of the Ed-Fi API and upload tests (no tests here): a synthetic county whose CWS
extract says who is in care and whose CALPADS district A is ingested (schools, students,
enrollments), the real app, and SIS vendors with real tokens from POST /oauth/token."""
from __future__ import annotations

import base64
import glob
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import and_, func, select

from gateway.ingest.pipeline import ingest
from gateway.store import schema as s
from tests.helpers import synth_county

BASE = "https://hep.test"
API = "/data/v3/ed-fi"
META = ("id", "_etag", "_lastModifiedDate")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    d = tmp_path_factory.mktemp("county")
    manifest = synth_county(d, youth=30, districts=3, seed=7, formats=["cws", "calpads"])
    calpads = [x for x in manifest["districts"] if x["format"] == "calpads"]
    others = [x for x in manifest["districts"] if x["format"] != "calpads"]
    assert calpads and others, manifest["districts"]
    return d, manifest, calpads[0], others[0]


@dataclass
class Vendor:
    client_id: str
    secret: str
    headers: dict


@dataclass
class World:
    app: object
    http: object
    engine: object
    dir: Path
    lea_a: str
    lea_b: str
    district_a: dict
    district_b: dict
    a: Vendor          # SIS vendor of district A (CALPADS ingested)
    b: Vendor          # SIS vendor of district B (nothing ingested yet)
    var: Path

    def vendor(self, name: str, leas: list[str], scopes=("edfi", "ingest"), kind="sis_vendor") -> Vendor:
        return vendor(self.app, self.engine, name, leas, scopes, kind)

    def count(self, table, *where) -> int:
        with self.engine.connect() as c:
            return c.execute(select(func.count()).select_from(table).where(*where)).scalar()

    def rows(self, rtype: str):
        r = s.resource.c
        with self.engine.connect() as c:
            return c.execute(select(s.resource).where(and_(r.standard == "edfi", r.rtype == rtype))
                             .order_by(r.received_at, r.id)).all()


def token(app, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["access_token"]


def vendor(app, engine, name, leas, scopes=("edfi", "ingest"), kind="sis_vendor") -> Vendor:
    from gateway.auth.registry import add_client
    client, secret = add_client(engine, "la", name, kind, "school", scopes=list(scopes), lea_ids=list(leas))
    return Vendor(client.client_id, secret, {"Authorization": f"Bearer {token(app, client.client_id, secret)}"})


@pytest.fixture
def world(engine, county, tmp_path) -> World:
    from gateway.app import create_app
    from gateway.auth import registry
    from gateway.config import Settings
    d, _, dist_a, dist_b = county
    assert ingest(engine, "cws", glob.glob(str(d / "cws" / "*.zip"))).status == "committed"
    r = ingest(engine, "calpads", [d / "sis" / f"{dist_a['lea_id']}-calpads"])
    assert r.status == "committed" and r.created > 100
    registry.forget()
    var = tmp_path / "var"
    app = create_app(Settings(base_url=BASE, tenant="la", log_json=False, var_dir=var), engine=engine)
    a = vendor(app, engine, "vendor a", [dist_a["lea_id"]])
    b = vendor(app, engine, "vendor b", [dist_b["lea_id"]])
    return World(app, app.test_client(), engine, d, dist_a["lea_id"], dist_b["lea_id"], dist_a, dist_b, a, b, var)


def strip(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in META}


def youth_not_yet_posted(w: World, n: int = 1) -> list[dict]:
    """Youth in care with an SSID the CWS extract knows and no Ed-Fi student yet: Ed-Fi bodies."""
    with w.engine.connect() as c:
        youth = c.execute(select(s.youth).where(s.youth.c.ssid.is_not(None)).order_by(s.youth.c.client_id)).all()
    have = {r.natural_key.split("\x1f")[-1] for r in w.rows("students")}
    out = []
    for y in youth:
        if y.ssid in have:
            continue
        out.append({"studentUniqueId": y.ssid, "firstName": y.given, "lastSurname": y.family,
                    "birthDate": y.birth_date.isoformat()})
        if len(out) == n:
            break
    assert len(out) == n
    return out


def stranger() -> dict:
    """A student who is not in this county's care (no youth shares a name or birth date block)."""
    return {"studentUniqueId": "9999999901", "firstName": "Quentin", "lastSurname": "Zzyzx-Nobody",
            "birthDate": "2009-02-28"}


def school_of(w: World, i: int = 0) -> int:
    """A school of district A the gateway holds (CALPADS created it)."""
    import orjson
    return orjson.loads(w.rows("schools")[i].body)["schoolId"]


def enrollment(uid: str, school_id: int, entry: str = "2026-08-17") -> dict:
    return {"studentReference": {"studentUniqueId": uid}, "schoolReference": {"schoolId": school_id},
            "entryDate": entry, "entryGradeLevelDescriptor": "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade",
            "schoolYearTypeReference": {"schoolYear": 2027}}


def school_body(school_id: int, lea: str, name: str = "Test School") -> dict:
    return {"schoolId": school_id, "nameOfInstitution": name,
            "educationOrganizationCategories": [{"educationOrganizationCategoryDescriptor":
                                                 "uri://ed-fi.org/EducationOrganizationCategoryDescriptor#School"}],
            "gradeLevels": [{"gradeLevelDescriptor": "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade"}],
            "localEducationAgencyReference": {"localEducationAgencyId": int(lea)}}
