"""Change notifications end to end on SQLite and PostgreSQL: a new CWS extract -> outbox ->
deliveries -> POSTs to subscribers (served by `responses`), with a clock the tests advance."""
from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from gateway.enforce import decide_categories
from gateway.ingest.outbox import passport_changed
from gateway.notify import NotifyConfig
from gateway.notify.dispatcher import dead_letters, requeue, status_counts
from gateway.store import schema as s
from gateway.store.engine import write_tx
from tests.helpers import rewrite_zip
from tests.test_notify_support import (Clock, Endpoint, Subscriber, age_on, active_person, app_for,
                                       categories_of, deliveries, dispatch, event_number_of, focus_of, load,
                                       make_extract, signature_ok, youth_rows)

PLACEMENT = "placement_case_information"
ENROLLMENT = "enrollment_school_placement"
PART2, HIV = "substance_use_disorder_part2", "hiv"


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    return make_extract(tmp_path_factory.mktemp("county"))


@pytest.fixture
def county(engine, extract):
    load(engine, extract)
    dispatch(engine, Clock())          # the first load's events, before anyone subscribed
    return engine


def pick_youth(engine, clock: Clock):
    """A minor with an assigned social worker and a current caregiver."""
    for y in youth_rows(engine):
        sw, cg = active_person(engine, y.id, "social_worker"), active_person(engine, y.id, "caregiver")
        if sw and cg and age_on(y.birth_date, clock.now.date()) < 18:
            return y, sw, cg
    raise AssertionError("the synthetic county has no minor with a social worker and a caregiver")


def change_placement(extract, tmp_path, client_id: str):
    def edit(table, rows):
        if table == "placements":
            head = rows[0]
            who, end, phone = head.index("client_id"), head.index("end_date"), head.index("phone")
            for r in rows[1:]:
                if r[who] == client_id and not r[end]:
                    r[phone] = "(213) 555-0199"
                    return rows
            raise AssertionError("no open placement")
        return rows
    return rewrite_zip(extract, tmp_path / "changed.zip", edit)


def outbox_events(engine, youth_id=None) -> list:
    o = s.outbox.c
    q = select(s.outbox).order_by(o.id)
    if youth_id:
        q = q.where(o.youth_id == youth_id)
    with engine.connect() as c:
        return list(c.execute(q))


def add_events(engine, changed: dict, clock: Clock) -> str:
    batch = str(uuid.uuid4())
    with write_tx(engine) as conn:
        passport_changed(conn, "la", batch, changed, clock.now)
    return batch


def test_placement_change_notifies_each_subscriber_exactly_once(county, extract, tmp_path):
    engine, clock = county, Clock()
    y, sw_person, cg_person = pick_youth(engine, clock)
    app = app_for(engine)
    state = Subscriber(app, engine, "state_cms", "x-CW-ADMIN")
    worker = Subscriber(app, engine, "county_social_worker", "x-CW-CASEMGT", user_id=sw_person)
    counselor = Subscriber(app, engine, "reengagement_counselor", "x-EDU-SUPPORT")
    with engine.connect() as c:       # the policy gives a reengagement counselor no placement information
        assert not decide_categories(c, "la", _requester(counselor, None, "x-EDU-SUPPORT"), y.id, (PLACEMENT,),
                                     as_of=clock.now.date()).permitted()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        e_state = Endpoint(rsps, "https://state.example/hep/notify", statuses=(500, 200))
        e_worker = Endpoint(rsps, "https://worker.example/hook")
        e_counselor = Endpoint(rsps, "https://counselor.example/hook")
        state.subscribe(e_state.url)
        worker.subscribe(e_worker.url, payload="application/json")
        counselor.subscribe(e_counselor.url)
        stats = dispatch(engine, clock)
        assert stats.activated == 3 and stats.fanned_out == 0

        load(engine, change_placement(extract, tmp_path, y.client_id))
        events = [e for e in outbox_events(engine) if e.status == "pending"]
        assert [(e.youth_id, e.payload["categories"]) for e in events] == [(y.id, [PLACEMENT])]

        stats = dispatch(engine, clock.advance(seconds=5))
        assert (stats.fanned_out, stats.delivered, stats.failed, stats.withheld) == (3, 1, 1, 1)
        assert [c["status"] for c in e_state.calls] == [500]
        for _ in range(6):                       # retried until acknowledged, then never again
            dispatch(engine, clock.advance(minutes=1))

    # the state system: one failure, then exactly one acknowledged delivery, same key both times
    assert [c["status"] for c in e_state.calls] == [500, 200]
    keys = {c["headers"]["Idempotency-Key"] for c in e_state.calls}
    assert keys == {f"{events[0].idempotency_key}:{state.subscription['id']}"}
    assert len(e_worker.calls) == 1 and len(e_worker.acknowledged) == 1
    # the counselor may not see placement information: nothing at all was sent
    assert e_counselor.calls == []

    for sub, call in ((state, e_state.acknowledged[0]), (worker, e_worker.acknowledged[0])):
        doc = call["json"]
        assert focus_of(doc) == f"Patient/{y.id}" and categories_of(doc) == [PLACEMENT]
        assert event_number_of(doc) == 1 and call["headers"]["X-HEP-Event-Number"] == "1"
        assert signature_ok(sub.secret, call)
    bundle = e_state.acknowledged[0]["json"]
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    assert e_state.acknowledged[0]["headers"]["Content-Type"] == "application/fhir+json"
    assert e_worker.acknowledged[0]["json"]["patient"] == f"Patient/{y.id}"

    rows = {r.subscription_id: r for r in deliveries(engine)}
    assert (rows[state.subscription["id"]].status, rows[state.subscription["id"]].attempts) == ("delivered", 2)
    assert (rows[worker.subscription["id"]].status, rows[worker.subscription["id"]].attempts) == ("delivered", 1)
    assert rows[counselor.subscription["id"]].status == "withheld"
    with engine.connect() as c:
        audited = list(c.execute(select(s.audit_event).where(s.audit_event.c.action == "notify")))
    assert sorted(a.client_id for a in audited) == sorted([state.client.client_id, worker.client.client_id])
    assert all(a.youth_id == y.id and a.entry["released"] == [PLACEMENT] for a in audited)


def test_categories_a_subscriber_may_not_see_are_never_mentioned(county):
    engine, clock = county, Clock()
    y, sw_person, cg_person = pick_youth(engine, clock)
    app = app_for(engine)
    caregiver = Subscriber(app, engine, "caregiver", "x-CW-CASEMGT", user_id=cg_person)
    state_enrollment = Subscriber(app, engine, "state_cms", "x-CW-ADMIN")
    changed = {PLACEMENT, ENROLLMENT, PART2, HIV}
    with engine.connect() as c:
        d = decide_categories(c, "la", _requester(caregiver, cg_person, "x-CW-CASEMGT"), y.id, sorted(changed),
                              as_of=clock.now.date())
    may, may_not = sorted(d.permitted()), sorted(changed - set(d.permitted()))
    assert ENROLLMENT in may and PART2 in may_not and HIV in may_not     # the test means something
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        e_cg = Endpoint(rsps, "https://caregiver.example/hook")
        e_st = Endpoint(rsps, "https://state.example/hook")
        caregiver.subscribe(e_cg.url, payload="application/json")
        state_enrollment.subscribe(e_st.url, criteria=f"Patient?hep-category={ENROLLMENT}")
        dispatch(engine, clock)
        add_events(engine, {y.id: changed}, clock)
        add_events(engine, {y.id: {PART2}}, clock)
        dispatch(engine, clock.advance(seconds=1))

    assert len(e_cg.calls) == 1                               # the Part 2-only event: nothing
    assert categories_of(e_cg.calls[0]["json"]) == may
    for word in may_not:
        assert word.encode() not in e_cg.calls[0]["body"]
    # criteria limited to enrollment: only the event naming enrollment, and only that category
    assert len(e_st.calls) == 1 and categories_of(e_st.calls[0]["json"]) == [ENROLLMENT]
    assert PLACEMENT.encode() not in e_st.calls[0]["body"]
    statuses = sorted(r.status for r in deliveries(engine, caregiver.subscription["id"]))
    assert statuses == ["delivered", "withheld"]
    assert len(deliveries(engine, state_enrollment.subscription["id"])) == 1


def _requester(sub: Subscriber, user_id, purpose):
    from gateway.auth import Requester
    return Requester(sub.client.client_id, "smart_backend", sub.client.role, None, user_id,
                     sub.client.role if user_id else None, purpose, "local", frozenset())


def test_day_long_outage_then_everything_in_order(county):
    engine, clock = county, Clock()
    youth = [y.id for y in youth_rows(engine)][:6]
    app = app_for(engine)
    state = Subscriber(app, engine, "state_cms", "x-CW-ADMIN")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ep = Endpoint(rsps, "https://state.example/hook", statuses=(200,))
        state.subscribe(ep.url, payload="application/json")
        dispatch(engine, clock)
        ep.down = True
        for yid in youth[:4]:
            add_events(engine, {yid: {PLACEMENT}}, clock)
        start = clock.now
        while clock.now - start < timedelta(days=1):
            dispatch(engine, clock.advance(minutes=10))
            if clock.now - start == timedelta(hours=12):
                for yid in youth[4:]:                  # more changes arrive during the outage
                    add_events(engine, {yid: {PLACEMENT}}, clock)
        probes = len(ep.calls)
        assert all(c["status"] is None for c in ep.calls)
        # the partner was probed once per retry interval, not once per notification per pass
        assert probes <= 20, probes
        undelivered = [r for r in deliveries(engine) if r.status != "delivered"]
        assert len(undelivered) == 6 and all(r.status in ("pending", "failed") for r in undelivered)

        ep.down = False
        for _ in range(60):                            # back: everything within the longest backoff (6 h)
            dispatch(engine, clock.advance(minutes=10))
    got = [c["json"] for c in ep.acknowledged]
    assert [g["patient"] for g in got] == [f"Patient/{y}" for y in youth]
    assert [g["eventNumber"] for g in got] == [1, 2, 3, 4, 5, 6]
    assert all(r.status == "delivered" for r in deliveries(engine))
    assert len({c["headers"]["Idempotency-Key"] for c in ep.acknowledged}) == 6


def test_poison_does_not_block_and_dead_letters_after_max_age(county, monkeypatch):
    engine, clock = county, Clock()
    a, b, c_ = [y.id for y in youth_rows(engine)][:3]
    app = app_for(engine)
    one = Subscriber(app, engine, "state_cms", "x-CW-ADMIN")
    two = Subscriber(app, engine, "state_cms", "x-CW-ADMIN")
    import gateway.notify.dispatcher as dispatcher
    real_body = dispatcher.body_for

    def body_for(payload, **facts):                  # the notification of `a` for `two` cannot be built
        if facts["subscription_id"] == two.subscription["id"] and facts["youth_id"] == a:
            raise ValueError("cannot render")
        return real_body(payload, **facts)

    monkeypatch.setattr(dispatcher, "body_for", body_for)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        e1 = Endpoint(rsps, "https://one.example/hook", reject=lambda doc: doc["patient"] == f"Patient/{b}")
        e2 = Endpoint(rsps, "https://two.example/hook")
        one.subscribe(e1.url, payload="application/json")
        two.subscribe(e2.url, payload="application/json")
        dispatch(engine, clock)
        for yid in (a, b, c_):
            add_events(engine, {yid: {PLACEMENT}}, clock)
        dispatch(engine, clock.advance(seconds=1))
        assert [x["json"]["patient"] for x in e1.acknowledged] == [f"Patient/{a}", f"Patient/{c_}"]
        assert [x["json"]["patient"] for x in e2.acknowledged] == [f"Patient/{b}", f"Patient/{c_}"]
        for _ in range(4 * 24):                        # four days, a pass an hour
            dispatch(engine, clock.advance(hours=1))
    # each poison was retried alone with backoff, then dead-lettered once older than max_age (3 days)
    assert len(e1.acknowledged) == 2 and len(e2.acknowledged) == 2
    rejected = [x for x in e1.calls if x["status"] == 400]
    assert 5 <= len(rejected) <= 30
    rows = {(r.subscription_id, r.youth_id): r for r in deliveries(engine)}
    dead1, dead2 = rows[(one.subscription["id"], b)], rows[(two.subscription["id"], a)]
    assert dead1.status == dead2.status == "dead"
    assert dead1.last_status == 400 and "HTTP 400" in dead1.last_error
    assert dead2.last_status is None and "cannot render" in dead2.last_error
    assert dead1.attempts == len(rejected)
    counts = status_counts(engine)
    assert counts["dead"] == 2 and counts["delivered"] == 4
    assert {d["id"] for d in dead_letters(engine)} == {dead1.id, dead2.id}
    with engine.connect() as conn:
        errors = {r.id: r.error for r in conn.execute(select(s.subscription))}
    assert "dead-lettered" in errors[one.subscription["id"]]
    # an operator sends them again once the partner fixed its side
    monkeypatch.setattr(dispatcher, "body_for", real_body)
    assert requeue(engine, clock.now) == 2
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        e1 = Endpoint(rsps, "https://one.example/hook")
        e2 = Endpoint(rsps, "https://two.example/hook")
        dispatch(engine, clock.advance(seconds=1))
    assert len(e1.acknowledged) == len(e2.acknowledged) == 1
    assert status_counts(engine) == {"delivered": 6}


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap():
    cfg = NotifyConfig(base_delay=30, max_delay=6 * 3600)
    rng = random.Random(7)
    for n, full in ((1, 30), (2, 60), (3, 120), (8, 3840), (10, 15360), (11, 6 * 3600), (40, 6 * 3600)):
        for _ in range(20):
            assert full / 2 <= cfg.backoff(n, rng) <= full
    assert len({round(cfg.backoff(5, rng), 3) for _ in range(20)}) > 1      # jittered


def test_only_events_after_subscribing_and_nothing_after_delete_or_revocation(county):
    engine, clock = county, Clock()
    ys = [y.id for y in youth_rows(engine)][:3]
    app = app_for(engine)
    early, late, revoked = (Subscriber(app, engine, "state_cms", "x-CW-ADMIN") for _ in range(3))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        e_early = Endpoint(rsps, "https://early.example/hook", statuses=(503,))
        e_late = Endpoint(rsps, "https://late.example/hook")
        e_rev = Endpoint(rsps, "https://revoked.example/hook")
        early.subscribe(e_early.url)
        revoked.subscribe(e_rev.url)
        add_events(engine, {ys[0]: {PLACEMENT}}, clock)
        late.subscribe(e_late.url)                       # after the first event
        add_events(engine, {ys[1]: {PLACEMENT}}, clock)
        dispatch(engine, clock.advance(seconds=1))
        assert len(e_late.acknowledged) == 1 and focus_of(e_late.calls[0]["json"]) == f"Patient/{ys[1]}"
        assert len(e_rev.acknowledged) == 2
        r = early.http.delete(f"/fhir/Subscription/{early.subscription['id']}", headers=early.headers())
        assert r.status_code == 204
        from gateway.auth.registry import forget, revoke_client
        revoke_client(engine, revoked.client.client_id)
        forget()
        add_events(engine, {ys[2]: {PLACEMENT}}, clock)
        for _ in range(5):
            dispatch(engine, clock.advance(hours=1))
    assert len(e_early.calls) == 1 and len(e_rev.calls) == 2 and len(e_late.calls) == 2
    assert {r.status for r in deliveries(engine, early.subscription["id"])} == {"cancelled"}
    with engine.connect() as c:
        status = {r.id: r.status for r in c.execute(select(s.subscription))}
    assert status[revoked.subscription["id"]] == "off"
    assert {r.status for r in deliveries(engine, revoked.subscription["id"])} == {"delivered", "cancelled"}
