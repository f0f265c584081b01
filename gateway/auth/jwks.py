"""Client keys: the registered JWKS (inline) or a JWKS URL fetched with `requests` (timeout, size cap,
no redirects), cached per process for min(HEP_JWKS_TTL, Cache-Control max-age), and fetched again
once when an assertion names a kid the cached set lacks (key rotation)."""
from __future__ import annotations

import json
import re
import threading
import time

import requests

_cache: dict[str, tuple[float, float, dict]] = {}   # url -> (fetched_at, ttl, jwks)
_lock = threading.Lock()
_monotonic = time.monotonic  # tests may replace


class JwksError(Exception):
    pass


def _max_age(cache_control: str | None, default: float) -> float:
    cc = (cache_control or "").lower()
    if "no-store" in cc or "no-cache" in cc:
        return 0.0
    m = re.search(r"max-age\s*=\s*(\d+)", cc)
    return min(default, float(m.group(1))) if m else default


def fetch(url: str, timeout: float, max_bytes: int, ttl: float) -> dict:
    try:
        resp = requests.get(url, timeout=timeout, allow_redirects=False, stream=True,
                            headers={"Accept": "application/json"})
        if resp.status_code != 200:
            raise JwksError(f"JWKS URL answered {resp.status_code}")
        body = b""
        for chunk in resp.iter_content(8192):
            body += chunk
            if len(body) > max_bytes:
                raise JwksError("JWKS document too large")
        jwks = json.loads(body)
    except requests.RequestException as e:
        raise JwksError(f"JWKS URL unreachable: {type(e).__name__}") from None
    except ValueError:
        raise JwksError("JWKS URL did not return JSON") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JwksError("JWKS URL did not return a JWK Set")
    with _lock:
        _cache[url] = (_monotonic(), _max_age(resp.headers.get("Cache-Control"), ttl), jwks)
    return jwks


def _find(jwks: dict | None, kid: str) -> dict | None:
    for k in (jwks or {}).get("keys", []):
        if isinstance(k, dict) and k.get("kid") == kid:
            return k
    return None


def key_for(client, kid: str, timeout: float = 5.0, max_bytes: int = 65536, ttl: float = 300.0) -> dict | None:
    """The client's JWK with this kid, or None."""
    if client.jwks:
        return _find(client.jwks, kid)
    if not client.jwks_url:
        return None
    url = client.jwks_url
    with _lock:
        hit = _cache.get(url)
    fresh = False
    if hit is None or _monotonic() - hit[0] >= hit[1]:
        jwks, fresh = fetch(url, timeout, max_bytes, ttl), True
    else:
        jwks = hit[2]
    key = _find(jwks, kid)
    if key is None and not fresh:
        key = _find(fetch(url, timeout, max_bytes, ttl), kid)  # unknown kid: refetch once
    return key


def clear() -> None:
    with _lock:
        _cache.clear()
