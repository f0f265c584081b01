"""Browser sessions for staff: sign-in, idle timeout, CSRF, role checks, audit.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure under https: app config).
It holds: `sid` (random, replaced at every sign-in so a planted cookie never becomes a signed-in
one), `user` (username), `iat` (sign-in time: sessions issued before the user's
`sessions_valid_after` are refused, so sign-out ends a copied cookie too), `seen` (last request,
for the idle timeout) and `csrf` (the token every POST form must echo).
"""
from __future__ import annotations

import functools
import hmac
import os
import secrets
import time
from datetime import datetime, timezone

from flask import abort, current_app, g, redirect, request, session, url_for

from ..auth import Requester
from ..store.engine import write_tx
from . import accounts

CLIENT_ID = "hep-web"
PURPOSE = "x-CW-CASEMGT"
IDLE_SECONDS = int(os.environ.get("HEP_WEB_IDLE_MINUTES", "20")) * 60
MAX_SESSION_SECONDS = 12 * 3600
POLICY_ROLE = {"social_worker": "county_social_worker", "supervisor": "county_social_worker"}


def engine():
    return current_app.extensions["hep.engine"]


def tenant() -> str:
    return current_app.extensions["hep.settings"].tenant


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
        session.setdefault("sid", secrets.token_urlsafe(24))
    return tok


def check_csrf() -> None:
    """Every state-changing request carries the session's token in the form (or X-CSRF-Token)."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    want = session.get("csrf") or ""
    if not want or not hmac.compare_digest(sent.encode(), want.encode()):
        abort(400, description="This form has expired or did not come from this site. Go back, reload the page and try again.")


def start_session(user: accounts.StaffUser) -> None:
    """Sign-in: drop everything the old session held, then issue a fresh id and CSRF token."""
    session.clear()
    session.permanent = False
    session["sid"] = secrets.token_urlsafe(24)
    session["user"] = user.username
    session["iat"] = time.time()
    session["seen"] = time.time()
    session["csrf"] = secrets.token_urlsafe(32)


def load_user() -> accounts.StaffUser | None:
    """The signed-in user of this request, or None (expired, signed out elsewhere, deactivated)."""
    if "user" in g:
        return g.user
    g.user = None
    name = session.get("user")
    if not name:
        return None
    now = time.time()
    iat, seen = float(session.get("iat") or 0), float(session.get("seen") or 0)
    if now - seen > IDLE_SECONDS or now - iat > MAX_SESSION_SECONDS:
        session.clear()
        g.session_expired = True
        return None
    user = accounts.get_user(engine(), tenant(), name)
    if user is None or (user.sessions_valid_after is not None
                        and datetime.fromtimestamp(iat, timezone.utc) < user.sessions_valid_after):
        session.clear()
        return None
    session["seen"] = now
    g.user = user
    return user


def login_required(*roles: str):
    """View decorator: a signed-in user (any role, or one of `roles`); 403 page otherwise."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*a, **kw):
            user = load_user()
            if user is None:
                return redirect(url_for("web.signin", next=request.full_path if request.method == "GET" else None,
                                        expired="1" if g.get("session_expired") else None))
            if roles and user.role not in roles:
                audit("page", None, "deny", {"page": request.endpoint, "reason": f"role {user.role} may not use this page"})
                abort(403, description=f"This page is for {', '.join(r.replace('_', ' ') for r in roles)} accounts.")
            return view(*a, **kw)
        return inner
    return wrap


def requester(user: accounts.StaffUser) -> Requester:
    """The user as the policy sees them: a county social worker acting for their CWS person id.
    Other roles (analyst, operator) have no relationship with any youth, so the policy denies them."""
    return Requester(client_id=CLIENT_ID, kind="staff", role=POLICY_ROLE.get(user.role, "county_social_worker"),
                     organization="DCFS", user_id=user.cws_person_id if user.role in POLICY_ROLE else None,
                     user_role=user.role, purpose_of_use=PURPOSE, purpose_system="local", scopes=frozenset())


def audit(action: str, youth_id: str | None, outcome: str, entry: dict, *, user=None, conn=None) -> None:
    """Append to the tamper-evident chain: actor is the staff username (their CWS id in the entry)."""
    from ..audit import append
    user = user or g.get("user")
    entry = {**entry, "request": {"method": request.method, "path": request.path[:300],
                                  "request_id": g.get("request_id")}}
    if user is not None:
        entry["staff"] = {"username": user.username, "role": user.role, "cws_person_id": user.cws_person_id}
    kw = dict(actor_id=(user.username if user else "anonymous"), actor_role=(user.role if user else "anonymous"),
              client_id=CLIENT_ID, youth_id=youth_id, action=action, purpose=PURPOSE, outcome=outcome, entry=entry)
    if conn is not None:
        append(conn, tenant(), **kw)
        return
    with write_tx(engine()) as c:
        append(c, tenant(), **kw)
