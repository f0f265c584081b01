"""The insights pages in real headless Chromium at a phone viewport (390x844) against a real gunicorn
server (as in tests/test_web_browser.py, whose browser fixture and helpers this reuses) on a county
large enough for indicators to show (260 youth, CALPADS districts, one bad feed): an analyst opens the indicators, switches breakdown and
downloads a CSV; an operator opens data quality and a batch's problems. Screenshots go to the test's
tmp dir; with HEP_UPDATE_SCREENSHOTS=1 also to docs/screenshots/ (indicators.png, data-quality.png)."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.test_web_browser import (PASSWORD, PHONE, Shots, _fits_phone, _need_browser, _signin,  # noqa: F401
                                    browser, running_server, store_env)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn on a temp SQLite store: the county of tests/test_web_insights_support.py as of today."""
    _need_browser()
    from gateway.ingest.pipeline import ingest
    from gateway.store import open_store
    from gateway.synth import generate
    from gateway.web.accounts import add_user
    from tests.fhir_api_support import load_county
    from tests.test_web_insights import _bad_feed
    from tests.test_web_insights_support import DISTRICTS, FORMATS, SEED, YOUTH

    tmp = tmp_path_factory.mktemp("insights-browser")
    with store_env(tmp) as env:
        generate(tmp / "county", youth=YOUTH, districts=DISTRICTS, seed=SEED, as_of=date.today(), formats=FORMATS)
        engine = open_store(env["HEP_DATABASE_URL"])
        load_county(engine, tmp / "county")
        ingest(engine, "edfi-json", [_bad_feed(tmp)], source_system="edfi-json:1999999")
        add_user(engine, "la", "analyst", "analyst", display_name="Ana Analyst", password=PASSWORD)
        add_user(engine, "la", "operator", "operator", display_name="Omar Operator", password=PASSWORD)
        engine.dispose()
    with running_server(tmp, env) as base:
        yield {"base": base, "tmp": tmp}


@pytest.fixture(scope="module")
def staff(server):
    return server


def test_analyst_indicators_and_operator_data_quality_on_a_phone(staff, browser):
    base, shots = staff["base"], Shots(staff["tmp"])
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, accept_downloads=True)
    page = ctx.new_page()
    _signin(page, base, "analyst")
    assert page.url.endswith("/indicators")                          # analysts land on Indicators
    assert page.get_by_role("heading", name="County indicators").count() == 1
    assert page.locator("section.card svg.chart").count() >= 2      # most totals publish here
    assert page.get_by_role("link", name="Caseload").count() == 0
    _fits_phone(page)
    shots(page, "indicators")
    page.get_by_role("link", name="By Age group").click()
    assert page.url.endswith("by=age")
    table = page.locator("#chronic_absence table")
    assert table.locator("tbody tr").count() == 6                    # five age groups and the total
    with page.expect_download() as dl:
        page.locator("#chronic_absence a.download").click()
    path = dl.value.path()
    rows = list(csv.reader(io.StringIO(open(path, encoding="utf-8").read())))
    assert rows[0][:3] == ["Indicator", "Breakdown", "Group"] and rows[-1][2] == "Total"
    assert [r[2] for r in rows[1:-1]] == ["0–5", "6–10", "11–13", "14–17", "18–21"]
    for r in rows[1:]:
        for cell in r[3:5]:
            assert cell in ("<11", "*") or int(cell) >= 11
    assert page.goto(base + "/data-quality").status == 403
    page.goto(base + "/indicators")
    page.get_by_role("button", name="Sign out").click()

    _signin(page, base, "operator")
    page.get_by_role("link", name="Data quality").click()
    assert page.url.endswith("/data-quality")
    assert page.get_by_role("heading", name="Feed data quality").count() == 1
    assert page.locator("section.feed").count() >= 3
    assert page.get_by_role("link", name="Identity review queue").get_attribute("href") == "/review"
    _fits_phone(page)
    shots(page, "data-quality")
    feed = page.locator("section.feed").filter(has=page.locator("ul.problems li a")).first
    feed.locator("ul.problems li a").first.click()
    assert "/data-quality/batches/" in page.url
    assert page.get_by_role("heading", name="Batch problems").count() == 1
    _fits_phone(page)
    assert page.goto(base + "/indicators").status == 403
    ctx.close()
