"""Fixtures: the CDNOW reference data (Fader & Hardie), located via LAOKE_CDNOW_DIR.

Default location is ``<repo>/../shared/data/cdnow``. Tests that need it are skipped with
a clear reason when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from laoke.analytics.clv.transactions_file import TransactionLog, read_transactions

REPO = Path(__file__).resolve().parents[3]
CALIBRATION_END = "1997-09-30"
AS_OF = "1998-06-30"


def cdnow_dir() -> Path:
    """Directory of the CDNOW files (env ``LAOKE_CDNOW_DIR`` or the shared default)."""
    return Path(os.environ.get("LAOKE_CDNOW_DIR", REPO.parent / "shared" / "data" / "cdnow"))


@pytest.fixture(scope="session")
def cdnow() -> Path:
    path = cdnow_dir()
    if not (path / "CDNOW_sample.txt").is_file():
        pytest.skip(f"CDNOW data not found in {path} (set LAOKE_CDNOW_DIR)")
    return path


@pytest.fixture(scope="session")
def cdnow_sample_log(cdnow: Path) -> TransactionLog:
    """The 1/10 sample log: no header; column 2 is the sample id, 3 the date, 5 dollars."""
    return read_transactions(
        cdnow / "CDNOW_sample.txt", customer_col="2", date_col="3", amount_col="5", header=False
    )


@pytest.fixture(scope="session")
def cdnow_reference(cdnow: Path) -> dict[str, np.ndarray]:
    """``cdnow_customers_summary_with_transactions.csv`` as arrays (ID, x, t_x, T, zbar)."""
    table = np.loadtxt(
        cdnow / "cdnow_customers_summary_with_transactions.csv", delimiter=",", skiprows=1
    )
    return {name: table[:, i] for i, name in enumerate(["id", "x", "t_x", "T", "zbar"])}
