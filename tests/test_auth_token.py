"""POST /oauth/token end to end over the Flask test client, on SQLite and PostgreSQL.

At the token endpoint every refusal is the RFC 6749 section 5.2 error JSON (`{"error", "error_description"}`),
not an OperationOutcome: that is what OAuth clients parse. Client-authentication failures are
401 invalid_client; request problems 400.
"""
from __future__ import annotations

import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.test_auth_support import (BASE, TOKEN_URL, ClientKey, auth_app, bearer, build_app,  # noqa: F401
                                     get_token, make_assertion, register, token_form)


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _refused(resp, status: int, error: str) -> dict:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"error", "error_description"} and body["error"] == error, body
    assert resp.headers["Cache-Control"] == "no-store"
    return body


# --- success paths ------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_backend_services_token_and_api_call(auth_app, engine, alg):
    key = ClientKey(alg)
    c = register(engine, key, role="youth_attorney", scopes=["system/*.rs"], organization="Children's Law Center")
    http = auth_app.test_client()
    r = http.post("/oauth/token", data=token_form(
        make_assertion(key, c.client_id, purpose_of_use="HLEGAL", subject_id="ATTY-0042", subject_role="attorney"),
        scope="system/Patient.rs system/Immunization.read"))
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["token_type"] == "bearer" and body["expires_in"] == 300
    assert body["scope"] == "system/Immunization.read system/Patient.rs"
    assert r.headers["Cache-Control"] == "no-store"
    header, claims = jwt.get_unverified_header(body["access_token"]), _claims(body["access_token"])
    assert header["alg"] == "ES384"
    assert claims["iss"] == BASE and claims["aud"] == BASE + "/fhir" and claims["sub"] == c.client_id
    assert claims["exp"] - claims["iat"] == 300
    assert claims["act"] == {"sub": "ATTY-0042", "role": "attorney"} and claims["purpose_of_use"] == "HLEGAL"

    who = http.get("/fhir/_probe/patient", headers=bearer(body["access_token"])).get_json()
    assert who == {"client_id": c.client_id, "kind": "smart_backend", "role": "youth_attorney",
                   "organization": "Children's Law Center", "user_id": "ATTY-0042", "user_role": "attorney",
                   "purpose_of_use": "HLEGAL", "purpose_system": "v3-ActReason",
                   "scopes": ["system/Immunization.read", "system/Patient.rs"], "lea_ids": [],
                   "token_id": claims["jti"]}


def test_ihe_iua_extension_and_fixed_purpose(auth_app, engine):
    key = ClientKey()
    state = register(engine, key, role="state_cms", purpose="x-CW-ADMIN")
    http = auth_app.test_client()
    tok = get_token(http, key, state.client_id,
                    extensions={"ihe_iua": {"subject_id": "CDSS-ANALYST-7", "subject_role": "analyst"}})
    who = http.get("/fhir/_probe/any", headers=bearer(tok)).get_json()
    assert (who["purpose_of_use"], who["purpose_system"], who["user_id"]) == ("x-CW-ADMIN", "local", "CDSS-ANALYST-7")
    # asking for another purpose than the registered one is refused
    r = http.post("/oauth/token", data=token_form(make_assertion(key, state.client_id, purpose_of_use="TREAT")))
    assert "x-CW-ADMIN" in _refused(r, 400, "invalid_grant")["error_description"]


@pytest.mark.parametrize("purpose,why", [("BOGUS", "unknown purpose"), ("TREAT", "not a purpose role youth_attorney"),
                                         ({"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                                           "code": "x-EDU-SUPPORT"}, "not in code system")])
def test_purpose_checked_against_vocabulary_and_role(auth_app, engine, purpose, why):
    key = ClientKey()
    c = register(engine, key, role="youth_attorney")
    r = auth_app.test_client().post("/oauth/token", data=token_form(make_assertion(key, c.client_id, purpose_of_use=purpose)))
    assert why in _refused(r, 400, "invalid_grant")["error_description"]


def test_purpose_required_when_role_has_several(auth_app, engine):
    key = ClientKey()
    c = register(engine, key, role="treating_provider")
    http = auth_app.test_client()
    _refused(http.post("/oauth/token", data=token_form(make_assertion(key, c.client_id))), 400, "invalid_grant")
    tok = get_token(http, key, c.client_id, purpose_of_use={"system": "urn:oid:2.16.840.1.113883.5.8", "code": "TREAT"},
                    subject_id="1234567893")
    assert _claims(tok)["purpose_of_use"] == "TREAT" and _claims(tok)["act"] == {"sub": "1234567893"}


def test_scope_is_requested_intersect_registered(auth_app, engine):
    key = ClientKey()
    c = register(engine, key, scopes=["system/Patient.rs", "system/Immunization.rs"])
    http = auth_app.test_client()
    r = http.post("/oauth/token", data=token_form(make_assertion(key, c.client_id),
                                                  "system/Patient.read system/Condition.rs system/*.rs"))
    assert r.status_code == 200 and r.get_json()["scope"] == "system/Patient.read"
    _refused(http.post("/oauth/token", data=token_form(make_assertion(key, c.client_id), "system/Condition.rs")),
             400, "invalid_scope")
    _refused(http.post("/oauth/token", data=token_form(make_assertion(key, c.client_id), None)), 400, "invalid_scope")


def test_sis_vendor_secret_basic_and_post(auth_app, engine):
    c, secret = register(engine, kind="sis_vendor", role="school", scopes=["edfi", "ingest"], lea_ids=["1964733"],
                         organization="Acme SIS")
    http = auth_app.test_client()
    basic = base64.b64encode(f"{c.client_id}:{secret}".encode()).decode()
    r = http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["scope"] == "edfi ingest"
    who = http.get("/data/v3/_probe", headers=bearer(r.get_json()["access_token"])).get_json()
    assert (who["kind"], who["role"], who["lea_ids"], who["purpose_of_use"]) == ("sis_vendor", "school", ["1964733"],
                                                                                 "x-EDU-SUPPORT")
    r = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": c.client_id,
                                        "client_secret": secret, "scope": "ingest"})
    assert r.status_code == 200 and r.get_json()["scope"] == "ingest"
    # stored only as a salted scrypt hash
    assert secret not in (c.secret_hash or "") and c.secret_hash.startswith("scrypt$")


def test_sis_vendor_wrong_secret_and_unknown_client(auth_app, engine):
    c, secret = register(engine, kind="sis_vendor", role="school", scopes=["edfi"])
    http = auth_app.test_client()
    bad = base64.b64encode(f"{c.client_id}:{secret}x".encode()).decode()
    r = http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {bad}"})
    _refused(r, 401, "invalid_client")
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    _refused(http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "nobody",
                                             "client_secret": secret}), 401, "invalid_client")
    # a backend client has no secret: the secret path never authenticates it
    key = ClientKey()
    b = register(engine, key)
    _refused(http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": b.client_id,
                                             "client_secret": ""}), 401, "invalid_client")


def test_grant_type_and_request_shape(auth_app, engine):
    http = auth_app.test_client()
    _refused(http.post("/oauth/token", data={"grant_type": "password", "username": "a", "password": "b"}),
             400, "unsupported_grant_type")
    _refused(http.post("/oauth/token", json={"grant_type": "client_credentials"}), 400, "invalid_request")
    key = ClientKey()
    c = register(engine, key)
    _refused(http.post("/oauth/token", data=token_form(make_assertion(key, c.client_id),
                                                       client_assertion_type="urn:other")), 400, "invalid_request")
    _refused(http.post("/oauth/token", data={"grant_type": "client_credentials"}), 401, "invalid_client")


# --- attacks on the client assertion: each -> 401 invalid_client --------------------------------

def _attack_none(key, cid):
    return jwt.encode({"iss": cid, "sub": cid, "aud": TOKEN_URL, "exp": int(time.time()) + 60, "jti": "n1"},
                      None, algorithm="none", headers={"kid": key.kid})


def _attack_hs256_public_key(key, cid):
    pem = key.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    # PyJWT refuses to HMAC with a PEM key, so build the token by hand - the classic key-confusion attack
    import hashlib
    import hmac
    import json

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    h = b64(json.dumps({"alg": "HS256", "kid": key.kid, "typ": "JWT"}).encode())
    p = b64(json.dumps({"iss": cid, "sub": cid, "aud": TOKEN_URL, "exp": int(time.time()) + 60, "jti": "h1"}).encode())
    sig = hmac.new(pem, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"


def _attack_rs256(key, cid):
    k = ClientKey("RS384", kid=key.kid)
    return make_assertion(k, cid, alg="RS256")


ATTACKS = {
    "alg_none": (_attack_none, "alg"),
    "hs256_signed_with_public_key": (_attack_hs256_public_key, "alg"),
    "rs256": (_attack_rs256, "alg"),
    "expired": (lambda k, cid: make_assertion(k, cid, now=time.time() - 400, lifetime=120), "expired"),
    "exp_over_5_min_ahead": (lambda k, cid: make_assertion(k, cid, lifetime=600), "5 minutes"),
    "no_exp": (lambda k, cid: make_assertion(k, cid, exp=None), "exp"),
    "iat_in_future": (lambda k, cid: make_assertion(k, cid, now=time.time() + 120, lifetime=60), "Immature"),
    "nbf_in_future": (lambda k, cid: make_assertion(k, cid, nbf=int(time.time()) + 120), "Immature"),
    "wrong_aud": (lambda k, cid: make_assertion(k, cid, aud=BASE + "/fhir"), "aud"),
    "iss_ne_sub": (lambda k, cid: make_assertion(k, cid, sub="someone-else"), "sub must equal iss"),
    "unknown_client": (lambda k, cid: make_assertion(k, "no-such-client", sub="no-such-client"), "unknown client"),
    "unknown_kid": (lambda k, cid: make_assertion(k, cid, headers={"kid": "not-registered"}), "kid"),
    "missing_kid": (lambda k, cid: make_assertion(k, cid, headers={"kid": None}), "kid"),
    "other_key_same_kid": (lambda k, cid: make_assertion(ClientKey(kid=k.kid), cid), "InvalidSignature"),
    "no_jti": (lambda k, cid: make_assertion(k, cid, jti=None), "jti"),
    "jku_elsewhere": (lambda k, cid: make_assertion(k, cid, headers={"jku": "https://evil.example/jwks"}), "jku"),
    "oversize": (lambda k, cid: make_assertion(k, cid, padding="x" * 9000), "larger than 8192"),
    "garbage": (lambda k, cid: "not.a.jwt", "well-formed"),
}


def _attack(app, engine, attack):
    key = ClientKey()
    c = register(engine, key)
    build, why = ATTACKS[attack]
    r = app.test_client().post("/oauth/token", data=token_form(build(key, c.client_id)))
    body = _refused(r, 401, "invalid_client")
    assert why in body["error_description"], (attack, body)
    assert "access_token" not in body


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_assertion_attacks_refused(sqlite_engine, attack):
    _attack(build_app(sqlite_engine), sqlite_engine, attack)


def test_assertion_attacks_refused_on_each_store(auth_app, engine):
    """The same attacks once per store (SQLite and PostgreSQL), in one app."""
    for attack in sorted(ATTACKS):
        _attack(auth_app, engine, attack)


def test_replayed_jti_refused(auth_app, engine):
    key = ClientKey()
    c = register(engine, key)
    http = auth_app.test_client()
    a = make_assertion(key, c.client_id)
    assert http.post("/oauth/token", data=token_form(a)).status_code == 200
    body = _refused(http.post("/oauth/token", data=token_form(a)), 401, "invalid_client")
    assert "replay" in body["error_description"]
    # the same jti from another client is that client's own business (jti is unique per issuer)
    key2 = ClientKey()
    c2 = register(engine, key2)
    jti = _claims(a)["jti"]
    assert http.post("/oauth/token", data=token_form(make_assertion(key2, c2.client_id, jti=jti))).status_code == 200


def test_revoked_client_refused_at_token_endpoint(auth_app, engine):
    from gateway.auth.registry import revoke_client
    key = ClientKey()
    c = register(engine, key)
    http = auth_app.test_client()
    get_token(http, key, c.client_id)
    assert revoke_client(engine, c.client_id)
    body = _refused(http.post("/oauth/token", data=token_form(make_assertion(key, c.client_id))), 401, "invalid_client")
    assert "not active" in body["error_description"]


def test_client_of_another_tenant_refused(engine):
    key = ClientKey()
    c = register(engine, key, tenant="sd")
    r = build_app(engine, tenant="la").test_client().post("/oauth/token", data=token_form(make_assertion(key, c.client_id)))
    _refused(r, 401, "invalid_client")


# --- discovery ------------------------------------------------------------------------------------

def test_smart_configuration_and_jwks(auth_app):
    http = auth_app.test_client()
    conf = http.get("/.well-known/smart-configuration").get_json()
    assert conf["token_endpoint"] == TOKEN_URL
    assert conf["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "client_secret_basic",
                                                             "client_secret_post"]
    assert conf["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert conf["grant_types_supported"] == ["client_credentials"]
    assert conf["capabilities"] == ["client-confidential-asymmetric"]
    assert "system/*.rs" in conf["scopes_supported"]
    keys = http.get("/.well-known/jwks.json").get_json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "EC" and keys[0]["crv"] == "P-384" and "d" not in keys[0]
    # the published key verifies an issued token
    pub = jwt.PyJWK(keys[0]).key
    from gateway.auth import Requester
    from gateway.auth.tokens import issue
    tok, _ = issue(BASE, "la", Requester("c", "smart_backend", "casa", None, None, None, "HLEGAL", "v3-ActReason",
                                         frozenset({"system/*.rs"})), 60)
    assert jwt.decode(tok, pub, algorithms=["ES384"], audience=BASE + "/fhir")["sub"] == "c"
    assert jwt.get_unverified_header(tok)["kid"] == keys[0]["kid"]


def test_rate_limit_per_address_and_per_client(auth_app, engine):
    from gateway.auth.config import auth_config
    cfg = auth_config(auth_app)
    cfg.rate_client_burst, cfg.rate_client_per_s = 2, 0.01
    key = ClientKey()
    c = register(engine, key)
    http = auth_app.test_client()
    for _ in range(2):
        get_token(http, key, c.client_id)
    r = http.post("/oauth/token", data=token_form(make_assertion(key, c.client_id)))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # another client from the same address is not affected by this client's bucket
    key2 = ClientKey()
    c2 = register(engine, key2)
    get_token(http, key2, c2.client_id)
    # the per-address bucket
    app2 = build_app(engine)
    cfg2 = auth_config(app2)
    cfg2.rate_addr_burst, cfg2.rate_addr_per_s = 3, 0.01
    h2 = app2.test_client()
    codes = [h2.post("/oauth/token", data={"grant_type": "client_credentials"}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
