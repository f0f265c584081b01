"""CWS extract: synth -> ingest round trip, bad rows kept with line and field, idempotent re-ingest."""
from __future__ import annotations

import glob
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.ingest.pipeline import ingest
from gateway.store import schema as s
from gateway.synth.county import County
from tests.helpers import AS_OF, read_zip_table, rewrite_zip, synth_county


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("county")
    synth_county(d, youth=80, districts=3, seed=11, formats=["cws"])
    return d


def _extract(d: Path) -> Path:
    return Path(glob.glob(str(d / "cws" / "*.zip"))[0])


def _count(engine, table, **where):
    q = select(func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with engine.connect() as c:
        return c.execute(q).scalar()


def test_round_trip_synth_to_store(engine, county_dir):
    r = ingest(engine, "cws", [_extract(county_dir)])
    assert r.status == "committed" and r.rejected == 0
    county = County(youth=80, districts=3, seed=11, as_of=AS_OF)
    youth = [county.make_youth(i) for i in range(county.n_youth)]
    assert _count(engine, s.youth) == 80
    with engine.connect() as c:
        rows = {row.client_id: row for row in c.execute(select(s.youth))}
        roles = Counter(row.role for row in c.execute(select(s.care_assignment.c.role)))
        orders = _count(engine, s.court_order)
        consents = _count(engine, s.consent)
    for y in youth:
        row = rows[y.client_id]
        assert (row.given, row.family, row.birth_date, row.sex) == (y.given, y.family, y.birth_date, y.sex)
        assert row.ssid == (y.ssid if y.ssid_known_to_cws else None)
        assert row.jurisdiction == y.jurisdiction
    expected_roles = Counter(a.role for y in youth for a in y.assignments)
    assert roles == expected_roles
    assert orders == sum(len(y.court_orders) for y in youth)
    assert consents == sum(len(y.consents) for y in youth)
    # every youth can be found again by CWS client id, case id and (when known) SSID
    assert _count(engine, s.youth_identifier, system="cws-client") == 80
    assert _count(engine, s.youth_identifier, system="ssid") == sum(y.ssid_known_to_cws for y in youth)


def test_reingest_changes_nothing(engine, county_dir, tmp_path):
    first = ingest(engine, "cws", [_extract(county_dir)])
    with engine.connect() as c:
        versions = c.execute(select(func.count()).select_from(s.resource_version)).scalar()
    again = ingest(engine, "cws", [_extract(county_dir)])
    assert again.status == "duplicate" and again.duplicate_of == first.batch_id
    # the same content in a different file (re-zipped) is a new batch that changes nothing
    copy = rewrite_zip(_extract(county_dir), tmp_path / "copy.zip", lambda t, rows: rows)
    third = ingest(engine, "cws", [copy])
    assert third.status == "committed"
    assert third.created == third.updated == 0 and third.unchanged == first.created
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(s.resource_version)).scalar() == versions
        assert c.execute(select(func.count()).select_from(s.youth)).scalar() == 80


def test_bad_rows_are_reported_and_good_rows_land(engine, county_dir, tmp_path):
    def break_rows(table, rows):
        if table == "clients":
            rows[2][6] = "2015-13-45"          # impossible birth date, data line 2 = file line 3
            rows[3][0] = "12345"               # client id not 10 digits, file line 4
            rows[4] = rows[4][:5]              # too few columns, file line 5
        if table == "placements":
            rows[1][4] = "MOTEL"               # unknown placement type, file line 2
        return rows

    bad = rewrite_zip(_extract(county_dir), tmp_path / "bad.zip", break_rows)
    r = ingest(engine, "cws", [bad])
    assert r.status == "committed"
    with engine.connect() as c:
        problems = {(p.file.split(":")[-1], p.line, p.field) for p in c.execute(
            select(s.rejected_record).where(s.rejected_record.c.batch_id == r.batch_id,
                                            s.rejected_record.c.kind == "problem"))}
    assert ("clients.csv", 3, "birth_date") in problems
    assert ("clients.csv", 4, "client_id") in problems
    assert ("clients.csv", 5, None) in problems
    assert ("placements.csv", 2, "placement_type") in problems
    assert _count(engine, s.youth) == 77          # the three bad clients, and only they, are missing
    # the rejected rows are kept with their raw text, so nothing is lost
    with engine.connect() as c:
        raws = [row.raw for row in c.execute(select(s.rejected_record.c.raw).where(
            s.rejected_record.c.batch_id == r.batch_id, s.rejected_record.c.kind == "problem"))]
    assert all(raws) and any("2015-13-45" in x for x in raws)


def test_refused_input_leaves_only_a_refusal(engine, tmp_path):
    junk = tmp_path / "not-a-zip.zip"
    junk.write_bytes(b"this is not a zip file")
    r = ingest(engine, "cws", [junk])
    assert r.status == "refused" and "not a zip" in r.error
    assert _count(engine, s.youth) == 0
    assert _count(engine, s.ingest_batch, status="refused") == 1


def test_cws_extract_rows_match_the_documented_layout(county_dir):
    from adapters.cws_layout import TABLES
    doc = (Path(__file__).parent.parent / "docs" / "formats" / "cws-extract.md").read_text()
    for table, cols in TABLES.items():
        assert f"`{table}.csv`" in doc
        for col in cols:
            assert f"`{col}`" in doc, f"{table}.{col} is not documented"
        rows = read_zip_table(_extract(county_dir), table)
        if rows:
            assert list(rows[0].keys()) == cols


@pytest.fixture
def postgres_engine():
    from gateway.store import open_store
    from tests.conftest import PostgresSchema, require_postgres
    require_postgres()
    schema = PostgresSchema()
    eng = open_store(schema.url)
    try:
        yield eng
    finally:
        eng.dispose()
        schema.drop()


@pytest.mark.postgres
def test_large_batches_refresh_postgres_planner_statistics(postgres_engine, county_dir, monkeypatch):
    """A batch on PostgreSQL re-ANALYZEs the tables it writes as it grows (inside its transaction,
    counting its own rows): without it a new store's natural-key lookups were planned for empty
    tables and walked the whole tenant per chunk. (SQLite plans by its indexes, not statistics.)"""
    engine = postgres_engine
    from gateway.ingest import pipeline
    monkeypatch.setattr(pipeline, "PLANNER_REFRESH_AFTER", 50)
    r = ingest(engine, "cws", [_extract(county_dir)])
    assert r.status == "committed" and r.records_read > 200
    with engine.connect() as c:
        tuples = dict(c.exec_driver_sql(
            "SELECT relname, reltuples FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relname IN ('resource', 'youth')").all())
    # analysed at 50, 100, 200, ... records: the estimate counts rows this batch wrote
    assert tuples["youth"] > 0 and tuples["resource"] >= 50


def _without_clients(keep):
    """An extract edit keeping only the clients `keep(client_id)` accepts, in every table."""
    def edit(table, rows):
        header = rows[0]
        if "client_id" not in header:
            return rows
        i = header.index("client_id")
        return [header] + [r for r in rows[1:] if r and keep(r[i])]
    return edit


def test_youth_missing_from_the_next_snapshot_have_left_care(engine, county_dir, tmp_path):
    first = _extract(county_dir)
    assert ingest(engine, "cws", [first]).status == "committed"
    ids = [r["client_id"] for r in read_zip_table(first, "clients")]
    gone = set(ids[:2])

    def in_care():
        with engine.connect() as c:
            return {r.client_id: (r.in_foster_care, r.episode_status)
                    for r in c.execute(select(s.youth.c.client_id, s.youth.c.in_foster_care, s.youth.c.episode_status))}

    nightly = rewrite_zip(first, tmp_path / "next.zip", _without_clients(lambda cid: cid not in gone))
    r = ingest(engine, "cws", [nightly])
    assert r.status == "committed" and r.care_closed == 2
    assert any("no longer listed" in p["message"] for p in r.problems)
    state = in_care()
    assert all(state[c] == (False, "closed") for c in gone)
    assert all(state[c][0] for c in ids if c not in gone)

    # a partial extract (a tenth of the youth) closes nobody and says why
    partial = rewrite_zip(first, tmp_path / "partial.zip", _without_clients(lambda cid: cid in set(ids[10:18])))
    p = ingest(engine, "cws", [partial])
    assert p.status == "committed" and p.care_closed == 0
    assert any("partial extract" in x["message"] for x in p.problems)
    assert sum(1 for v in in_care().values() if v[0]) == len(ids) - 2

    # back in care: listed again, open again
    again = rewrite_zip(first, tmp_path / "again.zip", lambda t, rows: rows)
    assert ingest(engine, "cws", [again]).care_closed == 0
    assert all(v[0] for v in in_care().values())
