"""Keeping figures current: the order and merge events, the incremental run, the daily
job and `laoke recompute`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from laoke.cli import app as cli_app
from laoke.config import get_settings
from laoke.customers.models import Customer
from laoke.db import Database, utcnow
from laoke.engagement.models import CustomerFigures, StageChange
from laoke.engagement.recompute import recompute_org
from laoke.events.bus import emit
from laoke.messaging import scheduler
from laoke.orders.models import Order
from tests.conftest import Cast
from tests.engagement.figures_history import customer, figures_of, order


def _emit_order(session, row: Order, name: str = "order.created") -> None:
    emit(
        session,
        row.org_id,
        name,
        subject_type="order",
        subject_id=row.id,
        payload={
            "order_id": row.id,
            "customer_id": row.customer_id,
            "amount": str(row.amount),
            "status": row.status,
            "ordered_at": row.ordered_at.isoformat(),
        },
    )


def test_a_new_order_refreshes_its_customer_at_once(database: Database, cast: Cast) -> None:
    now = utcnow().replace(microsecond=0)
    with database.unit_of_work() as s:
        ranked = [customer(s, cast.acme.id, f"老客{n}") for n in range(4)]
        for n, who in enumerate(ranked):
            order(s, who, str(100 * (n + 1)), now - timedelta(days=30 + n))
        mei = customer(s, cast.acme.id, "美")
        s.commit()
        mei_id = mei.id
    recompute_org(database, cast.acme.id, now)
    with database.unit_of_work() as s:
        mei = s.get(Customer, mei_id)
        assert figures_of(s, mei).orders_count == 0
        placed = order(s, mei, "1000", now - timedelta(days=1), lasts_days=[45])
        _emit_order(s, placed)
        s.commit()
        placed_at, placed_id = placed.ordered_at, placed.id
    with database.unit_of_work() as s:
        mei = s.get(Customer, mei_id)
        row = figures_of(s, mei)
        assert (row.orders_count, row.total_spent) == (1, Decimal("1000.00"))
        assert row.next_expected_purchase_at == placed_at + timedelta(days=45)
        # a first paid order is placed against the current ranking right away
        assert (row.recency_score, row.monetary_score, row.value_tier) == (5, 5, "top")
        assert mei.lifecycle_stage == "new"
        history = s.scalars(select(StageChange).where(StageChange.customer_id == mei_id)).all()
        assert [(h.from_stage, h.to_stage, h.reason) for h in history] == [
            ("prospect", "new", "rule:new")
        ]
        s.execute(update(Order).where(Order.id == placed_id).values(status="refunded"))
        _emit_order(s, s.get(Order, placed_id), "order.refunded")
        s.commit()
    with database.unit_of_work() as s:
        mei = s.get(Customer, mei_id)
        row = figures_of(s, mei)
        assert (row.orders_count, row.recency_score, row.value_tier) == (0, None, "tail")
        assert mei.lifecycle_stage == "prospect"


def test_a_merge_refreshes_the_kept_customer(database: Database, cast: Cast) -> None:
    now = utcnow()
    with database.unit_of_work() as s:
        kept = customer(s, cast.acme.id, "留下")
        gone = customer(s, cast.acme.id, "合并掉")
        order(s, kept, "10", now - timedelta(days=20))
        order(s, gone, "20", now - timedelta(days=10))
        s.commit()
        kept_id, gone_id = kept.id, gone.id
    recompute_org(database, cast.acme.id, now)
    with database.unit_of_work() as s:
        s.execute(update(Order).where(Order.customer_id == gone_id).values(customer_id=kept_id))
        s.get(Customer, gone_id).merged_into_id = kept_id
        s.flush()
        emit(
            s,
            cast.acme.id,
            "customer.merged",
            subject_type="customer",
            subject_id=kept_id,
            payload={"customer_id": kept_id, "merged_id": gone_id},
        )
        s.commit()
    with database.unit_of_work() as s:
        assert figures_of(s, s.get(Customer, kept_id)).orders_count == 2
        assert s.get(Customer, kept_id).lifecycle_stage == "repeat"
        assert (
            s.scalar(select(CustomerFigures).where(CustomerFigures.customer_id == gone_id)) is None
        )


def test_the_incremental_run_reaggregates_only_what_changed(database: Database, cast: Cast) -> None:
    now = utcnow()
    with database.unit_of_work() as s:
        people = [customer(s, cast.acme.id, f"客户{n}") for n in range(5)]
        for who in people:
            order(s, who, "10", now - timedelta(days=5))
        s.commit()
        ids = [p.id for p in people]
    now = utcnow()  # the run starts after these were written
    first = recompute_org(database, cast.acme.id, now, incremental=True)
    assert (first.incremental, first.aggregated) == (False, 5)  # nothing to compare with yet
    later = now + timedelta(seconds=5)
    with database.unit_of_work() as s:
        # an order written behind the events' back, after the last run
        row = order(s, s.get(Customer, ids[0]), "90", now - timedelta(days=1))
        row.updated_at = later
        customer(s, cast.acme.id, "新来的")
        s.commit()
    second = recompute_org(database, cast.acme.id, later, incremental=True)
    assert (second.incremental, second.customers, second.aggregated) == (True, 6, 2)
    with database.unit_of_work() as s:
        assert figures_of(s, s.get(Customer, ids[0])).total_spent == Decimal("100.00")
        assert figures_of(s, s.get(Customer, ids[0])).value_tier == "top"
    third = recompute_org(database, cast.acme.id, later + timedelta(seconds=5), incremental=True)
    assert third.aggregated == 0 and third.stage_changes == 0


def test_the_daily_job_is_registered_and_recomputes(database: Database, cast: Cast) -> None:
    job = scheduler.JOBS["engagement.recompute"]
    assert job.daily_at == "03:00"
    at = datetime(2026, 12, 4, 19, 5, tzinfo=UTC)  # 03:05 in Shanghai
    with database.unit_of_work() as s:
        order(s, customer(s, cast.acme.id, "夜"), "10", at - timedelta(days=3))
        s.commit()
    reports = scheduler.run_due(database, at, "test-worker", jobs={"engagement.recompute": job})
    assert {(r.job, r.ok) for r in reports} == {("engagement.recompute", True)}
    with database.unit_of_work() as s:
        assert s.scalar(select(Customer.lifecycle_stage).where(Customer.name == "夜")) == "new"


@pytest.fixture
def laoke(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAOKE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LAOKE_SECRET_KEY", "s" * 48)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli_app, list(args))
        assert result.exit_code == code, result.output
        return result

    run("init")
    yield run
    get_settings.cache_clear()


def test_laoke_recompute_prints_counts_and_seconds(laoke) -> None:
    laoke("org", "create", "acme", "--name", "Acme")
    result = laoke("recompute", "--org", "acme", "--json")
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["customers"] == 0 and body["stage_changes"] == 0 and body["seconds"] >= 0
    plain = laoke("recompute", "--org", "acme")
    assert "0 customers" in plain.stdout and " s" in plain.stdout
    missing = laoke("recompute", "--org", "nope", code=1)
    assert "org_not_found" in missing.output


def test_large_tenants_rank_a_first_order_at_night(
    database: Database, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    from laoke.engagement import figures

    monkeypatch.setattr(figures, "SCORE_AT_ONCE_LIMIT", 2)
    now = utcnow().replace(microsecond=0)
    with database.unit_of_work() as s:
        for n in range(3):
            order(s, customer(s, cast.acme.id, f"老客{n}"), "10", now - timedelta(days=9))
        late = customer(s, cast.acme.id, "新来的")
        s.commit()
        late_id = late.id
    recompute_org(database, cast.acme.id, now)
    with database.unit_of_work() as s:
        _emit_order(s, order(s, s.get(Customer, late_id), "99", now))
        s.commit()
    with database.unit_of_work() as s:
        row = figures_of(s, s.get(Customer, late_id))
        assert (row.orders_count, row.recency_score, row.value_tier) == (1, None, "tail")
        assert s.get(Customer, late_id).lifecycle_stage == "new"
    recompute_org(database, cast.acme.id, now)
    with database.unit_of_work() as s:
        row = figures_of(s, s.get(Customer, late_id))
        assert (row.recency_score, row.monetary_score, row.value_tier) == (4, 4, "top")  # 4th of 4


@pytest.mark.xdist_group("demo")  # one worker seeds the shared demo
def test_the_demo_tenant_ends_with_figures_for_everyone(demo_tenant) -> None:
    org = demo_tenant.org
    with demo_tenant.database.unit_of_work(write=False) as s:
        customers = s.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.org_id == org.id, Customer.merged_into_id.is_(None))
        )
        rows = s.scalar(
            select(func.count())
            .select_from(CustomerFigures)
            .where(CustomerFigures.org_id == org.id, CustomerFigures.computed_at.is_not(None))
        )
        assert customers and rows == customers
