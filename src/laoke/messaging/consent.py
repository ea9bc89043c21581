"""Consent rules: who may get marketing, quiet hours, and the unsubscribe link.

- Marketing messages go only to customers whose `marketing_consent` is recorded; the
  rule is checked when a message is enqueued and again just before it is sent.
- Transactional messages (a reward issued, a referral's progress, a service notice) are
  not marketing and are not stopped by an opt-out.
- Quiet hours (per tenant, in its time zone, default 21:00–08:00) delay marketing.
- Every marketing message carries a link `/u/{token}`: the token names the tenant and
  the customer and is signed with a key derived from LAOKE_SECRET_KEY, so the link works
  without signing in and cannot be forged for somebody else.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.db import utcnow
from laoke.errors import N_, Invalid
from laoke.events.bus import emit
from laoke.messaging.models import MessageStatus, OutboxMessage

UNSUBSCRIBE_SOURCE = "unsubscribe_link"


# --- quiet hours -------------------------------------------------------------------------


def parse_hhmm(value: str, field: str = "quiet_start") -> time:
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise Invalid(N_("Use a time like 21:00."), field=field) from None


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Is a local wall-clock time inside [start, end)? The window may cross midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_release(now: datetime, timezone: str, start: time, end: time) -> datetime:
    """`now` if it is outside quiet hours, else the UTC instant they end (org-local)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return now
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    release = datetime.combine(day, end, tzinfo=zone)
    # Round-trip through UTC so a release inside a DST gap lands on a real instant.
    return max(release.astimezone(ZoneInfo("UTC")), now)


# --- unsubscribe tokens ------------------------------------------------------------------


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(b"laoke unsubscribe v1|" + secret_key.encode()).digest()


def unsubscribe_token(secret_key: str, org_id: int, customer_id: int) -> str:
    payload = f"{org_id}.{customer_id}"
    signature = hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{signature}"


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, int] | None:
    """(org_id, customer_id) of a genuine token, else None."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 80:
        return None
    expected = unsubscribe_token(secret_key, int(parts[0]), int(parts[1]))
    if not hmac.compare_digest(expected.encode(), token.encode()):
        return None
    return int(parts[0]), int(parts[1])


def unsubscribe_url(base_url: str, secret_key: str, org_id: int, customer_id: int) -> str:
    return f"{base_url.rstrip('/')}/u/{unsubscribe_token(secret_key, org_id, customer_id)}"


def withdraw_consent(session: Session, org_id: int, customer_id: int) -> Customer | None:
    """Record the opt-out and cancel queued marketing to this customer (flushes only).

    Follows merges; an erased or unknown customer is a quiet no-op (the link may be old)."""
    customer = session.get(Customer, customer_id)
    for _ in range(10):
        if customer is None or customer.merged_into_id is None:
            break
        customer = session.get(Customer, customer.merged_into_id)
    if customer is None or customer.org_id != org_id or customer.erased_at is not None:
        return None
    now = utcnow()
    if customer.marketing_consent or customer.consent_source != UNSUBSCRIBE_SOURCE:
        customer.marketing_consent = False
        customer.consent_source = UNSUBSCRIBE_SOURCE
        customer.consent_at = now
        customer.updated_at = now
        emit(
            session,
            org_id,
            "customer.updated",
            subject_type="customer",
            subject_id=customer.id,
            payload={"customer_id": customer.id},
        )
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.org_id == org_id,
            OutboxMessage.customer_id == customer.id,
            OutboxMessage.is_marketing.is_(True),
            OutboxMessage.status == MessageStatus.QUEUED,
        )
        .values(status=MessageStatus.CANCELLED, last_error="consent withdrawn", updated_at=now)
    )
    session.flush()
    return customer
