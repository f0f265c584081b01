"""Auth settings (environment, twelve-factor). Kept here so gateway/config.py stays small; the
app factory's Settings supplies base_url and tenant."""
from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass
class AuthConfig:
    access_token_ttl: int = field(default_factory=lambda: _int("HEP_ACCESS_TOKEN_TTL", 300))
    max_assertion_lifetime: int = 300          # SMART: exp no more than 5 minutes ahead
    clock_skew: int = field(default_factory=lambda: _int("HEP_CLOCK_SKEW", 10))
    max_assertion_bytes: int = 8192
    max_token_bytes: int = 8192
    client_status_ttl: float = field(default_factory=lambda: _float("HEP_CLIENT_STATUS_TTL", 30.0))
    jwks_ttl: float = field(default_factory=lambda: _float("HEP_JWKS_TTL", 300.0))
    jwks_timeout: float = field(default_factory=lambda: _float("HEP_JWKS_TIMEOUT", 5.0))
    jwks_max_bytes: int = 65536
    # in-process token buckets on /oauth/token: burst size and refill per second
    rate_client_burst: int = field(default_factory=lambda: _int("HEP_TOKEN_RATE_CLIENT_BURST", 20))
    rate_client_per_s: float = field(default_factory=lambda: _float("HEP_TOKEN_RATE_CLIENT_PER_S", 1.0))
    rate_addr_burst: int = field(default_factory=lambda: _int("HEP_TOKEN_RATE_ADDR_BURST", 60))
    rate_addr_per_s: float = field(default_factory=lambda: _float("HEP_TOKEN_RATE_ADDR_PER_S", 5.0))
    # behind a TLS-terminating proxy that forwards the client certificate (RFC 9440 Client-Cert)
    trust_client_cert_header: bool = field(
        default_factory=lambda: os.environ.get("HEP_TRUST_CLIENT_CERT_HEADER", "") == "1")


def auth_config(app=None) -> AuthConfig:
    """The app's AuthConfig (created from the environment on first use; tests may replace it)."""
    from flask import current_app
    app = app or current_app
    cfg = app.extensions.get("hep.auth.config")
    if cfg is None:
        cfg = app.extensions["hep.auth.config"] = AuthConfig()
    return cfg
