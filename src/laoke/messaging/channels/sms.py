"""A generic SMS-gateway adapter: any provider that takes an HTTP request per message.

Configured per tenant: the URL, the method (POST or GET), how the body is encoded
(JSON or form), an auth header (its value is a secret), and a body template — a JSON
object whose string values are sandboxed templates over these variables:

    to               the phone number, E.164 (+8613800138000)
    text             the rendered message (sender and opt-out line included)
    sender           the organisation's name
    idempotency_key  stable across retries
    message_id       the outbox row id

Example: {"mobile": "{{ to }}", "content": "{{ text }}", "client_ref": "{{ idempotency_key }}"}

Each value is rendered on its own and then JSON- or form-encoded, so a customer's name
with quotes cannot break the request. A 2xx is delivered unless `success_field` names a
JSON field that must equal `success_value`; 408, 429 and 5xx are transient, other 4xx
permanent. When the template passes `idempotency_key`, the gateway can drop repeats and a
lost attempt is retried (at-least-once); otherwise it is not (at-most-once).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from laoke.messaging import rendering
from laoke.messaging.channels import net
from laoke.messaging.channels.base import (
    Delivered,
    Outcome,
    OutgoingMessage,
    PermanentFailure,
    TransientFailure,
    Transport,
)

VARIABLES = frozenset({"to", "text", "sender", "idempotency_key", "message_id"})
SAMPLES = {
    "to": "+8613800138000",
    "text": "【老客】示例短信",
    "sender": "老客",
    "idempotency_key": "k-1",
    "message_id": "1",
}
DEFAULT_BODY_TEMPLATE = '{"to": "{{ to }}", "text": "{{ text }}", "ref": "{{ idempotency_key }}"}'


def parse_body_template(source: str) -> dict[str, Any]:
    document = json.loads(source)
    if not isinstance(document, dict):
        raise ValueError("the body template must be a JSON object")
    return document


def _leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return []


def template_strings(source: str) -> list[str]:
    return _leaves(parse_body_template(source))


def uses_idempotency_key(source: str) -> bool:
    return any("idempotency_key" in leaf for leaf in template_strings(source))


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return rendering.render(value, values) if "{" in value else value
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def _field(document: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


class SmsGatewayTransport(Transport):
    kind = "sms"

    def __init__(
        self,
        *,
        url: str,
        method: str = "POST",
        content_type: str = "json",
        body_template: str = DEFAULT_BODY_TEMPLATE,
        auth_header: str | None = None,
        auth_value: str | None = None,
        success_field: str | None = None,
        success_value: str | None = None,
        message_id_field: str | None = None,
        allow_private: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.method = method.upper()
        self.content_type = content_type
        self.template = parse_body_template(body_template)
        self.headers = {auth_header: auth_value} if auth_header and auth_value else {}
        self.success_field = success_field
        self.success_value = success_value
        self.message_id_field = message_id_field
        self.allow_private = allow_private
        self.timeout = timeout
        self.resend_safe = uses_idempotency_key(body_template)  # type: ignore[misc]
        self._client: httpx.Client | None = None

    def request_for(self, message: OutgoingMessage) -> dict[str, Any]:
        """The keyword arguments of the HTTP request (also what tests inspect)."""
        values = {
            "to": message.recipient,
            "text": message.body,
            "sender": str(message.meta.get("sender", "")),
            "idempotency_key": message.idempotency_key,
            "message_id": str(message.id),
        }
        filled = _fill(self.template, values)
        request: dict[str, Any] = {"headers": dict(self.headers)}
        if self.method == "GET":
            request["params"] = {k: str(v) for k, v in filled.items()}
        elif self.content_type == "form":
            request["data"] = {k: str(v) for k, v in filled.items()}
        else:
            request["content"] = json.dumps(filled, ensure_ascii=False).encode()
            request["headers"]["Content-Type"] = "application/json; charset=utf-8"
        return request

    def send(self, message: OutgoingMessage) -> Outcome:
        if not net.target_allowed(self.url, self.allow_private):
            return PermanentFailure("the gateway address points into a private network")
        if self._client is None:
            self._client = net.http_client(self.timeout)
        try:
            request = self.request_for(message)
        except Exception as exc:
            return PermanentFailure(f"body template: {exc}"[:300])
        try:
            response = self._client.request(self.method, self.url, **request)
        except httpx.HTTPError as exc:
            return TransientFailure(f"{type(exc).__name__}: {exc}"[:300])
        status = response.status_code
        if status in (408, 429) or status >= 500:
            return TransientFailure(net.http_outcome_error(response), net.retry_after(response))
        if not 200 <= status < 300:
            return PermanentFailure(net.http_outcome_error(response))
        answer: Any = None
        if self.success_field or self.message_id_field:
            try:
                answer = response.json()
            except ValueError:
                return TransientFailure(f"unreadable gateway answer: {response.text[:200]}")
        if self.success_field and str(_field(answer, self.success_field)) != str(
            self.success_value
        ):
            return PermanentFailure(f"gateway refused: {response.text[:200]}")
        provider_id = _field(answer, self.message_id_field) if self.message_id_field else None
        return Delivered(str(provider_id) if provider_id is not None else None)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
