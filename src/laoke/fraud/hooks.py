"""What the fraud domain plugs into others: a check on every new lead, another when a lead
converts, and the erasure hook."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

_installed = False


def scrub_devices(session: Session, org_id: int, customer_id: int) -> None:
    """Erasure: the devices a customer used are forgotten."""
    from laoke.fraud.models import CustomerDevice

    session.execute(
        delete(CustomerDevice).where(
            CustomerDevice.org_id == org_id, CustomerDevice.customer_id == customer_id
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
    ERASURE_HOOKS.append(scrub_devices)
