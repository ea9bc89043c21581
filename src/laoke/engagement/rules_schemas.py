"""Input and output shapes of a tenant's engagement rules and of staff-set stages."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from laoke.customers.stages import LifecycleStage


class RulesFields(BaseModel):
    """The rules a tenant can adjust; the bounds keep a typo from moving every customer."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lapsed_factor: float = Field(
        ge=1.0, le=10.0, description="Lapsed after this many × the customer's own interval"
    )
    default_cycle_days: int = Field(
        ge=1, le=3650, description="The interval assumed while a customer bought only once"
    )
    lapsed_p_alive_below: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Also lapsed when P(alive) is below; null = off"
    )
    loyal_min_orders: int = Field(ge=2, le=100, description="Paid orders that make a loyal one")
    reminder_days_before: int = Field(
        ge=1, le=3650, description="Remind this many days before an item runs out"
    )
    winback_factor: float = Field(
        ge=1.0, le=10.0, description="Win back when overdue by this many × their own cycle"
    )


class RulesPublic(RulesFields):
    last_recomputed_at: datetime | None = Field(
        description="When figures and stages were last recomputed"
    )
    rules: list[str] = Field(description="The lifecycle rules in plain words")


class StageInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: Literal["fan", "agent", "auto"] = Field(
        description="fan or agent, or auto to hand the customer back to the rules"
    )
    reason: str | None = Field(default=None, max_length=200)


class StagePublic(BaseModel):
    customer_id: int
    lifecycle_stage: LifecycleStage
