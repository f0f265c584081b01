"""Sign-in: session id rotated at sign-in, sign-out ends copied cookies, CSRF on every form,
lockout after 5 failures for 15 minutes, idle timeout, cookie flags (SQLite and PostgreSQL)."""
from __future__ import annotations

import time
from datetime import timedelta

from gateway.store import schema as s
from tests.test_web_support import PASSWORD, Staff, audit_rows, count, make_app


def test_signin_rotates_the_session_and_signout_ends_copied_cookies(engine, monkeypatch):
    app = make_app(engine, monkeypatch)
    w = Staff(app, engine, "worker", "social_worker", "SW00001")
    w.token("/signin")
    before = w.session()
    assert before.get("sid") and "user" not in before
    r = w.signin()
    assert r.status_code == 302 and r.headers["Location"].endswith("/caseload")
    after = w.session()
    assert after["user"] == "worker"
    assert after["sid"] != before["sid"] and after["csrf"] != before["csrf"]   # fixation: nothing carried over
    cookie = w.http.get_cookie("session").value
    assert w.get("/caseload").status_code == 200

    time.sleep(0.01)
    assert w.post("/signout").status_code == 302
    assert w.get("/caseload").status_code == 302
    thief = app.test_client()                      # a copy of the signed-in cookie taken before sign-out
    thief.set_cookie("session", cookie)
    r = thief.get("/caseload")
    assert r.status_code == 302 and "/signin" in r.headers["Location"]
    assert [e.outcome for e in audit_rows(engine, "signin")] == ["permit"]
    assert len(audit_rows(engine, "signout")) == 1


def test_every_post_needs_the_csrf_token(engine, monkeypatch):
    app = make_app(engine, monkeypatch)
    w = Staff(app, engine, "worker", "social_worker", "SW00001")
    w.token("/signin")
    r = w.http.post("/signin", data={"username": "worker", "password": PASSWORD})          # login CSRF
    assert r.status_code == 400 and "user" not in w.session()
    assert w.signin().status_code == 302
    yid = next(iter(_someone_elses_youth(engine)))
    for path, data in [("/caseload/add", {"youth_id": yid}), ("/caseload/remove", {"youth_id": yid}),
                       ("/signout", {}), ("/approvals/1", {"decision": "approve"}), ("/review/1", {"decision": "link"})]:
        r = w.post(path, data, csrf=False)
        assert r.status_code == 400, path
        assert "did not come from this site" in r.get_data(as_text=True)
        r = w.http.post(path, data={**data, "csrf_token": "forged-" + w.session()["csrf"][7:]})
        assert r.status_code == 400, path
    assert count(engine, s.caseload_request) == 0
    assert w.get("/caseload").status_code == 200          # still signed in: the refused sign-out did nothing


def _someone_elses_youth(engine):
    from tests.test_web_support import caseloads
    loads = caseloads(engine)
    return loads.get("SW00000", set()) or {"x"}


def test_lockout_after_five_failures_for_fifteen_minutes(engine, monkeypatch):
    from gateway.clock import utcnow
    from gateway.web import accounts
    app = make_app(engine, monkeypatch)
    w = Staff(app, engine, "worker", "social_worker", "SW00001")
    t0 = utcnow()
    monkeypatch.setattr(accounts, "utcnow", lambda: t0)
    for _ in range(4):
        assert w.signin("wrong password!").status_code == 401
    assert w.signin().status_code == 302              # 4 failures then success: counter resets
    w.post("/signout")
    for _ in range(5):
        assert w.signin("wrong password!").status_code == 401
    r = w.signin()                                     # the right password, but locked
    assert r.status_code == 401 and "user" not in w.session()
    monkeypatch.setattr(accounts, "utcnow", lambda: t0 + timedelta(minutes=14, seconds=59))
    assert w.signin().status_code == 401
    monkeypatch.setattr(accounts, "utcnow", lambda: t0 + timedelta(minutes=15, seconds=1))
    assert w.signin().status_code == 302
    outcomes = [e.outcome for e in audit_rows(engine, "signin")]
    assert outcomes.count("deny") == 11 and outcomes.count("permit") == 2
    assert Staff(app, engine, "nobody", "analyst", create=False).signin().status_code == 401


def test_idle_session_expires_and_cookie_flags(engine, monkeypatch):
    app = make_app(engine, monkeypatch)
    w = Staff(app, engine, "worker", "social_worker", "SW00001")
    r = w.signin()
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    with w.http.session_transaction() as sess:
        sess["seen"] = time.time() - 21 * 60
    r = w.get("/caseload")
    assert r.status_code == 302 and "expired=1" in r.headers["Location"]
    assert "user" not in w.session()
    r = w.get("/caseload")
    assert r.status_code == 302

    https = make_app(engine, monkeypatch, base_url="https://hep.example")
    s2 = Staff(https, engine, "worker", "social_worker", create=False)
    r = s2.http.get("/signin", base_url="https://localhost")
    assert "Secure" in r.headers["Set-Cookie"]
    page = s2.get("/signin")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_roles_see_only_their_pages(engine, monkeypatch):
    app = make_app(engine, monkeypatch)
    analyst = Staff(app, engine, "ana", "analyst")
    assert analyst.signin().headers["Location"].endswith("/indicators")
    for path in ("/caseload", "/approvals", "/review", "/caseload/add"):
        assert analyst.get(path).status_code == 403, path
    op = Staff(app, engine, "op", "operator")
    assert op.signin().headers["Location"].endswith(("/review", "/data-quality"))
    assert op.get("/caseload").status_code == 403
    assert app.test_client().get("/youth/anything").status_code == 302   # signed out: to sign-in
