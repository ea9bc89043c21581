"""The value-model page: how well the model fits, who is worth most, who is slipping away."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from laoke.accounts.roles import Permission
from laoke.db import utcnow
from laoke.insights import service, value_job
from laoke.insights.models import FIT_STATUS_LABELS
from laoke.web.charts import Series, bar_chart
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfProtected])


def _charts(request: Request, overview: service.ValueOverview) -> dict[str, object]:
    _ = translations(getattr(request.state, "language", "zh_CN")).gettext
    charts: dict[str, object] = {"holdout_chart": None, "p_alive_chart": None}
    fit = overview.fit
    if fit is not None and fit.holdout:
        buckets = fit.holdout["buckets"]
        charts["holdout_chart"] = bar_chart(
            [b["x"] for b in buckets],
            [
                Series(_("Actual"), [b["actual"] for b in buckets], "series-a"),
                Series(_("Predicted"), [b["predicted"] for b in buckets], "series-b"),
            ],
            title=_("Repeat purchases per customer in the holdout weeks"),
            axis_label=_("Repeat purchases before the holdout"),
        )
    if overview.scored:
        labels = [f"{10 * i}" for i in range(service.P_ALIVE_BINS)]
        charts["p_alive_chart"] = bar_chart(
            labels,
            [Series(_("Customers"), overview.p_alive_histogram, "series-a")],
            title=_("Customers by probability of still being active"),
            axis_label=_("Chance still active (%), in steps of 10"),
        )
    return charts


@router.get("/insights/value")
def value_page(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    overview = service.overview(session, actor)
    return render(
        request,
        "value_model.html",
        {
            "overview": overview,
            "fit": overview.fit,
            "status_labels": FIT_STATUS_LABELS,
            "can_refit": actor.can(Permission.MANAGE_SETTINGS),
            "min_customers": value_job.MIN_CUSTOMERS,
            "min_repeaters": value_job.MIN_REPEATERS,
            **_charts(request, overview),
        },
    )


@router.post("/insights/value/refit")
def refit(request: Request, session: SessionDep, actor: PageActor) -> RedirectResponse:
    actor.require(Permission.MANAGE_SETTINGS)
    session.commit()  # release the request's write transaction before the fit writes its own
    service.refit(request.app.state.database, actor, request.state.org, utcnow())
    return RedirectResponse("/insights/value?refitted=1", status_code=303)
