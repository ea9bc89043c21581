"""The outbox seen by staff: history, one message, dead letters retried or cancelled."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.phones import mask_phone
from laoke.db import utcnow
from laoke.errors import N_, Conflict, NotFound
from laoke.messaging.models import UNDELIVERED, ChannelKind, MessageStatus, OutboxMessage

PER_PAGE = 50


def mask_address(address: str | None) -> str:
    """What a role without REVEAL_PII sees of a recipient."""
    if not address:
        return ""
    if address.startswith("+"):
        return mask_phone(address)
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return address


@dataclass(frozen=True)
class OutboxPage:
    items: list[OutboxMessage]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_messages(
    session: Session,
    actor: Actor,
    *,
    status: list[MessageStatus] | None = None,
    channel: ChannelKind | None = None,
    purpose: str | None = None,
    customer_id: int | None = None,
    campaign_id: int | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> OutboxPage:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    query = select(OutboxMessage).where(OutboxMessage.org_id == actor.org_id)
    if status:
        query = query.where(OutboxMessage.status.in_(status))
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    if purpose:
        query = query.where(OutboxMessage.purpose == purpose)
    if customer_id is not None:
        query = query.where(OutboxMessage.customer_id == customer_id)
    if campaign_id is not None:
        query = query.where(OutboxMessage.campaign_id == campaign_id)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(page, 1)
    items = session.scalars(
        query.order_by(OutboxMessage.id.desc()).limit(per_page).offset((page - 1) * per_page)
    )
    return OutboxPage(list(items), total, page, per_page)


def get_message_for(session: Session, actor: Actor, message_id: int) -> OutboxMessage:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    message = session.get(OutboxMessage, message_id)
    if message is None or message.org_id != actor.org_id:
        raise NotFound(N_("No such message."), code="message_not_found")
    return message


def retry_message(session: Session, actor: Actor, message_id: int) -> OutboxMessage:
    """Send a failed or dead message again, with a fresh set of attempts and the same key."""
    actor.require(Permission.SEND_MESSAGES)
    message = get_message_for(session, actor, message_id)
    if message.status not in UNDELIVERED:
        raise Conflict(N_("Only failed and dead messages can be retried."), code="not_retryable")
    now = utcnow()
    message.status = MessageStatus.QUEUED
    message.max_attempts = message.attempts + max(message.max_attempts - message.attempts, 3)
    message.next_attempt_at = now
    message.claimed_by = None
    message.updated_at = now
    session.commit()
    return message


def cancel_message(session: Session, actor: Actor, message_id: int) -> OutboxMessage:
    actor.require(Permission.SEND_MESSAGES)
    message = get_message_for(session, actor, message_id)
    if message.status not in (*UNDELIVERED, MessageStatus.QUEUED):
        raise Conflict(
            N_("Only queued, failed and dead messages can be cancelled."), code="not_cancellable"
        )
    message.status = MessageStatus.CANCELLED
    message.last_error = (message.last_error or "")[:400] + " · cancelled by staff"
    message.updated_at = utcnow()
    session.commit()
    return message


def status_counts(session: Session, actor: Actor) -> dict[str, int]:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    rows = session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.org_id == actor.org_id)
        .group_by(OutboxMessage.status)
    ).all()
    counts = {status.value: 0 for status in MessageStatus}
    counts.update(dict(rows))  # type: ignore[arg-type]
    return counts
