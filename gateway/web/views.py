"""Routes of the staff pages. Every youth-scoped page and form re-checks, on the server, that the
youth is on the signed-in worker's caseload (and asks the policy per category); nothing is taken
from the URL or a form field on trust. Denials render a 403 page with the reason and are audited."""
from __future__ import annotations

import re
from datetime import date

from flask import abort, current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from sqlalchemy import and_, select, update

from ..audit import accounting
from ..clock import today, utcnow
from ..enforce import decide_categories
from ..store import schema as s
from ..store.engine import write_tx
from . import accounts, bp, caseload, passport_view
from .nav import home_endpoint, items_for
from .security import (audit, check_csrf, csrf_token, engine, load_user, login_required, requester,
                       start_session, tenant)

YOUTH_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


@bp.before_request
def _csrf():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf()


@bp.after_request
def _headers(resp):
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Frame-Options", "DENY")
    return resp


@bp.app_context_processor
def _globals():
    def nav():
        user = g.get("user")
        return [(n, n.endpoint == request.endpoint) for n in items_for(user.role if user else None)]
    return {"csrf_token": csrf_token, "nav_items": nav, "current_user": lambda: g.get("user")}


def _error(status: int, title: str, message: str, **extra):
    return render_template("web/error.html", status=status, title=title, message=message, **extra), status


ERROR_TITLES = {400: "Request refused", 403: "Not allowed", 404: "Not found"}


def register_error_pages(blueprint) -> None:
    """Staff pages answer errors with a page (the reason included), never a bare HTTP error."""
    for status, title in ERROR_TITLES.items():
        blueprint.register_error_handler(status, lambda e, s=status, t=title: _error(s, t, e.description))


register_error_pages(bp)


# --- sign-in ----------------------------------------------------------------------------------------

@bp.get("/")
def home():
    user = load_user()
    return redirect(url_for(home_endpoint(user.role)) if user else url_for("web.signin"))


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    error = None
    if request.method == "POST":
        limiter, addr = _signin_limiter(), request.remote_addr or "?"
        wait = limiter.wait(addr)
        if wait:
            # one address trying passwords across many accounts: the per-account lockout alone
            # would never trigger (one or two guesses each). Only failures count, so an office of
            # workers behind one county address signs in freely.
            audit("signin", None, "deny", {"result": "throttled"}, user=None)
            resp = make_response(render_template("web/signin.html", error="Too many sign-in attempts from this "
                                                 "network. Wait a minute and try again.", expired=False), 429)
            resp.headers["Retry-After"] = str(int(wait) + 1)
            return resp
        username = (request.form.get("username") or "").strip().lower()
        user, status = accounts.authenticate(engine(), tenant(), username, request.form.get("password") or "")
        if user is not None:
            start_session(user)
            g.user = user
            audit("signin", None, "permit", {"username": user.username})
            return redirect(_safe_next(request.args.get("next")) or url_for(home_endpoint(user.role)))
        limiter.take(addr)
        audit("signin", None, "deny", {"username": username[:80], "result": status}, user=None)
        error = ("Sign-in failed: check your user name and password. After 5 failed attempts the account "
                 "is locked for 15 minutes.")
    elif load_user() is not None:
        return redirect(url_for("web.home"))
    expired = request.args.get("expired") == "1"
    return render_template("web/signin.html", error=error, expired=expired), (401 if error else 200)


def _signin_limiter():
    """Per-address bucket of FAILED attempts: 30, then one every 2 s (per gunicorn worker)."""
    from ..auth.ratelimit import TokenBuckets
    ext = current_app.extensions
    if "hep.web.signin_limiter" not in ext:
        ext["hep.web.signin_limiter"] = TokenBuckets(SIGNIN_BURST, SIGNIN_PER_S)
    return ext["hep.web.signin_limiter"]


SIGNIN_BURST, SIGNIN_PER_S = 30, 1 / 2


@bp.post("/signout")
def signout():
    user = load_user()
    if user is not None:
        accounts.end_sessions(engine(), tenant(), user.username)
        audit("signout", None, "permit", {})
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("web.signin"))


@bp.get("/account")
@login_required()
def account():
    return render_template("web/account.html", user=g.user)


# --- caseload ---------------------------------------------------------------------------------------

@bp.get("/caseload")
@login_required("social_worker", "supervisor")
def caseload_page():
    user, day = g.user, today()
    who = requester(user)
    with engine().connect() as conn:
        ids = caseload.caseload_ids(conn, tenant(), user.cws_person_id, day)
        people = caseload.youth_rows(conn, tenant(), ids)
        rows = []
        for yid, y in people.items():
            flags, withheld = caseload.flags_for(conn, tenant(), who, yid, day)
            rows.append({"id": yid, "name": f"{y['family']}, {y['given']}", "birth_date": y["birth_date"],
                         "source": ids[yid], "flags": flags, "withheld": withheld})
        pending = caseload.my_requests(conn, tenant(), user.username)
    rows.sort(key=lambda r: r["name"].lower())
    if rows:
        from ..audit import append_many
        with write_tx(engine()) as conn:
            append_many(conn, tenant(), [{"youth_id": r["id"], "entry": {
                "page": "caseload", "flags": [f["key"] for f in r["flags"]], "withheld": r["withheld"],
                "staff": {"username": user.username, "cws_person_id": user.cws_person_id}}} for r in rows],
                actor_id=user.username, actor_role=user.role, client_id="hep-web", action="caseload-flags",
                purpose="x-CW-CASEMGT", outcome="permit")
    return render_template("web/caseload.html", youth=rows, pending=pending, today=day)


@bp.route("/caseload/add", methods=["GET"])
@login_required("social_worker", "supervisor")
def add_page():
    q = {k: (request.args.get(k) or "").strip()[:100] for k in ("given", "family", "birth_date", "ssid")}
    results, searched, error = [], any(q.values()), None
    if searched:
        birth = None
        if q["birth_date"]:
            try:
                birth = date.fromisoformat(q["birth_date"])
            except ValueError:
                error = "Birth date must be a date (YYYY-MM-DD)."
        if not error and not q["ssid"] and not (q["family"] and birth):
            error = "Enter the last name and birth date, or the 10-digit SSID."
        if not error:
            day = today()
            with engine().connect() as conn:
                found = caseload.search(conn, tenant(), given=q["given"], family=q["family"], birth_date=birth,
                                        ssid=q["ssid"])
                mine = caseload.caseload_ids(conn, tenant(), g.user.cws_person_id, day)
                for y in found:
                    y["on_caseload"] = y["id"] in mine
                    y["pending"] = caseload.pending_request(conn, tenant(), y["id"], g.user.username) is not None
                    results.append(y)
            audit("caseload-search", None, "permit", {"query": {k: bool(v) for k, v in q.items()},
                                                     "results": [y["id"] for y in results]})
    return render_template("web/add.html", q=q, results=results, searched=searched, error=error)


def _youth_exists(conn, youth_id: str) -> bool:
    return bool(YOUTH_ID.match(youth_id or "")) and conn.execute(select(s.youth.c.id).where(and_(
        s.youth.c.tenant_id == tenant(), s.youth.c.id == youth_id))).first() is not None


@bp.post("/caseload/add")
@login_required("social_worker", "supervisor")
def add_youth():
    user, day = g.user, today()
    youth_id = (request.form.get("youth_id") or "").strip()
    reason = (request.form.get("reason") or "").strip()[:1000]
    if not user.cws_person_id:
        abort(403, description="Your account is not linked to a CWS person id, so it has no caseload.")
    with engine().connect() as conn:
        exists = _youth_exists(conn, youth_id)
    if not exists:
        audit("caseload-add", None, "deny", {"requested_youth_id": youth_id[:64], "reason": "no such youth"})
        abort(404, description="No youth in care with that id.")
    with write_tx(engine()) as conn:
        if caseload.on_caseload(conn, tenant(), user.cws_person_id, youth_id, day):
            flash("This youth is already on your caseload.")
            return redirect(url_for("web.caseload_page"))
        cws = caseload.cws_assignment(conn, tenant(), user.cws_person_id, youth_id, day)
        if cws is not None:
            aid = caseload.add_assignment(conn, tenant(), youth_id, user, f"cws:{cws.id}",
                                          f"added by {user.username} at {utcnow():%Y-%m-%d %H:%M}Z: CWS assignment {cws.id}",
                                          day)
            audit("caseload-add", youth_id, "permit", {"assignment": aid, "basis": f"CWS assignment {cws.id}"}, conn=conn)
            flash("Added: the CWS assignment confirms this youth is yours.")
            return redirect(url_for("web.caseload_page"))
        if caseload.pending_request(conn, tenant(), youth_id, user.username):
            flash("You already asked for this youth; a supervisor has not decided yet.")
            return redirect(url_for("web.caseload_page"))
        rid = caseload.create_request(conn, tenant(), youth_id, user, reason)
        audit("caseload-request", youth_id, "permit", {"request": rid, "status": "pending"}, conn=conn)
    flash("There is no CWS assignment for you and this youth, so a supervisor must approve. Request sent.")
    return redirect(url_for("web.caseload_page"))


@bp.post("/caseload/remove")
@login_required("social_worker", "supervisor")
def remove_youth():
    user, day = g.user, today()
    youth_id = (request.form.get("youth_id") or "").strip()
    with write_tx(engine()) as conn:
        row = caseload.gateway_assignment(conn, tenant(), youth_id, user.cws_person_id, day) \
            if user.cws_person_id and YOUTH_ID.match(youth_id) else None
        if row is not None:
            caseload.end_assignment(conn, row, user.username, day)
            audit("caseload-remove", youth_id, "permit", {"assignment": row.id}, conn=conn)
        else:
            exists = _youth_exists(conn, youth_id)
    if row is None:
        audit("caseload-remove", youth_id if exists else None, "deny",
              {"requested_youth_id": youth_id[:64], "reason": "not on your gateway-added list"})
        abort(403, description="Only youth you added through the gateway can be removed here; "
                               "CWS assignments change in CWS.")
    flash("Removed from your caseload.")
    return redirect(url_for("web.caseload_page"))


# --- supervisor approvals ---------------------------------------------------------------------------

@bp.get("/approvals")
@login_required("supervisor")
def approvals():
    with engine().connect() as conn:
        rows = caseload.open_requests(conn, tenant())
    return render_template("web/approvals.html", requests=rows)


@bp.post("/approvals/<int:request_id>")
@login_required("supervisor")
def decide_request(request_id: int):
    sup, day = g.user, today()
    decision = request.form.get("decision")
    if decision not in ("approve", "decline"):
        abort(400, description="decision must be approve or decline")
    R = s.caseload_request.c
    with engine().connect() as conn:
        req = conn.execute(select(s.caseload_request).where(and_(R.tenant_id == tenant(), R.id == request_id))).first()
    if req is None or req.status != "pending":
        abort(404, description="No pending request with that number.")
    if req.requested_by == sup.username:
        audit("caseload-approve", req.youth_id, "deny", {"request": request_id, "reason": "own request"})
        abort(403, description="You cannot approve your own request; another supervisor must.")
    now = utcnow()
    values = {"status": "approved" if decision == "approve" else "declined", "decided_by": sup.username,
              "decided_at": now}
    with write_tx(engine()) as conn:
        # decided once: the update only matches a request that is still pending
        n = conn.execute(update(s.caseload_request).where(and_(R.id == request_id, R.status == "pending"))
                         .values(**values)).rowcount
        if n == 1 and decision == "approve":
            worker = accounts.get_user(conn, tenant(), req.requested_by)
            if worker is not None and worker.cws_person_id == req.person_id:
                aid = caseload.add_assignment(
                    conn, tenant(), req.youth_id, worker, sup.username,
                    f"requested by {req.requested_by} at {req.created_at:%Y-%m-%d %H:%M}Z "
                    f"({req.reason or 'no reason given'}); approved by {sup.username} at {now:%Y-%m-%d %H:%M}Z", day)
                conn.execute(update(s.caseload_request).where(R.id == request_id).values(assignment_id=aid))
                values["assignment_id"] = aid
            else:
                conn.execute(update(s.caseload_request).where(R.id == request_id).values(
                    status="cancelled", decided_by=sup.username, decided_at=now))
                values["status"] = "cancelled (the requesting account changed)"
        if n == 1:
            audit("caseload-approve" if decision == "approve" else "caseload-decline", req.youth_id, "permit",
                  {"request": request_id, "worker": req.requested_by, "person_id": req.person_id,
                   "status": values["status"], "assignment": values.get("assignment_id")}, conn=conn)
    if n != 1:
        abort(404, description="No pending request with that number.")
    flash(f"Request {request_id} {values['status']}.")
    return redirect(url_for("web.approvals"))


# --- the passport -----------------------------------------------------------------------------------

@bp.get("/youth/<youth_id>")
@login_required()
def passport(youth_id: str):
    user, day = g.user, today()
    who = requester(user)
    with engine().connect() as conn:
        exists = _youth_exists(conn, youth_id)
        d = decide_categories(conn, tenant(), who, youth_id, as_of=day) if exists else None
        mine = exists and caseload.on_caseload(conn, tenant(), user.cws_person_id, youth_id, day)
        if not exists or not mine or not d.permitted():
            first = next(iter(d.decisions.values()), None) if d else None
            reason = (first or {}).get("reason") or "This youth is not on your caseload."
            entry = d.audit_entry() if d else {"requested_youth_id": youth_id[:64]}
            audit("passport-view", youth_id if exists else None, "deny", {**entry, "reason": reason})
            rules = (first or {}).get("rules") or []
            return render_template("web/forbidden.html", reason=reason, rules=rules,
                                   on_caseload=bool(mine)), 403
        view = passport_view.build(conn, tenant(), youth_id, d.decisions, day)
        rows, total = accounting(conn, tenant(), youth_id, count=15)
        names = {}
        staff = {r.actor_id for r in rows if r.client_id == "hep-web"}
        if staff:
            u = s.staff_user.c
            names = dict(conn.execute(select(u.username, u.display_name).where(and_(
                u.tenant_id == tenant(), u.username.in_(staff)))).all())
    viewers = [{"when": r.recorded_at, "who": names.get(r.actor_id, r.actor_id), "you": r.actor_id == user.username,
                "role": r.actor_role.replace("_", " "), "action": r.action, "outcome": r.outcome,
                "via": "HEP web" if r.client_id == "hep-web" else (r.client_id or "")} for r in rows]
    audit("passport-view", youth_id, "permit", {**d.audit_entry(), "page": "passport"})
    return render_template("web/passport.html", youth_id=youth_id, view=view, viewers=viewers,
                           viewers_total=total, today=day)


# --- identity review (operators) --------------------------------------------------------------------

@bp.get("/review")
@login_required("operator")
def review():
    from ..identity.review_view import review_rows
    return render_template("web/review.html", reviews=review_rows(engine(), tenant(), limit=50))


@bp.post("/review/<int:review_id>")
@login_required("operator")
def review_decide(review_id: int):
    from ..identity.review_view import review_rows
    from ..ingest.review import decide
    decision = request.form.get("decision")
    if decision not in ("link", "reject"):
        abort(400, description="decision must be link or reject")
    rows = review_rows(engine(), tenant(), review_id=review_id)
    if not rows:
        abort(404, description="No identity review with that number.")
    try:
        result = decide(engine(), tenant(), review_id, decision, g.user.username)
    except ValueError as e:
        flash(str(e))
        return redirect(url_for("web.review"))
    audit("identity-review", rows[0]["candidate"]["youth_id"], "permit", {"review": review_id, **result})
    flash(f"Review {review_id}: {'linked' if decision == 'link' else 'rejected'} "
          f"({result['records_stored']} records stored, {result['records_dropped']} dropped).")
    return redirect(url_for("web.review"))
