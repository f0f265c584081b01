"""An outbound partner that answers 500 and times out for an hour, and a dispatcher that dies after
the partner acknowledged a notification but before it recorded the delivery.

The clock is injected (the dispatcher runs at the times the test chooses) and the partner's webhook
is served by `responses`. During the hour, the partner alternates between HTTP 500, a read timeout
before it has seen the request, and the worst case: a read timeout *after* it stored the
notification (the gateway cannot know it arrived). The partner de-duplicates on Idempotency-Key, as
docs/notifications.md asks of receivers. After it recovers: the outbox drains, every notification
reached the partner (nothing lost), every redelivery carried the same Idempotency-Key and the same
body (so the partner applied each exactly once: at-least-once delivery, exactly-once effect),
nothing was dead-lettered, one audit row per delivery, and the audit chain verifies.
(tests/test_notify.py covers a day of refused connections and ordering; this adds 5xx, timeouts,
processed-but-unacknowledged requests and a crash between acknowledgement and bookkeeping.)"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import select

from gateway import audit
from gateway.notify import dispatcher
from gateway.store import schema as s
from tests.test_notify import add_events
from tests.test_notify_support import (
    Clock,
    Subscriber,
    app_for,
    deliveries,
    dispatch,
    load,
    make_extract,
    youth_rows,
)

PLACEMENT = "placement_case_information"


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    return make_extract(tmp_path_factory.mktemp("county"))


class FlakyPartner:
    """A webhook that is broken while `broken` is set, and remembers what it applied, by key."""

    def __init__(self, rsps, url: str):
        self.url, self.broken, self.n = url, False, 0
        self.applied: dict[str, bytes] = {}         # Idempotency-Key -> body, applied once
        self.deliveries: list[tuple[str, bytes, str]] = []   # every request: (key, body, what happened)
        rsps.add_callback(responses.POST, url, callback=self._answer)

    def _answer(self, request):
        key = request.headers["Idempotency-Key"]
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        if self.broken:
            self.n += 1
            mode = ("500", "timeout-before", "timeout-after")[self.n % 3]
            self.deliveries.append((key, body, mode))
            if mode == "500":
                return 500, {}, '{"error": "internal"}'
            if mode == "timeout-after":
                self.applied.setdefault(key, body)   # stored it, but the answer never makes it back
            raise requests.ReadTimeout("read timed out")
        self.deliveries.append((key, body, "200"))
        self.applied.setdefault(key, body)           # a repeat of a known key is acknowledged, not re-applied
        return 200, {}, ""


class Killed(BaseException):
    """Not an Exception: nothing in the dispatcher catches it, as with kill -9."""


def test_partner_down_an_hour_then_outbox_drains_once_each(engine, extract, monkeypatch):
    load(engine, extract)
    clock = Clock()
    dispatch(engine, clock)
    youth = [y.id for y in youth_rows(engine)][:10]
    state = Subscriber(app_for(engine), engine, "state_cms", "x-CW-ADMIN")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        partner = FlakyPartner(rsps, "https://state.example/hep-hook")
        state.subscribe(partner.url, payload="application/json")
        dispatch(engine, clock)
        for yid in youth[:2]:                              # delivered normally
            add_events(engine, {yid: {PLACEMENT}}, clock)
        dispatch(engine, clock.advance(minutes=1))
        assert len(partner.applied) == 2

        # the dispatcher dies right after the partner acknowledged, before the delivery is recorded
        add_events(engine, {youth[2]: {PLACEMENT}}, clock)
        real = dispatcher._Sender._delivered

        def die(self, *a, **kw):
            raise Killed()
        monkeypatch.setattr(dispatcher._Sender, "_delivered", die)
        with pytest.raises(Killed):
            dispatch(engine, clock.advance(minutes=1))
        monkeypatch.setattr(dispatcher._Sender, "_delivered", real)
        assert len(partner.applied) == 3 and [d.status for d in deliveries(engine)].count("delivered") == 2

        # an hour of 500s and timeouts, with more changes arriving
        partner.broken = True
        start = clock.now
        for yid in youth[3:7]:
            add_events(engine, {yid: {PLACEMENT}}, clock)
        while clock.now - start < timedelta(hours=1):
            dispatch(engine, clock.advance(minutes=2))
            if clock.now - start == timedelta(minutes=30):
                for yid in youth[7:]:
                    add_events(engine, {yid: {PLACEMENT}}, clock)
        modes = {m for _, _, m in partner.deliveries if m != "200"}
        assert modes == {"500", "timeout-before", "timeout-after"}, modes
        probes = sum(1 for _, _, m in partner.deliveries if m != "200")
        assert probes <= 15, probes                        # one probe per retry interval, not a flood
        undelivered = [d for d in deliveries(engine) if d.status != "delivered"]
        assert len(undelivered) == 8 and all(d.status in ("pending", "failed") for d in undelivered)

        partner.broken = False                             # recovered: within the longest backoff (6 h)
        for _ in range(8 * 6):
            dispatch(engine, clock.advance(minutes=10))

    rows = deliveries(engine)
    assert len(rows) == 10 and {d.status for d in rows} == {"delivered"}            # outbox drained, none dead
    keys = {d.idempotency_key for d in rows}
    assert set(partner.applied) == keys                                             # nothing lost
    # every repeat of a key carried the body the partner applied: the same notification, not a new one
    for key, body, _ in partner.deliveries:
        assert body == partner.applied[key]
    repeats = {k for k, _, _ in partner.deliveries if sum(1 for x, _, _ in partner.deliveries if x == k) > 1}
    assert repeats, "the outage and the crash should have caused redeliveries"
    assert [json.loads(partner.applied[d.idempotency_key])["patient"] for d in rows] == \
        [f"Patient/{y}" for y in youth]                                             # in outbox order
    with engine.connect() as c:
        notified = [e["delivery"] for (e,) in c.execute(select(s.audit_event.c.entry).where(
            s.audit_event.c.action == "notify"))]
    assert sorted(notified) == sorted(d.id for d in rows)                           # one audit row per delivery
    assert audit.verify(engine, "la").ok
