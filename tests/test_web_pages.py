"""Caseload, add/remove with approval, passport page, IDOR on every youth-scoped URL and form,
hidden categories absent from the HTML, identity review (SQLite and PostgreSQL)."""
from __future__ import annotations

import re

import orjson
import pytest
from sqlalchemy import and_, select

import adapters
from gateway.ingest.sealing import unseal
from gateway.store import schema as s
from tests.test_web_support import (Staff, all_youth, audit_rows, caseloads, count, load, make_app,  # noqa: F401
                                    web_county)

YOUTH_LINK = re.compile(r'href="/youth/([^"]+)"')


@pytest.fixture
def site(engine, web_county, monkeypatch):
    load(engine, web_county)
    return make_app(engine, monkeypatch), engine


def _busiest(engine) -> tuple[str, set[str]]:
    loads = caseloads(engine)
    person = max(sorted(loads), key=lambda p: len(loads[p]))
    return person, loads[person]


def test_caseload_lists_exactly_the_assigned_youth_with_flags(site):
    app, engine = site
    person, mine = _busiest(engine)
    w = Staff(app, engine, "worker", "social_worker", person)
    w.signin()
    page = w.get("/caseload").get_data(as_text=True)
    assert set(YOUTH_LINK.findall(page)) == mine
    assert f'<span class="count">{len(mine)}</span>' in page
    flagged = audit_rows(engine, "caseload-flags")
    assert {e.youth_id for e in flagged} == mine and all(e.actor_id == "worker" for e in flagged)
    # flags are computed from released categories only: every flag key names its categories' permission
    from gateway.web import caseload as cl
    from gateway.web.security import requester
    from gateway.web.accounts import get_user
    from tests.test_web_support import AS_OF
    who = requester(get_user(engine, "la", "worker"))
    with engine.connect() as c:
        for yid in mine:
            flags, withheld = cl.flags_for(c, "la", who, yid, AS_OF)
            assert not ({f["label"] for f in flags} & set(withheld))
    assert "flag-" in page


def test_passport_shows_permitted_sections_hides_the_rest_and_audits(site):
    app, engine = site
    # a youth with records in categories a social worker may not see (Part 2, HIV, minor-consented)
    hidden_cats = ("substance_use_disorder_part2", "hiv", "reproductive_sexual_health_minor_consented")
    r = s.resource.c
    with engine.connect() as c:
        row = c.execute(select(r.youth_id).where(and_(r.category.in_(hidden_cats), r.rtype == "Condition"))).first()
        yid = row.youth_id
        secret_texts = []
        for b in c.execute(select(r.body, r.category, r.key_id).where(and_(r.youth_id == yid, r.category.in_(hidden_cats),
                                                                            r.rtype == "Condition"))):
            body = orjson.loads(unseal("la", b.category, b.body, b.key_id))
            secret_texts += [x["display"] for x in body["code"].get("coding") or () if x.get("display")]
        allergy = c.execute(select(r.body, r.category, r.key_id).where(and_(r.youth_id == yid, r.category == "allergies"))).first()
        person = c.execute(select(s.care_assignment.c.person_id).where(and_(
            s.care_assignment.c.youth_id == yid, s.care_assignment.c.role == "social_worker",
            s.care_assignment.c.end_date.is_(None)))).scalar()
    assert secret_texts
    w = Staff(app, engine, "worker", "social_worker", person)
    w.signin()
    resp = w.get(f"/youth/{yid}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for t in secret_texts:
        assert t not in html                               # not in the HTML at all, not merely hidden by CSS
    for cat in hidden_cats:
        part = re.search(rf'data-category="{cat}">(.*?)</details>', html, re.S).group(1)
        assert "Hidden for you" in part and "Why is this hidden?" in part
    assert "part2.no_consent" in html and "42 CFR" in html        # the rule id and citation behind the hiding
    if allergy is not None:
        text = orjson.loads(unseal("la", allergy.category, allergy.body, allergy.key_id))["code"]["text"]
        assert text in html
    assert "Why can I see this?" in html and 'href="tel:' in html and "<svg" in html
    views = audit_rows(engine, "passport-view", yid)
    assert [v.outcome for v in views] == ["permit"]
    entry = views[0].entry
    assert set(hidden_cats) <= set(entry["withheld"]) and "allergies" in entry["released"]
    # who else has viewed: a second viewer sees the first in the accounting
    sup = Staff(app, engine, "sup", "supervisor", person)
    sup.signin()
    html2 = sup.get(f"/youth/{yid}").get_data(as_text=True)
    viewers = html2.split('id="viewers-h"')[1]
    assert "Worker" in viewers and "passport-view" in viewers


def test_idor_every_youth_scoped_url_and_form(site):
    app, engine = site
    loads = caseloads(engine)
    person, mine = _busiest(engine)
    theirs = next(iter(sorted(all_youth(engine) - mine)))
    own = next(iter(sorted(mine)))
    w = Staff(app, engine, "worker", "social_worker", person)
    w.signin()
    for yid in (theirs, "00000000-0000-0000-0000-000000000000", "../../etc/passwd", own + "'--"):
        r = w.get(f"/youth/{yid}")
        assert r.status_code in (403, 404), yid
        if r.status_code == 403:
            assert "not on your caseload" in r.get_data(as_text=True)
    denied = audit_rows(engine, "passport-view")
    assert [d.outcome for d in denied] == ["deny"] * len(denied) and denied[0].youth_id == theirs
    assert denied[0].entry["reason"] and denied[0].entry["withheld"] and not denied[0].entry["released"]
    # remove: someone else's youth, and one's own CWS-assigned youth, are refused and unchanged
    before = count(engine, s.care_assignment)
    for yid in (theirs, own, "nope"):
        assert w.post("/caseload/remove", {"youth_id": yid}).status_code == 403
    assert count(engine, s.care_assignment) == before
    # add: a youth not assigned in CWS becomes a request, never access
    assert w.post("/caseload/add", {"youth_id": theirs}).status_code == 302
    assert w.get(f"/youth/{theirs}").status_code == 403
    assert count(engine, s.caseload_request, s.caseload_request.c.status == "pending") == 1
    assert w.post("/caseload/add", {"youth_id": "no-such-youth"}).status_code == 404
    # supervisor-only and operator-only forms
    rid = _one(engine, s.caseload_request.c.id)
    assert w.post(f"/approvals/{rid}", {"decision": "approve"}).status_code == 403
    assert w.post("/review/1", {"decision": "link"}).status_code == 403
    assert w.get("/approvals").status_code == 403 and w.get("/review").status_code == 403
    assert w.get(f"/youth/{theirs}").status_code == 403
    # roles without a caseload never see a passport
    for role in ("analyst", "operator"):
        other = Staff(app, engine, role, role)
        other.signin()
        assert other.get(f"/youth/{own}").status_code == 403
    # a supervisor only sees their own caseload too
    other_person = next(p for p in sorted(loads) if p != person and own not in loads[p])
    sup = Staff(app, engine, "sup", "supervisor", other_person)
    sup.signin()
    assert sup.get(f"/youth/{own}").status_code == 403


def _one(engine, col):
    with engine.connect() as c:
        return c.execute(select(col)).scalar()


def test_add_with_supervisor_approval_then_remove(site):
    app, engine = site
    person, mine = _busiest(engine)
    theirs = sorted(all_youth(engine) - mine)[0]
    with engine.connect() as c:
        y = c.execute(select(s.youth).where(s.youth.c.id == theirs)).one()
    w = Staff(app, engine, "worker", "social_worker", person)
    w.signin()
    page = w.get(f"/caseload/add?family={y.family.upper()}&birth_date={y.birth_date}").get_data(as_text=True)
    assert f'name="youth_id" value="{theirs}"' in page
    assert "Results" in w.get(f"/caseload/add?ssid={y.ssid}").get_data(as_text=True)
    assert "Enter the last name" in w.get("/caseload/add?family=x").get_data(as_text=True)
    w.post("/caseload/add", {"youth_id": theirs, "reason": "covering for a colleague"})
    assert "Waiting for a supervisor" in w.get("/caseload").get_data(as_text=True)
    # the worker cannot approve; a supervisor cannot approve their own request
    sup = Staff(app, engine, "sup", "supervisor", None)
    sup.signin()
    page = sup.get("/approvals").get_data(as_text=True)
    assert "covering for a colleague" in page
    rid = int(re.search(r'action="/approvals/(\d+)"', page).group(1))
    assert sup.post(f"/approvals/{rid}", {"decision": "approve"}, token_from="/approvals").status_code == 302
    assert sup.post(f"/approvals/{rid}", {"decision": "approve"}, token_from="/approvals").status_code == 404  # once
    a = s.care_assignment.c
    with engine.connect() as c:
        row = c.execute(select(s.care_assignment).where(and_(a.youth_id == theirs, a.source == "gateway"))).one()
        req = c.execute(select(s.caseload_request).where(s.caseload_request.c.id == rid)).one()
    assert row.person_id == person and row.approved_by == "sup" and row.role == "social_worker"
    assert req.status == "approved" and req.decided_by == "sup" and req.decided_at is not None
    assert req.assignment_id == row.id
    assert [e.actor_id for e in audit_rows(engine, "caseload-approve", theirs)] == ["sup"]
    page = w.get("/caseload").get_data(as_text=True)
    assert theirs in YOUTH_LINK.findall(page) and "added here" in page
    assert w.get(f"/youth/{theirs}").status_code == 200
    # remove from the gateway-added list: access ends at once
    assert w.post("/caseload/remove", {"youth_id": theirs}).status_code == 302
    assert theirs not in YOUTH_LINK.findall(w.get("/caseload").get_data(as_text=True))
    assert w.get(f"/youth/{theirs}").status_code == 403
    assert [e.outcome for e in audit_rows(engine, "caseload-remove", theirs)] == ["permit"]
    # a supervisor with the request cannot approve it themselves
    sup2 = Staff(app, engine, "sup2", "supervisor", person)
    sup2.signin()
    sup2.post("/caseload/add", {"youth_id": theirs}, token_from="/caseload")
    rid2 = max(r.id for r in _all(engine, s.caseload_request))
    assert sup2.post(f"/approvals/{rid2}", {"decision": "approve"}).status_code == 403
    assert sup.post(f"/approvals/{rid2}", {"decision": "decline"}).status_code == 302
    assert sup2.get(f"/youth/{theirs}").status_code == 403


def _all(engine, table):
    with engine.connect() as c:
        return list(c.execute(select(table)))


@pytest.fixture
def _records_format(monkeypatch):
    monkeypatch.setitem(adapters.FORMATS, "test-records", "tests.record_file_adapter")


def test_identity_review_link_and_reject(site, tmp_path, _records_format):
    from gateway.ingest.pipeline import ingest
    from tests.test_identity_linking import enrollment, student, write
    from tests.test_web_support import AS_OF, DISTRICTS, SEED, YOUTH
    from gateway.synth.county import County
    app, engine = site
    county = County(youth=YOUTH, districts=DISTRICTS, seed=SEED, as_of=AS_OF)
    people = [county.make_youth(i) for i in range(YOUTH)]
    a, b = [y for y in people if y.birth_date.day <= 12 and y.birth_date.day != y.birth_date.month][:2]
    swap = lambda d: d.replace(month=d.day, day=d.month)
    recs = [student(a, birth=swap(a.birth_date), ssid=False, local="A"), enrollment(a, local="A"),
            student(b, birth=swap(b.birth_date), ssid=False, local="B"), enrollment(b, local="B")]
    r = ingest(engine, "test-records", [write(tmp_path, "noisy.ndjson", recs)])
    assert r.pending_review == 4
    op = Staff(app, engine, "op", "operator")
    op.signin()
    page = op.get("/review").get_data(as_text=True)
    def review_of(y):
        for sec in page.split('<section class="card review"')[1:]:
            if y.family in sec and swap(y.birth_date).isoformat() in sec and y.birth_date.isoformat() in sec:
                return int(re.search(r'action="/review/(\d+)"', sec).group(1))
    ids = [review_of(a), review_of(b)]
    assert None not in ids and ids[0] != ids[1]
    assert op.post(f"/review/{ids[0]}", {"decision": "link"}, csrf=False).status_code == 400
    assert op.post(f"/review/{ids[0]}", {"decision": "link"}, token_from="/review").status_code == 302
    assert op.post(f"/review/{ids[1]}", {"decision": "reject"}, token_from="/review").status_code == 302
    rows = {r.id: r for r in _all(engine, s.identity_review)}
    assert rows[ids[0]].status == "linked" and rows[ids[0]].decided_by == "op"
    assert rows[ids[1]].status == "rejected"
    again = op.post(f"/review/{ids[0]}", {"decision": "reject"}, token_from="/review")
    assert again.status_code == 404 or "already decided" in op.get("/review").get_data(as_text=True)
    left = op.get("/review").get_data(as_text=True)
    assert f'action="/review/{ids[0]}"' not in left and f'action="/review/{ids[1]}"' not in left
    assert len(audit_rows(engine, "identity-review")) == 2
