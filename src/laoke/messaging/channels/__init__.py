"""The channel kinds: the fields each one is configured with, and how its adapter is built.

To add a channel kind: write `channels/<kind>.py` with a `Transport` subclass that keeps the
contract in `channels/base.py`, add the kind to `models.ChannelKind` and a `ChannelSpec`
here (its fields drive the settings page, the API and `laoke channel add`), and test it
against a local server speaking the provider's protocol.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from laoke.errors import N_, Invalid
from laoke.messaging import rendering
from laoke.messaging.channels import net, sms
from laoke.messaging.channels.base import Transport
from laoke.messaging.channels.smtp import SmtpTransport
from laoke.messaging.channels.webhook import WebhookTransport
from laoke.messaging.channels.wecom import WecomTransport
from laoke.messaging.models import ChannelKind

SIMPLE_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    type: str = "text"  # text, int, choice, bool, url, email, textarea
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    secret: bool = False
    help: str = ""
    max_length: int = 200


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    kind: ChannelKind
    fields: tuple[Field, ...]
    build: Callable[[dict[str, Any], dict[str, str], bool], Transport]
    default_rate_per_minute: int | None = None
    check: Callable[[dict[str, Any], dict[str, str]], None] | None = None
    resend_safe: Callable[[dict[str, Any]], bool] = lambda _settings: False

    @property
    def public_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.secret)

    @property
    def secret_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.secret)


def _clean_value(field: Field, raw: Any, allow_private: bool) -> Any:
    if field.type == "bool":
        return raw in (True, "true", "on", "1", "yes", 1)
    text = "" if raw is None else str(raw).strip()
    if not text:
        if field.required:
            raise Invalid(N_("This field is required."), field=field.name)
        return field.default
    if len(text) > field.max_length:
        raise Invalid(N_("This value is too long."), field=field.name)
    if field.type == "int":
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise Invalid(N_("Enter a whole number."), field=field.name)
        return int(text)
    if field.type == "choice" and text not in field.choices:
        raise Invalid(N_("Choose one of the offered values."), field=field.name)
    if field.type == "url":
        return net.check_target(text, allow_private, field=field.name)
    if field.type == "email":
        # The tenant's own sender: a plain syntax check (relays may use .local names).
        if not SIMPLE_EMAIL.match(text):
            raise Invalid(N_("This email address is not valid."), field=field.name)
        return text
    if any(ch in text for ch in "\r\n") and field.type != "textarea":
        raise Invalid(N_("Line breaks are not allowed here."), field=field.name)
    return text


def clean_settings(
    spec: ChannelSpec,
    values: dict[str, Any],
    *,
    allow_private: bool,
    current: dict[str, Any] | None = None,
    current_secrets: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate submitted values. A secret left empty keeps its saved value."""
    known = {f.name for f in spec.fields}
    unknown = sorted(set(values) - known)
    if unknown:
        raise Invalid(N_("Unknown setting: %(name)s."), field=unknown[0], name=unknown[0])
    public: dict[str, Any] = {}
    for field in spec.public_fields:
        raw = values.get(field.name, (current or {}).get(field.name))
        public[field.name] = _clean_value(field, raw, allow_private)
    secrets = dict(current_secrets or {})
    for field in spec.secret_fields:
        raw = values.get(field.name)
        if raw not in (None, ""):
            secrets[field.name] = str(_clean_value(field, raw, allow_private))
        elif field.required and not secrets.get(field.name):
            raise Invalid(N_("This field is required."), field=field.name)
    if spec.check:
        spec.check(public, secrets)
    return public, secrets


def _check_sms(public: dict[str, Any], _secrets: dict[str, str]) -> None:
    source = public.get("body_template") or sms.DEFAULT_BODY_TEMPLATE
    try:
        leaves = sms.template_strings(source)
    except (ValueError, json.JSONDecodeError):
        raise Invalid(
            N_("The body template must be a JSON object."), field="body_template"
        ) from None
    for leaf in leaves:
        rendering.check_source(leaf, sms.VARIABLES, sms.SAMPLES, field="body_template")
    flat = public.get("method") == "GET" or public.get("content_type") == "form"
    if flat and any(isinstance(v, dict | list) for v in sms.parse_body_template(source).values()):
        raise Invalid(
            N_("Form and query bodies must be flat: no nested objects."),
            field="body_template",
        )


TIMEOUT = Field("timeout", N_("Timeout (seconds)"), "int", default=10)

SPECS: dict[ChannelKind, ChannelSpec] = {
    ChannelKind.SMTP: ChannelSpec(
        ChannelKind.SMTP,
        (
            Field("host", N_("SMTP server"), required=True),
            Field("port", N_("Port"), "int", default=587),
            Field(
                "security",
                N_("Security"),
                "choice",
                default="starttls",
                choices=("starttls", "ssl", "none"),
            ),
            Field("username", N_("User name")),
            Field("password", N_("Password"), secret=True),
            Field("from_address", N_("From address"), "email", required=True),
            Field("from_name", N_("From name")),
            Field("verify_certificate", N_("Verify the server certificate"), "bool", default=True),
            TIMEOUT,
        ),
        build=lambda s, secret, _private: SmtpTransport(
            host=s["host"],
            port=s.get("port") or 587,
            security=s.get("security") or "starttls",
            username=s.get("username"),
            password=secret.get("password"),
            from_address=s["from_address"],
            from_name=s.get("from_name") or "",
            verify_certificate=s.get("verify_certificate", True) is not False,
            timeout=float(s.get("timeout") or 10),
        ),
        resend_safe=lambda _s: True,
    ),
    ChannelKind.WEBHOOK: ChannelSpec(
        ChannelKind.WEBHOOK,
        (
            Field("url", N_("Address (URL)"), "url", required=True, max_length=2000),
            Field("secret", N_("Signing secret"), secret=True, required=True),
            TIMEOUT,
        ),
        build=lambda s, secret, private: WebhookTransport(
            url=s["url"],
            secret=secret["secret"],
            allow_private=private,
            timeout=float(s.get("timeout") or 10),
        ),
        resend_safe=lambda _s: True,
    ),
    ChannelKind.WECOM: ChannelSpec(
        ChannelKind.WECOM,
        (
            Field(
                "url",
                N_("Robot webhook address (contains its key)"),
                "url",
                required=True,
                secret=True,
                max_length=2000,
            ),
            Field(
                "msgtype",
                N_("Message format"),
                "choice",
                default="text",
                choices=("text", "markdown"),
            ),
            TIMEOUT,
        ),
        build=lambda s, secret, private: WecomTransport(
            url=secret["url"],
            msgtype=s.get("msgtype") or "text",
            allow_private=private,
            timeout=float(s.get("timeout") or 10),
        ),
        default_rate_per_minute=20,
    ),
    ChannelKind.SMS: ChannelSpec(
        ChannelKind.SMS,
        (
            Field("url", N_("Gateway address (URL)"), "url", required=True, max_length=2000),
            Field("method", N_("Method"), "choice", default="POST", choices=("POST", "GET")),
            Field(
                "content_type",
                N_("Body encoding"),
                "choice",
                default="json",
                choices=("json", "form"),
            ),
            Field(
                "body_template",
                N_("Body template (JSON)"),
                "textarea",
                default=sms.DEFAULT_BODY_TEMPLATE,
                max_length=2000,
                help=N_("Variables: to, text, sender, idempotency_key, message_id."),
            ),
            Field("auth_header", N_("Auth header name"), default="Authorization"),
            Field("auth_value", N_("Auth header value"), secret=True),
            Field("success_field", N_("Success field in the JSON answer")),
            Field("success_value", N_("Success value")),
            Field("message_id_field", N_("Message id field in the JSON answer")),
            TIMEOUT,
        ),
        build=lambda s, secret, private: sms.SmsGatewayTransport(
            url=s["url"],
            method=s.get("method") or "POST",
            content_type=s.get("content_type") or "json",
            body_template=s.get("body_template") or sms.DEFAULT_BODY_TEMPLATE,
            auth_header=s.get("auth_header"),
            auth_value=secret.get("auth_value"),
            success_field=s.get("success_field"),
            success_value=s.get("success_value"),
            message_id_field=s.get("message_id_field"),
            allow_private=private,
            timeout=float(s.get("timeout") or 10),
        ),
        check=_check_sms,
        resend_safe=lambda s: sms.uses_idempotency_key(
            s.get("body_template") or sms.DEFAULT_BODY_TEMPLATE
        ),
    ),
}


def spec_for(kind: str) -> ChannelSpec:
    try:
        return SPECS[ChannelKind(kind)]
    except ValueError:
        raise Invalid(N_("Unknown channel kind."), field="kind") from None
