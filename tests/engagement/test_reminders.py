"""Engagement's scheduled care: running-out reminders to customers, "your Today" to staff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from laoke.config import Mode, Settings, get_settings
from laoke.engagement import reminders
from laoke.engagement.models import TaskKind
from laoke.engagement.tasks import open_task
from laoke.messaging.models import OutboxMessage
from laoke.orders.models import Order, OrderItem, OrderStatus
from laoke.tenancy.models import Org
from laoke.tenancy.service import OrgInfo
from tests.messaging.conftest import SECRET_KEY, Setup

NOW = datetime(2026, 6, 15, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
TODAY = date(2026, 6, 15)


@pytest.fixture
def acme(database, cast, monkeypatch) -> Setup:
    monkeypatch.setenv("LAOKE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("LAOKE_MODE", "test")
    get_settings.cache_clear()
    settings = Settings(mode=Mode.TEST, secret_key=SECRET_KEY, database_url="sqlite:///unused.db")
    return Setup(database, settings, cast.acme.id)


def org_info(database, org_id: int) -> OrgInfo:
    with database.unit_of_work(write=False) as s:
        return OrgInfo.of(s.get(Org, org_id))


def bought_cream(database, org_id: int, customer_id: int, owner_id: int | None) -> int:
    """A 45-day cream bought 38 days ago, and its running-out task due today."""
    with database.unit_of_work() as s:
        order = Order(
            org_id=org_id,
            customer_id=customer_id,
            ordered_at=NOW - timedelta(days=38),
            amount=Decimal("298.00"),
            status=OrderStatus.PAID,
        )
        s.add(order)
        s.flush()
        item = OrderItem(
            org_id=org_id,
            order_id=order.id,
            product_name="补水面霜",
            quantity=1,
            amount=Decimal("298.00"),
            lasts_days=45,
        )
        s.add(item)
        s.flush()
        open_task(
            s,
            org_id,
            customer_id=customer_id,
            assignee_id=owner_id,
            kind=TaskKind.RUNNING_OUT,
            key=f"running_out:item:{item.id}",
            title=item.product_name,
            due_on=TODAY,
            order_item_id=item.id,
        )
        s.commit()
        return item.id


def test_a_customer_about_to_run_out_is_reminded_once_with_the_day_it_runs_out(
    acme, database, cast
) -> None:
    acme.webhook_channel("http://127.0.0.1:9/hook")
    acme.template(
        reminders.PRODUCT_CYCLE.name,
        body="{{ customer_name }}，您的{{ product_name }}预计 {{ runs_out_on }} 用完",
    )
    agreed = acme.customer("小美")
    declined = acme.customer("不打扰", consent=False, phone="+8613700137000")
    item = bought_cream(database, acme.org_id, agreed.id, cast.bob.id)
    bought_cream(database, acme.org_id, declined.id, cast.bob.id)
    org = org_info(database, acme.org_id)

    assert reminders.running_out_reminders(database, org, NOW) == 1
    assert reminders.running_out_reminders(database, org, NOW) == 0  # idempotent per item
    with database.unit_of_work(write=False) as s:
        rows = s.execute(select(OutboxMessage.idempotency_key, OutboxMessage.body)).all()
    assert len(rows) == 1
    key, body = rows[0]
    assert key.endswith(f"cycle:{item}")
    assert "小美，您的补水面霜预计 2026-06-22 用完" in body


def test_without_a_template_nothing_is_queued(acme, database, cast) -> None:
    customer = acme.customer("小美")
    bought_cream(database, acme.org_id, customer.id, cast.bob.id)
    assert reminders.running_out_reminders(database, org_info(database, acme.org_id), NOW) == 0


def test_each_staff_member_gets_their_own_today_in_the_digest(acme, database, cast) -> None:
    acme.channel("smtp", host="127.0.0.1", port="2525", security="none", from_address="s@acme.test")
    customer = acme.customer("小美", owner_id=cast.bob.id)
    bought_cream(database, acme.org_id, customer.id, cast.bob.id)
    org = org_info(database, acme.org_id)
    with database.unit_of_work(write=False) as s:
        bob = s.get(type(cast.bob), cast.bob.id)
        digest = reminders.today_digest(s, org, bob, TODAY)
        carol = s.get(type(cast.carol), cast.carol.id)
        nothing = reminders.today_digest(s, org, carol, TODAY)
    assert digest is not None and "小美" in digest.body
    assert nothing is None
