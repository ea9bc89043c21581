"""What the messaging domain plugs into others: the event subscriber that records webhook
deliveries, the erasure hook that scrubs the outbox, and the built-in scheduled jobs."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from laoke.db import utcnow

_installed = False


def scrub_outbox(session: Session, org_id: int, customer_id: int) -> None:
    """Erasure: the customer's messages keep their status and dates, lose their content."""
    from laoke.messaging.models import MessageStatus, OutboxMessage

    base = update(OutboxMessage).where(
        OutboxMessage.org_id == org_id, OutboxMessage.customer_id == customer_id
    )
    now = utcnow()
    session.execute(
        base.where(OutboxMessage.status.in_([MessageStatus.QUEUED, MessageStatus.SENDING])).values(
            status=MessageStatus.CANCELLED, last_error="customer erased", updated_at=now
        )
    )
    session.execute(
        base.values(recipient="(erased)", subject=None, body="", meta={}, updated_at=now)
    )


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from laoke.customers.erasure import ERASURE_HOOKS
    from laoke.events.bus import subscribe
    from laoke.messaging import care, webhooks

    subscribe("*", webhooks.on_event)
    ERASURE_HOOKS.append(scrub_outbox)
    care.register_jobs()
    # Other domains' scheduled jobs and event reactions ride on the same set-up, so every
    # process (web, worker, CLI) that loads messaging has them.
    from laoke.engagement import hooks as engagement_hooks

    engagement_hooks.install()
