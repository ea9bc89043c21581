"""Emitting domain events and reacting to them in-process.

`emit()` writes a `DomainEvent` row and calls every subscribed handler synchronously, inside
the caller's transaction: if the change rolls back, so do the event and whatever the handlers
did. Domains react to each other this way without importing each other (orders emit
`order.created`; referrals convert a lead). Integrations (outgoing webhooks) read the rows.

Event names and their payloads (ids are integers, times ISO 8601 UTC, amounts strings of
decimal yuan):

- customer.created / customer.updated — {"customer_id"}
- customer.merged — {"customer_id", "merged_id"}
- order.created / order.refunded / order.cancelled — {"order_id", "customer_id", "amount", "status", "ordered_at"}
- contact.logged — {"contact_id", "customer_id", "channel"}
- lead.created / lead.status_changed — {"lead_id", "referrer_id", "status", "previous_status"}
- fraud.reviewed — {"lead_id", "outcome": "approved" | "declined", "reason"}
- reward.issued / reward.released / reward.reversed — {"reward_id", "customer_id", "kind", "amount"}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from laoke.db import utcnow
from laoke.events.models import DomainEvent

Handler = Callable[[Session, DomainEvent], None]

_HANDLERS: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    """Call `handler(session, event)` whenever `name` is emitted (idempotent per handler).
    The name `"*"` hears every event (outgoing integration webhooks)."""
    if handler not in _HANDLERS[name]:
        _HANDLERS[name].append(handler)


def has_subscribers(name: str) -> bool:
    """Whether anything reacts to `name` (bulk writers may then skip per-event calls)."""
    return bool(_HANDLERS.get(name))


def emit(
    session: Session,
    org_id: int,
    name: str,
    *,
    subject_type: str,
    subject_id: int,
    payload: dict[str, Any] | None = None,
) -> DomainEvent:
    event = DomainEvent(
        org_id=org_id,
        name=name,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload or {},
        occurred_at=utcnow(),
    )
    session.add(event)
    session.flush()
    for handler in [*_HANDLERS.get(name, ()), *_HANDLERS.get("*", ())]:
        handler(session, event)
    return event
