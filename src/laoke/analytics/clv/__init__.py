"""Customer lifetime value: RFM summaries, BG/NBD, Pareto/NBD and Gamma-Gamma models.

Pure functions over numpy arrays with explicit dates, units and random generators.
Typical flow::

    summary = summarize_transactions(ids, dates, amounts, as_of="1998-06-30",
                                     calibration_end="1997-09-30", time_unit="week")
    fit = fit_bgnbd(summary.frequency, summary.recency, summary.T)
    spend = fit_gamma_gamma(summary.frequency, summary.monetary_value)
    clv = customer_lifetime_value(fit.params, spend.params, summary.frequency,
                                  summary.recency, summary.T, summary.monetary_value,
                                  horizon_periods=12, period_length=365.25 / 12 / 7,
                                  discount_rate=0.01)
"""

from laoke.analytics.clv.bgnbd import BgNbdFit, BgNbdParams, fit_bgnbd
from laoke.analytics.clv.compress import CompressedSummary, compress_summary, validate_summary
from laoke.analytics.clv.errors import (
    AssumptionViolated,
    ClvError,
    FitDidNotConverge,
    InvalidSummary,
    InvalidTransactions,
    TooFewCustomers,
)
from laoke.analytics.clv.gammagamma import (
    GammaGammaFit,
    GammaGammaParams,
    conditional_expected_spend,
    fit_gamma_gamma,
)
from laoke.analytics.clv.pnbd import ParetoNbdFit, ParetoNbdParams, fit_pnbd
from laoke.analytics.clv.summary import CustomerSummary, TimeUnit, summarize_transactions
from laoke.analytics.clv.value import (
    conditional_expected_purchases,
    customer_lifetime_value,
    discounted_expected_purchases,
    probability_alive,
    simulate_future_purchases,
    simulate_future_value,
    summarize_draws,
)

__all__ = [
    "AssumptionViolated",
    "BgNbdFit",
    "BgNbdParams",
    "ClvError",
    "CompressedSummary",
    "CustomerSummary",
    "FitDidNotConverge",
    "GammaGammaFit",
    "GammaGammaParams",
    "InvalidSummary",
    "InvalidTransactions",
    "ParetoNbdFit",
    "ParetoNbdParams",
    "TimeUnit",
    "TooFewCustomers",
    "compress_summary",
    "conditional_expected_purchases",
    "conditional_expected_spend",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_pnbd",
    "probability_alive",
    "simulate_future_purchases",
    "simulate_future_value",
    "summarize_draws",
    "summarize_transactions",
    "validate_summary",
]
