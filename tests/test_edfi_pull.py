"""`hep edfi pull` against a district ODS/API played by `responses` from recorded 7.x response
shapes (tests/data/edfi_pull): token, change versions, paging, resume, token refresh, retries,
and only youth in care kept. SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from sqlalchemy import select

from gateway.cli import main
from gateway.connectors.edfi_pull import pull
from gateway.store import schema as s
from tests.test_notify_support import load, make_extract

FIX = Path(__file__).parent / "data" / "edfi_pull"
BASE = "https://sis.district.example/v7.1/api"
DATA = BASE + "/data/v3/ed-fi"
KEY, SECRET = "district-key", "district-secret"
LEA = "1964733"
IN_CARE = {"3000000005", "3000000102"}          # youth 0 and 1 of the synthetic county
STRANGER = "4000009999"


def fixture(name: str):
    return json.loads((FIX / f"{name}.json").read_text())


class FakeOds:
    """The district's ODS/API: OAuth, availableChangeVersions, collections filtered by change
    version and served page by page with Total-Count, from the recorded bodies."""

    def __init__(self, rsps):
        self.tokens = [fixture("token")["access_token"], fixture("token_refreshed")["access_token"]]
        self.issued = 0
        self.valid: set[str] = set()
        self.versions = fixture("availableChangeVersions")
        self.data = {r: fixture(r) for r in ("students", "studentSchoolAssociations", "studentSchoolAttendanceEvents")}
        self.requests: list[tuple[str, dict, str]] = []
        self.script: dict[str, list] = {}        # resource -> answers to give first (status or exception)
        rsps.add_callback(responses.POST, BASE + "/oauth/token", callback=self.token)
        rsps.add_callback(responses.GET, BASE + "/changeQueries/v1/availableChangeVersions", callback=self.change_versions)
        rsps.add_callback(responses.GET, re.compile(re.escape(DATA) + r"/\w+"), callback=self.collection)

    def later(self) -> None:
        """The district records more changes."""
        self.versions = fixture("availableChangeVersions_later")
        self.data["students"] += fixture("students_later")
        self.data["studentSchoolAssociations"] += fixture("studentSchoolAssociations_later")

    def expire_tokens(self) -> None:
        self.valid.clear()

    def token(self, request):
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected or "grant_type=client_credentials" not in request.body:
            return 401, {}, json.dumps({"error": "invalid_client"})
        tok = self.tokens[min(self.issued, len(self.tokens) - 1)]
        self.issued += 1
        self.valid.add(tok)
        return 200, {"Content-Type": "application/json"}, json.dumps({**fixture("token"), "access_token": tok})

    def _authorized(self, request) -> str | None:
        h = request.headers.get("Authorization", "")
        return h[7:] if h.startswith("Bearer ") and h[7:] in self.valid else None

    def change_versions(self, request):
        if not self._authorized(request):
            return 401, {}, ""
        return 200, {}, json.dumps(self.versions)

    def collection(self, request):
        resource = urlsplit(request.url).path.rsplit("/", 1)[1]
        q = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        token = self._authorized(request)
        self.requests.append((resource, q, token or "rejected"))
        if not token:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, ""
        queued = self.script.get(resource)
        if queued:
            answer = queued.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer, {}, json.dumps({"detail": "scripted"})
        lo, hi = int(q.get("minChangeVersion", 0)), int(q.get("maxChangeVersion", 1 << 62))
        rows = [r for r in self.data.get(resource, []) if lo <= r["changeVersion"] <= hi]
        offset, limit = int(q["offset"]), int(q["limit"])
        headers = {"Total-Count": str(len(rows))} if q.get("totalCount") == "true" else {}
        return 200, headers, json.dumps(rows[offset:offset + limit])

    def data_requests(self, resource: str) -> list[dict]:
        return [q for r, q, _ in self.requests if r == resource]


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    return make_extract(tmp_path_factory.mktemp("county"))


@pytest.fixture
def county(engine, extract):
    load(engine, extract)
    return engine


def run(engine, sleeps=None, **kw):
    return pull(engine, base_url=BASE, key=KEY, secret=SECRET, lea=LEA, sleep=(sleeps.append if sleeps is not None
                                                                              else _no_sleep), **kw)


def _no_sleep(seconds):
    raise AssertionError(f"unexpected retry pause of {seconds:.1f} s")


def kept_students(engine) -> set[str]:
    r = s.resource.c
    with engine.connect() as c:
        keys = [k for (k,) in c.execute(select(r.natural_key).where(r.standard == "edfi"))]
    return {uid for uid in IN_CARE | {STRANGER, "3000000878"} if any(uid in k for k in keys)}


def state(engine):
    with engine.connect() as c:
        return c.execute(select(s.edfi_pull_state)).first()


def test_first_pull_pages_with_change_versions_and_keeps_only_youth_in_care(county):
    engine = county
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ods = FakeOds(rsps)
        result = run(engine, page_size=2)
    assert result.status == "committed", result.error
    assert (result.min_change_version, result.max_change_version) == (0, 48211)
    assert result.records == 8 and result.pages == 5
    # students: 3 in the window, pages of 2 -> two requests; Total-Count asked for on the first only
    assert ods.data_requests("students") == [
        {"offset": "0", "limit": "2", "minChangeVersion": "0", "maxChangeVersion": "48211", "totalCount": "true"},
        {"offset": "2", "limit": "2", "minChangeVersion": "0", "maxChangeVersion": "48211"}]
    assert ods.issued == 1
    batch = result.batch
    assert batch["status"] == "committed" and batch["rejected"] == 0
    assert batch["out_of_scope"] == 3                 # the stranger's student, enrollment and attendance
    assert batch["created"] == 5
    assert kept_students(engine) == IN_CARE
    st = state(engine)
    assert (st.lea_id, st.last_change_version, st.status, st.records) == (LEA, 48211, "ok", 8)
    # the batch announces the change like any other ingest: one outbox event per youth in care
    with engine.connect() as c:
        events = list(c.execute(select(s.outbox).where(s.outbox.c.idempotency_key.like(f"{batch['batch_id']}:%"))))
    assert len(events) == 2
    assert all("enrollment_school_placement" in e.payload["categories"] for e in events)


def test_next_pull_resumes_from_the_stored_change_version(county):
    engine = county
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ods = FakeOds(rsps)
        assert run(engine).status == "committed"
        ods.later()
        ods.requests.clear()
        second = run(engine)
        assert second.status == "committed", second.error
        assert (second.min_change_version, second.max_change_version) == (48212, 48377)
        assert second.records == 2                    # only what changed since
        assert {q["minChangeVersion"] for _, q, _ in ods.requests} == {"48212"}
        assert {q["limit"] for _, q, _ in ods.requests} == {"500"}
        assert kept_students(engine) == IN_CARE | {"3000000878"}
        assert state(engine).last_change_version == 48377
        ods.requests.clear()
        third = run(engine)                           # nothing new: no data requests at all
    assert third.status == "up-to-date" and ods.requests == []


def test_expired_token_is_refreshed_and_server_errors_are_retried(county):
    engine = county
    sleeps: list[float] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ods = FakeOds(rsps)
        ods.script["studentSchoolAssociations"] = [503, 502, requests.ConnectTimeout("timed out")]
        original = ods.collection

        def expire_once(request):                     # the token expires on the ODS side mid-pull
            if urlsplit(request.url).path.endswith("/studentSchoolAttendanceEvents") and ods.issued == 1:
                ods.expire_tokens()
            return original(request)

        rsps.remove(responses.GET, re.compile(re.escape(DATA) + r"/\w+"))
        rsps.add_callback(responses.GET, re.compile(re.escape(DATA) + r"/\w+"), callback=expire_once)
        result = run(engine, sleeps)
    assert result.status == "committed", result.error
    assert ods.issued == 2                            # one refresh after the 401
    att = [(q, tok) for r, q, tok in ods.requests if r == "studentSchoolAttendanceEvents"]
    assert [tok for _, tok in att] == ["rejected", fixture("token_refreshed")["access_token"]]
    assert len(sleeps) == 3 and all(0 < x <= 60 for x in sleeps)   # backoff pauses, never real sleeps
    assert sleeps[0] < sleeps[2] or sleeps[1] < sleeps[2]
    assert result.records == 8 and kept_students(engine) == IN_CARE


def test_a_failed_pull_keeps_the_stored_version_and_ingests_nothing(county):
    engine = county
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ods = FakeOds(rsps)
        assert run(engine).status == "committed"
        ods.later()
        ods.script["studentSchoolAssociations"] = [500] * 10
        failed = run(engine, sleeps=[])
        assert failed.status == "failed" and "HTTP 500" in failed.error
        st = state(engine)
        assert (st.last_change_version, st.status) == (48211, "failed") and "HTTP 500" in st.last_error
        assert kept_students(engine) == IN_CARE       # the new student was not half-ingested
        ods.script.clear()
        again = run(engine)
    assert again.status == "committed" and again.min_change_version == 48212
    assert kept_students(engine) == IN_CARE | {"3000000878"}
    assert state(engine).status == "ok"


def test_hep_edfi_pull_cli(tmp_path, monkeypatch, capsys, extract):
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    monkeypatch.setenv("HEP_DATABASE_URL", url)
    from gateway.store import open_store
    engine = open_store(url)
    load(engine, extract)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeOds(rsps)
        code = main(["edfi", "pull", "--base-url", BASE, "--key", KEY, "--secret", SECRET, "--lea", LEA, "--once"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out["status"] == "committed" and out["max_change_version"] == 48211
    assert main(["edfi", "pull", "--base-url", BASE, "--key", KEY, "--secret", SECRET, "--lea", "LA", "--once"]) == 2
    engine.dispose()
