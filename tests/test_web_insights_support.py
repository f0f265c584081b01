"""Support for the insights tests: a small county whose district feeds ingest cleanly (CALPADS and
Ed-Fi JSON, with CAASPP-style assessment results appended to the Ed-Fi JSON district), and the
indicators computed independently from the synthetic county model (gateway.synth), not from the store.

The model computation deliberately does not use gateway.passport or gateway.web.insights: it works
on the generator's own dataclasses (enrollments, attendance years, courses, assessments, placements).
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest

AS_OF = date(2026, 11, 23)
SEED, YOUTH, DISTRICTS = 21, 260, 6
FORMATS = ["cws", "calpads"]
INGESTED = ("calpads",)
AGE = (("0–5", 0, 5), ("6–10", 6, 10), ("11–13", 11, 13), ("14–17", 14, 17), ("18–21", 18, 21))
LEA_CODE = re.compile(r"(\d{7})\)?$")


def county():
    from gateway.synth.county import County
    return County(youth=YOUTH, districts=DISTRICTS, seed=SEED, as_of=AS_OF)


def assessment_lines(c) -> list[bytes]:
    """studentAssessments (Ed-Fi API JSON, keyed by SSID) for the model's results in the ingested
    districts: the state's CAASPP results as an Ed-Fi JSON feed of their own."""
    from adapters import edfi_common as ec
    leas = {d.lea_id for d in c.districts if d.feed_format in INGESTED}
    out = []
    for i in range(c.total):
        y = c.make_youth(i)
        uid = y.ssid
        for a in (a for a in y.assessments if a.lea_id in leas):
            out.append(orjson.dumps({
                "resource": "studentAssessments",
                "studentAssessmentIdentifier": f"{uid}-{a.school_year}-{a.subject}",
                "assessmentReference": {"assessmentIdentifier": f"CAASPP-{a.subject}-G{a.grade}",
                                        "namespace": "uri://caaspp.cde.ca.gov"},
                "studentReference": ec.student_ref(uid),
                "reportedSchoolReference": ec.school_ref(a.school_id),
                "schoolYearTypeReference": ec.school_year_ref(a.school_year),
                "administrationDate": f"{a.school_year}-05-01",
                "scoreResults": [{"assessmentReportingMethodDescriptor": ec.descriptor("AssessmentReportingMethodDescriptor", "Scale score"),
                                  "resultDatatypeTypeDescriptor": ec.descriptor("ResultDatatypeTypeDescriptor", "Integer"),
                                  "result": str(a.scale_score)}],
                "performanceLevels": [{"assessmentReportingMethodDescriptor": ec.descriptor("AssessmentReportingMethodDescriptor", "Achievement/proficiency level"),
                                       "performanceLevelDescriptor": ec.descriptor("PerformanceLevelDescriptor", f"Level {a.level}")}],
            }))
    return out


@pytest.fixture(scope="session")
def insights_county(tmp_path_factory) -> Path:
    return make_county(tmp_path_factory.mktemp("insights-county"))


def make_county(d: Path) -> Path:
    from gateway.synth import generate
    generate(d, youth=YOUTH, districts=DISTRICTS, seed=SEED, as_of=AS_OF, formats=FORMATS)
    (d / "caaspp").mkdir()
    (d / "caaspp" / "caaspp-results.ndjson").write_bytes(b"\n".join(assessment_lines(county())) + b"\n")
    return d


def load(engine, d: Path) -> None:
    from gateway.ingest.pipeline import ingest
    from tests.fhir_api_support import load_county
    load_county(engine, d)
    r = ingest(engine, "edfi-json", [d / "caaspp" / "caaspp-results.ndjson"], source_system="edfi-json:caaspp")
    assert r.status == "committed", r.error


# --- the indicators from the model ------------------------------------------------------------

def _active(e, d: date) -> bool:
    return e.entry_date <= d and (e.exit_date is None or d <= e.exit_date)


def _group(age: int) -> str:
    return next((g for g, lo, hi in AGE if lo <= age <= hi), "Other age")


def unlinked(engine, c=None) -> set:
    """(youth index, LEA) pairs whose district records the identity matcher could not link to the youth
    (a heavily mistyped presentation goes out of scope: tests/test_identity_*.py cover that), and
    (youth index, "assessments") when the state results could not be linked. Only linking is read
    from the store here; every indicator value comes from the model."""
    from sqlalchemy import select
    from gateway.store import schema as s
    c = c or county()
    leas = {d.lea_id for d in c.districts if d.feed_format in INGESTED}
    r, yt = s.resource.c, s.youth.c
    with engine.connect() as conn:
        ids = dict(conn.execute(select(yt.client_id, yt.id)).all())
        schools, assessed = defaultdict(set), defaultdict(int)
        for row in conn.execute(select(r.youth_id, r.rtype, r.body).where(r.rtype.in_(("studentSchoolAssociations", "studentAssessments")))):
            if row.rtype == "studentAssessments":
                assessed[row.youth_id] += 1
            else:
                schools[row.youth_id].add(f"{orjson.loads(row.body)['schoolReference']['schoolId']:07d}")
    out = set()
    for i in range(c.n_youth):
        y = c.make_youth(i)
        yid = ids[y.client_id]
        for lea in {e.lea_id for e in y.enrollments if e.lea_id in leas}:
            if not {e.school_id for e in y.enrollments if e.lea_id == lea} & schools[yid]:
                out.add((i, lea))
        if assessed[yid] != sum(1 for a in y.assessments if a.lea_id in leas):
            out.add((i, "assessments"))
    return out


def model_indicators(c=None, unlinked: set = frozenset()) -> dict:
    """{(indicator, dimension, label): [n, num, den, years]} with district labels as 7-digit LEA codes."""
    c = c or county()
    leas = {d.lea_id for d in c.districts if d.feed_format in INGESTED}
    sy = 2027 if AS_OF.month >= 7 else AS_OF.year
    out: dict = defaultdict(lambda: [0, 0, 0, 0.0])
    for i in range(c.n_youth):
        y = c.make_youth(i)
        mine = {lea for lea in leas if (i, lea) not in unlinked}
        enr = sorted((e for e in y.enrollments if e.lea_id in mine), key=lambda e: (e.entry_date, e.school_id))
        cur = [e for e in enr if _active(e, AS_OF)]
        lea = cur[-1].lea_id if cur else (enr[-1].lea_id if enr else None)
        places = [p for p in y.placements if p.start <= AS_OF and (p.end is None or p.end > AS_OF)]
        age = y.age_on(AS_OF)
        dims = {"district": lea or "none", "age": _group(age), "placement": places[-1].placement_type if places else "none"}

        def add(key, num=0, den=0, years=0.0):
            for dim, label in (*dims.items(), ("total", "Total")):
                a = out[(key, dim, label)]
                a[0] += 1
                a[1] += num
                a[2] += den
                a[3] += years

        att = [a for a in y.attendance if a.lea_id in mine and a.school_year == sy]
        enrolled = sum(a.days_enrolled for a in att)
        if enrolled:
            add("chronic_absence", num=int(sum(a.days_absent for a in att) / enrolled >= 0.10))
        if enr:
            moves = sum(1 for a, b in zip(enr, enr[1:]) if a.school_id != b.school_id and a.exit_code not in ("E155", "E230"))
            open_ = any(e.exit_date is None or e.exit_date >= AS_OF for e in enr)
            last = AS_OF if open_ else max(e.exit_date for e in enr)
            add("school_changes", num=moves, years=max(0, (min(last, AS_OF) - enr[0].entry_date).days) / 365.25)
        changes = stayed = 0
        for p in y.placements[1:]:
            before = [e for e in enr if _active(e, p.start - timedelta(days=1))]
            if p.start > AS_OF or not before:
                continue
            changes += 1
            after = next(([e for e in enr if _active(e, p.start + timedelta(days=k))][-1]
                          for k in range(31) if p.start + timedelta(days=k) <= AS_OF
                          and any(_active(e, p.start + timedelta(days=k)) for e in enr)), None)
            stayed += after is not None and after.school_id == before[-1].school_id
        if changes:
            add("origin_retention", num=stayed, den=changes)
        courses = [x for x in y.courses if x.lea_id in mine]
        if cur and cur[-1].grade in ("09", "10", "11", "12") and courses:    # no transcript: unknown, not behind
            g = int(cur[-1].grade)
            expected = 60 * (g - 9) + (30 if AS_OF >= date(sy - 1, 12, 20) else 0)
            add("on_track", num=int(sum(x.credits_earned for x in courses) >= expected))
        if 3 <= age <= 5:
            add("ece", num=int(bool(cur) and cur[-1].grade in ("PS", "KN")))
        latest = {}
        tested = [a for a in y.assessments if a.lea_id in leas and (i, "assessments") not in unlinked]
        for a in sorted(tested, key=lambda a: a.school_year):
            latest[a.subject] = a.level
        for subj, level in latest.items():
            add(f"proficiency_{subj.lower()}", num=int(level >= 3))
    return dict(out)


def store_key(label: str, dim: str) -> str:
    """The model's label for a published row label (districts by LEA code)."""
    if dim == "district":
        m = LEA_CODE.search(label)
        return m.group(1) if m else "none"
    if dim == "placement" and label.startswith("No "):
        return "none"
    return label
