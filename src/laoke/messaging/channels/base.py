"""The one contract every channel adapter keeps.

An adapter (a `Transport`) is built from a tenant's channel settings and its unsealed
secrets, and sends one message at a time:

    send(message) -> Delivered | TransientFailure | PermanentFailure

- It **never raises** for a delivery problem: a refused address, a timeout, a 5xx, a
  malformed answer — each becomes an outcome. (Should an adapter raise anyway, the worker
  records a transient failure and logs the traceback.)
- `Delivered` means the provider accepted the message; it carries the provider's message
  id when there is one.
- `TransientFailure` means "try again later" (network, timeout, 429, 5xx, a 4xx SMTP
  reply); `retry_after` (seconds) is honoured when the provider gives it.
- `PermanentFailure` means trying again cannot help (a 5xx SMTP recipient refusal, an
  HTTP 4xx that is not 408/429, a provider error code that names a bad request).
- It returns within `timeout` seconds, so a worker's lease outlives any one attempt.
- It may keep a connection open between sends (SMTP session, HTTP keep-alive);
  `close()` releases it.

`resend_safe` tells the worker what to do with a message whose attempt was lost (the
worker died after claiming it): True when the provider receives the idempotency key and
drops duplicates (at-least-once delivery, duplicates removed downstream); False when a
repeat would reach the recipient twice, in which case the message becomes a dead letter
for a person to decide (at-most-once).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    id: int
    org_id: int
    idempotency_key: str
    purpose: str
    is_marketing: bool
    recipient: str
    subject: str | None
    body: str
    language: str
    attempt: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivered:
    provider_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class TransientFailure:
    error: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class PermanentFailure:
    error: str


Outcome = Delivered | TransientFailure | PermanentFailure


class Transport(ABC):
    kind: ClassVar[str]
    resend_safe: ClassVar[bool] = False
    timeout: float = 10.0

    @abstractmethod
    def send(self, message: OutgoingMessage) -> Outcome:
        """Deliver one message; see the module docstring for the contract."""

    def close(self) -> None:  # noqa: B027 - optional for adapters without connections
        """Release any open connection."""
