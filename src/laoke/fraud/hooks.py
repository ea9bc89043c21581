"""What the fraud domain plugs into others: a check on every new lead, another when a lead
converts, and the erasure hook."""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

_installed = False


PERSONAL_INPUTS = {"phone", "email", "address_key", "device"}


def _without_personal(hits: list[dict]) -> list[dict]:
    return [
        {
            **hit,
            "inputs": {
                k: v for k, v in (hit.get("inputs") or {}).items() if k not in PERSONAL_INPUTS
            },
        }
        for hit in hits or []
    ]


def scrub_fraud(session: Session, org_id: int, customer_id: int) -> None:
    """Erasure: the customer's devices are forgotten, and the checks of leads by or about
    them keep which rules fired but not the phone, mailbox, address or device compared."""
    from laoke.fraud.models import CustomerDevice, FraudCheck, FraudEvaluation, FraudHousehold
    from laoke.referrals.models import ReferralLead

    session.execute(
        delete(CustomerDevice).where(
            CustomerDevice.org_id == org_id, CustomerDevice.customer_id == customer_id
        )
    )
    lead_ids = select(ReferralLead.id).where(
        ReferralLead.org_id == org_id,
        or_(
            ReferralLead.referrer_customer_id == customer_id,
            ReferralLead.referee_customer_id == customer_id,
        ),
    )
    for model in (FraudCheck, FraudEvaluation):
        rows = session.scalars(
            select(model).where(model.org_id == org_id, model.lead_id.in_(lead_ids))
        )
        for row in rows:
            row.hits = _without_personal(row.hits)
    session.execute(
        delete(FraudHousehold).where(
            FraudHousehold.org_id == org_id, FraudHousehold.lead_id.in_(lead_ids)
        )
    )


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from laoke.customers.erasure import ERASURE_HOOKS
    from laoke.events.bus import subscribe
    from laoke.fraud.checks import on_lead_created, on_lead_status_changed

    subscribe("lead.created", on_lead_created)
    subscribe("lead.status_changed", on_lead_status_changed)
    ERASURE_HOOKS.append(scrub_fraud)
