"""Token buckets per tenant channel, shared by every worker through the channel row.

A channel allowing `rate_per_minute` with `burst` holds at most `burst` tokens and gains
rate/60 a second; each message sent spends one. The bucket lives on the channel row and
is updated inside the worker's claim transaction (row locked on PostgreSQL; SQLite
claims are serial), so four workers together still keep to the rate."""

from __future__ import annotations

from datetime import datetime


def refill(
    tokens: float, at: datetime | None, now: datetime, rate_per_minute: int, burst: int
) -> float:
    if at is None:
        return float(burst)
    elapsed = max((now - at).total_seconds(), 0.0)
    return min(float(burst), tokens + elapsed * rate_per_minute / 60.0)


def wait_for(tokens: float, needed: float, rate_per_minute: int) -> float:
    """Seconds until the bucket holds `needed` tokens."""
    return max(needed - tokens, 0.0) * 60.0 / rate_per_minute
