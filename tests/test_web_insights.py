"""Insights pages (SQLite and PostgreSQL): county indicators equal the synthetic county model, small
cells and complementary suppression on the page and in every CSV, no youth identifier anywhere,
roles, audit; data quality counts equal ingest_batch sums and a bad feed's problems are grouped."""
from __future__ import annotations

import csv
import io
import random
import re

import orjson
import pytest
from sqlalchemy import select, update

from gateway.store import schema as s
from gateway.web.insights.compute import Acc, compute
from gateway.web.insights.publish import COMP, LT, MIN, publish, suppress_table
from tests.test_web_insights_support import (AS_OF, county, insights_county, load, model_indicators,  # noqa: F401
                                             store_key, unlinked)
from tests.test_web_support import Staff, audit_rows

TABLES = [(k, d) for k in ("chronic_absence", "school_changes", "origin_retention", "on_track", "ece",
                           "proficiency_ela", "proficiency_math") for d in ("district", "age", "placement")]


def _app(engine, monkeypatch):
    from tests.test_web_support import make_app
    from gateway.web.insights import views
    monkeypatch.setattr(views, "today", lambda: AS_OF)
    return make_app(engine, monkeypatch)


def _model_cell(model: dict, key: str, dim: str, label: str) -> list:
    return model.get((key, dim, store_key(label, dim)) if label != "Total" else (key, "total", "Total"), [0, 0, 0, 0.0])


def _expected(kind: str, m: list):
    n, num, den, years = m
    if kind == "per_year":
        return round(num / years, 2) if years else None
    return round(100.0 * num / (den if kind == "events_share" else n), 1)


# --- indicators equal the model; suppression holds ------------------------------------------------

def test_indicators_equal_the_county_model_and_small_cells_are_withheld(engine, insights_county):
    load(engine, insights_county)
    c = county()
    lost = unlinked(engine, c)
    assert len(lost) <= 4, lost           # the matcher links (nearly) everyone; the rest is identity tests' business
    model = model_indicators(c, lost)
    raw = compute(engine, "la", AS_OF, chunk=37)            # several chunks: streaming must not change a count
    assert raw.youth == c.n_youth
    got = {(k, d, store_key(lb, d) if d != "total" else lb): a for (k, d, lb), a in raw.cells.items()}
    assert set(got) == set(model)
    for key, m in model.items():
        a = got[key]
        assert [a.n, a.num, a.den] == m[:3], key
        assert a.years == pytest.approx(m[3], abs=1e-6), key
    for ind in ("chronic_absence", "school_changes", "origin_retention", "on_track", "ece", "proficiency_ela"):
        assert model[(ind, "total", "Total")][0] >= MIN, ind      # every indicator has a published total here

    pub = publish(raw)
    shown = 0
    for ind in pub["indicators"]:
        kind = ind["kind"]
        for t in ind["tables"]:
            rows = t["rows"] + [t["total"]]
            for r in rows:
                m = _model_cell(model, ind["key"], t["dimension"], r["label"])
                for col, value in r["cells"].items():
                    if isinstance(value, str):
                        assert value in (LT, COMP)
                        if col != "rate":
                            assert (value == LT) == ({"n": m[0], "num": m[1], "den": m[2]}[col] < MIN)
                        continue
                    if col == "rate":
                        assert value == _expected(kind, m), (ind["key"], t["dimension"], r["label"])
                    else:
                        assert value == {"n": m[0], "num": m[1], "den": m[2]}[col] >= MIN
                        shown += 1
                if isinstance(r["cells"]["rate"], (int, float)) and kind != "per_year":
                    assert isinstance(r["cells"]["num"], int)
            _no_recovery(kind, t, [_model_cell(model, ind["key"], t["dimension"], r["label"]) for r in rows])
    assert shown > 50


def _no_recovery(kind: str, table: dict, model_rows: list) -> None:
    """From the Total and the shown rows, a hidden cell's value must not follow, nor a hidden group sum
    under 11 (for numerators, nor the sum of what the numerator leaves out)."""
    rows, total = table["rows"], table["total"]
    for col in ("n", "num"):
        if isinstance(total["cells"][col], str):
            continue
        hidden = [i for i, r in enumerate(rows) if isinstance(r["cells"][col], str)]
        if not hidden:
            continue
        assert len(hidden) >= 2, (table["dimension"], col)
        idx = {"n": 0, "num": 1}[col]
        assert sum(model_rows[i][idx] for i in hidden) >= MIN
        if col == "num" and kind != "per_year":
            base = 2 if kind == "events_share" else 0
            assert sum(model_rows[i][base] - model_rows[i][1] for i in hidden) >= MIN


def _random_table(rng: random.Random, kind: str):
    rows = []
    for _ in range(rng.randint(1, 7)):
        n = rng.choice([0, 1, 3, 7, 10, 11, 12, 15, 25, 40, 90, 300])
        den = n + rng.randint(0, n) if kind == "events_share" else 0
        base = den if kind == "events_share" else n
        num = rng.randint(0, base) if kind != "per_year" else rng.randint(0, 2 * n)
        rows.append(Acc(n=n, num=num, den=den, years=n * 2.5))
    total = Acc(n=sum(a.n for a in rows), num=sum(a.num for a in rows), den=sum(a.den for a in rows),
                years=sum(a.years for a in rows))
    return rows + [total]


@pytest.mark.parametrize("kind", ["share", "events_share", "per_year"])
def test_suppression_rule_on_random_tables(kind):
    rng = random.Random(f"suppress:{kind}")
    for _ in range(3000):
        accs = _random_table(rng, kind)
        sup = suppress_table(kind, accs)
        T = len(accs) - 1
        for a, w in zip(accs, sup):
            for col in ("n", "num", "den"):
                if col not in w and (col != "den" or kind == "events_share"):
                    assert getattr(a, col) >= MIN                       # no shown count under 11
            base = a.den if kind == "events_share" else a.n
            if "num" not in w and kind != "per_year":
                assert base - a.num >= MIN                              # nor one derivable as a remainder
            if "n" in w:
                assert "num" in w and "rate" in w                       # a withheld row is withheld whole
        for col in ("n", "num"):
            if col in sup[T]:
                continue
            hidden = [i for i in range(T) if col in sup[i]]
            if hidden:
                assert len(hidden) >= 2
                assert sum(getattr(accs[i], col) for i in hidden) >= MIN
                if col == "num" and kind != "per_year":
                    base = (lambda a: a.den) if kind == "events_share" else (lambda a: a.n)
                    assert sum(base(accs[i]) - accs[i].num for i in hidden) >= MIN


def test_suppression_examples():
    # one small district: the next smallest is withheld with it, so the Total does not give it away
    sup = suppress_table("share", [Acc(n=50, num=20), Acc(n=5, num=1), Acc(n=40, num=15), Acc(n=95, num=36)])
    assert "n" in sup[1] and "n" in sup[2] and "n" not in sup[0] and not sup[3]
    # 45 of 50: the 5 who are not counted could be worked out, so the numerator is withheld
    sup = suppress_table("share", [Acc(n=50, num=45), Acc(n=60, num=20), Acc(n=110, num=65)])
    assert sup[0] == {"num", "rate"} and "num" in sup[1] and "n" not in sup[0]
    # a single-row table cannot hide its row behind the total: the total goes too
    sup = suppress_table("share", [Acc(n=30, num=5), Acc(n=30, num=5)])
    assert "num" in sup[0] and "num" in sup[1]


# --- the pages ------------------------------------------------------------------------------------

def _names_and_ids(engine) -> list[str]:
    y = s.youth.c
    out = []
    with engine.connect() as c:
        for r in c.execute(select(y.id, y.client_id, y.case_id, y.ssid, y.given, y.family)):
            out += [r.id, r.client_id, r.case_id, r.ssid, f"{r.given} {r.family}", f"{r.family}, {r.given}"]
            out.append(f"lea-student")
    return [x for x in out if x and x != "lea-student"]


def test_indicator_pages_csv_roles_and_audit(engine, insights_county, monkeypatch):
    load(engine, insights_county)
    # a district name a feed could send: it must not reach a spreadsheet as a formula
    r = s.resource.c
    with engine.begin() as c:
        row = c.execute(select(r.id, r.body).where(r.rtype == "localEducationAgencies")).first()
        body = orjson.loads(row.body)
        body["nameOfInstitution"] = '=HYPERLINK("http://evil.example","x")'
        c.execute(update(s.resource).where(r.id == row.id).values(body=orjson.dumps(body)))
    app = _app(engine, monkeypatch)
    analyst = Staff(app, engine, "ecc", "analyst")
    resp = analyst.signin()
    assert resp.headers["Location"].endswith("/indicators")              # analysts land on Indicators
    secrets = _names_and_ids(engine)
    pages = {}
    for by in ("district", "age", "placement"):
        resp = analyst.get(f"/indicators?by={by}")
        assert resp.status_code == 200
        pages[by] = resp.get_data(as_text=True)
        assert pages[by].count("<svg") >= 5 and "<title id=" in pages[by] and "<desc id=" in pages[by]
        ids = re.findall(r'id="([^"]+)"', pages[by])
        assert len(ids) == len(set(ids))                                  # several charts, unique ids
    assert analyst.get("/indicators?by=youth").status_code == 404

    from gateway.web.insights import cache
    pub = cache.cached(engine, "la", AS_OF)
    assert pub is not None
    published = {(i["key"], t["dimension"]): (i, t) for i in pub["indicators"] for t in i["tables"]}
    downloads = []
    for key, dim in TABLES:
        resp = analyst.get(f"/indicators/{key}/{dim}.csv")
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]
        text = resp.get_data(as_text=True)
        downloads.append(text)
        rows = list(csv.reader(io.StringIO(text)))
        ind, table = published[(key, dim)]
        assert rows[0][3:] == [label for _, label in ind["columns"]]
        body = rows[1:]
        assert [r[2] for r in body[:-1]] == [_defused(r["label"]) for r in table["rows"]] and body[-1][2] == "Total"
        for csv_row, pub_row in zip(body, table["rows"] + [table["total"]]):
            for cell, (col, _) in zip(csv_row[3:], ind["columns"]):
                v = pub_row["cells"][col]
                assert cell == (v if isinstance(v, str) else "" if v is None else f"{v:g}")
                if cell not in (LT, COMP, "") and col != "rate":
                    assert int(cell) >= MIN                               # the same suppression as the page
            for cell in csv_row[:3]:
                assert not cell or cell[0] not in "=+-@\t\r", cell        # no formula injection
        html_table = pages[dim].split(f'id="{key}"', 1)[1].split("</table>", 1)[0]
        for pub_row in table["rows"] + [table["total"]]:
            n = pub_row["cells"]["n"]
            assert (f"<td>{n:,}</td>" if isinstance(n, int) else f"<td>{n.replace('<', '&lt;')}</td>") in html_table
    assert any("'=HYPERLINK" in d for d in downloads)
    everything = "".join(pages.values()) + "".join(downloads)
    for secret in secrets:
        assert secret not in everything, "a youth identifier or name on an indicator page"
    assert not re.search(r"/youth/", everything)

    rows = audit_rows(engine, "indicators-view")
    assert len(rows) == 3 and all(r.youth_id is None and r.purpose == "x-CW-ADMIN" for r in rows)
    entry = rows[0].entry if isinstance(rows[0].entry, dict) else orjson.loads(rows[0].entry)
    assert entry["access"] == "aggregate" and entry["deidentified"] is True
    assert len(audit_rows(engine, "indicators-download")) == len(TABLES)

    # roles: a social worker and an operator may not see indicators; an analyst no data quality
    worker = Staff(app, engine, "worker", "social_worker", "SW00001")
    worker.signin()
    operator = Staff(app, engine, "op", "operator")
    operator.signin()
    with engine.connect() as c:
        bad = c.execute(select(s.rejected_record.c.batch_id, s.rejected_record.c.message)).first()
    for who, path in ((worker, "/indicators"), (worker, "/indicators/chronic_absence/age.csv"),
                      (worker, "/data-quality"), (worker, f"/data-quality/batches/{bad.batch_id}"),
                      (operator, "/indicators"), (operator, "/indicators/ece/district.csv"),
                      (analyst, "/data-quality"), (analyst, f"/data-quality/batches/{bad.batch_id}")):
        resp = who.get(path)
        assert resp.status_code == 403, path
        assert bad.message not in resp.get_data(as_text=True)
    supervisor = Staff(app, engine, "sup", "supervisor")
    supervisor.signin()
    assert supervisor.get("/indicators").status_code == 200
    assert "Indicators" in supervisor.get("/caseload").get_data(as_text=True)


def _defused(label: str) -> str:
    from adapters.base import defuse_csv_cell
    return defuse_csv_cell(label)


# --- data quality -----------------------------------------------------------------------------------

def _bad_feed(tmp_path):
    """An Ed-Fi JSON file with 12 enrollments missing their entry date (each a different student) and
    three lines that are not JSON."""
    lines = []
    for k in range(12):
        lines.append(orjson.dumps({"resource": "studentSchoolAssociations",
                                   "studentReference": {"studentUniqueId": f"90000000{k:02d}"},
                                   "schoolReference": {"schoolId": 1234567}}))
    lines += [b"{not json " + str(k).encode() for k in range(3)]
    p = tmp_path / "bad-feed.ndjson"
    p.write_bytes(b"\n".join(lines) + b"\n")
    return p


def test_data_quality_counts_problems_and_batch_page(engine, insights_county, monkeypatch, tmp_path):
    from gateway.ingest.pipeline import ingest
    load(engine, insights_county)
    res = ingest(engine, "edfi-json", [_bad_feed(tmp_path)], source_system="edfi-json:1999999")
    assert res.rejected >= 15
    app = _app(engine, monkeypatch)
    op = Staff(app, engine, "op", "operator")
    op.signin()
    resp = op.get("/data-quality")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'href="/review"' in html and "<svg" in html

    # counts per feed equal the ingest_batch sums
    sums: dict = {}
    with engine.connect() as c:
        for b in c.execute(select(s.ingest_batch)):
            f = sums.setdefault(b.source_system or b.format, dict.fromkeys(
                ("batches", "records_read", "accepted", "rejected", "out_of_scope", "pending_review", "warnings"), 0))
            f["batches"] += 1
            f["records_read"] += b.records_read
            f["accepted"] += b.created + b.updated + b.unchanged
            f["rejected"] += b.rejected
            f["out_of_scope"] += b.out_of_scope
            f["pending_review"] += b.pending_review
            f["warnings"] += b.warnings
    sections = html.split('<section class="card feed"')[1:]
    assert len(sections) == len(sums)
    for sec in sections:
        source = re.search(r'<span class="tag">([^<]+)</span></h2>', sec).group(1)
        for key, want in sums[source].items():
            for window in ("recent", "all"):          # every batch here is from today: both windows agree
                got = re.search(rf'data-count="{window}-{key}">([\d,]+)<', sec).group(1)
                assert int(got.replace(",", "")) == want, (source, window, key)

    # the bad feed's problems are grouped by field and message pattern, with an example file:line
    bad = next(sec for sec in sections if "edfi-json:1999999" in sec)
    problems = re.findall(r'<span class="n">(\d+)×</span><span class="tag">(\w+)</span> <strong>([^<]*)</strong>: ([^\n]*)', bad)
    assert problems[0][0] == "12" and "entryDate" in problems[0][2] + problems[0][3]
    assert any(p[0] == "3" and "not JSON" in p[3] for p in problems)
    assert "bad-feed.ndjson:1<" in bad or "bad-feed.ndjson:1</a>" in bad
    assert "LEA 1999999" in bad

    # the batch page lists every problem with file, line, field and message; never the raw input
    link = re.search(r'href="(/data-quality/batches/[^"]+)"', bad).group(1)
    page = op.get(link).get_data(as_text=True)
    with engine.connect() as c:
        rr = s.rejected_record.c
        rows = c.execute(select(s.rejected_record).where(rr.batch_id == res.batch_id)).all()
    assert len(rows) >= 15
    for r in rows:
        assert f"{r.file}:{r.line}" in page
        assert str(escape_html(r.message)) in page
    assert "{not json 0" not in page.replace("not JSON", "")                # raw input is not shown
    assert op.get("/data-quality/batches/no-such-batch").status_code == 404
    assert op.get("/data-quality/batches/..%2F..%2Fetc").status_code == 404

    # completeness: youth in care with an SSID (on the youth row or linked as an identifier)
    with engine.connect() as c:
        y, i = s.youth.c, s.youth_identifier.c
        people = c.execute(select(y.id, y.ssid)).all()
        linked = {r.youth_id for r in c.execute(select(i.youth_id, i.system)) if r.system.lower() == "ssid"}
    with_ssid = sum(1 for r in people if r.ssid or r.id in linked)
    assert 0 < with_ssid < len(people)
    assert (f"statewide student id (SSID)</td><td>all sources</td><td>{with_ssid:,}</td><td>{len(people):,}</td>"
            f"<td>{100.0 * with_ssid / len(people):.1f}</td>") in html
    assert len(audit_rows(engine, "data-quality-view")) == 1 and len(audit_rows(engine, "batch-problems-view")) == 1


def escape_html(text: str) -> str:
    from markupsafe import escape
    return escape(text)


# --- cache and CLI ----------------------------------------------------------------------------------

def test_cache_recomputes_once_a_day_and_the_cli_precomputes(sqlite_engine, insights_county, monkeypatch):
    from datetime import timedelta
    from gateway.cli import main
    from gateway.web.insights import cache
    load(sqlite_engine, insights_county)
    calls = []
    real = cache.compute
    monkeypatch.setattr(cache, "compute", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    first = cache.indicators(sqlite_engine, "la", AS_OF)
    again = cache.indicators(sqlite_engine, "la", AS_OF)
    assert calls == [AS_OF] and again == first                            # served from the cache
    cache.indicators(sqlite_engine, "la", AS_OF + timedelta(days=1))      # a new day: stale, recomputed
    assert calls == [AS_OF, AS_OF + timedelta(days=1)]
    with sqlite_engine.connect() as c:
        stored = c.execute(select(s.insight_cache.c.payload)).scalars().all()
    assert all(isinstance(x, dict) and x["min_cell"] == MIN for x in stored)
    assert main(["indicators", "compute", "--database", str(sqlite_engine.url), "--as-of", "2026-11-20"]) == 0
    assert calls[-1].isoformat() == "2026-11-20"
    assert cache.cached(sqlite_engine, "la", AS_OF.replace(day=20)) is not None
