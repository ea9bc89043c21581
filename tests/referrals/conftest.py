"""Referral fixtures: customers with phones, programs and orders for the acme cast."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from laoke.accounts.service import actor_for
from laoke.customers.models import Customer, CustomerPhone
from laoke.customers.stages import LifecycleStage
from laoke.db import Database, utcnow
from laoke.events.bus import emit
from laoke.orders.models import Order, OrderStatus
from laoke.referrals import programs
from laoke.referrals.models import InviteCode, ReferralLead
from laoke.referrals.schemas import ProgramCreate
from tests.conftest import Cast


@dataclass
class Referrals:
    database: Database
    cast: Cast

    def customer(
        self,
        name: str = "王小美",
        phone: str | None = "+8613800138000",
        *,
        owner: Any = None,
        org: Any = None,
        stage: LifecycleStage = LifecycleStage.LOYAL,
        **fields: Any,
    ) -> Customer:
        org = org or self.cast.acme
        with self.database.unit_of_work() as s:
            customer = Customer(
                org_id=org.id,
                name=name,
                owner_id=(owner or self.cast.bob).id if org.id == self.cast.acme.id else None,
                lifecycle_stage=stage,
                custom_attributes={},
                **fields,
            )
            if phone:
                customer.phones.append(
                    CustomerPhone(
                        org_id=org.id,
                        e164=phone,
                        national=phone[-11:],
                        kind="mobile",
                        is_primary=True,
                    )
                )
            s.add(customer)
            s.commit()
            return customer

    def program(self, name: str = "老带新", org: Any = None, **fields: Any) -> int:
        owner = self.cast.alice if org is None else self.cast.oscar
        with self.database.unit_of_work() as s:
            program = programs.create_program(
                s, actor_for(owner), ProgramCreate(name=name, **fields)
            )
            s.commit()
            return program.id

    def order(
        self, customer_id: int, amount: str = "300", *, days_ago: int = 0, org_id: int | None = None
    ) -> int:
        with self.database.unit_of_work() as s:
            customer = s.get(Customer, customer_id)
            order = Order(
                org_id=customer.org_id,
                customer_id=customer_id,
                ordered_at=utcnow() - timedelta(days=days_ago),
                amount=Decimal(amount),
                status=OrderStatus.PAID,
            )
            s.add(order)
            s.flush()
            emit(
                s,
                customer.org_id,
                "order.created",
                subject_type="order",
                subject_id=order.id,
                payload={
                    "order_id": order.id,
                    "customer_id": customer_id,
                    "amount": str(order.amount),
                    "status": "paid",
                    "ordered_at": order.ordered_at.isoformat(),
                },
            )
            s.commit()
            return order.id

    def lead(self, lead_id: int) -> ReferralLead:
        with self.database.unit_of_work(write=False) as s:
            lead = s.get(ReferralLead, lead_id)
            s.expunge_all()
            return lead

    def leads(self) -> list[ReferralLead]:
        with self.database.unit_of_work(write=False) as s:
            rows = list(s.scalars(select(ReferralLead).order_by(ReferralLead.id)))
            s.expunge_all()
            return rows

    def code_of(self, customer_id: int) -> str:
        with self.database.unit_of_work() as s:
            from laoke.referrals import codes

            code = codes.customer_code(s, s.get(Customer, customer_id)).code
            s.commit()
            return code

    def codes(self) -> list[InviteCode]:
        with self.database.unit_of_work(write=False) as s:
            rows = list(s.scalars(select(InviteCode)))
            s.expunge_all()
            return rows


@pytest.fixture
def ref(database: Database, cast: Cast) -> Referrals:
    return Referrals(database, cast)
