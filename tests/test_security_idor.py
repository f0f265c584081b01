"""IDOR on every youth-scoped URL of every API.

`test_every_route_is_classified` enumerates the app's url_map: every endpoint must be either
probed here (a requester with no relationship to the youth gets 403/404 or an empty result, and
none of the youth's ids appear in the response), covered by a named IDOR test elsewhere (which
must exist), or listed as not youth-scoped with the reason. A new route fails that test until
someone decides which it is — so a youth-scoped route cannot be added without an IDOR test.

The stranger is a real partner: a registered SMART backend client (youth_attorney, purpose
HLEGAL, scopes system/*.rs + Consent write) with a valid token, acting for an attorney who is not
of record for anyone. Staff pages: tests/test_web_pages.py::test_idor_every_youth_scoped_url_and_form.
"""
from __future__ import annotations

import ast
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from gateway.store import schema as s
from tests.test_security_support import leaks, secure_env, world  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SEARCH_TYPES = ("Immunization", "AllergyIntolerance", "MedicationStatement", "Condition", "Encounter", "Observation",
                "Procedure", "DocumentReference")

# endpoints whose IDOR test lives in another file (that test must exist; checked below)
COVERED_ELSEWHERE = {
    "web.passport": "tests/test_web_pages.py::test_idor_every_youth_scoped_url_and_form",
    "web.remove_youth": "tests/test_web_pages.py::test_idor_every_youth_scoped_url_and_form",
    "web.add_youth": "tests/test_web_pages.py::test_idor_every_youth_scoped_url_and_form",
    "web.decide_request": "tests/test_web_pages.py::test_idor_every_youth_scoped_url_and_form",
    "web.review_decide": "tests/test_web_pages.py::test_idor_every_youth_scoped_url_and_form",
    "edfi_api.read": "tests/test_edfi_api_read.py::test_a_vendor_sees_only_its_districts",
    "edfi_api.query": "tests/test_edfi_api_read.py::test_a_vendor_sees_only_its_districts",
    "edfi_api.post": "tests/test_edfi_api_write.py::test_references_and_districts",
    "fhir.read_subscription": "tests/test_notify_api.py::test_subscription_crud_is_owner_only",
    "fhir.delete_subscription": "tests/test_notify_api.py::test_subscription_crud_is_owner_only",
    "fhir.search_subscription": "tests/test_notify_api.py::test_subscription_crud_is_owner_only",
    "fhir.create_subscription": "tests/test_notify_api.py::test_subscription_crud_is_owner_only",
    "uploads.job_status": "tests/test_uploads.py::test_calpads_upload_end_to_end",
    "uploads.upload": "tests/test_uploads.py::test_who_may_upload_what",
}

# endpoints that carry no youth's data, and why
NOT_YOUTH_SCOPED = {
    "static": "CSS of the Flask app",
    "web.static": "CSS of the staff pages",
    "health.healthz": "liveness, no data",
    "fhir.metadata": "CapabilityStatement",
    "oauth.token": "token endpoint (tests/test_auth_token.py)",
    "oauth.jwks": "the gateway's public key",
    "oauth.smart_configuration": "discovery document",
    "web.home": "redirect to the role's home page",
    "web.signin": "sign-in form (tests/test_web_auth.py)",
    "web.signout": "sign-out (tests/test_web_auth.py)",
    "web.account": "the signed-in user's own account",
    "web.caseload_page": "lists only the signed-in worker's caseload "
                         "(tests/test_web_pages.py::test_caseload_lists_exactly_the_assigned_youth_with_flags)",
    "web.add_page": "search form; results are youth the worker may add, never their records",
    "web.approvals": "supervisor-only page (tests/test_web_auth.py::test_roles_see_only_their_pages)",
    "web.review": "operator-only page (tests/test_web_auth.py::test_roles_see_only_their_pages)",
    "fhir.list_groups": "offices and caseloads: names and counts, no members",
    "web_insights.static": "CSS of the insight pages",
    "web_insights.indicators": "aggregate, de-identified indicators with small cells suppressed (analysts)",
    "web_insights.indicators_csv": "the same aggregates as CSV (formula injection: tests/test_security_csv.py)",
    "web_insights.data_quality": "feeds and batch counts for operators; no youth's records",
}


# --- probes ------------------------------------------------------------------------------------

def _json(resp):
    return orjson.loads(resp.get_data()) if resp.get_data() else None


def _sent(resp) -> str:
    """What the requester itself sent (an id echoed back in a self link or an error is no leak)."""
    from urllib.parse import unquote
    req = getattr(resp, "request", None)
    if req is None:
        return ""
    try:
        body = req.get_data(as_text=True)
    except Exception:          # the stream was consumed by the view
        body = ""
    return unquote(req.url) + body


def _no_leak(w, resp, what: str):
    sent = _sent(resp)
    found = [m for m in leaks(resp.get_data(as_text=True), w.markers()) if m not in sent]
    assert not found, f"{what}: the response names the youth's data: {found[:3]}"


def _denied(w, resp, what: str, empty_ok: bool = False, also=()):
    if resp.status_code in also:
        pass
    elif empty_ok and resp.status_code == 200:
        body = _json(resp)
        assert body.get("total", 0) == 0 and not body.get("entry"), f"{what}: returned {body.get('total')} entries"
    else:
        assert resp.status_code in (403, 404), f"{what}: {resp.status_code} {resp.get_data()[:200]!r}"
    _no_leak(w, resp, what)


def _one_id(w, rtype: str) -> str:
    ids = [i for std, t, i in w.resource_ids(w.yid) if std == "fhir" and t == rtype]
    return ids[0] if ids else "00000000-0000-0000-0000-000000000000"


def probe_read_patient(w):
    _denied(w, w.stranger().get(f"/fhir/Patient/{w.yid}"), "Patient read")


def probe_passport(w):
    _denied(w, w.stranger().get(f"/fhir/Patient/{w.yid}/$passport"), "$passport")


def probe_search_patient(w):
    st = w.stranger()
    for q in (f"identifier=https://hep.lacounty.example/fhir/sid/cws-client-id|{w.client_id}", f"identifier={w.client_id}",
              f"family={w.family}&birthdate={w.birth_date}", f"name={w.family}&birthdate={w.birth_date}"):
        _denied(w, st.get(f"/fhir/Patient?{q}"), f"Patient?{q}", empty_ok=True)


def _probe_search(rtype):
    def probe(w):
        st = w.stranger()
        for q in (f"patient={w.yid}", f"patient=Patient/{w.yid}", f"subject=Patient/{w.yid}"):
            _denied(w, st.get(f"/fhir/{rtype}?{q}"), f"{rtype}?{q}", empty_ok=True)
        # with _include/_revinclude and nothing released the server answers 400 (clinical._includes
        # checks `and page` before the value): no data either way
        q = f"patient={w.yid}&_include={rtype}:patient&_revinclude=Provenance:target"
        _denied(w, st.get(f"/fhir/{rtype}?{q}"), f"{rtype}?{q}", empty_ok=True, also=(400,))
    return probe


def _probe_read(rtype):
    def probe(w):
        _denied(w, w.stranger().get(f"/fhir/{rtype}/{_one_id(w, rtype)}"), f"{rtype} read")
    return probe


def _probe_patient_param(path):
    def probe(w):
        _denied(w, w.stranger().get(f"/fhir/{path}?patient={w.yid}"), path, empty_ok=True)
    return probe


def probe_audit_events(w):
    _denied(w, w.stranger().get(f"/fhir/AuditEvent?patient={w.yid}"), "AuditEvent")


def _consent_row(w, youth=None):
    with w.engine.connect() as c:
        q = select(s.consent)
        if youth:
            q = q.where(s.consent.c.youth_id == youth)
        return c.execute(q.order_by(s.consent.c.id)).first()


def probe_revoke_consent(w):
    row = _consent_row(w, w.yid) or _consent_row(w)
    assert row is not None, "the county has no consent to probe with"
    r = w.stranger().post(f"/fhir/Consent/{row.id}/$revoke", {})
    _denied(w, r, "Consent $revoke")
    with w.engine.connect() as c:
        after = c.execute(select(s.consent.c.status, s.consent.c.version).where(s.consent.c.id == row.id)).one()
    assert (after.status, after.version) == (row.status, row.version), "a stranger changed a consent"


def probe_create_consent(w):
    from gateway.policy.consent_fhir import consent_to_fhir
    row = _consent_row(w)
    values = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(row._mapping).items()}
    body = consent_to_fhir({**values, "id": "probe-consent"}, patient_reference=f"Patient/{w.yid}")
    body.pop("id", None)
    before = w.count(s.consent)
    r = w.stranger().post("/fhir/Consent", body)
    assert r.status_code == 403, f"Consent create: {r.status_code} {r.get_data()[:300]!r}"
    assert w.count(s.consent) == before


def probe_hep_view(w):
    _denied(w, w.stranger().get(f"/hep/v1/youth/{w.yid}"), "HEP field view")


def _export_files(w, partner, url) -> list[bytes]:
    from gateway.jobs import worker
    r = partner.http.get(url, headers={"Authorization": f"Bearer {partner.token}", "Prefer": "respond-async"})
    assert r.status_code == 202, r.get_data()[:300]
    status_url = r.headers["Content-Location"].split("/fhir", 1)[1]
    while worker.run_one(w.engine, kinds=["export"]):
        pass
    done = partner.get("/fhir" + status_url)
    assert done.status_code == 200, done.get_data()[:300]
    out = []
    for o in _json(done)["output"]:
        f = partner.get("/fhir" + o["url"].split("/fhir", 1)[1])
        assert f.status_code == 200
        out.append(f.get_data())
    return out


def probe_system_export(w):
    for data in _export_files(w, w.stranger(), "/fhir/$export"):
        found = leaks(data.decode(), w.markers())
        assert not found, f"$export by a stranger holds the youth's data: {found[:3]}"


def probe_group_export(w):
    st = w.stranger()
    groups = _json(st.get("/fhir/Group"))["entry"]
    assert groups
    for g in groups[:3]:
        for data in _export_files(w, st, f"/fhir/Group/{g['resource']['id']}/$export"):
            assert not leaks(data.decode(), w.markers()), f"Group/{g['resource']['id']}/$export leaked"


def probe_read_group(w):
    st = w.stranger()
    for g in _json(st.get("/fhir/Group"))["entry"]:
        r = st.get(f"/fhir/Group/{g['resource']['id']}")
        assert r.status_code == 200 and not _json(r).get("member"), "a stranger sees group members"
        _no_leak(w, r, "Group read")


def _lawyers_export(w):
    from gateway.jobs import worker
    lawyer = w.lawyer()
    r = lawyer.http.get("/fhir/$export?_type=Patient", headers={"Authorization": f"Bearer {lawyer.token}",
                                                                 "Prefer": "respond-async"})
    assert r.status_code == 202
    job = r.headers["Content-Location"].rsplit("/", 1)[1]
    while worker.run_one(w.engine, kinds=["export"]):
        pass
    manifest = _json(lawyer.get(f"/fhir/$export-status/{job}"))
    return lawyer, job, manifest


def probe_export_status(w):
    lawyer, job, _ = _lawyers_export(w)
    _denied(w, w.stranger().get(f"/fhir/$export-status/{job}"), "another client's export status")


def probe_export_file(w):
    lawyer, job, manifest = _lawyers_export(w)
    names = [o["url"].rsplit("/", 1)[1] for o in manifest["output"]]
    assert names and lawyer.get(f"/fhir/$export-file/{job}/{names[0]}").status_code == 200
    for n in names:
        _denied(w, w.stranger().get(f"/fhir/$export-file/{job}/{n}"), "another client's export file")


def probe_export_cancel(w):
    lawyer, job, _ = _lawyers_export(w)
    st = w.stranger()
    r = st.http.delete(f"/fhir/$export-status/{job}", headers={"Authorization": f"Bearer {st.token}"})
    _denied(w, r, "cancel another client's export")
    assert lawyer.get(f"/fhir/$export-status/{job}").status_code == 200, "a stranger cancelled the export"


def _district_record(w):
    r = s.resource.c
    with w.engine.connect() as c:
        return c.execute(select(r.id, r.rtype).where(r.youth_id == w.yid, r.standard == "edfi",
                                                     r.rtype == "studentSchoolAssociations")).first()


def probe_edfi_replace(w):
    row = _district_record(w)
    a, b = w.vendor(w.lea_a), w.vendor(w.lea_b)
    http = w.app.test_client()
    url = f"/data/v3/ed-fi/{row.rtype}/{row.id}"
    mine = http.get(url, headers=a)
    assert mine.status_code == 200, mine.get_data()[:300]
    body = _json(mine)
    r = http.put(url, data=orjson.dumps({k: v for k, v in body.items() if not k.startswith("_")}), headers=b,
                 content_type="application/json")
    assert r.status_code in (403, 404), r.get_data()[:300]
    _no_leak(w, r, "Ed-Fi PUT by another district")
    assert _json(http.get(url, headers=a)) == body


def probe_edfi_remove(w):
    row = _district_record(w)
    b = w.vendor(w.lea_b)
    r = w.app.test_client().delete(f"/data/v3/ed-fi/{row.rtype}/{row.id}", headers=b)
    assert r.status_code in (403, 404), r.get_data()[:300]
    with w.engine.connect() as c:
        assert c.execute(select(s.resource.c.deleted).where(s.resource.c.id == row.id)).scalar() is False


def probe_batch_page(w):
    """Batch problems (raw source lines) are for operators only: every other staff role gets 403."""
    import uuid

    from tests.test_web_support import Staff
    with w.engine.connect() as c:
        batch = c.execute(select(s.ingest_batch.c.id).order_by(s.ingest_batch.c.id)).scalar()
    for role in ("social_worker", "supervisor", "analyst"):
        staff = Staff(w.app, w.engine, f"{role}-{uuid.uuid4().hex[:6]}", role, "SW00001")
        assert staff.signin().status_code == 302
        r = staff.get(f"/data-quality/batches/{batch}")
        assert r.status_code == 403, (role, r.status_code)
        _no_leak(w, r, f"batch page as {role}")


PROBES = {
    "web_insights.batch_page": probe_batch_page,
    "fhir.read_patient": probe_read_patient,
    "fhir.passport": probe_passport,
    "fhir.search_patient": probe_search_patient,
    **{f"fhir.search_{t}": _probe_search(t) for t in SEARCH_TYPES},
    **{f"fhir.read_{t}": _probe_read(t) for t in SEARCH_TYPES},
    "fhir.care_team": _probe_patient_param("CareTeam"),
    "fhir.related_person": _probe_patient_param("RelatedPerson"),
    "fhir.search_consent": _probe_patient_param("Consent"),
    "fhir.create_consent": probe_create_consent,
    "fhir.revoke_consent": probe_revoke_consent,
    "fhir.audit_events": probe_audit_events,
    "fhir.system_export": probe_system_export,
    "fhir.group_export": probe_group_export,
    "fhir.read_group": probe_read_group,
    "fhir.export_status": probe_export_status,
    "fhir.export_file": probe_export_file,
    "fhir.export_cancel": probe_export_cancel,
    "hep.youth_record": probe_hep_view,
    "edfi_api.replace": probe_edfi_replace,
    "edfi_api.remove": probe_edfi_remove,
}


def test_every_route_is_classified(secure_env):
    """Fails when a route is added (or removed) without deciding whether it is youth-scoped and, if
    it is, without an IDOR test: add a probe to PROBES, a named test to COVERED_ELSEWHERE, or a
    reason to NOT_YOUTH_SCOPED."""
    endpoints = {r.endpoint for r in secure_env.app.url_map.iter_rules()}
    classified = set(PROBES) | set(COVERED_ELSEWHERE) | set(NOT_YOUTH_SCOPED)
    assert not (set(PROBES) & set(NOT_YOUTH_SCOPED)) and not (set(COVERED_ELSEWHERE) & set(NOT_YOUTH_SCOPED))
    unclassified = sorted(endpoints - classified)
    assert not unclassified, f"routes with no IDOR decision: {unclassified}"
    stale = sorted(classified - endpoints)
    assert not stale, f"classified endpoints that no longer exist: {stale}"
    # every rule with a path variable naming a youth, resource, job or request is probed or covered
    for rule in secure_env.app.url_map.iter_rules():
        if set(rule.arguments) - {"filename", "namespace", "resource", "fmt", "key", "dimension"}:
            assert rule.endpoint in PROBES or rule.endpoint in COVERED_ELSEWHERE, rule.rule


def test_the_idor_tests_named_elsewhere_exist():
    for ref in sorted(set(COVERED_ELSEWHERE.values())):
        path, _, name = ref.partition("::")
        tree = ast.parse((ROOT / path).read_text())
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name in names, f"{ref} does not exist"


@pytest.mark.parametrize("endpoint", sorted(PROBES))
def test_a_requester_without_a_relationship_gets_nothing(endpoint, secure_env):
    PROBES[endpoint](secure_env)


def test_the_probes_can_fail_a_related_partner_does_see_the_youth(secure_env):
    """The same URLs answer with the youth's data for the attorney of record (so a probe that
    passes is a refusal, not a broken URL)."""
    w = secure_env
    lawyer = w.lawyer()
    assert lawyer.get(f"/fhir/Patient/{w.yid}").status_code == 200
    assert lawyer.get(f"/fhir/Patient/{w.yid}/$passport").status_code == 200
    assert lawyer.get(f"/hep/v1/youth/{w.yid}").status_code == 200
    imm = _json(lawyer.get(f"/fhir/Immunization?patient={w.yid}"))
    assert imm["total"] > 0 and leaks(orjson.dumps(imm).decode(), w.markers())
    assert lawyer.get(f"/fhir/Immunization/{_one_id(w, 'Immunization')}").status_code == 200
