"""Feedback to the referrer (沟通后的反馈): every status change of a friend's lead is kept
in the lead's history (the portal shows it) and queued as a transactional message, which
the outbox sends when the tenant has a template and a channel for it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.errors import N_
from laoke.events.bus import emit
from laoke.messaging.compose import customer_language
from laoke.messaging.outbox import enqueue
from laoke.messaging.purposes import Purpose, Variable, register
from laoke.referrals.models import LEAD_STATUS_LABELS, LeadStatus, ReferralLead
from laoke.web.i18n import translations

REFERRAL_STATUS = register(
    Purpose(
        "referral.status",
        N_("Referral status for the referrer"),
        marketing=False,
        variables=(
            Variable("friend_name", N_("Friend's name (masked)"), sample="李*"),
            Variable("status", N_("Status of the friend"), sample="已到店"),
        ),
        description=N_("Sent to a referrer when the friend they referred moves on."),
    )
)


def mask_name(name: str) -> str:
    """王小美 → 王**; Alice Smith → A*********."""
    text = name.strip()
    if not text:
        return "*"
    return text[0] + "*" * max(len(text) - 1, 1)


def lead_changed(
    session: Session, lead: ReferralLead, previous: LeadStatus | None, *, created: bool = False
) -> None:
    """Announce the change (domain event) and queue the referrer's message."""
    emit(
        session,
        lead.org_id,
        "lead.created" if created else "lead.status_changed",
        subject_type="referral_lead",
        subject_id=lead.id,
        payload={
            "lead_id": lead.id,
            "referrer_id": lead.referrer_customer_id,
            "status": str(lead.status),
            "previous_status": str(previous) if previous else None,
        },
    )
    if lead.referrer_customer_id is None:
        return
    referrer = session.get(Customer, lead.referrer_customer_id)
    if referrer is None:
        return
    language = customer_language(referrer.custom_attributes) or "zh_CN"
    status_text = translations(language).gettext(LEAD_STATUS_LABELS[lead.status])
    enqueue(
        session,
        org_id=lead.org_id,
        purpose=REFERRAL_STATUS.name,
        key=f"referral:{lead.id}:{lead.status}",
        customer=referrer,
        variables={"friend_name": mask_name(lead.referee_name), "status": status_text},
    )
