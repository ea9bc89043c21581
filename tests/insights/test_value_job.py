"""The nightly value-model job: fit per tenant, fallback for small tenants, stored scores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from laoke.engagement.models import CustomerFigures
from laoke.insights.models import FitStatus
from laoke.insights.value_job import BENCHMARK_BGNBD, fit_org, latest_fit
from laoke.orders.models import Order, OrderStatus
from laoke.tenancy.service import OrgInfo
from tests.insights.purchases import AS_OF, TRUE_WEEKLY, draw_histories, store


def org_info(org) -> OrgInfo:
    return OrgInfo(org.id, org.slug, org.name, "Asia/Shanghai", "zh_CN")


def figures_of(database, org_id: int) -> dict[int, CustomerFigures]:
    with database.unit_of_work(write=False) as s:
        rows = s.scalars(select(CustomerFigures).where(CustomerFigures.org_id == org_id)).all()
        for row in rows:
            s.expunge(row)
        return {row.customer_id: row for row in rows}


def test_a_tenant_with_history_gets_its_own_fit_and_every_buyer_a_score(database, cast) -> None:
    with database.unit_of_work() as s:
        ids = store(s, cast.acme.id, draw_histories(1500, seed=7))
    fit = fit_org(database, org_info(cast.acme), AS_OF)

    assert fit is not None
    assert fit.status == FitStatus.FITTED
    assert fit.n_customers == 1500
    assert fit.log_likelihood is not None and fit.log_likelihood < 0
    # 1,500 customers recover the generating parameters roughly (the fit itself is
    # checked against the published CDNOW figures in tests/analytics).
    assert fit.params["r"] == pytest.approx(TRUE_WEEKLY["r"], rel=0.5)
    assert fit.params["alpha"] == pytest.approx(TRUE_WEEKLY["alpha"], rel=0.6)
    assert fit.spend_params is not None and set(fit.spend_params) == {"p", "q", "gamma"}

    scores = figures_of(database, cast.acme.id)
    assert set(scores) == set(ids)
    for row in scores.values():
        assert 0.0 <= row.p_alive <= 1.0
        assert 0.0 <= row.expected_purchases_90d <= row.expected_purchases_365d
        assert row.clv is not None and row.clv >= 0

    holdout = fit.holdout
    assert holdout is not None and 4 <= holdout["weeks"] <= 13
    assert holdout["buckets"][0]["x"] == "0"
    assert sum(b["customers"] for b in holdout["buckets"]) == holdout["customers"]
    # The model's total for the holdout weeks is of the right size (within 35%).
    assert holdout["total_predicted"] == pytest.approx(holdout["total_actual"], rel=0.35)


def test_a_small_tenant_falls_back_to_benchmark_parameters_and_says_why(database, cast) -> None:
    with database.unit_of_work() as s:
        ids = store(s, cast.acme.id, draw_histories(12, seed=3))
    fit = fit_org(database, org_info(cast.acme), AS_OF)

    assert fit.status == FitStatus.FALLBACK
    assert fit.params == BENCHMARK_BGNBD.as_dict()
    assert "at least 100 customers" in fit.fallback_reason
    assert fit.spend_params is None and fit.spend_note
    assert set(figures_of(database, cast.acme.id)) == set(ids)
    # a customer who bought long ago is less likely alive than one who just bought
    with database.unit_of_work() as s:
        recent = store(s, cast.acme.id, [[(AS_OF - timedelta(days=1), 100)] * 1])[0]
        old = store(
            s,
            cast.acme.id,
            [[(AS_OF - timedelta(days=400), 100), (AS_OF - timedelta(days=380), 80)]],
        )[0]
    fit_org(database, org_info(cast.acme), AS_OF)
    scores = figures_of(database, cast.acme.id)
    assert scores[recent].p_alive > scores[old].p_alive


def test_only_paid_orders_count_and_scores_are_replaced_not_accumulated(database, cast) -> None:
    with database.unit_of_work() as s:
        ids = store(s, cast.acme.id, draw_histories(30, seed=11))
    fit_org(database, org_info(cast.acme), AS_OF)
    with database.unit_of_work() as s:
        s.execute(
            update(Order).where(Order.customer_id == ids[0]).values(status=OrderStatus.REFUNDED)
        )
        s.commit()
    fit = fit_org(database, org_info(cast.acme), AS_OF)
    scores = figures_of(database, cast.acme.id)
    assert fit.n_customers == 29
    assert scores[ids[0]].p_alive is None and scores[ids[0]].clv is None
    with database.unit_of_work(write=False) as s:
        assert latest_fit(s, cast.acme.id).id == fit.id


def test_tenants_never_share_a_fit_and_a_tenant_without_orders_gets_none(database, cast) -> None:
    with database.unit_of_work() as s:
        store(s, cast.acme.id, draw_histories(20, seed=5))
    assert fit_org(database, org_info(cast.globex), AS_OF) is None
    fit_org(database, org_info(cast.acme), AS_OF)
    assert figures_of(database, cast.globex.id) == {}
    with database.unit_of_work(write=False) as s:
        assert latest_fit(s, cast.globex.id) is None


def test_the_p_alive_histogram_puts_each_customer_in_its_own_tenth(database, cast) -> None:
    from laoke.insights.service import overview

    with database.unit_of_work() as s:
        ids = store(s, cast.acme.id, draw_histories(10, seed=4))
        for customer_id, p in zip(
            ids, (0.0, 0.05, 0.25, 0.35, 0.5, 0.66, 0.96, 0.999, 1.0, 0.95), strict=True
        ):
            s.add(CustomerFigures(org_id=cast.acme.id, customer_id=customer_id, p_alive=p))
        s.commit()
    with database.unit_of_work(write=False) as s:
        histogram = overview(s, cast.actor(cast.alice)).p_alive_histogram
    assert histogram == [2, 0, 1, 1, 0, 1, 1, 0, 0, 4]
