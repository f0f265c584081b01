"""In-process token buckets for /oauth/token, per remote address and per client id.

Each gunicorn worker keeps its own buckets, so the effective limit is (workers x limit); production
puts a shared limiter (the reverse proxy / API gateway, or Redis) in front of /oauth/token.
"""
from __future__ import annotations

import threading
import time


class TokenBuckets:
    def __init__(self, burst: int, per_second: float, max_keys: int = 50000, clock=time.monotonic):
        self.burst, self.rate, self.max_keys, self.clock = float(burst), float(per_second), max_keys, clock
        self._b: dict[str, tuple[float, float]] = {}   # key -> (tokens, updated)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token again (0.0 now), without taking one."""
        now = self.clock()
        with self._lock:
            tokens, t = self._b.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - t) * self.rate)
            return 0.0 if tokens >= 1.0 else ((1.0 - tokens) / self.rate if self.rate > 0 else 3600.0)

    def take(self, key: str) -> float:
        """0.0 when a request may proceed, else the seconds to wait (Retry-After)."""
        now = self.clock()
        with self._lock:
            tokens, t = self._b.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - t) * self.rate)
            if tokens >= 1.0:
                if len(self._b) >= self.max_keys and key not in self._b:
                    self._b.clear()  # crude bound on memory under a flood of distinct keys
                self._b[key] = (tokens - 1.0, now)
                return 0.0
            self._b[key] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0
