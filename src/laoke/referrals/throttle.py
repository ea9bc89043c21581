"""Rate limits of the public referral pages, per client address and per invite code.

Token buckets in process memory (the refill arithmetic of messaging's channel limiter):
cheap enough for the landing page's hot path. Each server process keeps its own buckets,
so with N workers a client gets at most N times the allowance — still bounded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from laoke.errors import N_, TooManyRequests

MAX_KEYS = 50_000


@dataclass(frozen=True, slots=True)
class Limit:
    per_minute: float
    burst: int


@dataclass(slots=True)
class Limits:
    page_per_ip: Limit = Limit(per_minute=120, burst=60)
    submit_per_ip: Limit = Limit(per_minute=0.5, burst=8)
    submit_per_code: Limit = Limit(per_minute=2, burst=30)


class Throttle:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _take(self, key: str, limit: Limit, now: float) -> bool:
        tokens, at = self._buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - at) * limit.per_minute / 60.0)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def _check(self, pairs: list[tuple[str, Limit]]) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > MAX_KEYS:
                self._buckets.clear()  # a flood of addresses: start over rather than grow
            allowed = all(self._take(key, limit, now) for key, limit in pairs)
        if not allowed:
            raise TooManyRequests(
                N_("Too many requests. Please wait a few minutes and try again."),
                code="rate_limited",
            )

    def page(self, ip: str) -> None:
        self._check([(f"page:{ip}", self.limits.page_per_ip)])

    def submit(self, ip: str, code: str) -> None:
        self._check(
            [
                (f"submit:{ip}", self.limits.submit_per_ip),
                (f"code:{code}", self.limits.submit_per_code),
            ]
        )
