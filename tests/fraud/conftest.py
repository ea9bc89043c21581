"""Fraud fixtures: the referral helpers plus staff-entered leads and checks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from laoke.accounts.service import actor_for
from laoke.db import Database
from laoke.fraud.models import FraudCheck, FraudEvaluation
from laoke.referrals import leads
from laoke.referrals.schemas import LeadCreate
from tests.conftest import Cast
from tests.referrals.conftest import Referrals


class Fraud(Referrals):
    def staff_lead(self, phone: str, *, user=None, email: str | None = None, **fields) -> int:
        with self.database.unit_of_work() as s:
            lead = leads.create_lead(
                s,
                actor_for(user or self.cast.alice),
                LeadCreate(name=fields.pop("name", "李娜"), phone=phone, email=email, **fields),
            )
            s.commit()
            return lead.id

    def check(self, lead_id: int) -> FraudCheck | None:
        with self.database.unit_of_work(write=False) as s:
            row = s.scalar(select(FraudCheck).where(FraudCheck.lead_id == lead_id))
            s.expunge_all()
            return row

    def evaluations(self, lead_id: int) -> list[FraudEvaluation]:
        with self.database.unit_of_work(write=False) as s:
            rows = list(
                s.scalars(
                    select(FraudEvaluation)
                    .where(FraudEvaluation.lead_id == lead_id)
                    .order_by(FraudEvaluation.id)
                )
            )
            s.expunge_all()
            return rows


def codes_of(check: FraudCheck | None) -> set[str]:
    return {hit["code"] for hit in check.hits} if check else set()


@pytest.fixture
def ref(database: Database, cast: Cast) -> Fraud:
    return Fraud(database, cast)
