"""Delivery settings, from the environment (HEP_NOTIFY_*) or given by the caller (tests)."""
from __future__ import annotations

import os
from dataclasses import dataclass


def _env_float(name: str, default: float) -> float:
    v = os.environ.get(name)
    return float(v) if v not in (None, "") else default


@dataclass(frozen=True)
class NotifyConfig:
    base_delay: float = 30.0              # first retry after ~30 s, then 2^n times that ...
    max_delay: float = 6 * 3600.0         # ... never more than 6 h between two attempts
    max_age: float = 3 * 86400.0          # a delivery still failing after 3 days is dead-lettered
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    fanout_batch: int = 500               # outbox rows per fan-out transaction
    per_subscription: int = 500           # undelivered rows looked at per subscription per run
    lease: float = 600.0                  # a dispatcher holds a subscription this long at most
    allow_http: bool = False              # plain http endpoints (development only; localhost always allowed)

    @classmethod
    def from_env(cls) -> "NotifyConfig":
        return cls(base_delay=_env_float("HEP_NOTIFY_BASE_DELAY", cls.base_delay),
                   max_delay=_env_float("HEP_NOTIFY_MAX_DELAY", cls.max_delay),
                   max_age=_env_float("HEP_NOTIFY_MAX_AGE", cls.max_age),
                   connect_timeout=_env_float("HEP_NOTIFY_CONNECT_TIMEOUT", cls.connect_timeout),
                   read_timeout=_env_float("HEP_NOTIFY_READ_TIMEOUT", cls.read_timeout),
                   allow_http=os.environ.get("HEP_NOTIFY_ALLOW_HTTP", "") in ("1", "true", "yes"))

    def backoff(self, attempts: int, rng) -> float:
        """Seconds before the next attempt after `attempts` failed ones: base x 2^(n-1), capped,
        with "equal jitter" (half fixed, half random) so retries of many deliveries spread out."""
        delay = min(self.max_delay, self.base_delay * (2 ** max(0, min(attempts - 1, 30))))
        return delay / 2 + rng.uniform(0, delay / 2)
