"""The client certificate presented over mutual TLS, as an RFC 8705 x5t#S256 thumbprint.

Where it comes from, in order:
 1. `environ["gunicorn.socket"]`: under `hep serve --tls` gunicorn terminates TLS itself and hands the
    SSL socket to the app in the WSGI environ; `getpeercert(binary_form=True)` is the client cert.
 2. `environ["SSL_CLIENT_CERT"]` (PEM): mod_wsgi / uWSGI behind Apache or nginx.
 3. the `Client-Cert` header (RFC 9440, `:base64-DER:`), ONLY when HEP_TRUST_CLIENT_CERT_HEADER=1,
    i.e. behind a TLS-terminating proxy that strips the header from clients and sets it itself.
 4. `environ["hep.peer_cert_der"]`: set by tests or an embedding server.
"""
from __future__ import annotations

import base64

from .registry import cert_thumbprint


def peer_cert_der(environ: dict, trust_header: bool = False) -> bytes | None:
    der = environ.get("hep.peer_cert_der")
    if der:
        return der
    sock = environ.get("gunicorn.socket")
    getpeercert = getattr(sock, "getpeercert", None)
    if getpeercert is not None:
        try:
            der = getpeercert(binary_form=True)
        except (ValueError, OSError):
            der = None
        if der:
            return der
    pem = environ.get("SSL_CLIENT_CERT")
    if pem:
        return pem.encode() if isinstance(pem, str) else pem
    if trust_header:
        v = environ.get("HTTP_CLIENT_CERT", "").strip()
        if v.startswith(":") and v.endswith(":") and len(v) > 2:
            try:
                return base64.b64decode(v[1:-1], validate=True)
            except ValueError:
                return None
    return None


def peer_thumbprint(environ: dict, trust_header: bool = False) -> str | None:
    der = peer_cert_der(environ, trust_header)
    if not der:
        return None
    try:
        return cert_thumbprint(der)
    except ValueError:
        return None
