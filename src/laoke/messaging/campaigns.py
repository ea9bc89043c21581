"""Campaigns: one template to a segment, enqueued a slice a minute, with a dry run first.

The dry run counts the audience and says who will be skipped and why (no consent, no
address for the template's channel, no channel configured). Launching snapshots the
filters; the worker then enqueues `per_minute` customers each minute (`pump`), in id
order from a cursor, each under the key `campaign:{campaign}:{customer}` — so a
restarted or doubled pump never sends anyone the campaign twice. Consent and quiet hours
apply to every message as usual; cancelling stops the pump and cancels what is queued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer, CustomerPhone
from laoke.db import Database, utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.messaging import segments
from laoke.messaging.models import (
    Campaign,
    CampaignStatus,
    ChannelKind,
    MessageStatus,
    MessageTemplate,
    OutboxMessage,
)
from laoke.messaging.outbox import SkipReason, channel_for, enqueue
from laoke.messaging.purposes import CAMPAIGN
from laoke.messaging.templates_service import get_template_for

MAX_PER_MINUTE = 5000


@dataclass(frozen=True)
class DryRun:
    audience: int
    will_send: int
    skipped: dict[str, int] = field(default_factory=dict)


def _campaign_template(session: Session, actor: Actor, template_id: int) -> MessageTemplate:
    template = get_template_for(session, actor, template_id)
    if template.purpose != CAMPAIGN.name or not template.is_active:
        raise Invalid(
            N_("Choose an active template whose purpose is a campaign."), field="template_id"
        )
    return template


def dry_run(session: Session, actor: Actor, *, template_id: int, filters: dict[str, Any]) -> DryRun:
    actor.require(Permission.SEND_MESSAGES)
    template = _campaign_template(session, actor, template_id)
    cleaned = segments.clean_filters(session, actor.org_id, filters)
    base = segments.audience(actor.org_id, cleaned).with_only_columns(Customer.id)

    def count(query: Select) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    total = count(base)
    consenting = base.where(Customer.marketing_consent.is_(True))
    no_consent = total - count(consenting)
    skipped = {SkipReason.NO_CONSENT.value: no_consent}
    kind = ChannelKind(template.channel)
    if channel_for(session, actor.org_id, kind) is None:
        skipped[SkipReason.NO_CHANNEL.value] = total - no_consent
        return DryRun(total, 0, skipped)
    reachable = consenting
    if kind is ChannelKind.SMTP:
        reachable = consenting.where(Customer.email.is_not(None), Customer.email != "")
    elif kind is ChannelKind.SMS:
        reachable = consenting.where(
            select(CustomerPhone.id)
            .where(CustomerPhone.org_id == actor.org_id, CustomerPhone.customer_id == Customer.id)
            .exists()
        )
    will_send = count(reachable)
    skipped[SkipReason.NO_ADDRESS.value] = total - no_consent - will_send
    return DryRun(total, will_send, {k: v for k, v in skipped.items() if v})


def list_campaigns(session: Session, actor: Actor) -> list[Campaign]:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    return list(
        session.scalars(
            select(Campaign).where(Campaign.org_id == actor.org_id).order_by(Campaign.id.desc())
        )
    )


def get_campaign_for(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.org_id != actor.org_id:
        raise NotFound(N_("No such campaign."), code="campaign_not_found")
    return campaign


def start_campaign(
    session: Session,
    actor: Actor,
    *,
    name: str,
    template_id: int,
    filters: dict[str, Any] | None = None,
    segment_id: int | None = None,
    per_minute: int = 200,
    coupon: str = "",
    now: datetime | None = None,
) -> Campaign:
    actor.require(Permission.SEND_MESSAGES)
    now = now or utcnow()
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise Invalid(N_("A name of at most 100 characters is required."), field="name")
    if not 0 < per_minute <= MAX_PER_MINUTE:
        raise Invalid(N_("Between 1 and 5000 a minute."), field="per_minute")
    if len(coupon) > 200:
        raise Invalid(N_("This value is too long."), field="coupon")
    if segment_id is not None:
        filters = segments.get_segment_for(session, actor, segment_id).filters
    preview = dry_run(session, actor, template_id=template_id, filters=filters or {})
    if preview.audience == 0:
        raise Invalid(N_("Nobody is in this segment."), field="filters")
    campaign = Campaign(
        org_id=actor.org_id,
        name=name,
        template_id=template_id,
        segment_id=segment_id,
        filters=segments.clean_filters(session, actor.org_id, filters or {}),
        variables={"coupon": coupon.strip()},
        status=CampaignStatus.RUNNING,
        per_minute=per_minute,
        audience=preview.audience,
        enqueued=0,
        skipped={},
        cursor_customer_id=0,
        created_by=actor.user_id,
        started_at=now,
        next_slice_at=now,
    )
    session.add(campaign)
    session.commit()
    return campaign


def cancel_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    actor.require(Permission.SEND_MESSAGES)
    campaign = get_campaign_for(session, actor, campaign_id)
    if campaign.status is CampaignStatus.CANCELLED:
        return campaign
    now = utcnow()
    if campaign.status == CampaignStatus.RUNNING:
        campaign.status = CampaignStatus.CANCELLED
        campaign.finished_at = now
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.org_id == actor.org_id,
            OutboxMessage.campaign_id == campaign.id,
            OutboxMessage.status == MessageStatus.QUEUED,
        )
        .values(status=MessageStatus.CANCELLED, last_error="campaign cancelled", updated_at=now)
    )
    session.commit()
    return campaign


def progress(session: Session, actor: Actor, campaign_id: int) -> dict[str, int]:
    campaign = get_campaign_for(session, actor, campaign_id)
    rows = session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.org_id == actor.org_id, OutboxMessage.campaign_id == campaign.id)
        .group_by(OutboxMessage.status)
    ).all()
    counts = {status.value: 0 for status in MessageStatus}
    counts.update(dict(rows))  # type: ignore[arg-type]
    return counts


def pump(database: Database, now: datetime | None = None, *, batch: int = 500) -> int:
    """Enqueue the next slice of every running campaign whose minute has come."""
    now = now or utcnow()
    with database.unit_of_work(write=False) as session:
        due = list(
            session.scalars(
                select(Campaign.id).where(
                    Campaign.status == CampaignStatus.RUNNING, Campaign.next_slice_at <= now
                )
            )
        )
    total = 0
    for campaign_id in due:
        with database.unit_of_work() as session:
            claimed = session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id, Campaign.next_slice_at <= now)
                .values(next_slice_at=now + timedelta(minutes=1))
            ).rowcount  # type: ignore[attr-defined]
            if not claimed:
                session.rollback()
                continue
            total += _slice(session, session.get(Campaign, campaign_id), now, batch)
            session.commit()
    return total


def _slice(session: Session, campaign: Campaign, now: datetime, batch: int) -> int:
    template = session.get(MessageTemplate, campaign.template_id)
    size = min(campaign.per_minute, batch)
    customers = list(
        session.scalars(
            segments.audience(campaign.org_id, campaign.filters)
            .where(Customer.id > campaign.cursor_customer_id)
            .order_by(Customer.id)
            .limit(size)
        )
    )
    skipped = dict(campaign.skipped or {})
    created = 0
    for customer in customers:
        result = enqueue(
            session,
            org_id=campaign.org_id,
            purpose=CAMPAIGN.name,
            key=f"campaign:{campaign.id}:{customer.id}",
            template=template,
            customer=customer,
            variables=dict(campaign.variables or {}),
            campaign_id=campaign.id,
            now=now,
        )
        if result.skipped:
            skipped[result.skipped.value] = skipped.get(result.skipped.value, 0) + 1
        elif result.created:
            created += 1
    if customers:
        campaign.cursor_customer_id = customers[-1].id
    campaign.enqueued += created
    campaign.skipped = skipped
    if len(customers) < size:
        campaign.status = CampaignStatus.FINISHED
        campaign.finished_at = now
    campaign.updated_at = now
    return created


def ensure_running(campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.RUNNING:
        raise Conflict(N_("This campaign is not running."), code="campaign_not_running")
