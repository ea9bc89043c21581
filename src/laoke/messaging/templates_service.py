"""Message templates: validated when saved, previewed with a real customer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.config import Language, Settings
from laoke.customers.service import get_customer_for
from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.messaging import preferences, rendering
from laoke.messaging.compose import Composed, Text, compose, customer_language
from laoke.messaging.consent import unsubscribe_url
from laoke.messaging.models import ChannelKind, MessageTemplate, TemplateText
from laoke.messaging.outbox import address_of
from laoke.messaging.purposes import Audience, Purpose, get_purpose

LANGUAGES = tuple(Language)


@dataclass(frozen=True)
class Draft:
    name: str
    purpose: str
    channel: str
    texts: dict[str, Text]
    is_active: bool = True


def validate(draft: Draft) -> tuple[Purpose, ChannelKind, dict[str, Text]]:
    """Every check a save makes; raises `Invalid` naming the field at fault."""
    purpose = get_purpose(draft.purpose)
    try:
        channel = ChannelKind(draft.channel)
    except ValueError:
        raise Invalid(N_("Unknown channel kind."), field="channel") from None
    name = " ".join(draft.name.split())
    if not name or len(name) > 100:
        raise Invalid(N_("A name of at most 100 characters is required."), field="name")
    if purpose.audience is Audience.CUSTOMER and channel is ChannelKind.WECOM:
        raise Invalid(
            N_("A WeCom group robot posts to a staff group; it cannot reach customers."),
            field="channel",
        )
    texts: dict[str, Text] = {}
    for language, text in draft.texts.items():
        if language not in LANGUAGES:
            raise Invalid(N_("Unknown language."), field="texts")
        body = (text.body or "").strip()
        subject = (text.subject or "").strip() or None
        if not body and not subject:
            continue
        if not body:
            raise Invalid(N_("The text is empty."), field=f"body_{language}")
        if channel is ChannelKind.SMTP and not subject:
            raise Invalid(N_("An email needs a subject."), field=f"subject_{language}")
        if subject and ("\n" in subject or "\r" in subject or len(subject) > 300):
            raise Invalid(
                N_("A subject is one line of at most 300 characters."), field=f"subject_{language}"
            )
        samples = purpose.samples()
        if subject:
            rendering.check_source(subject, purpose.variable_names, samples, f"subject_{language}")
        rendering.check_source(body, purpose.variable_names, samples, f"body_{language}")
        texts[language] = Text(subject if channel is ChannelKind.SMTP else None, body)
    if not texts:
        raise Invalid(N_("Write the text in at least one language."), field="texts")
    return purpose, channel, texts


def list_templates(session: Session, actor: Actor) -> list[MessageTemplate]:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    return list(
        session.scalars(
            select(MessageTemplate)
            .where(MessageTemplate.org_id == actor.org_id)
            .order_by(MessageTemplate.purpose, MessageTemplate.name)
        )
    )


def get_template_for(session: Session, actor: Actor, template_id: int) -> MessageTemplate:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    template = session.get(MessageTemplate, template_id)
    if template is None or template.org_id != actor.org_id:
        raise NotFound(N_("No such template."), code="template_not_found")
    return template


def texts_of(session: Session, template: MessageTemplate) -> dict[str, Text]:
    rows = session.scalars(
        select(TemplateText).where(
            TemplateText.org_id == template.org_id, TemplateText.template_id == template.id
        )
    )
    return {row.language: Text(row.subject, row.body) for row in rows}


def save_template(
    session: Session, actor: Actor, draft: Draft, template_id: int | None = None
) -> MessageTemplate:
    actor.require(Permission.SEND_MESSAGES)
    purpose, channel, texts = validate(draft)
    name = " ".join(draft.name.split())
    clash = session.scalar(
        select(MessageTemplate.id).where(
            MessageTemplate.org_id == actor.org_id,
            MessageTemplate.name == name,
            MessageTemplate.id != (template_id or 0),
        )
    )
    if clash:
        raise Conflict(N_("Another template already has this name."), code="duplicate_template")
    if template_id is None:
        template = MessageTemplate(org_id=actor.org_id, name=name)
        session.add(template)
    else:
        template = get_template_for(session, actor, template_id)
    template.name, template.purpose, template.channel = name, purpose.name, channel
    template.is_active = draft.is_active
    template.updated_at = utcnow()
    session.flush()
    existing = {
        row.language: row
        for row in session.scalars(
            select(TemplateText).where(
                TemplateText.org_id == actor.org_id, TemplateText.template_id == template.id
            )
        )
    }
    for language, row in existing.items():
        if language not in texts:
            session.delete(row)
    for language, text in texts.items():
        row = existing.get(language) or TemplateText(
            org_id=actor.org_id, template_id=template.id, language=language
        )
        row.subject, row.body = text.subject, text.body
        session.add(row)
    session.commit()
    return template


@dataclass(frozen=True)
class Preview:
    composed: Composed
    recipient: str | None
    will_send: bool
    reason: str | None


def preview(
    session: Session,
    actor: Actor,
    settings: Settings,
    draft: Draft,
    *,
    customer_id: int | None,
    language: str | None = None,
) -> Preview:
    """Render a draft (saved or not) exactly as it would go to this customer."""
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    purpose, channel, texts = validate(draft)
    prefs = preferences.load(session, actor.org_id)
    if purpose.audience is Audience.STAFF or customer_id is None:
        composed = compose(
            purpose,
            channel,
            texts,
            prefs,
            recipient_name=purpose.samples().get("customer_name", actor.name),
            language=language,
            variables=purpose.samples(),
            unsubscribe_url=purpose.samples().get("unsubscribe_link"),
        )
        return Preview(composed, None, True, None)
    customer = get_customer_for(session, actor, customer_id)
    link = unsubscribe_url(settings.base_url, settings.secret_key, actor.org_id, customer.id)
    variables = {
        v.name: v.sample
        for v in purpose.variables
        if v.name not in ("customer_name", "org_name", "unsubscribe_link")
    }
    composed = compose(
        purpose,
        channel,
        texts,
        prefs,
        recipient_name=customer.name,
        language=language or customer_language(customer.custom_attributes),
        variables=variables,
        unsubscribe_url=link if purpose.marketing else None,
    )
    recipient = address_of(channel, customer, None)
    reason = None
    if purpose.marketing and not customer.marketing_consent:
        reason = N_("This customer has not agreed to marketing messages: it would not be sent.")
    elif not recipient:
        reason = N_("This customer has no address for this channel: it would not be sent.")
    return Preview(composed, recipient, reason is None, reason)
