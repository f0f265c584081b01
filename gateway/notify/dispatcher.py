"""The dispatcher: outbox -> notification_delivery -> POST to the subscriber, retried until acknowledged.

One pass (`run_once`, what `hep notify run --once` does):

1. activate: `requested` subscriptions become `active`; those past their `end` are turned `off`.
2. fan_out: each pending `passport.changed` outbox row becomes one delivery per live subscription
   of its tenant that was created before the event and whose criteria name a changed category.
   The outbox row is marked `dispatched` in the same transaction, so a row fans out once even with
   two dispatchers running (the delivery's unique idempotency key is the second guard).
3. deliver_due: per subscription (held with a lease, so one dispatcher at a time sends for it), its
   undelivered rows in outbox order. For each: decide the categories with the enforcement layer for
   the subscriber's Requester *now*; none permitted -> `withheld`, nothing is sent, nothing is
   mentioned. Otherwise POST; a 2xx marks it `delivered` and appends an audit row (action
   "notify") in the same transaction.

Failures. Each delivery keeps its own attempts and next_attempt_at (exponential backoff with
jitter, NotifyConfig). Two kinds:
 - the endpoint is unavailable (no connection, timeout, 5xx, 408, 425, 429): the delivery is
   "blocking": later deliveries of the same subscription wait behind it, so the partner is probed
   by one request per retry interval during an outage and, when it is back, receives everything in
   outbox order;
 - the endpoint refuses this one notification (other 4xx, a redirect) or the notification cannot
   be built (an exception): the delivery backs off alone and the others go on (a poison message
   never blocks the queue).
A delivery still failing when it is older than `max_age` is dead-lettered (`dead`; `hep notify
status` lists them, `hep notify requeue` sends them again).
"""
from __future__ import annotations

import logging
import random
import socket
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests
from sqlalchemy import and_, func, insert, or_, select, update

from ..auth import Requester
from ..auth.registry import get_client
from ..clock import utcnow
from ..enforce.decisions import decide_categories, permitted
from ..store import schema as s
from ..store.engine import write_tx
from .config import NotifyConfig
from .payload import body_for, iso, signature
from .subscriptions import cancel_pending, headers_dict, open_secrets

log = logging.getLogger("hep.notify")

TOPIC = "passport.changed"
LIVE = ("requested", "active", "error")
UNDELIVERED = ("pending", "failed")
TRANSIENT_HTTP = {408, 425, 429}
USER_AGENT = "hep-gateway-notify/1"


@dataclass
class RunStats:
    activated: int = 0
    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    withheld: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.activated or self.fanned_out or self.delivered or self.failed or self.dead or self.withheld)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "errors"} | {"errors": self.errors[:20]}


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def dispatcher_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:80]


# --- 1. activation --------------------------------------------------------------------------------

def activate(engine, now: datetime, tenant: str | None = None) -> int:
    c = s.subscription.c
    scope = [c.tenant_id == tenant] if tenant else []
    with write_tx(engine) as conn:
        ended = [r.id for r in conn.execute(select(c.id).where(and_(c.status.in_(LIVE), c.end_at.is_not(None),
                                                                     c.end_at <= now, *scope)))]
        for sid in ended:
            conn.execute(update(s.subscription).where(c.id == sid).values(status="off", updated_at=now))
            cancel_pending(conn, sid, "subscription ended")
        n = conn.execute(update(s.subscription).where(and_(c.status == "requested", *scope)).values(
            status="active", updated_at=now)).rowcount
    return n


# --- 2. fan-out -----------------------------------------------------------------------------------

def fan_out(engine, now: datetime, config: NotifyConfig | None = None, tenant: str | None = None) -> int:
    """Turn pending outbox rows into deliveries; returns how many deliveries were created."""
    config = config or NotifyConfig()
    o, c = s.outbox.c, s.subscription.c
    total = 0
    while True:
        with write_tx(engine) as conn:
            q = select(s.outbox).where(and_(o.status == "pending", o.topic == TOPIC))
            if tenant:
                q = q.where(o.tenant_id == tenant)
            rows = conn.execute(q.order_by(o.id).limit(config.fanout_batch)).all()
            if not rows:
                return total
            subs: dict[str, list] = {}
            for sub in conn.execute(select(c.id, c.tenant_id, c.categories, c.since_outbox_id)
                                    .where(c.status.in_(LIVE)).order_by(c.created_at, c.id)):
                subs.setdefault(sub.tenant_id, []).append(sub)
            new = []
            for row in rows:
                took = conn.execute(update(s.outbox).where(and_(o.id == row.id, o.status == "pending"))
                                    .values(status="dispatched")).rowcount
                if took != 1 or not row.youth_id:
                    continue
                changed = set((row.payload or {}).get("categories") or ())
                for sub in subs.get(row.tenant_id, ()):
                    if row.id <= sub.since_outbox_id:
                        continue          # the event happened before the subscription existed
                    cats = sorted(changed if sub.categories is None else changed & set(sub.categories))
                    if not cats:
                        continue
                    new.append({"tenant_id": row.tenant_id, "outbox_id": row.id, "subscription_id": sub.id,
                                "youth_id": row.youth_id, "categories": cats,
                                "idempotency_key": f"{row.idempotency_key}:{sub.id}", "status": "pending",
                                "attempts": 0, "next_attempt_at": now, "blocking": False, "created_at": now})
            for i in range(0, len(new), 1000):
                conn.execute(insert(s.notification_delivery), new[i:i + 1000])
            total += len(new)


# --- 3. delivery ----------------------------------------------------------------------------------

class _Sender:
    """Delivers the undelivered rows of one subscription (the caller holds its lease)."""

    def __init__(self, engine, sub, now, config, session, rng, base_url, stats):
        self.engine, self.sub, self.now, self.config = engine, sub, now, config
        self.session, self.rng, self.base_url, self.stats = session, rng, base_url, stats
        self.requester: Requester | None = None
        self.secrets: dict = {}

    def prepare(self) -> bool:
        sub = self.sub
        if sub.status not in LIVE:
            with write_tx(self.engine) as conn:
                self.stats.cancelled += cancel_pending(conn, sub.id, f"subscription is {sub.status}")
            return False
        client = get_client(self.engine, sub.client_id)
        if client is None or not client.active:
            with write_tx(self.engine) as conn:
                conn.execute(update(s.subscription).where(s.subscription.c.id == sub.id).values(
                    status="off", error="the subscribing client was revoked", updated_at=self.now))
                self.stats.cancelled += cancel_pending(conn, sub.id, "the subscribing client was revoked")
            return False
        snap = sub.requester or {}
        # the role is the registry's current one; purpose and acting user are those the client
        # asserted when it subscribed (a bound client's purpose cannot differ)
        self.requester = Requester(
            client_id=client.client_id, kind=client.kind, role=client.role,
            organization=client.organization or snap.get("organization"), user_id=snap.get("user_id"),
            user_role=snap.get("user_role"), purpose_of_use=client.purpose_of_use or snap.get("purpose_of_use") or "",
            purpose_system=snap.get("purpose_system") or "local", scopes=frozenset(snap.get("scopes") or ()),
            lea_ids=tuple(client.lea_ids), token_id=None)
        try:
            self.secrets = open_secrets(sub.id, sub.secrets, sub.key_id)
        except Exception as e:  # the key ring lost a key: say so on the subscription, keep the rows
            self._sub_error(f"cannot open the subscription's channel secrets: {type(e).__name__}")
            self.stats.errors.append(f"{sub.id}: {e}")
            return False
        return True

    def run(self) -> None:
        d = s.notification_delivery.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.notification_delivery).where(and_(
                d.subscription_id == self.sub.id, d.status.in_(UNDELIVERED)))
                .order_by(d.outbox_id, d.id).limit(self.config.per_subscription)).all()
        blocked = False      # an earlier delivery waits for the endpoint to come back: keep order
        for row in rows:
            if _utc(row.next_attempt_at) > self.now:
                blocked = blocked or row.blocking
                continue
            if blocked:
                if self._age(row) >= self.config.max_age:
                    self._finish_failure(row, row.attempts, row.last_status,
                                         row.last_error or "the endpoint was unavailable", False)
                continue
            if self.attempt(row) == "unavailable":
                blocked = True

    def _age(self, row) -> float:
        return (self.now - _utc(row.created_at)).total_seconds()

    def attempt(self, row) -> str:
        sub, key = self.sub, row.idempotency_key
        try:
            with self.engine.connect() as conn:
                disclosure = decide_categories(conn, sub.tenant_id, self.requester, row.youth_id,
                                               tuple(row.categories), as_of=self.now.date())
            cats = [c for c in row.categories if permitted(disclosure, c)]
            if not cats:
                self._set(row.id, status="withheld", blocking=False, last_error=None)
                self.stats.withheld += 1
                return "withheld"
            number = row.event_number or self._next_event_number(row.id)
            body = body_for(sub.payload, base_url=self.base_url, subscription_id=sub.id, status="active",
                            event_number=number, occurred_at=_utc(row.created_at), youth_id=row.youth_id,
                            categories=cats, idempotency_key=key)
            headers = {**headers_dict(self.secrets.get("headers") or []), "User-Agent": USER_AGENT,
                       "Idempotency-Key": key, "X-HEP-Event-Number": str(number),
                       "X-HEP-Subscription": sub.id, "X-HEP-Signature": signature(self.secrets["hmac"], key, body)}
            if body:
                headers["Content-Type"] = sub.payload
        except Exception as e:  # poison: this one cannot be built; it backs off alone
            log.exception("notification could not be built", extra={"batch_id": key})
            return self._failure(row, None, f"could not build the notification: {type(e).__name__}: {e}", False)
        try:
            resp = self.session.post(sub.endpoint, data=body, headers=headers, allow_redirects=False,
                                     timeout=(self.config.connect_timeout, self.config.read_timeout))
        except requests.RequestException as e:
            return self._failure(row, None, f"{type(e).__name__}: {e}", True)
        code = resp.status_code
        if 200 <= code < 300:
            self._delivered(row, number, cats, disclosure, code)
            return "delivered"
        transient = code >= 500 or code in TRANSIENT_HTTP
        text = (resp.text or "")[:300].replace("\n", " ")
        return self._failure(row, code, f"HTTP {code}: {text}".strip(), transient, _retry_after(resp))

    def _next_event_number(self, delivery_id) -> int:
        c = s.subscription.c
        with write_tx(self.engine) as conn:
            n = conn.execute(select(c.events_since_start).where(c.id == self.sub.id)).scalar() + 1
            conn.execute(update(s.subscription).where(c.id == self.sub.id).values(events_since_start=n))
            conn.execute(update(s.notification_delivery).where(s.notification_delivery.c.id == delivery_id)
                         .values(event_number=n))
        return n

    def _delivered(self, row, number, cats, disclosure, code) -> None:
        from ..audit import append
        d = s.notification_delivery.c
        who = self.requester
        with write_tx(self.engine) as conn:
            done = conn.execute(update(s.notification_delivery).where(and_(d.id == row.id, d.status.in_(UNDELIVERED)))
                                .values(status="delivered", delivered_at=self.now, attempts=row.attempts + 1,
                                        last_status=code, last_error=None, blocking=False)).rowcount
            if not done:
                return
            if self.sub.error:
                conn.execute(update(s.subscription).where(s.subscription.c.id == self.sub.id).values(
                    error=None, status="active", updated_at=self.now))
            entry = disclosure.audit_entry()
            entry.update(released=sorted(cats), subscription=self.sub.id, delivery=row.id, event_number=number,
                         idempotency_key=row.idempotency_key, endpoint=self.sub.endpoint, http_status=code,
                         attempt=row.attempts + 1, notified_at=iso(self.now), payload=self.sub.payload or "empty")
            append(conn, self.sub.tenant_id, actor_id=who.user_id or who.client_id, actor_role=who.user_role or who.role,
                   client_id=who.client_id, youth_id=row.youth_id, action="notify", purpose=who.purpose_of_use,
                   outcome="permit", entry=entry)
        self.stats.delivered += 1

    def _failure(self, row, code, error, unavailable, retry_after=None) -> str:
        self._finish_failure(row, row.attempts + 1, code, error, unavailable, retry_after)
        return "unavailable" if unavailable else "refused"

    def _finish_failure(self, row, attempts, code, error, unavailable, retry_after=None) -> None:
        error = (error or "")[:1000]
        if self._age(row) >= self.config.max_age:
            self._set(row.id, status="dead", attempts=attempts, last_status=code, last_error=error, blocking=False)
            self.stats.dead += 1
            self._sub_error(f"notification {row.id} dead-lettered after {attempts} attempt(s): {error}"[:1000])
            log.warning("notification dead-lettered", extra={"batch_id": row.idempotency_key})
            return
        delay = min(self.config.max_delay, max(self.config.backoff(attempts, self.rng), retry_after or 0))
        self._set(row.id, status="failed", attempts=attempts, last_status=code, last_error=error,
                  blocking=unavailable, next_attempt_at=self.now + timedelta(seconds=delay))
        self.stats.failed += 1

    def _set(self, delivery_id, **values) -> None:
        with write_tx(self.engine) as conn:
            conn.execute(update(s.notification_delivery).where(s.notification_delivery.c.id == delivery_id)
                         .values(**values))

    def _sub_error(self, message: str) -> None:
        with write_tx(self.engine) as conn:
            conn.execute(update(s.subscription).where(s.subscription.c.id == self.sub.id).values(
                error=message, updated_at=self.now))


def _retry_after(resp) -> float | None:
    v = resp.headers.get("Retry-After")
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def _lease(engine, sub_id: str, owner: str, now: datetime, config: NotifyConfig) -> bool:
    c = s.subscription.c
    with write_tx(engine) as conn:
        return conn.execute(update(s.subscription).where(and_(
            c.id == sub_id, or_(c.lease_until.is_(None), c.lease_until < now, c.lease_owner == owner)))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=config.lease))).rowcount == 1


def _release(engine, sub_id: str, owner: str) -> None:
    c = s.subscription.c
    with write_tx(engine) as conn:
        conn.execute(update(s.subscription).where(and_(c.id == sub_id, c.lease_owner == owner)).values(
            lease_owner=None, lease_until=None))


def deliver_due(engine, now: datetime, config: NotifyConfig | None = None, *, session=None, rng=None,
                base_url: str | None = None, tenant: str | None = None, owner: str | None = None,
                stats: RunStats | None = None) -> RunStats:
    config = config or NotifyConfig()
    stats = stats or RunStats()
    rng = rng or random.Random()
    owner = owner or dispatcher_name()
    base_url = base_url or _base_url()
    d = s.notification_delivery.c
    with engine.connect() as conn:
        q = select(d.subscription_id, func.min(d.outbox_id).label("first")).where(and_(
            d.status.in_(UNDELIVERED), d.next_attempt_at <= now)).group_by(d.subscription_id)
        if tenant:
            q = q.where(d.tenant_id == tenant)
        due = sorted(conn.execute(q).all(), key=lambda r: (r.first, r.subscription_id))
    own_session = session is None
    session = session or requests.Session()
    try:
        for r in due:
            if not _lease(engine, r.subscription_id, owner, now, config):
                continue            # another dispatcher is sending for it
            try:
                with engine.connect() as conn:
                    sub = conn.execute(select(s.subscription).where(s.subscription.c.id == r.subscription_id)).first()
                sender = _Sender(engine, sub, now, config, session, rng, base_url, stats)
                if sender.prepare():
                    sender.run()
            except Exception as e:  # one subscription's trouble never stops the others
                log.exception("delivery pass failed for a subscription", extra={"batch_id": r.subscription_id})
                stats.errors.append(f"{r.subscription_id}: {type(e).__name__}: {e}")
            finally:
                _release(engine, r.subscription_id, owner)
    finally:
        if own_session:
            session.close()
    return stats


def _base_url() -> str:
    from ..config import Settings
    return Settings().base_url


def run_once(engine, now: datetime | None = None, config: NotifyConfig | None = None, *, session=None, rng=None,
             base_url: str | None = None, tenant: str | None = None, owner: str | None = None) -> RunStats:
    """One full pass: activate, fan out, deliver what is due. `now` is injectable (tests, replays)."""
    now = _utc(now) or utcnow()
    config = config or NotifyConfig.from_env()
    stats = RunStats()
    stats.activated = activate(engine, now, tenant)
    stats.fanned_out = fan_out(engine, now, config, tenant)
    return deliver_due(engine, now, config, session=session, rng=rng, base_url=base_url, tenant=tenant,
                       owner=owner, stats=stats)


def run_forever(engine, stop: threading.Event | None = None, poll: float = 5.0, clock=utcnow, **kw) -> None:
    """The loop `hep notify run` runs (a worker process may run it in a thread): a pass, then a
    pause of `poll` seconds when the pass found nothing to do."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            stats = run_once(engine, clock(), **kw)
        except Exception:
            log.exception("notification pass failed")
            stats = None
        if stats is None or not stats.busy:
            stop.wait(poll)


# --- operators ------------------------------------------------------------------------------------

def status_counts(engine, tenant: str | None = None) -> dict[str, int]:
    d = s.notification_delivery.c
    q = select(d.status, func.count()).group_by(d.status)
    if tenant:
        q = q.where(d.tenant_id == tenant)
    with engine.connect() as conn:
        return {st: n for st, n in conn.execute(q)}


def dead_letters(engine, tenant: str | None = None, limit: int = 50) -> list[dict]:
    d, c = s.notification_delivery.c, s.subscription.c
    q = (select(d.id, d.subscription_id, c.client_id, c.endpoint, d.youth_id, d.attempts, d.last_status,
                d.last_error, d.created_at)
         .select_from(s.notification_delivery.join(s.subscription, c.id == d.subscription_id))
         .where(d.status == "dead").order_by(d.id).limit(limit))
    if tenant:
        q = q.where(d.tenant_id == tenant)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def requeue(engine, now: datetime, ids: list[int] | None = None, tenant: str | None = None) -> int:
    """Send dead-lettered deliveries again (all of them, or those named): their age starts anew."""
    d = s.notification_delivery.c
    cond = [d.status == "dead"]
    if ids:
        cond.append(d.id.in_(ids))
    if tenant:
        cond.append(d.tenant_id == tenant)
    with write_tx(engine) as conn:
        return conn.execute(update(s.notification_delivery).where(and_(*cond)).values(
            status="pending", next_attempt_at=now, created_at=now, blocking=False)).rowcount
