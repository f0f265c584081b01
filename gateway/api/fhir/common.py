"""What every youth-scoped FHIR interaction does: find the youth, decide per category, audit.

Views stay thin: they call `disclose()` to get the decisions (relationship checked against the
store), load only permitted data, and `audit()` what left (or that nothing did) in the same
request. Denials and not-found are indistinguishable for resources (404), so a search or a read
never reveals that a denied resource exists.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, g, request
from sqlalchemy import and_, select

from ...auth import current_requester
from ...clock import today
from ...enforce import decide_categories
from ...enforce.decisions import ALL_CATEGORIES, Disclosure
from ...store import schema as s
from .. import engine, settings
from ..errors import operation_outcome

PAGE_DEFAULT, PAGE_MAX = 50, 500
CHECKPOINT_EVERY, CHECKPOINT_MAX_AGE = 1000, timedelta(minutes=15)
_since_check = 0


def tenant() -> str:
    return settings().tenant


def as_of() -> date:
    return today()


def youth_exists(conn, youth_id: str) -> bool:
    return conn.execute(select(s.youth.c.id).where(and_(s.youth.c.tenant_id == tenant(),
                                                         s.youth.c.id == youth_id))).first() is not None


def disclose(conn, youth_id: str, categories=ALL_CATEGORIES, facts=None) -> Disclosure:
    return decide_categories(conn, tenant(), current_requester(), youth_id, categories, as_of=as_of(), facts=facts)


def audit(action: str, youth_id: str | None, outcome: str, entry: dict) -> None:
    """Append the decision record to the tamper-evident chain; returns once it is committed
    (group commit with other requests of this process: audit/group.py)."""
    from ...audit import maybe_checkpoint
    from ...audit.group import appender
    who = current_requester()
    entry = {**entry, "request": {"method": request.method, "path": request.path,
                                  "query": request.query_string.decode()[:500], "request_id": g.get("request_id")}}
    appender(engine()).append(tenant(), actor_id=who.user_id or who.client_id, actor_role=who.user_role or who.role,
                              client_id=who.client_id, youth_id=youth_id, action=action, purpose=who.purpose_of_use,
                              outcome=outcome, entry=entry)
    # sign the chain head every 1,000 entries or 15 minutes, so a rewrite of history is detectable;
    # each process looks at most every 100 audits (the check itself costs three queries)
    global _since_check
    _since_check += 1
    if _since_check >= 100 or _since_check == 1:
        _since_check = 1
        maybe_checkpoint(engine(), tenant(), every=CHECKPOINT_EVERY, max_age=CHECKPOINT_MAX_AGE)


def deny_all(action: str, youth_id: str, disclosure: Disclosure):
    """403 when the requester may see nothing at all about this youth: audited, with the reason."""
    first = next(iter(disclosure.decisions.values()), None)
    reason = first["reason"] if first else "no decision"
    audit(action, youth_id, "deny", disclosure.audit_entry())
    return operation_outcome(403, reason, "forbidden")


def json_body():
    """The request's JSON, refused with 413 past the JSON size limit (uploads have their own, larger one)."""
    limit = settings().max_json_bytes
    if request.content_length is not None and request.content_length > limit:
        abort(413, description=f"the body is over the {limit:,}-byte limit for a FHIR resource")
    data = request.get_data(cache=True)
    if len(data) > limit:
        abort(413, description=f"the body is over the {limit:,}-byte limit for a FHIR resource")
    return request.get_json(silent=True)


def page_params() -> tuple[int, int]:
    try:
        count = int(request.args.get("_count", PAGE_DEFAULT))
        offset = int(request.args.get("_offset", 0))
    except ValueError:
        abort(400, description="_count and _offset must be integers")
    if count < 0 or offset < 0:
        abort(400, description="_count and _offset must not be negative")
    return min(count, PAGE_MAX), offset


def searchset(resource_type: str, entries: list[dict], total: int, count: int, offset: int) -> dict:
    base = settings().base_url.rstrip("/") + "/fhir"
    args = {k: v for k, v in request.args.items() if k not in ("_offset",)}
    def link(rel, off):
        q = "&".join(f"{k}={v}" for k, v in {**args, "_offset": off}.items())
        return {"relation": rel, "url": f"{base}/{resource_type}?{q}"}
    links = [link("self", offset)]
    if offset + count < total:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links,
            "entry": [{"fullUrl": f"{base}/{e['resourceType']}/{e['id']}", "resource": e, "search": {"mode": "match"}}
                      for e in entries]}
