"""Lifecycle rules, their history rows, sticky staff stages and the p_alive rule."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from laoke.customers.models import Customer
from laoke.db import Database
from laoke.engagement.models import CustomerFigures, StageChange
from laoke.engagement.recompute import recompute_org
from laoke.engagement.settings import rules_for_update
from tests.conftest import Cast
from tests.engagement.figures_history import NOW, customer, days_ago, order


def _stages(database: Database, ids: dict[str, int]) -> dict[str, str]:
    with database.unit_of_work() as s:
        return {name: s.get(Customer, i).lifecycle_stage for name, i in ids.items()}


def _history(database: Database, customer_id: int) -> list[tuple]:
    with database.unit_of_work() as s:
        rows = s.scalars(
            select(StageChange)
            .where(StageChange.customer_id == customer_id)
            .order_by(StageChange.id)
        )
        return [(r.kind, r.from_stage, r.to_stage, r.reason, r.changed_by_id) for r in rows]


def _cast_of_customers(database: Database, cast: Cast) -> dict[str, int]:
    with database.unit_of_work() as s:
        org = cast.acme.id
        people = {
            "prospect": customer(s, org, "潜客"),
            "new": customer(s, org, "新客"),
            "repeat": customer(s, org, "老客"),
            "loyal": customer(s, org, "忠诚"),
            "lapsed": customer(s, org, "流失"),
            "lapsed_once": customer(s, org, "一次流失"),
            "once_not_yet": customer(s, org, "一次未流失"),
            "fan": customer(s, org, "粉丝"),
            "agent": customer(s, org, "分销"),
        }
        order(s, people["new"], "100", days_ago(10))
        order(s, people["repeat"], "100", days_ago(40))
        order(s, people["repeat"], "100", days_ago(10))
        for n in range(5):
            order(s, people["loyal"], "100", days_ago(5 + 10 * n))
        order(s, people["lapsed"], "100", days_ago(35))
        order(s, people["lapsed"], "100", days_ago(25))  # 25 days > 2 × 10-day interval
        order(s, people["lapsed_once"], "100", days_ago(181))  # > 2 × 90 default days
        order(s, people["once_not_yet"], "100", days_ago(179))
        people["fan"].lifecycle_stage = "fan"
        people["agent"].lifecycle_stage = "agent"
        order(s, people["agent"], "100", days_ago(400))
        s.commit()
        return {name: row.id for name, row in people.items()}


def test_every_rule_sets_its_stage_with_a_history_row(database: Database, cast: Cast) -> None:
    ids = _cast_of_customers(database, cast)
    report = recompute_org(database, cast.acme.id, NOW)
    assert _stages(database, ids) == {
        "prospect": "prospect",
        "new": "new",
        "repeat": "repeat",
        "loyal": "loyal",
        "lapsed": "lapsed",
        "lapsed_once": "lapsed",
        "once_not_yet": "new",
        "fan": "fan",
        "agent": "agent",
    }
    assert report.stage_changes == 6
    assert _history(database, ids["lapsed"]) == [
        ("lifecycle", "prospect", "lapsed", "rule:lapsed", None)
    ]
    assert _history(database, ids["loyal"]) == [
        ("lifecycle", "prospect", "loyal", "rule:loyal", None)
    ]
    assert _history(database, ids["new"]) == [("lifecycle", "prospect", "new", "rule:new", None)]
    assert _history(database, ids["prospect"]) == []
    assert _history(database, ids["fan"]) == _history(database, ids["agent"]) == []


def test_recompute_is_idempotent_and_time_moves_stages(database: Database, cast: Cast) -> None:
    ids = _cast_of_customers(database, cast)
    recompute_org(database, cast.acme.id, NOW)
    again = recompute_org(database, cast.acme.id, NOW)
    assert again.stage_changes == 0
    with database.unit_of_work() as s:
        assert len(s.scalars(select(StageChange)).all()) == 6
    later = recompute_org(database, cast.acme.id, NOW + timedelta(days=60))
    stages = _stages(database, ids)
    assert (stages["repeat"], stages["loyal"], stages["new"]) == ("lapsed", "lapsed", "new")
    assert stages["fan"] == "fan" and stages["agent"] == "agent"
    assert later.stage_changes == 3  # repeat, loyal and once_not_yet (179 + 60 days)
    assert _history(database, ids["repeat"])[-1] == (
        "lifecycle",
        "repeat",
        "lapsed",
        "rule:lapsed",
        None,
    )


def test_the_tenant_rules_change_the_outcome(database: Database, cast: Cast) -> None:
    ids = _cast_of_customers(database, cast)
    with database.unit_of_work() as s:
        rules = rules_for_update(s, cast.acme.id)
        rules.loyal_min_orders = 2
        rules.lapsed_factor = 3.0
        rules.default_cycle_days = 30
        s.commit()
    recompute_org(database, cast.acme.id, NOW)
    stages = _stages(database, ids)
    assert stages["repeat"] == "loyal"  # 2 orders now suffice
    assert stages["lapsed"] == "loyal"  # 25 days < 3 × 10
    assert stages["new"] == "new"
    assert stages["once_not_yet"] == "lapsed"  # 179 days > 3 × 30


def test_p_alive_below_the_threshold_means_lapsed(database: Database, cast: Cast) -> None:
    ids = _cast_of_customers(database, cast)
    recompute_org(database, cast.acme.id, NOW)
    with database.unit_of_work() as s:
        s.execute(
            update(CustomerFigures)
            .where(CustomerFigures.customer_id == ids["loyal"])
            .values(p_alive=0.1)
        )
        s.execute(
            update(CustomerFigures)
            .where(CustomerFigures.customer_id == ids["repeat"])
            .values(p_alive=0.6)
        )
        s.commit()
    assert recompute_org(database, cast.acme.id, NOW).stage_changes == 0  # threshold not set
    with database.unit_of_work() as s:
        rules_for_update(s, cast.acme.id).lapsed_p_alive_below = 0.5
        s.commit()
    recompute_org(database, cast.acme.id, NOW)
    stages = _stages(database, ids)
    assert (stages["loyal"], stages["repeat"], stages["new"]) == ("lapsed", "repeat", "new")
    assert _history(database, ids["loyal"])[-1][1:4] == ("loyal", "lapsed", "rule:p_alive")


def test_merged_away_customers_are_left_alone(database: Database, cast: Cast) -> None:
    with database.unit_of_work() as s:
        kept = customer(s, cast.acme.id, "留下")
        gone = customer(s, cast.acme.id, "合并掉")
        gone.merged_into_id = kept.id
        order(s, kept, "100", days_ago(3))
        s.commit()
        kept_id, gone_id = kept.id, gone.id
    report = recompute_org(database, cast.acme.id, NOW)
    assert report.customers == 1
    assert _history(database, gone_id) == []
    assert _stages(database, {"kept": kept_id})["kept"] == "new"
