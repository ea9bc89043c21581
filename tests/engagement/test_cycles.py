"""Product-cycle tasks: reminders before an item runs out, repurchase nudges, win-backs."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from laoke.db import utcnow
from laoke.engagement import cycles
from laoke.engagement.models import CustomerFigures, EngagementSettings, Task, TaskKind, TaskStatus
from laoke.events.bus import emit
from laoke.messaging.scheduler import JOBS
from laoke.orders.models import OrderStatus
from laoke.tenancy.service import OrgInfo
from tests.engagement.today_helpers import NOW, TODAY, customer, days_ago, local, order, product


def run(database, org) -> int:
    return cycles.open_cycle_tasks(database, OrgInfo.of(org), NOW)


def tasks(session, org_id: int) -> dict[str, tuple]:
    rows = session.scalars(select(Task).where(Task.org_id == org_id).order_by(Task.key)).all()
    return {t.key: (t.kind, t.due_on, t.assignee_id, t.title, t.status) for t in rows}


def test_an_item_gets_a_reminder_and_a_repurchase_nudge_once(cast, database) -> None:
    org = cast.acme.id
    with database.unit_of_work() as s:
        cream = product(s, org, "面霜", 40)
        wang = customer(s, org, cast.bob.id, "王丽")
        # Bought 1 November (local); lasts 40 days: runs out 11 December.
        _, (item,) = order(s, org, wang, local(date(2026, 11, 1), 9), [(cream, "面霜", 40)])
        s.commit()
    assert run(database, cast.acme) == 2
    assert run(database, cast.acme) == 0
    with database.unit_of_work() as s:
        assert tasks(s, org) == {
            f"repurchase:item:{item}": (
                TaskKind.REPURCHASE,
                date(2026, 12, 11),
                cast.bob.id,
                "面霜",
                TaskStatus.OPEN,
            ),
            f"running_out:item:{item}": (
                TaskKind.RUNNING_OUT,
                date(2026, 12, 4),
                cast.bob.id,
                "面霜",
                TaskStatus.OPEN,
            ),
        }


def test_only_tasks_due_within_a_week_are_opened(cast, database) -> None:
    org = cast.acme.id
    with database.unit_of_work() as s:
        s.add(EngagementSettings(org_id=org, reminder_days_before=3))
        wang = customer(s, org, cast.bob.id, "王丽")
        # Runs out 14 December: the reminder (11 Dec) is within the week, the nudge not yet.
        _, (later,) = order(s, org, wang, local(date(2026, 11, 14)), [(None, "精华", 30)])
        # Runs out 30 December: nothing yet.
        order(s, org, wang, local(date(2026, 11, 30)), [(None, "面膜", 30)])
        s.commit()
    assert run(database, cast.acme) == 1
    with database.unit_of_work() as s:
        assert list(tasks(s, org)) == [f"running_out:item:{later}"]


def test_no_tasks_after_a_repurchase_a_refund_or_long_ago(cast, database) -> None:
    org = cast.acme.id
    with database.unit_of_work() as s:
        cream = product(s, org, "面霜", 40)
        wang = customer(s, org, cast.bob.id, "王丽")
        li = customer(s, org, cast.bob.id, "李娜")
        order(s, org, wang, local(date(2026, 11, 1)), [(cream, "面霜", 40)])
        order(s, org, wang, local(date(2026, 11, 20)), [(cream, "面霜（新包装）", 40)])
        order(s, org, li, local(date(2026, 11, 1)), [(None, "洗面奶", 40)])
        _, (again,) = order(s, org, li, local(date(2026, 11, 25)), [(None, "洗面奶", 10)])
        order(s, org, li, local(date(2026, 11, 1)), [(None, "爽肤水", 40)], OrderStatus.REFUNDED)
        order(s, org, li, local(date(2026, 11, 1)), [(None, "乳液", 40)], OrderStatus.CANCELLED)
        order(s, org, li, days_ago(400), [(None, "旧货", 200)])  # ran out 200 days ago
        order(s, org, li, local(date(2026, 11, 1)), [(None, "服务", None)])  # not used up
        s.commit()
    run(database, cast.acme)
    with database.unit_of_work() as s:
        found = tasks(s, org)
    # Only the repeat purchase of 洗面奶 (runs out 5 December) is due; the new 面霜 package
    # runs out on 30 December, beyond the week.
    assert found == {
        f"repurchase:item:{again}": (
            TaskKind.REPURCHASE,
            date(2026, 12, 5),
            cast.bob.id,
            "洗面奶",
            TaskStatus.OPEN,
        ),
        f"running_out:item:{again}": (
            TaskKind.RUNNING_OUT,
            date(2026, 11, 28),
            cast.bob.id,
            "洗面奶",
            TaskStatus.OPEN,
        ),
    }


def test_win_back_after_the_factor_times_the_customers_own_cycle(cast, database) -> None:
    org = cast.acme.id
    with database.unit_of_work() as s:
        due = customer(s, org, cast.bob.id, "该挽回了")
        early = customer(s, org, cast.carol.id, "还不到")
        once = customer(s, org, cast.carol.id, "只买过一次")
        for cid, last, interval in ((due, 100, 60.0), (early, 100, 70.0), (once, 140, None)):
            s.add(
                CustomerFigures(
                    org_id=org,
                    customer_id=cid,
                    orders_count=1 if interval is None else 3,
                    last_purchase_at=days_ago(last),
                    repurchase_interval_days=interval,
                )
            )
        s.commit()
    # 100 > 1.5 × 60; 100 < 1.5 × 70; 140 > 1.5 × 90 (default cycle for one-time buyers).
    assert run(database, cast.acme) == 2
    assert run(database, cast.acme) == 0
    with database.unit_of_work() as s:
        found = tasks(s, org)
    last_due = (TODAY - timedelta(days=100)).isoformat()
    assert found[f"win_back:customer:{due}:{last_due}"][:3] == (
        TaskKind.WIN_BACK,
        TODAY,
        cast.bob.id,
    )
    assert {k.split(":")[2] for k in found} == {str(due), str(once)}


def test_a_new_purchase_closes_open_cycle_and_win_back_tasks(cast, database) -> None:
    org = cast.acme.id
    with database.unit_of_work() as s:
        cream = product(s, org, "面霜", 40)
        wang = customer(s, org, cast.bob.id, "王丽")
        order(s, org, wang, local(date(2026, 11, 1)), [(cream, "面霜", 40), (None, "面膜", 34)])
        s.add(
            CustomerFigures(
                org_id=org,
                customer_id=wang,
                last_purchase_at=days_ago(200),
                repurchase_interval_days=30.0,
            )
        )
        s.commit()
    assert run(database, cast.acme) == 5  # 2 cream, 2 mask, 1 win-back
    with database.unit_of_work() as s:
        cycles.install()
        new_order, _ = order(s, org, wang, NOW, [(cream, "面霜", 40)])
        emit(
            s,
            org,
            "order.created",
            subject_type="order",
            subject_id=new_order,
            payload={"order_id": new_order, "customer_id": wang},
        )
        s.commit()
        statuses = {v[3] + ":" + v[0]: v[4] for v in tasks(s, org).values()}
    assert statuses["面霜:running_out"] == statuses["面霜:repurchase"] == TaskStatus.DONE
    assert statuses["面膜:running_out"] == statuses["面膜:repurchase"] == TaskStatus.OPEN
    assert [v for k, v in statuses.items() if k.endswith("win_back")] == [TaskStatus.DONE]


def test_tenants_are_apart_and_the_job_runs_daily(cast, database) -> None:
    with database.unit_of_work() as s:
        wang = customer(s, cast.acme.id, cast.bob.id, "王丽")
        order(s, cast.acme.id, wang, local(date(2026, 11, 1)), [(None, "面霜", 40)])
        s.commit()
    assert run(database, cast.globex) == 0
    with database.unit_of_work() as s:
        assert tasks(s, cast.acme.id) == {}
    job = JOBS["engagement.product_cycles"]
    assert job.daily_at == "06:00" and job.run is cycles.open_cycle_tasks


def test_the_demo_step_adds_rules_and_opens_todays_tasks(cast, database) -> None:
    import random

    from laoke.demo.seed import DemoContext
    from laoke.engagement.models import CadenceRule
    from laoke.engagement.today_demo import DEMO_RULES, seed_cadence_and_cycles

    with database.unit_of_work() as s:
        org = s.merge(cast.acme)
        ctx = DemoContext(org, random.Random(1), 0, {"owner@demo.laoke.local": s.merge(cast.alice)})
        seed_cadence_and_cycles(s, ctx)  # no orders yet: rules only
        wang = customer(s, org.id, cast.bob.id, "王丽")
        # The step runs at the real "now": runs out in 5 days from whenever the test runs.
        order(s, org.id, wang, utcnow() - timedelta(days=30), [(None, "面霜", 35)])
        s.commit()
        seed_cadence_and_cycles(s, ctx)  # again, now with an order: rules stay, tasks open
        rules = s.scalars(select(CadenceRule.value).where(CadenceRule.scope == "tag")).all()
        opened = s.scalars(select(Task.kind).where(Task.org_id == org.id)).all()
    assert sorted(rules) == sorted(value for scope, value, _ in DEMO_RULES if scope == "tag")
    assert sorted(opened) == [TaskKind.REPURCHASE, TaskKind.RUNNING_OUT]
