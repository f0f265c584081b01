"""Client keys registered as a JWKS URL: fetched with requests (mocked with `responses`), cached,
fetched again once when an assertion names an unknown kid (key rotation)."""
from __future__ import annotations

import pytest
import responses

from tests.test_auth_support import ClientKey, auth_app, get_token, make_assertion, register, token_form  # noqa: F401

URL = "https://partner.example/.well-known/jwks.json"


@responses.activate
def test_jwks_url_cached_and_refetched_on_unknown_kid(auth_app, engine):
    old, new = ClientKey(kid="2026-01"), ClientKey("RS384", kid="2026-07")
    responses.get(URL, json=old.jwks(), headers={"Cache-Control": "max-age=600"})
    c = register(engine, jwks_url=URL)
    http = auth_app.test_client()
    get_token(http, old, c.client_id)
    get_token(http, old, c.client_id)
    assert len(responses.calls) == 1                      # cached
    # the partner rotates: the new kid is not in the cached set -> one refetch finds it
    responses.replace(responses.GET, URL, json={"keys": [old.public_jwk(), new.public_jwk()]})
    get_token(http, new, c.client_id)
    assert len(responses.calls) == 2
    # a kid the partner never published: one refetch, then invalid_client; no loop
    stranger = ClientKey(kid="never")
    r = http.post("/oauth/token", data=token_form(make_assertion(stranger, c.client_id)))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    assert len(responses.calls) == 3


@responses.activate
def test_jwks_cache_expires(auth_app, engine, monkeypatch):
    from gateway.auth import jwks
    t = [5000.0]
    monkeypatch.setattr(jwks, "_monotonic", lambda: t[0])
    key = ClientKey()
    responses.get(URL, json=key.jwks(), headers={"Cache-Control": "max-age=60"})
    c = register(engine, jwks_url=URL)
    http = auth_app.test_client()
    get_token(http, key, c.client_id)
    t[0] += 59
    get_token(http, key, c.client_id)
    assert len(responses.calls) == 1
    t[0] += 2                                             # max-age (60 s) < HEP_JWKS_TTL (300 s) wins
    get_token(http, key, c.client_id)
    assert len(responses.calls) == 2


@pytest.mark.parametrize("reply", [dict(status=500), dict(body="<html>"), dict(json={"nokeys": 1}),
                                   dict(status=302, headers={"Location": "https://evil.example/jwks"}),
                                   dict(body=b"{" + b" " * 70000 + b"}")])
@responses.activate
def test_jwks_url_failures_are_invalid_client(auth_app, engine, reply):
    responses.get(URL, **reply)
    key = ClientKey()
    c = register(engine, jwks_url=URL)
    r = auth_app.test_client().post("/oauth/token", data=token_form(make_assertion(key, c.client_id)))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    assert "client keys unavailable" in r.get_json()["error_description"]


@responses.activate
def test_jwks_fetch_uses_timeout(auth_app, engine, monkeypatch):
    import requests
    seen = {}
    real = requests.get

    def spy(url, **kw):
        seen.update(kw)
        return real(url, **kw)
    monkeypatch.setattr(requests, "get", spy)
    key = ClientKey()
    responses.get(URL, json=key.jwks())
    c = register(engine, jwks_url=URL)
    get_token(auth_app.test_client(), key, c.client_id)
    assert seen["timeout"] == 5.0 and seen["allow_redirects"] is False
