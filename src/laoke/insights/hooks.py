"""What insights plugs into others: the daily value-model job."""

from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from laoke.insights.value_job import daily_fit
    from laoke.messaging.scheduler import Job, register

    register(
        Job(
            "insights.value_model",
            daily_fit,
            daily_at="04:00",
            description="Fit the customer-value model and score every customer",
        )
    )
