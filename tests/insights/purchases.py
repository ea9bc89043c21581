"""Purchase histories drawn from BG/NBD in days, written as customers and paid orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import insert

from laoke.customers.models import Customer
from laoke.orders.models import Order, OrderStatus

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TRUE_WEEKLY = {"r": 0.5, "alpha": 6.0, "a": 0.6, "b": 2.5}


def draw_histories(n: int, seed: int, *, weeks: int = 78) -> list[list[tuple[datetime, Decimal]]]:
    """One list of (ordered_at, amount) per customer: joined in the first half of the period,
    buys at a Gamma-distributed weekly rate, may drop out after each repeat purchase."""
    rng = np.random.default_rng(seed)
    start = AS_OF - timedelta(weeks=weeks)
    histories = []
    for _ in range(n):
        rate = rng.gamma(TRUE_WEEKLY["r"], 1 / TRUE_WEEKLY["alpha"])
        p_drop = rng.beta(TRUE_WEEKLY["a"], TRUE_WEEKLY["b"])
        spend = rng.gamma(6.0, 20.0)
        t = rng.uniform(0, weeks / 2)
        purchases = [(start + timedelta(weeks=float(t)), Decimal(f"{spend:.2f}"))]
        while True:
            t += rng.exponential(1 / rate) if rate > 0 else weeks
            if t >= weeks:
                break
            purchases.append(
                (start + timedelta(weeks=float(t)), Decimal(f"{rng.gamma(6.0, spend / 6.0):.2f}"))
            )
            if rng.random() < p_drop:
                break
        histories.append(purchases)
    return histories


def store(session, org_id: int, histories, *, owner_id: int | None = None) -> list[int]:
    """Customers with these histories; returns their ids in order."""
    ids = []
    for i, history in enumerate(histories):
        customer = Customer(org_id=org_id, name=f"顾客{i}", owner_id=owner_id)
        session.add(customer)
        session.flush()
        ids.append(customer.id)
        session.execute(
            insert(Order),
            [
                {
                    "org_id": org_id,
                    "customer_id": customer.id,
                    "ordered_at": at,
                    "amount": amount,
                    "status": OrderStatus.PAID,
                    "created_at": at,
                    "updated_at": at,
                }
                for at, amount in history
            ],
        )
    session.commit()
    return ids
