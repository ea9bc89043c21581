"""Errors raised by the CLV analytics.

Every error derives from :class:`ClvError`, so a caller (CLI, HTTP layer) can map the
whole family to one response. Messages are meant to be shown to a person as-is: they
say what is wrong, how often, and where to look.
"""

from __future__ import annotations


class ClvError(Exception):
    """Base class of every CLV analytics error."""


class InvalidTransactions(ClvError, ValueError):
    """The transaction log cannot be summarised (shape, dtype or date problems)."""


class InvalidSummary(ClvError, ValueError):
    """Per-customer summary arrays violate the model's contract.

    Example message: ``"recency larger than T for 3 customers (first index 17)"``.
    """


class TooFewCustomers(ClvError, ValueError):
    """Not enough customers (or repeat customers) to identify the model's parameters.

    ``found`` and ``required`` carry the counts that were compared.
    """

    def __init__(self, message: str, *, found: int, required: int) -> None:
        super().__init__(message)
        self.found = found
        self.required = required


class FitDidNotConverge(ClvError, RuntimeError):
    """Maximum-likelihood optimisation stopped without meeting its convergence test.

    ``optimizer_message`` is the optimiser's own reason; ``params`` the last iterate
    (natural scale, paper names).
    """

    def __init__(
        self, message: str, *, optimizer_message: str = "", params: dict[str, float] | None = None
    ) -> None:
        super().__init__(message)
        self.optimizer_message = optimizer_message
        self.params = dict(params or {})


class AssumptionViolated(ClvError, ValueError):
    """A model assumption does not hold on the data.

    Raised by the Gamma-Gamma fit when the Pearson correlation between purchase
    frequency and mean repeat spend exceeds the threshold in absolute value (the model
    assumes spend is independent of the transaction process). ``correlation`` and
    ``threshold`` carry the figures.
    """

    def __init__(self, message: str, *, correlation: float, threshold: float) -> None:
        super().__init__(message)
        self.correlation = correlation
        self.threshold = threshold
