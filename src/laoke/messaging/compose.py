"""Turning a template and a recipient into the exact text that goes out.

Used by `enqueue` and by the preview, so what staff preview is what the customer gets:
the text in the customer's language (falling back to the tenant's), the purpose's
variables filled, and for marketing the sender's name and an unsubscribe line added
when the template does not already place `{{ unsubscribe_link }}` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from laoke.config import Language
from laoke.errors import N_
from laoke.messaging import rendering
from laoke.messaging.models import ChannelKind
from laoke.messaging.preferences import Preferences
from laoke.messaging.purposes import Purpose
from laoke.web.i18n import translations

LANGUAGE_ORDER = (Language.ZH_CN, Language.ZH_TW, Language.EN)


@dataclass(frozen=True, slots=True)
class Text:
    subject: str | None
    body: str


@dataclass(frozen=True, slots=True)
class Composed:
    language: str
    subject: str | None
    body: str
    meta: dict[str, Any] = field(default_factory=dict)


def pick_language(texts: dict[str, Text], wanted: str | None, fallback: str) -> str:
    for language in (wanted, fallback, *LANGUAGE_ORDER):
        if language and language in texts:
            return language
    return next(iter(texts))


def customer_language(custom_attributes: dict[str, Any] | None) -> str | None:
    """A customer's language, when one was recorded as custom attribute `language`."""
    value = str((custom_attributes or {}).get("language", "")).replace("-", "_")
    return value if value in Language.__members__.values() else None


def compose(
    purpose: Purpose,
    channel: ChannelKind,
    texts: dict[str, Text],
    prefs: Preferences,
    *,
    recipient_name: str,
    language: str | None,
    variables: dict[str, Any],
    unsubscribe_url: str | None,
) -> Composed:
    chosen = pick_language(texts, language, prefs.default_language)
    text = texts[chosen]
    name_key = "customer_name" if "customer_name" in purpose.variable_names else "staff_name"
    values: dict[str, Any] = {v.name: v.default for v in purpose.all_variables}
    values.update({name_key: recipient_name, "org_name": prefs.sender_name})
    values.update(variables)
    if purpose.marketing:
        values["unsubscribe_link"] = unsubscribe_url or ""
    missing = sorted(k for k in purpose.variable_names if values.get(k) is None)
    if missing:
        raise ValueError(f"no value for {', '.join(missing)} ({purpose.name})")
    subject = rendering.render(text.subject, values) if text.subject else None
    body = rendering.render(text.body, values)
    meta: dict[str, Any] = {"sender": prefs.sender_name}
    if purpose.marketing:
        body = _mark_marketing(body, channel, chosen, prefs.sender_name, unsubscribe_url)
        if unsubscribe_url:
            meta["unsubscribe_url"] = unsubscribe_url
    return Composed(chosen, subject, body, meta)


def _mark_marketing(
    body: str, channel: ChannelKind, language: str, sender: str, unsubscribe_url: str | None
) -> str:
    gettext = translations(language).gettext
    if channel is ChannelKind.SMS and not body.startswith(f"【{sender}】"):
        body = f"【{sender}】{body}"
    if unsubscribe_url and unsubscribe_url not in body:
        line = gettext(N_("Unsubscribe: %(link)s")) % {"link": unsubscribe_url}
        if channel is ChannelKind.SMTP:
            line = f"{sender} · {line}"
        body = f"{body}\n\n{line}" if channel is not ChannelKind.SMS else f"{body} {line}"
    return body
