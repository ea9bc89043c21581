"""`laoke clv fit --org SLUG`: fit a tenant's value model from the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from laoke.analytics.clv.errors import InvalidTransactions
from laoke.cli_support import database, domain_errors
from laoke.db import utcnow
from laoke.insights.value_job import fit_org
from laoke.tenancy.service import OrgInfo, get_org_by_slug


def _moment(as_of: str | None, timezone: str) -> datetime:
    """The end of the given tenant-local day (now when none is given)."""
    if as_of is None:
        return utcnow()
    try:
        day = date.fromisoformat(as_of)
    except ValueError as exc:
        raise InvalidTransactions(f"as_of is not a date (YYYY-MM-DD): {as_of!r}") from exc
    local = datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def fit_org_for_cli(org_slug: str, *, model: str, as_of: str | None) -> dict[str, Any]:
    db = database()
    with domain_errors(), db.unit_of_work(write=False) as session:
        org = OrgInfo.of(get_org_by_slug(session, org_slug))
    fit = fit_org(db, org, _moment(as_of, org.timezone), model=model)
    if fit is None:
        raise InvalidTransactions(f"organisation {org_slug!r} has no paid orders to fit")
    result: dict[str, Any] = {
        "model": fit.model,
        "status": str(fit.status),
        "params": fit.params,
        "log_likelihood": fit.log_likelihood,
        "n_customers": fit.n_customers,
        "fit_seconds": fit.fit_seconds,
        "standard_errors": {},
        "time_unit": "week",
        "as_of": fit.as_of.isoformat(),
        "calibration_end": fit.as_of.isoformat(),
    }
    if fit.fallback_reason:
        result["fallback_reason"] = fit.fallback_reason
    if fit.spend_params:
        result["spend_params"] = fit.spend_params
    elif fit.spend_note:
        result["spend_error"] = fit.spend_note
    return result
