"""AuditEvent rendering validates against the R4B model and carries what an accounting of
disclosures needs; `accounting()` pages a youth's entries newest first with a total.
Rendering is database-independent, so the cases run on SQLite; the accounting query and one
rendering of a PostgreSQL row run on both."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from sqlalchemy import select

from gateway.audit import accounting, append, decision_entry, to_audit_event
from gateway.audit.fhir import CS_PURPOSE, V3_ACT_REASON
from gateway.store import schema as s
from gateway.store import write_tx

T = "la"
CASES = [  # action, outcome, purpose
    ("$passport", "permit", "x-EDU-SUPPORT"),
    ("$export", "permit-redacted", "x-CW-ADMIN"),
    ("read", "deny", "COC"),
    ("search", "permit", "TREAT"),
    ("edfi-read", "error", None),
    ("passport-view", "permit", "x-CW-CASEMGT"),
    ("signin", "deny", None),
    ("consent-revoke", "permit", None),
    ("caseload-add", "permit", "x-CW-CASEMGT"),
    ("subscription-delete", "permit", "COC"),
]
ACT = {"read": "R", "search": "R", "passport-view": "R", "edfi-read": "R", "consent-revoke": "U",
       "caseload-add": "C", "subscription-delete": "D"}


def _row(engine, action, outcome, purpose, *, resources=3, client="lausd-sis", youth="youth-1"):
    entry = decision_entry(
        {"id": "d1", "decision": outcome, "reason": "Permitted: WIC 10850 case plan." if outcome != "deny" else "Denied: no consent.",
         "rules": [{"id": "SW-EDU-1", "citation": "WIC 10850(a); Ed. Code 49076(a)(1)(K)"},
                   {"id": "HIV-1", "citation": "H&S 120980"}],
         "redactions": ["hiv"] if outcome == "permit-redacted" else [], "obligations": ["notice-ferpa-9933"]},
        request={"role": "county_social_worker", "category": "education"},
        released=["education", "immunizations"] if outcome.startswith("permit") else [], denied=["hiv"],
        resources=[f"Immunization/im-{k}" for k in range(resources)], security=["R", "HIV"], organization="LAUSD")
    with write_tx(engine) as conn:
        seq = append(conn, T, actor_id="sw-17", actor_role="county_social_worker", client_id=client,
                     youth_id=youth, action=action, purpose=purpose, outcome=outcome, entry=entry)
    with engine.connect() as conn:
        return conn.execute(select(s.audit_event).where(s.audit_event.c.seq == seq)).one()


@pytest.mark.parametrize("action,outcome,purpose", CASES)
def test_audit_event_validates(sqlite_engine, action, outcome, purpose):
    engine = sqlite_engine
    ev = to_audit_event(_row(engine, action, outcome, purpose))
    model = AuditEvent.model_validate(ev)
    assert model.outcome == {"permit": "0", "permit-redacted": "0", "deny": "4", "error": "8"}[outcome]
    assert ev["action"] == ACT.get(action, "E")
    assert {"system": "https://hep.lacounty.example/fhir/CodeSystem/hep-audit-action", "code": action} in ev["subtype"] \
        or action in ("read", "search")
    assert ev["recorded"].endswith("Z")
    if purpose:
        (coding,) = ev["purposeOfEvent"][0]["coding"]
        assert coding == {"system": CS_PURPOSE if purpose.startswith("x-") else V3_ACT_REASON, "code": purpose}
    else:
        assert "purposeOfEvent" not in ev
    user = [a for a in ev["agent"] if a["requestor"]]
    assert len(user) == 1 and user[0]["who"]["identifier"]["value"] == "sw-17"
    assert user[0]["role"][0]["coding"][0]["code"] == "county_social_worker"
    orgs = [a for a in ev["agent"] if a.get("who", {}).get("identifier", {}).get("value") == "lausd-sis"]
    assert orgs and orgs[0]["who"]["display"] == "LAUSD"
    patient = [e for e in ev["entity"] if e.get("what", {}).get("reference") == "Patient/youth-1"]
    assert len(patient) == 1
    details = {(d["type"], d["valueString"]) for e in ev["entity"] for d in e.get("detail", ())}
    assert ("rule", "SW-EDU-1: WIC 10850(a); Ed. Code 49076(a)(1)(K)") in details
    assert ("denied", "hiv") in details
    if outcome.startswith("permit"):
        assert ("released", "education, immunizations") in details
        refs = {e["what"]["reference"] for e in ev["entity"] if "what" in e}
        assert {"Immunization/im-0", "Immunization/im-2"} <= refs


def test_subtypes(sqlite_engine):
    engine = sqlite_engine
    ev = to_audit_event(_row(engine, "$passport", "permit", "COC"))
    codes = {c["code"] for c in ev["subtype"]}
    assert codes == {"operation", "$passport"} and ev["type"]["code"] == "rest"
    ev = to_audit_event(_row(engine, "search", "permit", "COC"))
    assert ev["subtype"] == [{"system": "http://hl7.org/fhir/restful-interaction", "code": "search-type"}]
    ev = to_audit_event(_row(engine, "edfi-read", "permit", "COC"))
    assert ev["type"]["code"] == "110106" and "disclose" in {c["code"] for c in ev["subtype"]}
    ev = to_audit_event(_row(engine, "signout", "permit", None))
    assert ev["type"]["code"] == "110114" and "110123" in {c["code"] for c in ev["subtype"]}
    ev = to_audit_event(_row(engine, "consent-create", "permit", None))
    assert ev["type"]["code"] == "record-change" and ev["action"] == "C"


def test_large_release_lists_the_count_not_every_resource(sqlite_engine):
    engine = sqlite_engine
    ev = to_audit_event(_row(engine, "$export", "permit", "x-CW-ADMIN", resources=500))
    AuditEvent.model_validate(ev)
    assert len(ev["entity"]) == 2  # the youth and the disclosed data
    assert ("resource-count", "500") in {(d["type"], d["valueString"]) for d in ev["entity"][1]["detail"]}


def test_system_client_without_a_user(sqlite_engine):
    engine = sqlite_engine
    ev = to_audit_event(_row(engine, "$export", "permit", "x-CW-ADMIN", client="sw-17"))
    AuditEvent.model_validate(ev)
    assert sum(1 for a in ev["agent"] if a["who"]["identifier"]["value"] == "sw-17") == 1


def test_accounting_pages_newest_first(engine):
    seqs = []
    base = datetime(2026, 5, 1, tzinfo=timezone.utc)
    with write_tx(engine) as conn:
        for i in range(12):
            seqs.append(append(conn, T, actor_id="u", actor_role="youth_attorney", client_id=None,
                               youth_id="y-a" if i % 3 else "y-b", action="read", purpose="HLEGAL",
                               outcome="deny" if i == 4 else "permit", entry={"i": i},
                               recorded_at=base + timedelta(days=i)))
        append(conn, "sd", actor_id="u", actor_role="youth_attorney", client_id=None, youth_id="y-a",
               action="read", purpose="HLEGAL", outcome="permit", entry={})
    mine = [q for i, q in enumerate(seqs) if i % 3]
    with engine.connect() as conn:
        rows, total = accounting(conn, T, "y-a", count=5)
        assert total == 8 and [r.seq for r in rows] == mine[::-1][:5]
        rows, total = accounting(conn, T, "y-a", count=5, offset=5)
        assert total == 8 and [r.seq for r in rows] == mine[::-1][5:]
        rows, total = accounting(conn, T, "y-a", since=base + timedelta(days=7))
        assert total == 4 and {r.entry["i"] for r in rows} == {7, 8, 10, 11}
        rows, total = accounting(conn, T, "y-a", outcomes=("permit", "permit-redacted"))
        assert total == 7 and all(r.outcome == "permit" for r in rows)
        rows, total = accounting(conn, T, "y-a", count=0)
        assert rows == [] and total == 8
        for r in accounting(conn, T, "y-a")[0]:
            AuditEvent.model_validate(to_audit_event(r))
    ev = to_audit_event(_row(engine, "$passport", "permit-redacted", "x-EDU-SUPPORT"))
    AuditEvent.model_validate(ev)
    assert ev["recorded"].endswith("Z") and ev["outcome"] == "0"
