"""Hostile request input: SQL injection in every search/query parameter, path traversal in export
URLs, oversized bodies, open redirects, and throttling of the web sign-in.

Already tested elsewhere and not repeated: upload file names (tests/test_uploads.py::
test_client_file_names_cannot_escape_the_upload_folder), oversized uploads (tests/test_uploads.py::
test_oversized_upload_is_refused_and_nothing_kept), token endpoint rate limits (tests/test_auth_token.py::
test_rate_limit_per_address_and_per_client), web lockout (tests/test_web_auth.py::
test_lockout_after_five_failures_for_fifteen_minutes), CSRF and session fixation (tests/test_web_auth.py).
"""
from __future__ import annotations

from urllib.parse import quote

import orjson
import pytest

from gateway.store import schema as s
from tests.test_security_support import SQL_ERROR_MARKERS, secure_env, world  # noqa: F401

INJECTIONS = ["' OR '1'='1", "' OR 1=1--", "\" OR \"\"=\"", "1; DROP TABLE youth;--", "%' OR 1=1 --",
              "' UNION SELECT id, client_id FROM youth--", "') OR ('a'='a", "\\'; SELECT pg_sleep(5);--", "%", "_",
              "*", "\x00", "' AND 1=(SELECT COUNT(*) FROM resource)--"]


def _clean(resp, what, sent: str = ""):
    assert resp.status_code < 500, f"{what}: {resp.status_code}"
    body = resp.get_data(as_text=True)
    leaked = [m for m in SQL_ERROR_MARKERS if m in body and m not in sent]
    assert not leaked, f"{what}: SQL details in the response: {leaked}"
    return resp


def _total(resp) -> int:
    if resp.status_code != 200:
        return 0
    body = orjson.loads(resp.get_data())
    return body.get("total", len(body.get("entry") or [])) if isinstance(body, dict) else len(body)


FHIR_SEARCHES = [
    ("Patient", ["identifier", "name", "family", "given", "birthdate", "_count", "_offset"], ""),
    ("Immunization", ["patient", "category", "date", "_include", "_revinclude", "_count"], "patient={yid}"),
    ("Condition", ["patient", "subject", "category", "date"], "patient={yid}"),
    ("CareTeam", ["patient"], ""), ("RelatedPerson", ["patient"], ""), ("Consent", ["patient"], ""),
    ("AuditEvent", ["patient", "date"], "patient={yid}"), ("Group", ["name"], ""),
    ("Subscription", ["status"], ""),
]


def test_sql_injection_in_every_fhir_search_parameter(secure_env):
    w = secure_env
    lawyer = w.lawyer()
    before = w.count(s.youth), w.count(s.resource)
    baseline = _total(lawyer.get(f"/fhir/Patient?family={quote(w.family)}&birthdate={w.birth_date}"))
    assert baseline >= 1
    assert lawyer.get(f"/fhir/Patient?family={quote(w.family)}").status_code == 400   # a name needs a birth date
    for rtype, params, base in FHIR_SEARCHES:
        base = base.format(yid=w.yid)
        for param in params:
            for evil in INJECTIONS:
                q = "&".join(x for x in (base if param not in base else "", f"{param}={quote(evil)}") if x)
                r = _clean(lawyer.get(f"/fhir/{rtype}?{q}"), f"{rtype}?{param}={evil!r}", evil)
                if rtype == "Patient":
                    assert _total(r) == 0, f"Patient?{param}={evil!r} matched {_total(r)} youth"
    # the bulk kick-off parameters
    for param in ("_type", "_since", "_outputFormat"):
        for evil in INJECTIONS[:6]:
            r = lawyer.http.get(f"/fhir/$export?{param}={quote(evil)}",
                                headers={"Authorization": f"Bearer {lawyer.token}", "Prefer": "respond-async"})
            assert _clean(r, f"$export?{param}", evil).status_code == 400
    assert (w.count(s.youth), w.count(s.resource)) == before


def test_accounting_with_a_long_patient_id_is_a_clean_refusal(secure_env):
    r = secure_env.lawyer().get("/fhir/AuditEvent?patient=" + "x" * 37)
    assert r.status_code in (400, 403, 404)


def test_sql_injection_in_ed_fi_query_parameters_and_ids(secure_env):
    w = secure_env
    a = w.vendor(w.lea_a)
    http = w.app.test_client()
    api = "/data/v3/ed-fi"
    total = int(http.get(f"{api}/studentSchoolAssociations?totalCount=true", headers=a).headers["Total-Count"])
    assert total > 0
    for evil in INJECTIONS:
        for q in (f"studentUniqueId={quote(evil)}", f"schoolId={quote(evil)}", f"entryDate={quote(evil)}",
                  f"id={quote(evil)}", f"offset={quote(evil)}", f"limit={quote(evil)}", f"{quote(evil)}=1"):
            r = _clean(http.get(f"{api}/studentSchoolAssociations?{q}&totalCount=true", headers=a), q, evil)
            if r.status_code == 200:
                assert int(r.headers.get("Total-Count", "0")) in (0, total) and len(r.get_json()) <= total
                if not q.startswith(("offset", "limit")):
                    assert r.get_json() == [], f"{q} matched rows"
        _clean(http.get(f"{api}/studentSchoolAssociations/{quote(evil, safe='')}", headers=a), "read by id", evil)
        _clean(http.get(f"{api}/{quote(evil, safe='')}", headers=a), "collection name", evil)


def test_sql_injection_in_web_search_and_sign_in(secure_env):
    from tests.test_web_support import Staff
    w = secure_env
    staff = Staff(w.app, w.engine, "injector", "social_worker", "SW00001")
    for evil in INJECTIONS:
        r = _clean(staff.http.post("/signin", data={"username": evil, "password": evil,
                                                    "csrf_token": staff.token("/signin")}), "signin", evil)
        assert r.status_code in (400, 401)
    assert staff.signin().status_code == 302
    for evil in INJECTIONS:
        for field in ("family", "given", "ssid", "birth_date"):
            r = _clean(staff.get(f"/caseload/add?{field}={quote(evil)}&birth_date=2012-01-01"), f"add?{field}", evil)
            assert w.yid not in r.get_data(as_text=True)


TRAVERSALS = ["../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
              "..%252F..%252Fetc%252Fpasswd", "....//....//etc/passwd", "..\\..\\etc\\passwd", "/etc/passwd",
              "manifest.json", "../hep.sqlite3", "..", ".", "%c0%ae%c0%ae%2fetc%2fpasswd"]


@pytest.mark.parametrize("param", ["family", "given", "name"])
def test_like_wildcards_in_patient_name_search_match_literally(secure_env, param):
    lawyer, w = secure_env.lawyer(), secure_env
    assert _total(lawyer.get(f"/fhir/Patient?{param}=%25&birthdate={w.birth_date}")) == 0
    assert _total(lawyer.get(f"/fhir/Patient?{param}={quote(w.family[:2])}%25&birthdate={w.birth_date}")) == 0


def _finished_export(w, lawyer) -> str:
    """The id of a Patient export the lawyer kicked off, run to the end by the worker."""
    from gateway.jobs import worker
    r = lawyer.http.get("/fhir/$export?_type=Patient", headers={"Authorization": f"Bearer {lawyer.token}",
                                                                 "Prefer": "respond-async"})
    job = r.headers["Content-Location"].rsplit("/", 1)[1]
    while worker.run_one(w.engine, kinds=["export"]):
        pass
    return job


def test_path_traversal_in_export_urls(secure_env):
    w = secure_env
    lawyer = w.lawyer()
    job = _finished_export(w, lawyer)
    assert lawyer.get(f"/fhir/$export-status/{job}").status_code == 200
    secret = (w.root / "var" / "secret.txt")
    secret.write_text("must not be served")
    for t in TRAVERSALS:
        for url in (f"/fhir/$export-file/{job}/{t}", f"/fhir/$export-file/{t}/Patient.ndjson",
                    f"/fhir/$export-status/{t}", f"/fhir/$export-file/{job}/../../secret.txt",
                    f"/fhir/$export-file/{job}/..%2F..%2Fsecret.txt", f"/ingest/jobs/{t}"):
            resp = _clean(lawyer.get(url), url)
            assert resp.status_code in (400, 404, 405, 308, 301), (url, resp.status_code)
            body = resp.get_data(as_text=True)
            assert "root:" not in body and "must not be served" not in body, url


def test_oversized_json_bodies_are_refused(secure_env):
    """Ed-Fi write bodies over Settings.max_json_bytes get 413; the token endpoint refuses a form
    over 16 KB before parsing it."""
    w = secure_env
    a = w.vendor(w.lea_a)
    http = w.app.test_client()
    limit = w.app.extensions["hep.settings"].max_json_bytes
    big = b'{"studentUniqueId": "' + b"9" * (limit + 10) + b'"}'
    r = http.post("/data/v3/ed-fi/students", data=big, headers=a, content_type="application/json")
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    tok = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_assertion": "x" * 20_000})
    assert tok.status_code == 400 and tok.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/fhir/Consent", "/fhir/Subscription"])
def test_oversized_fhir_json_bodies_get_413(secure_env, path):
    w = secure_env
    lawyer = w.lawyer()
    limit = w.app.extensions["hep.settings"].max_json_bytes
    body = {"resourceType": path.rsplit("/", 1)[1], "text": {"div": "x" * (limit + 10)}}
    r = lawyer.post(path, body)
    assert r.status_code == 413


def test_sign_in_redirect_stays_on_this_site(secure_env):
    from tests.test_web_support import PASSWORD, Staff
    w = secure_env
    staff = Staff(w.app, w.engine, "redirector", "social_worker", "SW00001")
    for nxt in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
                "http:evil.example", "\\\\evil.example", "%2F%2Fevil.example"):
        staff = Staff(w.app, w.engine, "redirector", "social_worker", create=False)   # a fresh browser
        r = staff.http.post(f"/signin?next={quote(nxt, safe='')}",
                            data={"username": "redirector", "password": PASSWORD, "csrf_token": staff.token("/signin")})
        assert r.status_code == 302
        loc = r.headers["Location"]
        assert "evil.example" not in loc and not loc.startswith("javascript"), (nxt, loc)


def test_nul_byte_in_an_export_file_name_is_a_404(secure_env):
    w = secure_env
    lawyer = w.lawyer()
    job = _finished_export(w, lawyer)
    assert lawyer.get(f"/fhir/$export-file/{job}/%00").status_code == 404


def test_sign_in_attempts_from_one_address_are_throttled_across_accounts(secure_env):
    from tests.test_web_support import Staff
    w = secure_env
    codes = []
    for i in range(40):
        staff = Staff(w.app, w.engine, f"spray{i}", "social_worker", "SW00001")
        codes.append(staff.signin("Winter2026!").status_code)
    assert 429 in codes
