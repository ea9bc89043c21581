"""Outgoing webhook: JSON over HTTP POST, signed with HMAC-SHA256.

Headers on every request:

- `X-Laoke-Timestamp`: Unix seconds when it was sent.
- `X-Laoke-Signature`: `sha256=` + hex HMAC-SHA256 of `"{timestamp}.{body}"` with the
  shared secret. A receiver recomputes it over the raw body, compares in constant time
  and rejects timestamps older than a few minutes (see `verify_signature`).
- `X-Laoke-Delivery` and `Idempotency-Key`: the message's idempotency key, the same on
  every retry, so the receiver can drop duplicates.

Anything but a 2xx is retried with backoff until the attempts run out, except 410 Gone
("stop sending"), which fails at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from laoke.messaging.channels import net
from laoke.messaging.channels.base import (
    Delivered,
    Outcome,
    OutgoingMessage,
    PermanentFailure,
    TransientFailure,
    Transport,
)

SIGNATURE_HEADER = "X-Laoke-Signature"
TIMESTAMP_HEADER = "X-Laoke-Timestamp"
DELIVERY_HEADER = "X-Laoke-Delivery"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode())


def message_document(message: OutgoingMessage) -> dict:
    return {
        "id": message.idempotency_key,
        "type": "message",
        "purpose": message.purpose,
        "marketing": message.is_marketing,
        "recipient": message.recipient,
        "language": message.language,
        "subject": message.subject,
        "body": message.body,
        "customer_id": message.meta.get("customer_id"),
        "unsubscribe_url": message.meta.get("unsubscribe_url"),
    }


class WebhookTransport(Transport):
    kind = "webhook"
    resend_safe = True

    def __init__(
        self, *, url: str, secret: str, allow_private: bool = True, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.secret = secret
        self.allow_private = allow_private
        self.timeout = timeout
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = net.http_client(self.timeout)
        return self._client

    def payload(self, message: OutgoingMessage) -> bytes:
        if message.meta.get("envelope"):
            return message.body.encode()  # an event delivery: the JSON was built at enqueue
        return json.dumps(message_document(message), ensure_ascii=False).encode()

    def send(self, message: OutgoingMessage) -> Outcome:
        if not net.target_allowed(self.url, self.allow_private):
            return PermanentFailure("the webhook address points into a private network")
        body = self.payload(message)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            DELIVERY_HEADER: message.idempotency_key,
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            response = self._http().post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return TransientFailure(f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= response.status_code < 300:
            return Delivered(response.headers.get("x-request-id"))
        if response.status_code == 410:
            return PermanentFailure(net.http_outcome_error(response))
        return TransientFailure(net.http_outcome_error(response), net.retry_after(response))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
