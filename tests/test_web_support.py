"""Support for the web page tests: a small ingested county, staff accounts, and a signed-in client."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import and_, func, or_, select

from gateway.store import schema as s

AS_OF = date(2026, 11, 23)
SEED, YOUTH, DISTRICTS = 10, 40, 6
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def web_county(tmp_path_factory) -> Path:
    from gateway.synth import generate
    d = tmp_path_factory.mktemp("web-county")
    generate(d, youth=YOUTH, districts=DISTRICTS, seed=SEED, as_of=AS_OF, formats=["cws", "calpads", "hie"])
    return d


def load(engine, county: Path) -> None:
    from tests.fhir_api_support import load_county
    load_county(engine, county)


def make_app(engine, monkeypatch, *, base_url: str = "http://127.0.0.1:8080"):
    from gateway.app import create_app
    from gateway.config import Settings
    from gateway.web import views
    monkeypatch.setattr(views, "today", lambda: AS_OF)
    app = create_app(Settings(database_url=str(engine.url), base_url=base_url), engine=engine)
    app.config["TESTING"] = True
    return app


def caseloads(engine) -> dict[str, set[str]]:
    """CWS person id -> youth ids actively assigned to them on AS_OF."""
    a = s.care_assignment.c
    out: dict[str, set[str]] = {}
    with engine.connect() as c:
        for r in c.execute(select(a.person_id, a.youth_id).where(and_(
                a.role == "social_worker", a.start_date <= AS_OF, or_(a.end_date.is_(None), a.end_date >= AS_OF)))):
            out.setdefault(r.person_id, set()).add(r.youth_id)
    return out


def all_youth(engine) -> set[str]:
    with engine.connect() as c:
        return set(c.execute(select(s.youth.c.id)).scalars())


def audit_rows(engine, action: str | None = None, youth_id: str | None = None) -> list:
    e = s.audit_event.c
    q = select(s.audit_event)
    if action:
        q = q.where(e.action == action)
    if youth_id:
        q = q.where(e.youth_id == youth_id)
    with engine.connect() as c:
        return list(c.execute(q.order_by(e.seq)))


def count(engine, table, *cond) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(table).where(*cond)).scalar_one()


class Staff:
    """A browser stand-in: the Flask test client with a session, reading CSRF tokens from pages."""

    def __init__(self, app, engine, username: str, role: str, person: str | None = None, create: bool = True):
        from gateway.web.accounts import add_user
        self.http = app.test_client()
        self.username = username
        if create:
            add_user(engine, "la", username, role, display_name=username.title(), person_id=person, password=PASSWORD)

    def token(self, path: str = "/signin") -> str:
        r = self.http.get(path)
        m = CSRF.search(r.get_data(as_text=True))
        assert m, f"no CSRF token on {path}"
        return m.group(1)

    def signin(self, password: str = PASSWORD):
        return self.http.post("/signin", data={"username": self.username, "password": password,
                                               "csrf_token": self.token("/signin")})

    def get(self, path: str):
        return self.http.get(path)

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, token_from: str = "/account"):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token(token_from)
        return self.http.post(path, data=data)

    def session(self) -> dict:
        with self.http.session_transaction() as sess:
            return dict(sess)
