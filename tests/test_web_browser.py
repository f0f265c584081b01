"""The staff pages in real headless Chromium at a phone viewport (390x844) against a real gunicorn
server (`python -m gateway.cli serve`) on a temp SQLite store with a small synthetic county.

Skips only when Chromium (or the playwright package) is absent and HEP_REQUIRE_BROWSER is unset;
`scripts/install-browser.sh` installs Chromium, `make test` runs it first. Screenshots go to the
test's tmp dir; with HEP_UPDATE_SCREENSHOTS=1 they are also written to docs/screenshots/.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from load.run import healthy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("HEP_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}


def _need_browser():
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"Chromium not installed at {CHROMIUM} (scripts/install-browser.sh)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("HEP_REQUIRE_BROWSER"):
            pytest.fail(f"HEP_REQUIRE_BROWSER is set but {missing}")
        pytest.skip(missing)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def store_env(tmp: Path):
    """The server's environment (certs, var and a SQLite store under tmp), also set in this process
    while the test builds the store, so the key ring the ingest seals with is the server's."""
    env = {**os.environ, "HEP_CERTS_DIR": str(tmp / "certs"), "HEP_VAR_DIR": str(tmp / "var"),
           "HEP_DATABASE_URL": f"sqlite:///{tmp}/hep.sqlite3", "HEP_LOG_FORMAT": "text", "HEP_TENANT": "la"}
    saved = {k: os.environ.get(k) for k in ("HEP_CERTS_DIR", "HEP_VAR_DIR")}
    os.environ.update({k: env[k] for k in saved})
    from gateway.crypto import keyring
    keyring.reset()
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        keyring.reset()


@contextlib.contextmanager
def running_server(tmp: Path, env: dict):
    """`hep serve` (gunicorn, 1 worker x 4 threads) on a free port, its log in tmp/server.log; yields
    the base URL once /healthz answers."""
    port = _free_port()
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "1",
                             "--threads", "4"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        if not healthy(base, proc, 60):
            pytest.fail("server did not start: " + (tmp / "server.log").read_text()[-3000:])
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_browser()
    import adapters
    from gateway.ingest.pipeline import ingest
    from gateway.store import open_store
    from gateway.synth import generate
    from gateway.synth.county import County
    from gateway.web.accounts import add_user
    from tests.fhir_api_support import load_county
    from tests.test_identity_linking import enrollment, student, write
    from tests.test_web_support import caseloads

    tmp = tmp_path_factory.mktemp("browser")
    with store_env(tmp) as env:
        today = date.today()       # the server decides with the real clock
        generate(tmp / "county", youth=30, districts=3, seed=16, as_of=today, formats=["cws", "calpads", "edfi-json", "hie"])
        engine = open_store(env["HEP_DATABASE_URL"])
        load_county(engine, tmp / "county")
        people = [County(youth=30, districts=3, seed=16, as_of=today).make_youth(i) for i in range(30)]
        a = next(y for y in people if y.birth_date.day <= 12 and y.birth_date.day != y.birth_date.month)
        swap = lambda d: d.replace(month=d.day, day=d.month)
        adapters.FORMATS["test-records"] = "tests.record_file_adapter"
        try:
            r = ingest(engine, "test-records", [write(tmp, "noisy.ndjson", [student(a, birth=swap(a.birth_date), ssid=False,
                                                                                  local="A"), enrollment(a, local="A")])])
        finally:
            adapters.FORMATS.pop("test-records", None)
        assert r.pending_review >= 1
        loads = {p: ids for p, ids in caseloads(engine).items()}
        person = max(sorted(loads), key=lambda p: len(loads[p]))
        add_user(engine, "la", "worker", "social_worker", display_name="Dana Worker", person_id=person, password=PASSWORD)
        add_user(engine, "la", "supervisor", "supervisor", display_name="Sam Supervisor", password=PASSWORD)
        add_user(engine, "la", "operator", "operator", display_name="Omar Operator", password=PASSWORD)
        engine.dispose()
    with running_server(tmp, env) as base:
        yield {"base": base, "tmp": tmp, "a": a, "loads": loads, "person": person, "db": env["HEP_DATABASE_URL"]}


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        # launch() gives the browser a fresh temporary profile (user data dir) of its own
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Shots:
    def __init__(self, tmp: Path):
        self.dir = tmp / "screenshots"
        self.dir.mkdir(exist_ok=True)
        self.publish = ROOT / "docs" / "screenshots" if os.environ.get("HEP_UPDATE_SCREENSHOTS") else None

    def __call__(self, page, name: str, full: bool = True, element=None):
        path = self.dir / f"{name}.png"
        (element or page).screenshot(path=str(path), **({"full_page": full} if element is None else {}))
        if self.publish:
            self.publish.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.publish / path.name)
        assert path.stat().st_size > 1000


def _signin(page, base, username):
    page.goto(base + "/signin")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _signout(page):
    page.get_by_role("button", name="Sign out").click()
    assert "/signin" in page.url


def _fits_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_social_worker_flow_on_a_phone(server, browser):
    from sqlalchemy import select
    from gateway.store import open_store
    from gateway.store import schema as s
    base, shots = server["base"], Shots(server["tmp"])
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(base + "/signin")
    assert page.evaluate("document.activeElement.id") == "username"      # keyboard: focus starts in the form
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    shots(page, "signin")
    _signin(page, base, "worker")
    assert page.url.endswith("/caseload")
    mine = server["loads"][server["person"]]
    links = page.locator("a.youth-name")
    assert links.count() == len(mine)
    _fits_phone(page)
    shots(page, "caseload")

    # add a youth who is not on the caseload: request, supervisor approves, then remove
    engine = open_store(server["db"])
    with engine.connect() as c:
        other = c.execute(select(s.youth).where(s.youth.c.id.not_in(sorted(mine))).order_by(s.youth.c.id)).first()
    engine.dispose()
    page.get_by_role("link", name="Add a youth").click()
    page.get_by_label("Last name").fill(other.family)
    page.get_by_label("Birth date").fill(other.birth_date.isoformat())
    page.get_by_role("button", name="Search").click()
    assert page.get_by_text(f"{other.family}, {other.given}").count() >= 1
    page.get_by_label("Why (for the supervisor)").first.fill("Covering while the assigned worker is on leave")
    _fits_phone(page)
    shots(page, "add-youth")
    page.get_by_role("button", name="Add to my caseload").first.click()
    assert page.get_by_text("Waiting for a supervisor").count() == 1
    assert page.goto(f"{base}/youth/{other.id}").status == 403      # not before approval
    _signout(page)

    _signin(page, base, "supervisor")
    page.goto(base + "/approvals")
    assert page.get_by_text("Covering while the assigned worker is on leave").count() == 1
    _fits_phone(page)
    shots(page, "approvals")
    page.get_by_role("button", name="Approve").first.click()
    assert page.get_by_text("approved").count() >= 1
    _signout(page)

    _signin(page, base, "worker")
    card = page.locator("li.youth", has_text=f"{other.family}, {other.given}")
    assert card.get_by_text("added here").count() == 1
    assert page.goto(f"{base}/youth/{other.id}").status == 200
    page.goto(base + "/caseload")
    page.locator("li.youth", has_text=f"{other.family}, {other.given}").get_by_role("button", name="Remove").click()
    assert page.get_by_text("Removed from your caseload").count() == 1
    assert page.locator("a.youth-name", has_text=f"{other.family}, {other.given}").count() == 0

    # the passport of a youth on the caseload: sections, a hidden section explained, tel: links
    page.goto(base + "/caseload")
    hrefs = [page.locator("a.youth-name").nth(i).get_attribute("href") for i in range(page.locator("a.youth-name").count())]
    for href in hrefs:                      # a youth with attendance to chart (most have; a newborn may not)
        page.goto(base + href)
        if page.locator("#attendance svg").count():
            break
    assert "/youth/" in page.url and page.locator("#attendance svg").count() == 1
    assert page.get_by_role("heading", name="Demographics").count() == 1
    hidden = page.locator('[data-category="substance_use_disorder_part2"]')
    assert hidden.get_by_text("Hidden for you").count() == 1
    _fits_phone(page)
    shots(page, "passport")
    hidden.get_by_text("Why is this hidden?").click()
    assert hidden.get_by_text("42 CFR", exact=False).first.is_visible()
    shots(page, "passport-hidden-explained", element=page.locator("#protected"))
    if page.locator("a.tel").count():
        assert page.locator("a.tel").first.get_attribute("href").startswith("tel:")
    shots(page, "passport-attendance", element=page.locator("#attendance"))

    # a youth outside the caseload by editing the URL: 403 with the reason
    outsider = next(iter(sorted(set().union(*server["loads"].values()) - mine)))
    resp = page.goto(f"{base}/youth/{outsider}")
    assert resp.status == 403 and page.get_by_text("not on your caseload").count() >= 1
    shots(page, "forbidden")
    ctx.close()


def test_operator_reviews_an_identity_match(server, browser):
    base, shots, a = server["base"], Shots(server["tmp"]), server["a"]
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    _signin(page, base, "operator")
    assert page.url.endswith("/review")
    card = page.locator("section.review", has_text=a.birth_date.replace(month=a.birth_date.day, day=a.birth_date.month).isoformat()).filter(
        has_text=a.family).first
    assert card.get_by_text(a.birth_date.isoformat()).count() >= 1   # the candidate's true birth date beside it
    _fits_phone(page)
    shots(page, "identity-review")
    card.get_by_role("button", name="Link: same person").click()
    assert page.get_by_text("linked").count() >= 1
    ctx.close()
