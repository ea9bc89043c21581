"""Event webhooks: integrations subscribe to domain events and receive them signed.

Delivery is decided when the event is emitted: an in-process subscriber to every event
(`events.bus.subscribe("*")`) writes one outbox row per matching subscription in the
transaction that records the event. So a delivery exists exactly when its event does —
nothing is lost while no worker runs, and a rolled-back change sends nothing. (A cursor
over `domain_events` read by the worker would need the rows in commit order, which
PostgreSQL's sequence ids do not give under concurrent transactions.) A subscription
hears the events emitted after it was created.

Each delivery is a POST of a JSON envelope,

    {"id": "evt_42", "type": "customer.updated", "occurred_at": "2026-…Z",
     "org_id": 1, "subject": {"type": "customer", "id": 7}, "data": {"customer_id": 7}}

signed like every webhook of this product (`channels.webhook`: `X-Laoke-Signature`,
`X-Laoke-Timestamp`, `X-Laoke-Delivery`), retried with backoff until a 2xx, 12 attempts.
"""

from __future__ import annotations

import json
import re
import secrets as random_secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.config import Settings
from laoke.db import utcnow
from laoke.errors import N_, Invalid, NotFound
from laoke.events.models import DomainEvent
from laoke.messaging import vault
from laoke.messaging.channels import net
from laoke.messaging.models import ChannelKind, MessageStatus, OutboxMessage, WebhookSubscription
from laoke.messaging.outbox import MAX_ATTEMPTS, _insert
from laoke.messaging.purposes import EVENT_DELIVERY

EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
KNOWN_EVENTS = (
    "customer.created",
    "customer.updated",
    "customer.merged",
    "order.created",
    "order.refunded",
    "lead.created",
    "lead.status_changed",
    "reward.issued",
    "reward.released",
    "reward.reversed",
)
MIN_SECRET = 16
_CACHE = "laoke.messaging.subscriptions"


def clean_events(events: list[str] | None) -> list[str]:
    cleaned: list[str] = []
    for raw in events or []:
        name = raw.strip().lower()
        if not name:
            continue
        if name in ("*", "all"):
            return []
        if not EVENT_NAME.match(name) or len(name) > 64:
            raise Invalid(N_("Not an event name: %(name)s."), field="events", name=name[:64])
        if name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > 50:
        raise Invalid(N_("At most 50 event names."), field="events")
    return cleaned


def _clean_secret(secret: str) -> str:
    secret = secret.strip()
    if len(secret) < MIN_SECRET or len(secret) > 200 or any(ch.isspace() for ch in secret):
        raise Invalid(
            N_("The secret needs %(n)s to 200 characters without spaces."),
            field="secret",
            n=MIN_SECRET,
        )
    return secret


def new_secret() -> str:
    return "whsec_" + random_secrets.token_urlsafe(24)


def list_subscriptions(session: Session, actor: Actor) -> list[WebhookSubscription]:
    actor.require(Permission.MANAGE_SETTINGS)
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.org_id == actor.org_id)
            .order_by(WebhookSubscription.id)
        )
    )


def get_subscription_for(
    session: Session, actor: Actor, subscription_id: int
) -> WebhookSubscription:
    actor.require(Permission.MANAGE_SETTINGS)
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None or sub.org_id != actor.org_id:
        raise NotFound(N_("No such webhook."), code="webhook_not_found")
    return sub


def create_subscription(
    session: Session,
    actor: Actor,
    settings: Settings,
    *,
    url: str,
    secret: str | None,
    events: list[str] | None = None,
    description: str = "",
) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL; returns the row and the secret (generated when none was given)."""
    actor.require(Permission.MANAGE_SETTINGS)
    url = net.check_target(url, settings.allows_private_targets)
    secret = _clean_secret(secret) if secret else new_secret()
    description = " ".join(description.split())[:200]
    sub = WebhookSubscription(
        org_id=actor.org_id,
        url=url,
        description=description or None,
        sealed_secret=vault.seal(settings.secret_key, {"secret": secret}),
        events=clean_events(events),
        enabled=True,
    )
    session.add(sub)
    session.info.pop(_CACHE, None)
    session.commit()
    return sub, secret


def update_subscription(
    session: Session,
    actor: Actor,
    settings: Settings,
    subscription_id: int,
    *,
    url: str | None = None,
    secret: str | None = None,
    events: list[str] | None = None,
    enabled: bool | None = None,
    description: str | None = None,
) -> WebhookSubscription:
    sub = get_subscription_for(session, actor, subscription_id)
    if url is not None:
        sub.url = net.check_target(url, settings.allows_private_targets)
    if secret:
        sub.sealed_secret = vault.seal(settings.secret_key, {"secret": _clean_secret(secret)})
    if events is not None:
        sub.events = clean_events(events)
    if enabled is not None:
        sub.enabled = enabled
    if description is not None:
        sub.description = " ".join(description.split())[:200] or None
    sub.updated_at = utcnow()
    session.info.pop(_CACHE, None)
    session.commit()
    return sub


def delete_subscription(session: Session, actor: Actor, subscription_id: int) -> None:
    sub = get_subscription_for(session, actor, subscription_id)
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.org_id == actor.org_id,
            OutboxMessage.subscription_id == sub.id,
            OutboxMessage.status == MessageStatus.QUEUED,
        )
        .values(status=MessageStatus.CANCELLED, last_error="webhook deleted", updated_at=utcnow())
    )
    session.delete(sub)
    session.info.pop(_CACHE, None)
    session.commit()


def deliveries(
    session: Session, actor: Actor, subscription_id: int, *, page: int = 1, per_page: int = 50
) -> tuple[list[OutboxMessage], int]:
    sub = get_subscription_for(session, actor, subscription_id)
    query = select(OutboxMessage).where(
        OutboxMessage.org_id == actor.org_id, OutboxMessage.subscription_id == sub.id
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(OutboxMessage.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return list(rows), total


def envelope(event: DomainEvent) -> dict:
    return {
        "id": f"evt_{event.id}",
        "type": event.name,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "org_id": event.org_id,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "data": event.payload or {},
    }


def _subscriptions(session: Session, org_id: int) -> list[tuple[int, list[str]]]:
    cache = session.info.setdefault(_CACHE, {})
    if org_id not in cache:
        cache[org_id] = [
            (row.id, list(row.events or []))
            for row in session.execute(
                select(WebhookSubscription.id, WebhookSubscription.events).where(
                    WebhookSubscription.org_id == org_id, WebhookSubscription.enabled.is_(True)
                )
            )
        ]
    return cache[org_id]


def on_event(session: Session, event: DomainEvent) -> None:
    """Bus subscriber: one outbox row per subscription that wants this event."""
    subs = [
        sid
        for sid, names in _subscriptions(session, event.org_id)
        if not names or event.name in names
    ]
    if not subs:
        return
    body = json.dumps(envelope(event), ensure_ascii=False, separators=(",", ":"))
    for sub_id in subs:
        _insert(
            session,
            now=event.occurred_at,
            org_id=event.org_id,
            idempotency_key=f"event:{sub_id}:{event.id}",
            channel=ChannelKind.WEBHOOK,
            subscription_id=sub_id,
            purpose=EVENT_DELIVERY.name,
            is_marketing=False,
            recipient=f"webhook:{sub_id}",
            language="en",
            subject=event.name,
            body=body,
            meta={"envelope": True, "event_id": event.id, "event": event.name},
            max_attempts=MAX_ATTEMPTS[ChannelKind.WEBHOOK],
            next_attempt_at=event.occurred_at,
        )
