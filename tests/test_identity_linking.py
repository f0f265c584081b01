"""Linking through the real pipeline: deterministic, probabilistic, review queue, out of scope."""
from __future__ import annotations

import glob
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

import adapters
from gateway.ingest.pipeline import ingest
from gateway.ingest.review import decide
from gateway.store import schema as s
from gateway.synth.county import County
from tests.helpers import AS_OF, synth_county


@pytest.fixture(autouse=True)
def _test_format(monkeypatch):
    monkeypatch.setitem(adapters.FORMATS, "test-records", "tests.record_file_adapter")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    d = tmp_path_factory.mktemp("county")
    synth_county(d, youth=40, districts=2, seed=21, formats=["cws"])
    c = County(youth=40, districts=2, seed=21, as_of=AS_OF)
    return Path(glob.glob(str(d / "cws" / "*.zip"))[0]), [c.make_youth(i) for i in range(40)]


def student(y, *, given=None, family=None, birth=None, ssid=True, local="L1"):
    subject = {"identifiers": ([["ssid", y.ssid]] if ssid else []) + [["lea-student|1964733", local + y.client_id[-4:]]],
               "given": given or y.given, "family": family or y.family, "birth_date": (birth or y.birth_date).isoformat(),
               "sex": y.sex}
    return {"standard": "edfi", "type": "students", "category": "demographics_identity", "key": local + y.client_id,
            "resource": {"studentUniqueId": y.ssid, "firstName": given or y.given, "lastSurname": family or y.family},
            "subject": subject}


def enrollment(y, local="L1", n=1):
    return {"standard": "edfi", "type": "studentSchoolAssociations", "category": "enrollment_school_placement",
            "key": f"{local}{y.client_id}-{n}", "resource": {"entryDate": "2026-08-15", "n": n},
            "subject": {"identifiers": [["lea-student|1964733", local + y.client_id[-4:]]]}}


def write(tmp_path, name, records) -> Path:
    p = tmp_path / name
    p.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    return p


def youth_of(engine, resource_key):
    with engine.connect() as c:
        return c.execute(select(s.resource.c.youth_id).where(s.resource.c.natural_key == resource_key)).scalar()


def test_links_deterministic_probabilistic_and_out_of_scope(engine, county, tmp_path):
    extract, youth = county
    ingest(engine, "cws", [extract])
    known = next(y for y in youth if y.ssid_known_to_cws)
    unknown_ssid = next(y for y in youth if not y.ssid_known_to_cws)
    stranger = County(youth=40, districts=2, seed=999, as_of=AS_OF).make_youth(3)
    recs = [student(known), enrollment(known),
            enrollment(unknown_ssid, n=2), student(unknown_ssid, ssid=True),   # dependent arrives before its person
            student(stranger, local="S"), enrollment(stranger, local="S")]
    r = ingest(engine, "test-records", [write(tmp_path, "feed.ndjson", recs)], source_system="calpads:1964733")
    assert r.status == "committed"
    with engine.connect() as c:
        ids = {row.client_id: row.id for row in c.execute(select(s.youth.c.client_id, s.youth.c.id))}
    assert youth_of(engine, "L1" + known.client_id) == ids[known.client_id]        # by SSID
    assert youth_of(engine, f"L1{known.client_id}-1") == ids[known.client_id]       # by the local id just learned
    assert youth_of(engine, f"L1{unknown_ssid.client_id}-2") == ids[unknown_ssid.client_id]  # deferred, then linked
    assert youth_of(engine, "S" + stranger.client_id) is None                       # not kept
    assert r.out_of_scope == 2
    with engine.connect() as c:
        learned = c.execute(select(s.youth_identifier.c.method).where(
            s.youth_identifier.c.value == unknown_ssid.ssid, s.youth_identifier.c.system == "ssid")).scalar()
        told = [row.message for row in c.execute(select(s.rejected_record.c.message).where(
            s.rejected_record.c.kind == "out_of_scope"))]
    assert learned == "probabilistic"
    assert len(told) == 1 and "2 record(s) not kept" in told[0]


def test_possible_match_waits_for_review_then_link_or_reject(engine, county, tmp_path):
    extract, youth = county
    ingest(engine, "cws", [extract])
    a, b = [y for y in youth if y.birth_date.day <= 12 and y.birth_date.day != y.birth_date.month][:2]
    swap = lambda d: d.replace(month=d.day, day=d.month)
    recs = [student(a, birth=swap(a.birth_date), ssid=False, local="A"), enrollment(a, local="A"),
            student(b, birth=swap(b.birth_date), ssid=False, local="B"), enrollment(b, local="B")]
    r = ingest(engine, "test-records", [write(tmp_path, "noisy.ndjson", recs)])
    assert r.pending_review == 4 and r.created == 0
    with engine.connect() as c:
        reviews = list(c.execute(select(s.identity_review).order_by(s.identity_review.c.id)))
    assert [rv.status for rv in reviews] == ["open", "open"]
    linked = decide(engine, "la", reviews[0].id, "link", "reviewer@county")
    assert linked["records_stored"] == 2
    rejected = decide(engine, "la", reviews[1].id, "reject", "reviewer@county")
    assert rejected["records_dropped"] == 2
    with engine.connect() as c:
        yid_a = c.execute(select(s.youth.c.id).where(s.youth.c.client_id == a.client_id)).scalar()
        pend = c.execute(select(func.count()).select_from(s.pending_record)).scalar()
        batch = c.execute(select(s.ingest_batch).where(s.ingest_batch.c.id == r.batch_id)).one()
    assert youth_of(engine, f"A{a.client_id}-1") == yid_a
    assert youth_of(engine, f"B{b.client_id}-1") is None
    assert pend == 0 and batch.pending_review == 0 and batch.out_of_scope == 2
    with pytest.raises(ValueError, match="already decided"):
        decide(engine, "la", reviews[0].id, "reject", "someone-else")
    # the learned local id now links the next feed deterministically, no review needed
    again = ingest(engine, "test-records", [write(tmp_path, "next.ndjson", [enrollment(a, local="A", n=9)])])
    assert again.created == 1 and again.pending_review == 0


def test_a_lazy_linker_reads_the_roster_once_it_has_looked_up_many_people(engine, county, tmp_path, monkeypatch):
    """Small inputs look people up one by one; past LAZY_SUBJECTS people that costs more than
    the roster, so the linker reads it whole once and links exactly as an eager one would."""
    from gateway.identity import linker as linking
    extract, youth = county
    ingest(engine, "cws", [extract])
    monkeypatch.setattr(linking, "LAZY_SUBJECTS", 5)
    people = [student(y, local="L7", ssid=i % 2 == 0) for i, y in enumerate(youth[:12])]
    with engine.connect() as conn:
        lazy = linking.Linker.load(conn, "la", eager=False)
        eager = linking.Linker.load(conn, "la", eager=True)
        from adapters.base import Subject
        subjects = [Subject(identifiers=tuple(tuple(i) for i in p["subject"]["identifiers"]),
                            given=p["subject"]["given"], family=p["subject"]["family"],
                            birth_date=p["subject"]["birth_date"], sex=p["subject"]["sex"]) for p in people]
        got = [lazy.resolve(sub) for sub in subjects]
        assert lazy._conn is None and len(lazy.roster.people) == len(eager.roster.people) == 40
    want = [eager.resolve(sub) for sub in subjects]
    assert [(m.status, m.youth_id) for m in got] == [(m.status, m.youth_id) for m in want]
    assert all(m.status == "certain" for m in got)
