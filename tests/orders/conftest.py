"""Shared helpers for order tests: customers owned by bob and carol, a small catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from laoke.accounts.service import actor_for
from laoke.customers.schemas import CustomerCreate
from laoke.customers.service import create_customer
from laoke.db import Database
from laoke.orders.schemas import ProductCreate
from laoke.orders.service import create_product


@dataclass
class Shop:
    bobs: int  # a customer of bob's, phone 13800000001
    carols: int  # a customer of carol's, phone 13800000002, external id M-002
    globex: int  # globex's customer
    cream: int  # 补水面霜, 45 days, 198.00
    facial: int  # 面部护理, no cycle, no price


@pytest.fixture
def shop(cast, database: Database) -> Shop:
    with database.unit_of_work() as s:
        bob = create_customer(
            s, actor_for(cast.bob), CustomerCreate(name="王丽", phones=["13800000001"])
        )
        carol = create_customer(
            s,
            actor_for(cast.carol),
            CustomerCreate(name="李娜", phones=["13800000002"], external_id="M-002"),
        )
        other = create_customer(
            s, actor_for(cast.oscar), CustomerCreate(name="外人", phones=["13800000003"])
        )
        owner = actor_for(cast.alice)
        cream = create_product(
            s,
            owner,
            ProductCreate(name="补水面霜", usage_cycle_days=45, price=Decimal("198.00")),
        )
        facial = create_product(s, owner, ProductCreate(name="面部护理"))
        s.commit()
        return Shop(bob.id, carol.id, other.id, cream.id, facial.id)
