"""What the value-model page and the customer page show, scoped to what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for, visible_customers
from laoke.db import Database
from laoke.engagement.models import CustomerFigures, activity_of
from laoke.errors import N_
from laoke.insights.models import ValueModelFit
from laoke.insights.value_job import fit_org, latest_fit
from laoke.tenancy.service import OrgInfo

P_ALIVE_BINS = 10
TOP_CUSTOMERS = 20


@dataclass(frozen=True)
class ValueOverview:
    fit: ValueModelFit | None
    scored: int
    p_alive_histogram: list[int]  # customers per tenth of P(alive), 0–10% first
    total_clv: float
    top: list[tuple[Customer, CustomerFigures]]


def overview(session: Session, actor: Actor) -> ValueOverview:
    visible = visible_customers(actor).with_only_columns(Customer.id).subquery()
    figures = select(CustomerFigures).where(
        CustomerFigures.org_id == actor.org_id,
        CustomerFigures.customer_id.in_(select(visible.c.id)),
        CustomerFigures.p_alive.is_not(None),
    )
    scaled = CustomerFigures.p_alive * P_ALIVE_BINS
    # floor(): SQLite's CAST truncates (floor for P(alive) ≥ 0, and needs no math functions);
    # PostgreSQL's rounds, so it takes floor() itself. P(alive) = 1 joins the top tenth.
    floored = func.floor(scaled) if session.get_bind().dialect.name == "postgresql" else scaled
    bin_of = case(
        (CustomerFigures.p_alive >= 1.0, P_ALIVE_BINS - 1),
        else_=cast(floored, Integer),
    )
    counts = session.execute(figures.with_only_columns(bin_of, func.count()).group_by(bin_of)).all()
    histogram = [0] * P_ALIVE_BINS
    for bucket, count in counts:
        histogram[int(bucket)] = int(count)
    total = session.scalar(
        figures.with_only_columns(func.coalesce(func.sum(CustomerFigures.clv), 0))
    )
    top_rows = session.execute(
        select(Customer, CustomerFigures)
        .join(
            CustomerFigures,
            (CustomerFigures.customer_id == Customer.id)
            & (CustomerFigures.org_id == Customer.org_id),
        )
        .where(Customer.id.in_(select(visible.c.id)), CustomerFigures.clv.is_not(None))
        .order_by(CustomerFigures.clv.desc(), Customer.id)
        .limit(TOP_CUSTOMERS)
    ).all()
    return ValueOverview(
        fit=latest_fit(session, actor.org_id),
        scored=sum(histogram),
        p_alive_histogram=histogram,
        total_clv=float(total or 0),
        top=[(c, f) for c, f in top_rows],
    )


def refit(database: Database, actor: Actor, org: OrgInfo, now: datetime) -> ValueModelFit | None:
    """Refit the tenant's model now (owners and admins)."""
    actor.require(Permission.MANAGE_SETTINGS)
    return fit_org(database, org, now)


@dataclass(frozen=True)
class CustomerValue:
    p_alive: float
    expected_90d: float
    expected_365d: float
    clv: float
    explanation: str  # a message id; formatted with the values above
    level: str  # "active" | "at_risk" | "lapsing"


def customer_value(session: Session, actor: Actor, customer_id: int) -> CustomerValue | None:
    """The customer's model outputs, or None when they have not bought yet (or no fit ran)."""
    customer = get_customer_for(session, actor, customer_id)
    figures = session.scalar(
        select(CustomerFigures).where(
            CustomerFigures.org_id == actor.org_id, CustomerFigures.customer_id == customer.id
        )
    )
    if figures is None or figures.p_alive is None:
        return None
    p = float(figures.p_alive)
    level = level_of(p)
    return CustomerValue(
        p_alive=p,
        expected_90d=float(figures.expected_purchases_90d or 0),
        expected_365d=float(figures.expected_purchases_365d or 0),
        clv=float(figures.clv or 0),
        explanation=EXPLANATIONS[level],
        level=level,
    )


def level_of(p_alive: float) -> str:
    return activity_of(p_alive).value


EXPLANATIONS = {
    "active": N_(
        "Judging by how often and how recently they bought, this customer is very likely "
        "still buying from you (%(p)s); expect about %(n)s more purchases in the next year."
    ),
    "at_risk": N_(
        "They have gone quiet for longer than their usual rhythm (%(p)s still active): a "
        "good moment to get in touch; about %(n)s purchases expected in the next year."
    ),
    "lapsing": N_(
        "Compared with their own buying rhythm they are probably no longer buying (%(p)s "
        "still active): a win-back call may bring them back."
    ),
}
