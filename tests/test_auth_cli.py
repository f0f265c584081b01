"""`hep clients` and `hep certs`, and the token endpoint over a real running server (gunicorn)."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests

from gateway.cli import main
from tests.conftest import ROOT
from tests.test_auth_support import ClientKey, make_assertion, token_form


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_clients_add_list_revoke(db_url, tmp_path, capsys):
    key = ClientKey()
    (tmp_path / "jwks.json").write_text(json.dumps(key.jwks()))
    code, out, _ = _run(capsys, "clients", "add", "Children's Law Center", "--kind", "smart_backend", "--role",
                        "youth_attorney", "--jwks", str(tmp_path / "jwks.json"), "--scope", "system/*.rs",
                        "--organization", "CLC", "--database", db_url)
    assert code == 0 and out.startswith("client_id: childrens-law-center-")
    cid = out.split()[1]
    code, out, _ = _run(capsys, "clients", "add", "Acme SIS", "--kind", "sis_vendor", "--role", "school",
                        "--lea", "1964733", "1964212", "--scope", "edfi", "ingest", "--json", "--database", db_url)
    vendor = json.loads(out)
    assert vendor["scopes"] == ["edfi", "ingest"] and len(vendor["client_secret"]) >= 40
    code, out, _ = _run(capsys, "clients", "list", "--json", "--database", db_url)
    listed = {c["client_id"]: c for c in json.loads(out)}
    assert listed[cid]["keys"] == "jwks" and listed[vendor["client_id"]]["lea_ids"] == ["1964733", "1964212"]
    assert vendor["client_secret"] not in out                         # never shown again
    assert _run(capsys, "clients", "revoke", cid, "--database", db_url)[0] == 0
    _, out, _ = _run(capsys, "clients", "list", "--database", db_url)
    assert any(line.startswith(cid) and " revoked " in line for line in out.splitlines())
    assert _run(capsys, "clients", "revoke", "nobody", "--database", db_url)[0] == 1


@pytest.mark.parametrize("argv,msg", [
    (["--kind", "smart_backend", "--role", "judge", "--jwks-url", "https://x/j", "--scope", "system/*.rs"], "unknown role"),
    (["--kind", "smart_backend", "--role", "casa", "--scope", "system/*.rs"], "exactly one of --jwks"),
    (["--kind", "smart_backend", "--role", "casa", "--jwks-url", "http://partner.example/j", "--scope", "system/*.rs"],
     "https"),
    (["--kind", "smart_backend", "--role", "casa", "--jwks-url", "https://x/j"], "at least one --scope"),
    (["--kind", "smart_backend", "--role", "state_cms", "--jwks-url", "https://x/j", "--scope", "system/*.rs",
      "--purpose", "TREAT"], "not one of role state_cms"),
    (["--kind", "sis_vendor", "--role", "school", "--lea", "123"], "7-digit"),
    (["--kind", "smart_backend", "--role", "casa", "--jwks", "PRIVATE", "--scope", "system/*.rs"], "private"),
])
def test_clients_add_refuses_bad_registrations(sqlite_engine, tmp_path, capsys, argv, msg):
    from cryptography.hazmat.primitives.asymmetric import ec
    priv = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1())))
    (tmp_path / "priv.json").write_text(json.dumps({"keys": [{**priv, "kid": "k"}]}))
    argv = [str(tmp_path / "priv.json") if a == "PRIVATE" else a for a in argv]
    code, _, err = _run(capsys, "clients", "add", "x", *argv, "--database", str(sqlite_engine.url))
    assert code == 2 and msg in err, err


def test_certs_init_idempotent_and_private(tmp_path, capsys):
    d = tmp_path / "c"
    assert _run(capsys, "certs", "init", "--dir", str(d))[0] == 0
    first = {p.name: p.read_bytes() for p in d.iterdir()}
    assert {"ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key", "token-signing.pem"} <= set(first)
    for name in first:
        if name.endswith((".key", ".pem")):
            assert stat.S_IMODE((d / name).stat().st_mode) == 0o600, name
    code, out, _ = _run(capsys, "certs", "init", "--dir", str(d))
    assert "nothing to do" in out and {p.name: p.read_bytes() for p in d.iterdir()} == first
    from cryptography import x509
    server = x509.load_pem_x509_certificate(first["server.crt"])
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert [str(i) for i in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    ca = x509.load_pem_x509_certificate(first["ca.crt"])
    for name in ("server.crt", "client.crt"):
        x509.load_pem_x509_certificate(first[name]).verify_directly_issued_by(ca)


# --- a real server ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp_path: Path, tls: bool = False):
        self.port = _free_port()
        scheme = "https" if tls else "http"
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.env = {**os.environ, "HEP_DATABASE_URL": f"sqlite:///{tmp_path}/srv.sqlite3", "HEP_BASE_URL": self.base,
                    "HEP_CERTS_DIR": str(tmp_path / "certs"), "HEP_VAR_DIR": str(tmp_path / "var"),
                    "HEP_LOG_FORMAT": "text"}
        self.tls = tls
        self.tmp = tmp_path

    def hep(self, *argv) -> str:
        r = subprocess.run([sys.executable, "-m", "gateway.cli", *argv], env=self.env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def __enter__(self):
        argv = ["serve", "--port", str(self.port), "--workers", "1", "--threads", "2"] + (["--tls"] if self.tls else [])
        self.proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", *argv], env=self.env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=open(self.tmp / "server.log", "wb"))
        kw = self.client_kw()
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.base + "/healthz", timeout=2, **kw).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("server did not start: " + (self.tmp / "server.log").read_text()[-2000:])
            time.sleep(0.2)

    def client_kw(self, cert: str = "client") -> dict:
        if not self.tls:
            return {}
        c = self.tmp / "certs"
        return {"verify": str(c / "ca.crt"), "cert": (str(c / f"{cert}.crt"), str(c / f"{cert}.key"))}

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_token_over_real_server(tmp_path):
    key = ClientKey()
    (tmp_path / "jwks.json").write_text(json.dumps(key.jwks()))
    srv = Server(tmp_path)
    out = srv.hep("clients", "add", "State CWS/CMS", "--kind", "smart_backend", "--role", "state_cms",
                  "--jwks", str(tmp_path / "jwks.json"), "--scope", "system/*.rs", "--purpose", "x-CW-ADMIN")
    cid = out.split()[1]
    with srv:
        conf = requests.get(srv.base + "/.well-known/smart-configuration", timeout=10).json()
        assert conf["token_endpoint"] == srv.base + "/oauth/token"
        assertion = make_assertion(key, cid, aud=conf["token_endpoint"])
        r = requests.post(conf["token_endpoint"], data=token_form(assertion, "system/Patient.rs"), timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        pub = jwt.PyJWK(requests.get(srv.base + "/.well-known/jwks.json", timeout=10).json()["keys"][0]).key
        claims = jwt.decode(body["access_token"], pub, algorithms=["ES384"], audience=srv.base + "/fhir")
        assert (claims["sub"], claims["purpose_of_use"], claims["scope"]) == (cid, "x-CW-ADMIN", "system/Patient.rs")
        # replay against the real server, then revocation through the CLI
        r = requests.post(conf["token_endpoint"], data=token_form(assertion, "system/Patient.rs"), timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        srv.hep("clients", "revoke", cid)
        r = requests.post(conf["token_endpoint"], data=token_form(make_assertion(key, cid, aud=conf["token_endpoint"])),
                          timeout=10)
        assert r.status_code == 401 and "not active" in r.json()["error_description"]


def test_mutual_tls_binds_token_to_client_certificate(tmp_path):
    """`hep serve --tls`: gunicorn hands the TLS socket to the app (environ["gunicorn.socket"]), so the
    client certificate's thumbprint is bound into the token (cnf.x5t#S256) and checked at /oauth/token."""
    from gateway.auth.registry import cert_thumbprint
    key = ClientKey()
    (tmp_path / "jwks.json").write_text(json.dumps(key.jwks()))
    srv = Server(tmp_path, tls=True)
    srv.hep("certs", "init", "--dir", str(tmp_path / "certs"))
    thumb = cert_thumbprint((tmp_path / "certs" / "client.crt").read_bytes())
    bound = srv.hep("clients", "add", "HIE", "--kind", "smart_backend", "--role", "treating_provider", "--jwks",
                    str(tmp_path / "jwks.json"), "--scope", "system/*.rs", "--cert",
                    str(tmp_path / "certs" / "client.crt")).split()[1]
    # registered with some other certificate (the server's own, as a stand-in)
    other = srv.hep("clients", "add", "Other", "--kind", "smart_backend", "--role", "treating_provider", "--jwks",
                    str(tmp_path / "jwks.json"), "--scope", "system/*.rs", "--cert",
                    str(tmp_path / "certs" / "server.crt")).split()[1]
    with srv:
        url = srv.base + "/oauth/token"
        r = requests.post(url, data=token_form(make_assertion(key, bound, aud=url, purpose_of_use="TREAT")), timeout=10,
                          **srv.client_kw())
        assert r.status_code == 200, r.text
        assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["cnf"] == {"x5t#S256": thumb}
        r = requests.post(url, data=token_form(make_assertion(key, other, aud=url, purpose_of_use="TREAT")), timeout=10,
                          **srv.client_kw())
        assert r.status_code == 401 and "certificate" in r.json()["error_description"]
        with pytest.raises(requests.exceptions.SSLError):       # no client certificate: the handshake fails
            requests.post(url, data={}, timeout=10, verify=str(tmp_path / "certs" / "ca.crt"))
