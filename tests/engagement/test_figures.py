"""Per-customer figures on hand-made order histories, RFM quintiles and value tiers."""

from __future__ import annotations

from decimal import Decimal

from laoke.customers.models import Customer
from laoke.db import Database
from laoke.engagement.models import ValueTier
from laoke.engagement.recompute import recompute_org
from laoke.orders.models import OrderStatus
from tests.conftest import Cast
from tests.engagement.figures_history import (
    NOW,
    contact,
    customer,
    days_ago,
    figures_of,
    order,
)


def _figures(database: Database, customer_id: int):
    with database.unit_of_work() as s:
        row = figures_of(s, s.get(Customer, customer_id))
        s.expunge(row)
        return row


def test_figures_count_only_paid_orders(database: Database, cast: Cast) -> None:
    with database.unit_of_work() as s:
        mei = customer(s, cast.acme.id, "美")
        order(s, mei, "100.10", days_ago(100))
        order(s, mei, "200.20", days_ago(70))
        order(s, mei, "999.00", days_ago(60), OrderStatus.REFUNDED)
        order(s, mei, "50.00", days_ago(50), OrderStatus.CANCELLED)
        order(s, mei, "0.70", days_ago(40))
        contact(s, mei, days_ago(3))
        contact(s, mei, days_ago(1))
        s.commit()
        mei_id = mei.id
    recompute_org(database, cast.acme.id, NOW)
    row = _figures(database, mei_id)
    assert row.orders_count == 3
    assert row.total_spent == Decimal("301.00")
    assert row.average_order_value == Decimal("100.33")
    assert row.first_purchase_at == days_ago(100)
    assert row.last_purchase_at == days_ago(40)
    assert row.repurchase_interval_days == 30.0
    assert row.next_expected_purchase_at == days_ago(10)
    assert row.contact_count == 2
    assert row.last_contact_at == days_ago(1)


def test_interval_is_between_distinct_purchase_days(database: Database, cast: Cast) -> None:
    with database.unit_of_work() as s:
        same_day = customer(s, cast.acme.id, "同一天")
        order(s, same_day, "10", days_ago(20, hours=2))
        order(s, same_day, "10", days_ago(20))
        three_days = customer(s, cast.acme.id, "三天")
        for at in (days_ago(61), days_ago(61, hours=1), days_ago(31), days_ago(1)):
            order(s, three_days, "10", at)
        s.commit()
        ids = same_day.id, three_days.id
    recompute_org(database, cast.acme.id, NOW)
    first, second = (_figures(database, i) for i in ids)
    assert (first.orders_count, first.repurchase_interval_days) == (2, None)
    assert first.next_expected_purchase_at is None  # no item with a usage cycle
    assert (second.orders_count, second.repurchase_interval_days) == (4, 30.0)
    assert second.next_expected_purchase_at == days_ago(1) + (days_ago(0) - days_ago(30))


def test_one_time_buyer_expects_the_longest_lasting_item(database: Database, cast: Cast) -> None:
    with database.unit_of_work() as s:
        cream = customer(s, cast.acme.id, "面霜")
        order(s, cream, "300", days_ago(10), lasts_days=[45, 90, None])
        order(s, cream, "50", days_ago(5), OrderStatus.REFUNDED, lasts_days=[365])
        nothing = customer(s, cast.acme.id, "没买")
        s.commit()
        ids = cream.id, nothing.id
    recompute_org(database, cast.acme.id, NOW)
    cream_row, nothing_row = (_figures(database, i) for i in ids)
    assert cream_row.next_expected_purchase_at == days_ago(10 - 90)
    assert (nothing_row.orders_count, nothing_row.total_spent) == (0, Decimal("0.00"))
    assert nothing_row.average_order_value is None and nothing_row.last_purchase_at is None
    assert nothing_row.recency_score is None and nothing_row.value_tier == ValueTier.TAIL


def test_rfm_quintiles_and_tiers_rank_the_buyers(database: Database, cast: Cast) -> None:
    ids = []
    with database.unit_of_work() as s:
        for rank in range(10):  # customer k: k+1 orders, spends more, bought more recently
            who = customer(s, cast.acme.id, f"客户{rank}")
            for n in range(rank + 1):
                order(s, who, str(100 * (rank + 1)), days_ago(200 - 10 * rank - n))
            ids.append(who.id)
        never = customer(s, cast.acme.id, "潜客")
        refunded = customer(s, cast.acme.id, "退款")
        order(s, refunded, "5000", days_ago(1), OrderStatus.REFUNDED)
        s.commit()
        others = never.id, refunded.id
    recompute_org(database, cast.acme.id, NOW)
    rows = [_figures(database, i) for i in ids]
    expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [r.recency_score for r in rows] == expected
    assert [r.frequency_score for r in rows] == expected
    assert [r.monetary_score for r in rows] == expected
    tiers = [r.value_tier for r in rows]
    assert tiers == ["tail"] * 3 + ["middle"] * 5 + ["top"] * 2
    for customer_id in others:
        row = _figures(database, customer_id)
        assert (row.recency_score, row.frequency_score, row.monetary_score) == (None, None, None)
        assert row.value_tier == ValueTier.TAIL


def test_equal_customers_share_a_score(database: Database, cast: Cast) -> None:
    ids = []
    with database.unit_of_work() as s:
        for index in range(6):
            who = customer(s, cast.acme.id, f"单次{index}")
            order(s, who, "100", days_ago(10))
            ids.append(who.id)
        big = customer(s, cast.acme.id, "大客户")
        for n in range(3):
            order(s, big, "900", days_ago(3 + n))
        s.commit()
        big_id = big.id
    recompute_org(database, cast.acme.id, NOW)
    scores = {(r.frequency_score, r.monetary_score) for r in (_figures(database, i) for i in ids)}
    assert scores == {(1, 1)}
    big_row = _figures(database, big_id)
    assert (big_row.frequency_score, big_row.monetary_score, big_row.value_tier) == (5, 5, "top")


def test_other_tenants_are_untouched(database: Database, cast: Cast) -> None:
    with database.unit_of_work() as s:
        mine = customer(s, cast.acme.id, "acme")
        order(s, mine, "10", days_ago(3))
        theirs = customer(s, cast.globex.id, "globex")
        order(s, theirs, "10", days_ago(3))
        s.commit()
        mine_id, theirs_id = mine.id, theirs.id
    report = recompute_org(database, cast.acme.id, NOW)
    assert (report.customers, report.ranked) == (1, 1)
    assert _figures(database, mine_id).orders_count == 1
    with database.unit_of_work() as s:
        from laoke.engagement.figures import figures_by_customer

        assert figures_by_customer(s, cast.globex.id, [theirs_id]) == {}
        assert s.get(Customer, theirs_id).lifecycle_stage == "prospect"


def test_an_empty_tenant_recomputes_to_nothing(database: Database, cast: Cast) -> None:
    report = recompute_org(database, cast.acme.id, NOW)
    assert (report.customers, report.aggregated, report.ranked, report.stage_changes) == (
        0,
        0,
        0,
        0,
    )
