"""`laoke clv fit` through Typer's CliRunner on clv_app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from laoke.analytics.clv.transactions_cli import clv_app, fit_transactions_file

runner = CliRunner()


@pytest.fixture
def headered_sample(cdnow, tmp_path):
    """CDNOW_sample.txt with a header line (the shipped file has none)."""
    path = tmp_path / "cdnow_sample.txt"
    body = (cdnow / "CDNOW_sample.txt").read_text()
    path.write_text("master_id customer date cds amount\n" + body)
    return path


def _fit_args(path, *extra):
    return [
        "fit",
        "--transactions",
        str(path),
        "--customer-col",
        "customer",
        "--date-col",
        "date",
        "--calibration-end",
        "1997-09-30",
        *extra,
    ]


def test_it_prints_one_json_object(headered_sample):
    args = _fit_args(headered_sample, "--amount-col", "amount", "--json")
    result = runner.invoke(clv_app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["model"] == "bgnbd"
    assert {k: round(v, 3) for k, v in out["params"].items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert round(out["log_likelihood"], 1) == -9582.4
    assert out["n_customers"] == 2357
    assert set(out["standard_errors"]) == {"r", "alpha", "a", "b"}
    assert {k: round(v, 2) for k, v in out["spend_params"].items()} == {
        "p": 6.25,
        "q": 3.74,
        "gamma": 15.44,
    }
    assert out["fit_seconds"] >= 0
    assert out["time_unit"] == "week"


def test_it_reads_headerless_files_by_position(cdnow):
    args = [
        "fit",
        "--transactions",
        str(cdnow / "CDNOW_sample.txt"),
        "--no-header",
        "--customer-col",
        "2",
        "--date-col",
        "3",
        "--calibration-end",
        "1997-09-30",
        "--model",
        "pnbd",
        "--json",
    ]
    result = runner.invoke(clv_app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert round(out["params"]["alpha"], 2) == 10.58
    assert "spend_params" not in out
    assert "spend_error" not in out


def test_it_reports_a_refused_spend_model(cdnow, tmp_path):
    # Spend made to grow with the number of purchases: Gamma-Gamma must refuse.
    rows = [line.split() for line in (cdnow / "CDNOW_sample.txt").read_text().splitlines()]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[1]] = counts.get(row[1], 0) + 1
    path = tmp_path / "log.csv"
    path.write_text(
        "customer,date,amount\n"
        + "".join(
            f"{row[1]},{row[2]},{10.0 * counts[row[1]] + float(row[4]) / 100}\n" for row in rows
        )
    )
    out = fit_transactions_file(
        path,
        customer_col="customer",
        date_col="date",
        amount_col="amount",
        calibration_end="1997-09-30",
    )
    assert "spend_params" not in out
    assert "Pearson correlation" in out["spend_error"]
    assert out["params"]["r"] > 0


def test_it_prints_a_table_without_json(headered_sample):
    result = runner.invoke(clv_app, _fit_args(headered_sample))
    assert result.exit_code == 0, result.output
    assert "alpha" in result.stdout
    assert "log-likelihood -9582" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--transactions", "/no/such/file.csv", "--customer-col", "c", "--date-col", "d"],
            "cannot read /no/such/file.csv",
        ),
    ],
)
def test_it_fails_in_one_line_on_unreadable_input(args, message):
    result = runner.invoke(clv_app, ["fit", *args])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"error: {message}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_it_names_a_missing_column(headered_sample):
    result = runner.invoke(
        clv_app,
        [
            "fit",
            "--transactions",
            str(headered_sample),
            "--customer-col",
            "client",
            "--date-col",
            "date",
        ],
    )
    assert result.exit_code == 2
    assert "customer column 'client' not found" in result.stderr


def test_it_rejects_unparseable_dates(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("customer,date\n1,yesterday\n")
    result = runner.invoke(
        clv_app,
        ["fit", "--transactions", str(path), "--customer-col", "customer", "--date-col", "date"],
    )
    assert result.exit_code == 2
    assert "cannot parse dates" in result.stderr
