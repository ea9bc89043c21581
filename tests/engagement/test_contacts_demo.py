"""The demo tenant's contact log looks lived-in and adds up."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from laoke.customers.models import Customer
from laoke.demo.seed import seed_demo
from laoke.engagement.contacts import tenant_today
from laoke.engagement.models import (
    Contact,
    CustomerFigures,
    StageChange,
    StageKind,
    Task,
    TaskKind,
    TaskStatus,
)


@pytest.mark.xdist_group("demo")  # one worker seeds the shared demo
def test_the_demo_has_a_year_of_contacts_follow_ups_and_relationships(demo_tenant) -> None:
    org = demo_tenant.org
    with demo_tenant.database.unit_of_work(write=False) as s:
        active = s.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.org_id == org.id, Customer.erased_at.is_(None))
            .where(Customer.merged_into_id.is_(None))
        )
        contacts = s.scalars(select(Contact).where(Contact.org_id == org.id)).all()
        # Two per customer there when contacts are seeded; referred friends who convert
        # later in the demo arrive without any.
        converted = s.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.org_id == org.id, Customer.source_channel == "转介绍")
        )
        per_customer = Counter(c.customer_id for c in contacts)
        assert 2 * (active - converted) <= len(contacts) <= 2 * active
        assert len({c.channel for c in contacts}) == 7 and len({c.outcome for c in contacts}) == 5
        assert any(c.notes and "闺蜜" in c.notes for c in contacts)
        # The figures agree with the log.
        figures = dict(
            s.execute(select(CustomerFigures.customer_id, CustomerFigures.contact_count)).all()
        )
        assert {k: v for k, v in figures.items() if v} == dict(per_customer)
        today = tenant_today(s, org.id)
        open_follow_ups = s.scalars(
            select(Task).where(Task.kind == TaskKind.FOLLOW_UP, Task.status == TaskStatus.OPEN)
        ).all()
        assert 30 <= len(open_follow_ups) <= 60
        due = Counter(
            "overdue" if t.due_on < today else "today" if t.due_on == today else "later"
            for t in open_follow_ups
        )
        assert due["overdue"] and due["today"] and due["later"]
        promised = {c.id: c for c in contacts if c.next_step_on}
        assert all(t.contact_id in promised for t in open_follow_ups)
        assert all(t.key == f"follow_up:contact:{t.contact_id}" for t in open_follow_ups)
        stages = Counter(s.scalars(select(Customer.relationship_stage)))
        assert len(stages) == 5
        history = s.scalars(
            select(StageChange)
            .where(StageChange.kind == StageKind.RELATIONSHIP)
            .order_by(StageChange.customer_id)
        ).all()
        last_stage = {h.customer_id: h.to_stage for h in sorted(history, key=lambda h: h.at)}
        current = dict(s.execute(select(Customer.id, Customer.relationship_stage)).all())
        assert all(current[cid] == stage for cid, stage in last_stage.items())


def test_the_demo_contacts_are_the_same_every_time(database) -> None:
    def fingerprint() -> list[tuple[int, str, str | None]]:
        with database.unit_of_work(write=False) as s:
            first = s.scalar(select(func.min(Customer.id))) or 0
            rows = s.scalars(select(Contact).order_by(Contact.id)).all()
            return [(c.customer_id - first, c.channel, c.notes) for c in rows]

    seed_demo(database, customers=80, seed=3)
    once = fingerprint()
    from tests.conftest import _empty_tables

    _empty_tables(database)
    seed_demo(database, customers=80, seed=3)
    assert fingerprint() == once and len(once) > 100
