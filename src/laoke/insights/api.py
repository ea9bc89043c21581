"""JSON API: the tenant's customer-value model and a customer's predicted value."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from laoke.db import utcnow
from laoke.errors import N_, NotFound
from laoke.insights import service
from laoke.insights.models import ValueModelFit
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep

router = APIRouter(prefix="/api/v1", tags=["customer value"], dependencies=[CsrfProtected])


class ValueModelPublic(BaseModel):
    model: str
    status: str
    fallback_reason: str | None
    params: dict[str, float]
    spend_params: dict[str, float] | None
    spend_note: str | None
    log_likelihood: float | None
    n_customers: int
    n_repeaters: int
    fit_seconds: float
    as_of: date
    fitted_at: datetime
    holdout: dict[str, Any] | None


class CustomerValuePublic(BaseModel):
    p_alive: float
    expected_purchases_90d: float
    expected_purchases_365d: float
    clv: float
    level: str


def _public(fit: ValueModelFit) -> ValueModelPublic:
    return ValueModelPublic(
        model=fit.model,
        status=fit.status,
        fallback_reason=fit.fallback_reason,
        params=fit.params,
        spend_params=fit.spend_params,
        spend_note=fit.spend_note,
        log_likelihood=fit.log_likelihood,
        n_customers=fit.n_customers,
        n_repeaters=fit.n_repeaters,
        fit_seconds=fit.fit_seconds,
        as_of=fit.as_of,
        fitted_at=fit.fitted_at,
        holdout=fit.holdout,
    )


def _no_fit() -> NotFound:
    return NotFound(N_("No value model has been fitted yet."), code="no_value_model")


@router.get("/value-model", response_model=ValueModelPublic)
def get_value_model(session: SessionDep, actor: ApiActor) -> ValueModelPublic:
    """The tenant's current customer-value model and its holdout check"""
    fit = service.overview(session, actor).fit
    if fit is None:
        raise _no_fit()
    return _public(fit)


@router.post("/value-model/refit", response_model=ValueModelPublic)
def refit_value_model(request: Request, session: SessionDep, actor: ApiActor) -> ValueModelPublic:
    """Refit the customer-value model now and rescore every customer"""
    session.commit()  # the fit writes in its own transaction
    fit = service.refit(request.app.state.database, actor, request.state.org, utcnow())
    if fit is None:
        raise _no_fit()
    return _public(fit)


@router.get("/customers/{customer_id}/value", response_model=CustomerValuePublic)
def get_customer_value(
    session: SessionDep, actor: ApiActor, customer_id: int
) -> CustomerValuePublic:
    """A customer's P(alive), expected purchases and 12-month value"""
    value = service.customer_value(session, actor, customer_id)
    if value is None:
        raise NotFound(N_("This customer has no predicted value yet."), code="no_customer_value")
    return CustomerValuePublic(
        p_alive=value.p_alive,
        expected_purchases_90d=value.expected_90d,
        expected_purchases_365d=value.expected_365d,
        clv=value.clv,
        level=value.level,
    )
