"""Messages a customer gets about their rewards: one when a reward becomes usable, and a
reminder before points lapse. Both are service messages (no marketing consent needed) and
are only queued when the tenant has an active template for them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.errors import N_
from laoke.messaging.compose import customer_language
from laoke.messaging.outbox import enqueue
from laoke.messaging.purposes import Purpose, Variable, register
from laoke.rewards.describe import describe
from laoke.rewards.models import Reward
from laoke.web.i18n import translations

REWARD_RELEASED = register(
    Purpose(
        "reward.released",
        N_("Reward ready to use"),
        marketing=False,
        variables=(Variable("reward", N_("Reward"), sample="500 积分"),),
        description=N_("Sent when a reward's hold period is over and the customer may use it."),
    )
)
POINTS_EXPIRING = register(
    Purpose(
        "reward.points_expiring",
        N_("Points about to lapse"),
        marketing=False,
        variables=(
            Variable("points", N_("Points"), sample="300"),
            Variable("expires_on", N_("Lapses on"), sample="2026-12-31"),
        ),
        description=N_(
            "Sent once before unspent points lapse (the reminder window is a reward setting)."
        ),
    )
)


def reward_released(session: Session, reward: Reward) -> None:
    customer = session.get(Customer, reward.customer_id)
    if customer is None:
        return
    language = customer_language(customer.custom_attributes) or "zh_CN"
    text = describe(reward, translations(language).gettext)
    enqueue(
        session,
        org_id=reward.org_id,
        purpose=REWARD_RELEASED.name,
        key=f"reward-released:{reward.id}",
        customer=customer,
        variables={"reward": text},
    )


def points_expiring(
    session: Session, org_id: int, customer_id: int, points: Decimal, first: date
) -> int:
    customer = session.get(Customer, customer_id)
    if customer is None:
        return 0
    queued = enqueue(
        session,
        org_id=org_id,
        purpose=POINTS_EXPIRING.name,
        key=f"points-expiring:{customer_id}:{first.isoformat()}",
        customer=customer,
        variables={"points": f"{points.normalize():f}", "expires_on": first.isoformat()},
    )
    return 1 if queued.created else 0
