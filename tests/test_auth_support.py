"""Helpers for the auth tests (no tests here): client keys generated at run time, assertions, apps."""
from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

BASE = "https://hep.test"
TOKEN_URL = BASE + "/oauth/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ClientKey:
    """A partner's key pair, generated per test run; never written to the repository."""

    def __init__(self, alg: str = "ES384", kid: str | None = None):
        self.alg = alg
        self.kid = kid or uuid.uuid4().hex[:12]
        self.private = ec.generate_private_key(ec.SECP384R1()) if alg == "ES384" else \
            rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict:
        algo = jwt.algorithms.ECAlgorithm if self.alg == "ES384" else jwt.algorithms.RSAAlgorithm
        jwk = json.loads(algo.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk()]}


def make_assertion(key: ClientKey, client_id: str, aud: str = TOKEN_URL, lifetime: int = 120,
                   now: float | None = None, headers: dict | None = None, alg: str | None = None,
                   signing_key=None, **claims) -> str:
    now = int(time.time() if now is None else now)
    body = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + lifetime, "iat": now,
            "jti": uuid.uuid4().hex}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    hdr = {k: v for k, v in {"kid": key.kid, "typ": "JWT", **(headers or {})}.items() if v is not None}
    return jwt.encode(body, signing_key or key.private, algorithm=alg or key.alg, headers=hdr)


def token_form(assertion: str, scope: str | None = "system/*.rs", **extra) -> dict:
    form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
    if scope is not None:
        form["scope"] = scope
    form.update(extra)
    return form


def build_app(engine, tenant: str = "la"):
    """The real app (all blueprints) plus two protected probe views: one under /fhir (OperationOutcome)
    and one under /data (problem details)."""
    from gateway.app import create_app
    from gateway.auth import current_requester, require
    from gateway.auth import registry
    from gateway.auth import jwks
    from gateway.config import Settings

    registry.forget()
    jwks.clear()
    app = create_app(Settings(base_url=BASE, tenant=tenant, log_json=False), engine=engine)

    def dump():
        r = current_requester()
        return {"client_id": r.client_id, "kind": r.kind, "role": r.role, "organization": r.organization,
                "user_id": r.user_id, "user_role": r.user_role, "purpose_of_use": r.purpose_of_use,
                "purpose_system": r.purpose_system, "scopes": sorted(r.scopes), "lea_ids": list(r.lea_ids),
                "token_id": r.token_id}

    app.add_url_rule("/fhir/_probe/patient", "probe_patient", require("system/Patient.read")(dump))
    app.add_url_rule("/fhir/_probe/any", "probe_any", require()(dump))
    app.add_url_rule("/data/v3/_probe", "probe_edfi", require("edfi")(dump))
    return app


def register(engine, key: ClientKey | None = None, role: str = "youth_attorney", scopes=("system/*.rs",),
             purpose: str | None = None, kind: str = "smart_backend", tenant: str = "la", **kw):
    from gateway.auth.registry import add_client
    if kind == "smart_backend" and key is not None and "jwks_url" not in kw:
        kw["jwks"] = key.jwks()
    client, secret = add_client(engine, tenant, f"test {role}", kind, role, scopes=list(scopes),
                                purpose=purpose, **kw)
    return client if secret is None else (client, secret)


def get_token(client, key: ClientKey, client_id: str, scope: str = "system/*.rs", **claims) -> str:
    r = client.post("/oauth/token", data=token_form(make_assertion(key, client_id, **claims), scope))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth_app(engine):
    return build_app(engine)
