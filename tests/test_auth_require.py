"""require(): the bearer-token check on API views. Every refusal under /fhir is a 401/403 with an
OperationOutcome and `WWW-Authenticate: Bearer`; under /data (Ed-Fi) RFC 9457 problem details."""
from __future__ import annotations

import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.test_auth_support import ClientKey, auth_app, bearer, get_token, register  # noqa: F401


def _outcome(resp, status: int) -> str:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert resp.mimetype == "application/fhir+json" and body["resourceType"] == "OperationOutcome", body
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
    return body["issue"][0]["diagnostics"]


@pytest.fixture
def issued(auth_app, engine):
    key = ClientKey()
    c = register(engine, key, scopes=["system/Patient.rs", "system/Observation.rs?category=laboratory"])
    http = auth_app.test_client()
    return http, c, get_token(http, key, c.client_id, scope="system/Patient.rs system/Observation.rs?category=laboratory")


def _resign(claims: dict, key=None, alg="ES384", kid=None) -> str:
    from gateway.auth.tokens import KEY_NAME
    from gateway.crypto.signing import public_jwk, signing_key
    return jwt.encode(claims, key or signing_key(KEY_NAME), algorithm=alg,
                      headers={"kid": kid or public_jwk(KEY_NAME)["kid"]})


def test_valid_token_passes(issued):
    http, c, tok = issued
    assert http.get("/fhir/_probe/patient", headers=bearer(tok)).get_json()["client_id"] == c.client_id


def test_missing_token_401(issued):
    http, _, _ = issued
    r = http.get("/fhir/_probe/patient")
    assert "bearer access token is required" in _outcome(r, 401)
    assert _outcome(http.get("/fhir/_probe/patient", headers={"Authorization": "Basic abc"}), 401)


def test_tampered_access_token_401(issued):
    http, _, tok = issued
    h, p, s = tok.split(".")
    claims = jwt.decode(tok, options={"verify_signature": False})
    claims["scope"] = "system/*.cruds"
    forged_payload = base64.urlsafe_b64encode(__import__("json").dumps(claims).encode()).rstrip(b"=").decode()
    assert "InvalidSignature" in _outcome(http.get("/fhir/_probe/patient", headers=bearer(f"{h}.{forged_payload}.{s}")), 401)
    flipped = s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]
    assert _outcome(http.get("/fhir/_probe/patient", headers=bearer(f"{h}.{p}.{flipped}")), 401)


def test_expired_access_token_401(issued):
    http, _, tok = issued
    claims = jwt.decode(tok, options={"verify_signature": False})
    claims.update(iat=int(time.time()) - 900, nbf=int(time.time()) - 900, exp=int(time.time()) - 600)
    assert "expired" in _outcome(http.get("/fhir/_probe/patient", headers=bearer(_resign(claims))), 401)


def test_access_token_from_another_key_401(issued):
    http, _, tok = issued
    claims = jwt.decode(tok, options={"verify_signature": False})
    other = ec.generate_private_key(ec.SECP384R1())
    assert "InvalidSignature" in _outcome(http.get("/fhir/_probe/patient", headers=bearer(_resign(claims, other))), 401)


@pytest.mark.parametrize("change", ["aud", "iss", "alg_hs384", "alg_none", "tenant", "no_scope", "oversize"])
def test_access_token_claims_checked(issued, change):
    http, _, tok = issued
    claims = jwt.decode(tok, options={"verify_signature": False})
    if change == "aud":
        tok = _resign({**claims, "aud": "https://elsewhere/fhir"})
    elif change == "iss":
        tok = _resign({**claims, "iss": "https://elsewhere"})
    elif change == "alg_hs384":
        tok = jwt.encode(claims, "s" * 64, algorithm="HS384")
    elif change == "alg_none":
        tok = jwt.encode(claims, None, algorithm="none")
    elif change == "tenant":
        tok = _resign({**claims, "tenant": "sd"})
    elif change == "no_scope":
        tok = _resign({k: v for k, v in claims.items() if k != "scope"})
    elif change == "oversize":
        tok = _resign({**claims, "pad": "x" * 9000})
    _outcome(http.get("/fhir/_probe/patient", headers=bearer(tok)), 401)


def test_missing_scope_403(issued):
    http, _, tok = issued
    r = http.get("/data/v3/_probe", headers=bearer(tok))          # needs "edfi": problem details under /data
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert r.get_json()["status"] == 403 and "insufficient_scope" in r.headers["WWW-Authenticate"]


def test_problem_details_under_data(issued):
    http, _, _ = issued
    r = http.get("/data/v3/_probe")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer ")


def test_revoked_client_token_stops_working(issued, engine):
    from gateway.auth.registry import revoke_client
    http, c, tok = issued
    assert http.get("/fhir/_probe/patient", headers=bearer(tok)).status_code == 200
    revoke_client(engine, c.client_id)
    assert "not active" in _outcome(http.get("/fhir/_probe/patient", headers=bearer(tok)), 401)


def test_revocation_elsewhere_seen_after_status_cache_ttl(issued, engine, monkeypatch):
    """Revoked by another process (direct UPDATE): this process notices once its 30 s cache lapses."""
    from sqlalchemy import update

    from gateway.auth import registry
    from gateway.store import write_tx
    from gateway.store.schema import partner
    http, c, tok = issued
    t = [1000.0]
    monkeypatch.setattr(registry, "_monotonic", lambda: t[0])
    registry.forget()
    assert http.get("/fhir/_probe/any", headers=bearer(tok)).status_code == 200
    with write_tx(engine) as conn:
        conn.execute(update(partner).where(partner.c.client_id == c.client_id).values(status="revoked"))
    t[0] += 29
    assert http.get("/fhir/_probe/any", headers=bearer(tok)).status_code == 200   # still cached
    t[0] += 2
    _outcome(http.get("/fhir/_probe/any", headers=bearer(tok)), 401)


def test_scope_matching_rules():
    from gateway.auth.scopes import covers, grant, satisfies_any
    assert covers("system/*.rs", "system/Patient.read") and covers("system/Patient.read", "system/Patient.rs")
    assert covers("system/*.cruds", "system/Immunization.c") and covers("system/*.*", "system/Patient.rs")
    assert not covers("system/Patient.r", "system/Patient.rs") and not covers("system/Patient.rs", "system/Patient.cud")
    assert not covers("user/*.rs", "system/Patient.rs") and not covers("system/Patient.rs", "system/Observation.rs")
    assert covers("system/Observation.rs", "system/Observation.rs?category=laboratory")
    assert not covers("system/Observation.rs?category=laboratory", "system/Observation.rs")
    assert not covers("edfi", "ingest") and covers("edfi", "edfi") and not covers("edfi", "system/Patient.rs")
    assert grant(["system/Patient.rs", "system/Condition.rs", "bad scope!"], ["system/Patient.read"]) == ["system/Patient.rs"]
    assert satisfies_any({"system/Patient.rs"}, []) and not satisfies_any(set(), ["edfi"])


def test_fine_grained_grant_does_not_satisfy_broad_requirement(issued):
    http, _, tok = issued
    from gateway.auth.scopes import satisfies_any
    scopes = jwt.decode(tok, options={"verify_signature": False})["scope"].split()
    assert not satisfies_any(scopes, ["system/Observation.rs"])
    assert satisfies_any(scopes, ["system/Observation.rs?category=laboratory"])


def test_current_requester_outside_request_raises(auth_app):
    from gateway.auth import current_requester
    with auth_app.test_request_context("/fhir/x"):
        with pytest.raises(RuntimeError):
            current_requester()
