"""The value-model page, the customer page's value panel, the JSON API and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from laoke.cli import app as cli_app
from laoke.config import get_settings
from laoke.insights.value_job import fit_org
from tests.conftest import csrf_from
from tests.insights.purchases import AS_OF, draw_histories, store
from tests.insights.test_value_job import org_info


@pytest.fixture
def scored(database, cast) -> dict[str, list[int]]:
    """Bob's and Carol's customers with purchase histories, scored by a fit."""
    with database.unit_of_work() as s:
        bob = store(s, cast.acme.id, draw_histories(40, seed=1), owner_id=cast.bob.id)
        carol = store(s, cast.acme.id, draw_histories(40, seed=2), owner_id=cast.carol.id)
    fit_org(database, org_info(cast.acme), AS_OF)
    return {"bob": bob, "carol": carol}


def test_before_any_purchase_the_page_says_so_and_the_api_answers_404(
    cast, browser_of, api_of
) -> None:
    page = browser_of(cast.alice).get("/insights/value")
    assert page.status_code == 200
    assert 'data-test="no-fit"' in page.text
    answer = api_of(cast.alice).get("/api/v1/value-model")
    assert answer.status_code == 404
    assert answer.json()["code"] == "no_value_model"


def test_the_page_states_the_fallback_and_draws_the_charts(cast, scored, browser_of) -> None:
    page = browser_of(cast.alice).get("/insights/value")
    assert page.status_code == 200
    assert 'data-status="fallback"' in page.text  # 80 customers: under the fitting minimum
    assert "CDNOW" in page.text
    assert 'data-test="p-alive-chart"' in page.text and "<svg" in page.text
    assert page.text.count('data-test="top-customer"') == 20


def test_sales_see_only_their_own_customers_among_the_most_valuable(
    cast, scored, browser_of
) -> None:
    page = browser_of(cast.bob).get("/insights/value")
    linked = {
        int(part.split('"')[0])
        for part in page.text.split('href="/customers/')[1:]
        if part[0].isdigit()
    }
    assert linked and linked <= set(scored["bob"])


def test_only_owners_and_admins_refit(cast, scored, browser_of, database) -> None:
    sales = browser_of(cast.bob)
    token = csrf_from(sales.get("/insights/value").text)
    refused = sales.post(
        "/insights/value/refit", data={"csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 403
    owner = browser_of(cast.alice)
    token = csrf_from(owner.get("/insights/value").text)
    done = owner.post("/insights/value/refit", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert owner.get(done.headers["location"]).status_code == 200
    missing_csrf = owner.post("/insights/value/refit", follow_redirects=False)
    assert missing_csrf.status_code == 403


def test_the_customer_page_explains_the_value_in_one_line(cast, scored, browser_of) -> None:
    page = browser_of(cast.alice).get(f"/customers/{scored['bob'][0]}")
    assert 'data-test="customer-value"' in page.text
    assert "purchases expected" in page.text or "预计" in page.text


def test_api_model_and_customer_value_respect_tenants_and_owners(cast, scored, api_of) -> None:
    owner = api_of(cast.alice)
    model = owner.get("/api/v1/value-model").json()
    assert model["status"] == "fallback"
    assert set(model["params"]) == {"r", "alpha", "a", "b"}
    value = owner.get(f"/api/v1/customers/{scored['carol'][0]}/value").json()
    assert 0 <= value["p_alive"] <= 1 and value["level"] in {"active", "at_risk", "lapsing"}
    assert api_of(cast.bob).get(f"/api/v1/customers/{scored['carol'][0]}/value").status_code == 404
    assert api_of(cast.oscar).get(f"/api/v1/customers/{scored['bob'][0]}/value").status_code == 404
    assert api_of(cast.oscar).get("/api/v1/value-model").status_code == 404
    assert api_of(cast.victor).post("/api/v1/value-model/refit").status_code == 403
    refit = owner.post("/api/v1/value-model/refit")
    assert refit.status_code == 200 and refit.json()["n_customers"] == 80


def test_cli_fits_a_tenant_and_prints_the_contract_json(
    database, cast, scored, monkeypatch
) -> None:
    if database.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised against the SQLite file")
    monkeypatch.setenv(
        "LAOKE_DATABASE_URL", database.engine.url.render_as_string(hide_password=False)
    )
    get_settings.cache_clear()
    runner = CliRunner()
    result = runner.invoke(
        cli_app, ["clv", "fit", "--org", "acme", "--as-of", "2026-06-30", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["model"] == "bgnbd" and out["n_customers"] == 80
    assert set(out["params"]) == {"r", "alpha", "a", "b"}
    assert out["status"] == "fallback" and "fit_seconds" in out
    pnbd = runner.invoke(cli_app, ["clv", "fit", "--org", "acme", "--model", "pnbd", "--json"])
    assert pnbd.exit_code == 0 and set(json.loads(pnbd.output)["params"]) == {
        "r",
        "alpha",
        "s",
        "beta",
    }
    unknown = runner.invoke(cli_app, ["clv", "fit", "--org", "nope", "--json"])
    assert unknown.exit_code != 0
    both = runner.invoke(cli_app, ["clv", "fit", "--org", "acme", "--transactions", "x.csv"])
    assert both.exit_code == 2
    bad_day = runner.invoke(cli_app, ["clv", "fit", "--org", "acme", "--as-of", "30/06/2026"])
    assert bad_day.exit_code == 2


def test_a_fitted_tenant_sees_its_holdout_check_as_a_chart(database, cast, browser_of) -> None:
    with database.unit_of_work() as s:
        store(s, cast.acme.id, draw_histories(400, seed=9))
    fit_org(database, org_info(cast.acme), AS_OF)
    page = browser_of(cast.maggie).get("/insights/value")
    assert 'data-status="fitted"' in page.text
    assert 'data-test="holdout-chart"' in page.text
    assert page.text.count("<rect") > 10
    assert 'data-test="refit"' not in page.text  # managers read, owners and admins refit


def test_customer_lists_sort_and_filter_by_value_and_activity(
    cast, scored, api_of, browser_of
) -> None:
    owner = api_of(cast.alice)
    by_value = owner.get("/api/v1/customers", params={"sort": "-clv", "per_page": 200}).json()
    values = [
        owner.get(f"/api/v1/customers/{c['id']}/value").json()["clv"]
        for c in by_value["items"][:10]
    ]
    assert values == sorted(values, reverse=True)
    slipping = owner.get(
        "/api/v1/customers", params={"activity": "lapsing", "per_page": 200}
    ).json()
    levels = {
        owner.get(f"/api/v1/customers/{c['id']}/value").json()["level"] for c in slipping["items"]
    }
    assert slipping["total"] > 0 and levels == {"lapsing"}
    everyone = owner.get("/api/v1/customers", params={"per_page": 200}).json()["total"]
    active = owner.get("/api/v1/customers", params={"activity": "active"}).json()["total"]
    at_risk = owner.get("/api/v1/customers", params={"activity": "at_risk"}).json()["total"]
    assert active + at_risk + slipping["total"] == everyone == 80
    assert owner.get("/api/v1/customers", params={"activity": "sleepy"}).status_code == 422
    page = browser_of(cast.bob).get("/customers?activity=lapsing&sort=p_alive").text
    assert 'value="lapsing" selected' in page


def test_a_tier_filter_and_a_figure_sort_combine(cast, scored, api_of) -> None:
    answer = api_of(cast.alice).get(
        "/api/v1/customers", params={"value_tier": "top", "sort": "-total_spent"}
    )
    assert answer.status_code == 200 and answer.json()["total"] >= 0
