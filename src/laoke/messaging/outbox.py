"""Writing messages into the outbox, inside the caller's transaction.

`enqueue()` is what every domain calls when something should reach a customer or a staff
member: it decides (consent, an address, a configured channel), renders the text, applies
quiet hours and inserts one outbox row — or nothing, when a row with the same
idempotency key already exists. It only flushes: the caller's commit makes the message
real together with the change that caused it, and a rollback takes both back.

    from laoke.messaging.outbox import enqueue
    enqueue(session, org_id=org.id, purpose="reward.issued", key=f"reward:{reward.id}",
            customer=customer, variables={"reward": "50 积分"})

Idempotency keys name the fact, not the attempt: `birthday:{customer}:{date}`,
`reward:{id}:issued`. The same key is stored — and so sent — at most once per tenant,
also when two transactions race (INSERT … ON CONFLICT DO NOTHING on the unique key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from laoke.accounts.models import User
from laoke.config import Settings, get_settings
from laoke.customers.models import Customer
from laoke.db import utcnow
from laoke.errors import N_
from laoke.messaging import preferences
from laoke.messaging.compose import Text, compose, customer_language
from laoke.messaging.consent import quiet_release, unsubscribe_url
from laoke.messaging.models import (
    Channel,
    ChannelKind,
    MessageStatus,
    MessageTemplate,
    OutboxMessage,
    TemplateText,
)
from laoke.messaging.purposes import Audience, get_purpose

MAX_ATTEMPTS = {ChannelKind.WEBHOOK: 12}
DEFAULT_MAX_ATTEMPTS = 8


class SkipReason(StrEnum):
    NO_CONSENT = "no_consent"
    NO_ADDRESS = "no_address"
    NO_CHANNEL = "no_channel"
    NO_TEMPLATE = "no_template"
    INACTIVE = "inactive"


SKIP_REASON_LABELS = {
    SkipReason.NO_CONSENT: N_("No marketing consent"),
    SkipReason.NO_ADDRESS: N_("No address for this channel"),
    SkipReason.NO_CHANNEL: N_("No channel of this kind is configured"),
    SkipReason.NO_TEMPLATE: N_("No active template for this purpose"),
    SkipReason.INACTIVE: N_("Erased, merged or deactivated"),
}


@dataclass(frozen=True, slots=True)
class Enqueued:
    message: OutboxMessage | None
    created: bool = False
    skipped: SkipReason | None = None


# --- lookups cached for the session (a campaign enqueues thousands with one template) ------


def _cache(session: Session, name: str) -> dict:
    return session.info.setdefault(f"laoke.messaging.{name}", {})


def template_texts(session: Session, template: MessageTemplate) -> dict[str, Text]:
    cache = _cache(session, "texts")
    if template.id not in cache:
        rows = session.scalars(
            select(TemplateText).where(
                TemplateText.org_id == template.org_id, TemplateText.template_id == template.id
            )
        )
        cache[template.id] = {row.language: Text(row.subject, row.body) for row in rows}
    return cache[template.id]


def find_template(session: Session, org_id: int, purpose: str) -> MessageTemplate | None:
    return session.scalar(
        select(MessageTemplate)
        .where(
            MessageTemplate.org_id == org_id,
            MessageTemplate.purpose == purpose,
            MessageTemplate.is_active.is_(True),
        )
        .order_by(MessageTemplate.id)
        .limit(1)
    )


def channel_for(session: Session, org_id: int, kind: ChannelKind) -> Channel | None:
    cache = _cache(session, "channels")
    if (org_id, kind) not in cache:
        cache[(org_id, kind)] = session.scalar(
            select(Channel)
            .where(Channel.org_id == org_id, Channel.kind == kind, Channel.enabled.is_(True))
            .order_by(Channel.id)
            .limit(1)
        )
    return cache[(org_id, kind)]


def address_of(channel: ChannelKind, customer: Customer | None, user: User | None) -> str | None:
    if channel is ChannelKind.WECOM:
        return "group"  # the robot posts into its group
    if user is not None:
        return user.email if channel is ChannelKind.SMTP else f"staff:{user.id}"
    assert customer is not None
    if channel is ChannelKind.SMTP:
        return customer.email
    if channel is ChannelKind.SMS:
        return customer.primary_phone
    return f"customer:{customer.id}"


# --- enqueue -------------------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    org_id: int,
    purpose: str,
    key: str,
    template: MessageTemplate | None = None,
    customer: Customer | None = None,
    user: User | None = None,
    variables: dict[str, Any] | None = None,
    campaign_id: int | None = None,
    not_before: datetime | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Enqueued:
    """Queue one templated message to a customer or a staff member (flushes only)."""
    spec = get_purpose(purpose)
    now = now or utcnow()
    if (customer is None) == (user is None):
        raise ValueError("give exactly one of customer or user")
    if (spec.audience is Audience.CUSTOMER) != (customer is not None):
        raise ValueError(f"{purpose} is addressed to a {spec.audience}")
    template = template or find_template(session, org_id, purpose)
    if template is None or not template.is_active:
        return Enqueued(None, skipped=SkipReason.NO_TEMPLATE)
    if template.org_id != org_id or template.purpose != purpose:
        raise ValueError("the template belongs to another tenant or purpose")
    if customer is not None:
        if customer.org_id != org_id:
            raise ValueError("the customer belongs to another tenant")
        if not customer.is_active:
            return Enqueued(None, skipped=SkipReason.INACTIVE)
        if spec.marketing and not customer.marketing_consent:
            return Enqueued(None, skipped=SkipReason.NO_CONSENT)
    if user is not None and (user.org_id != org_id or not user.is_active):
        return Enqueued(None, skipped=SkipReason.INACTIVE)
    kind = ChannelKind(template.channel)
    channel = channel_for(session, org_id, kind)
    if channel is None:
        return Enqueued(None, skipped=SkipReason.NO_CHANNEL)
    recipient = address_of(kind, customer, user)
    if not recipient:
        return Enqueued(None, skipped=SkipReason.NO_ADDRESS)
    texts = template_texts(session, template)
    if not texts:
        return Enqueued(None, skipped=SkipReason.NO_TEMPLATE)
    prefs = preferences.load(session, org_id)
    link = None
    if spec.marketing and customer is not None:
        settings = settings or get_settings()
        link = unsubscribe_url(settings.base_url, settings.secret_key, org_id, customer.id)
    composed = compose(
        spec,
        kind,
        texts,
        prefs,
        recipient_name=customer.name if customer is not None else user.name,  # type: ignore[union-attr]
        language=customer_language(customer.custom_attributes)
        if customer is not None
        else user.language,  # type: ignore[union-attr]
        variables=variables or {},
        unsubscribe_url=link,
    )
    due = max(now, not_before) if not_before else now
    if spec.marketing and prefs.quiet_enabled:
        due = quiet_release(due, prefs.timezone, prefs.quiet_start, prefs.quiet_end)
    meta = dict(composed.meta)
    if customer is not None:
        meta["customer_id"] = customer.id
    return _insert(
        session,
        org_id=org_id,
        idempotency_key=key,
        channel=kind,
        channel_id=channel.id,
        purpose=purpose,
        is_marketing=spec.marketing,
        customer_id=customer.id if customer is not None else None,
        user_id=user.id if user is not None else None,
        template_id=template.id,
        campaign_id=campaign_id,
        recipient=recipient[:320],
        language=composed.language,
        subject=composed.subject[:300] if composed.subject else None,
        body=composed.body,
        meta=meta,
        max_attempts=MAX_ATTEMPTS.get(kind, DEFAULT_MAX_ATTEMPTS),
        next_attempt_at=due,
        now=now,
    )


def enqueue_text(
    session: Session,
    *,
    org_id: int,
    purpose: str,
    key: str,
    channel: Channel,
    recipient: str,
    body: str,
    subject: str | None = None,
    language: str = "zh_CN",
    user_id: int | None = None,
    meta: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Enqueued:
    """Queue a transactional text the product wrote itself (staff digests, tests of a
    channel) on a given channel (flushes only). Marketing always goes through `enqueue`."""
    if get_purpose(purpose).marketing:
        raise ValueError("marketing messages need a customer, consent and a template")
    return _insert(
        session,
        org_id=org_id,
        idempotency_key=key,
        channel=ChannelKind(channel.kind),
        channel_id=channel.id,
        purpose=purpose,
        is_marketing=False,
        user_id=user_id,
        recipient=recipient[:320],
        language=language,
        subject=subject[:300] if subject else None,
        body=body,
        meta=meta or {},
        max_attempts=MAX_ATTEMPTS.get(ChannelKind(channel.kind), DEFAULT_MAX_ATTEMPTS),
        next_attempt_at=now or utcnow(),
        now=now,
    )


def _insert(session: Session, *, now: datetime | None, **values: Any) -> Enqueued:
    now = now or utcnow()
    values.update(status=MessageStatus.QUEUED, attempts=0, created_at=now, updated_at=now)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["org_id", "idempotency_key"])
        .returning(OutboxMessage.id)
    )
    new_id = session.execute(statement).scalar()
    if new_id is not None:
        return Enqueued(session.get(OutboxMessage, new_id), created=True)
    existing = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.org_id == values["org_id"],
            OutboxMessage.idempotency_key == values["idempotency_key"],
        )
    )
    return Enqueued(existing, created=False)
