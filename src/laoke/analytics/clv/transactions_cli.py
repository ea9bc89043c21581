"""``laoke clv …`` commands over a transaction file.

:func:`fit_transactions_file` is the service function (file → result dict, raising
:class:`~laoke.analytics.clv.errors.ClvError`); ``clv_app`` is the thin Typer wrapper
that the main ``laoke`` CLI mounts under ``clv``. Exit codes: 0 success, 2 unreadable
or invalid input, 1 the model could not be fitted.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from laoke.analytics.clv.bgnbd import fit_bgnbd
from laoke.analytics.clv.errors import ClvError, InvalidTransactions
from laoke.analytics.clv.gammagamma import fit_gamma_gamma
from laoke.analytics.clv.pnbd import fit_pnbd
from laoke.analytics.clv.summary import TimeUnit, summarize_transactions
from laoke.analytics.clv.transactions_file import read_transactions


class PurchaseModel(StrEnum):
    """Purchase-count models the CLI can fit."""

    BGNBD = "bgnbd"
    PNBD = "pnbd"


def fit_transactions_file(
    path: str | Path,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None = None,
    date_format: str | None = None,
    header: bool = True,
    as_of: str | None = None,
    calibration_end: str | None = None,
    time_unit: TimeUnit | str = TimeUnit.WEEK,
    model: PurchaseModel | str = PurchaseModel.BGNBD,
) -> dict[str, Any]:
    """Read a transaction file, summarise it and fit a purchase model (+ Gamma-Gamma).

    ``as_of`` defaults to the last transaction date in the file (never today's date);
    ``calibration_end`` defaults to ``as_of``. The fit uses the calibration period.

    Returns a JSON-ready dict: ``model``, ``params``, ``log_likelihood``,
    ``n_customers``, ``fit_seconds``, ``standard_errors``, ``time_unit``, ``as_of``,
    ``calibration_end``, and ``spend_params`` (when ``amount_col`` is given and the
    Gamma-Gamma fit succeeds) or ``spend_error`` (its reason when it is refused).
    """
    log = read_transactions(
        path,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        date_format=date_format,
        header=header,
    )
    end = as_of if as_of is not None else str(log.date.max())
    summary = summarize_transactions(
        log.customer_id,
        log.date,
        log.amount,
        as_of=end,
        calibration_end=calibration_end,
        time_unit=time_unit,
    )
    chosen = PurchaseModel(model)
    fitter = fit_bgnbd if chosen is PurchaseModel.BGNBD else fit_pnbd
    fit = fitter(summary.frequency, summary.recency, summary.T)
    result: dict[str, Any] = {
        "model": chosen.value,
        "params": fit.params.as_dict(),
        "log_likelihood": fit.log_likelihood,
        "n_customers": fit.n_customers,
        "fit_seconds": fit.fit_seconds,
        "standard_errors": fit.standard_errors,
        "time_unit": summary.time_unit.value,
        "as_of": str(summary.as_of),
        "calibration_end": str(summary.calibration_end),
    }
    if summary.monetary_value is not None:
        try:
            spend = fit_gamma_gamma(summary.frequency, summary.monetary_value)
        except ClvError as exc:
            result["spend_error"] = str(exc)
        else:
            result["spend_params"] = spend.params.as_dict()
    return result


clv_app = typer.Typer(help="Customer lifetime value: fit purchase and spend models.")


@clv_app.callback()
def _clv() -> None:
    """Customer lifetime value: fit purchase and spend models."""


@clv_app.command("fit")
def fit_command(
    transactions: Annotated[
        Path | None, typer.Option(help="Transaction file (CSV or whitespace).")
    ] = None,
    org: Annotated[
        str | None, typer.Option(help="Fit a tenant's paid orders instead of a file (slug).")
    ] = None,
    customer_col: Annotated[
        str | None,
        typer.Option(help="Customer id column (name, or 1-based index with --no-header)."),
    ] = None,
    date_col: Annotated[
        str | None, typer.Option(help="Date column (YYYYMMDD or YYYY-MM-DD).")
    ] = None,
    amount_col: Annotated[
        str | None, typer.Option(help="Amount column; enables Gamma-Gamma.")
    ] = None,
    date_format: Annotated[str | None, typer.Option(help="strptime format, e.g. %d/%m/%Y.")] = None,
    header: Annotated[
        bool, typer.Option("--header/--no-header", help="First line names the columns.")
    ] = True,
    as_of: Annotated[
        str | None,
        typer.Option(help="Last observed day (default: last date in file; today for --org)."),
    ] = None,
    calibration_end: Annotated[
        str | None, typer.Option(help="Last calibration day (default: as-of).")
    ] = None,
    time_unit: Annotated[
        TimeUnit, typer.Option(help="Time unit; a month is 365.25/12 days.")
    ] = TimeUnit.WEEK,
    model: Annotated[PurchaseModel, typer.Option(help="Purchase model.")] = PurchaseModel.BGNBD,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit BG/NBD or Pareto/NBD (and Gamma-Gamma with --amount-col) to a transaction file,
    or, with --org, to a tenant's paid orders (storing every customer's predictions)."""
    if (transactions is None) == (org is None):
        typer.echo("error: give either --transactions FILE or --org SLUG", err=True)
        raise typer.Exit(code=2)
    try:
        if org is not None:
            # The product side (database, tenants) is imported only when asked for.
            from laoke.insights.cli import fit_org_for_cli

            result = fit_org_for_cli(org, model=model.value, as_of=as_of)
        else:
            if customer_col is None or date_col is None:
                typer.echo("error: --customer-col and --date-col are required", err=True)
                raise typer.Exit(code=2)
            assert transactions is not None
            result = fit_transactions_file(
                transactions,
                customer_col=customer_col,
                date_col=date_col,
                amount_col=amount_col,
                date_format=date_format,
                header=header,
                as_of=as_of,
                calibration_end=calibration_end,
                time_unit=time_unit,
                model=model,
            )
    except InvalidTransactions as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    except ClvError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    if as_json:
        typer.echo(json.dumps(result))
        return
    _print_table(result)


def _print_table(result: dict[str, Any]) -> None:
    console = Console()
    table = Table(
        title=f"{result['model']} fit · {result['n_customers']} customers · "
        f"unit {result['time_unit']} · calibration to {result['calibration_end']}"
    )
    table.add_column("parameter")
    table.add_column("estimate", justify="right")
    table.add_column("std. error", justify="right")
    for name, value in result["params"].items():
        se = result["standard_errors"].get(name, float("nan"))
        table.add_row(name, f"{value:.4g}", "—" if not np.isfinite(se) else f"{se:.3g}")
    for name, value in result.get("spend_params", {}).items():
        table.add_row(f"spend {name}", f"{value:.4g}", "")
    console.print(table)
    console.print(f"log-likelihood {result['log_likelihood']:.2f} · {result['fit_seconds']:.3f} s")
    if "spend_error" in result:
        console.print(f"[yellow]spend model not fitted:[/] {result['spend_error']}")
