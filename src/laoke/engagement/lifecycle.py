"""Lifecycle stages: the rules that compute them from a customer's figures, and the stages
staff set by hand.

The rules, in order (the first that applies wins):

1. `fan` and `agent` are set by staff (later by referral programmes); the rules never move a
   customer out of them.
2. No paid order → `prospect`.
3. Lapsed → `lapsed`: no purchase for `lapsed_factor` × the customer's own repurchase
   interval (× `default_cycle_days` while they have bought on one day only); or, when the
   tenant set `lapsed_p_alive_below` and the customer has a P(alive) from the value model,
   P(alive) below it.
4. At least `loyal_min_orders` paid orders → `loyal`.
5. At least 2 paid orders → `repeat`; otherwise `new`.

Every change writes a `StageChange` (kind lifecycle) whose reason names the rule
(`rule:lapsed`, `rule:p_alive`, `rule:loyal`, …) or, for staff, what they wrote.
The rules run as SQL so the daily recompute moves every customer in a few statements.
"""

# ruff: noqa: S608 - the SQL is assembled from our own fragments; every value is bound

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for
from laoke.customers.stages import LIFECYCLE_LABELS, LifecycleStage
from laoke.db import UtcDateTime
from laoke.engagement.models import EngagementSettings, StageChange, StageKind
from laoke.engagement.settings import rules_for
from laoke.errors import N_, Invalid

STAFF_STAGES = (LifecycleStage.FAN, LifecycleStage.AGENT)
AUTOMATIC = "auto"  # what staff send to hand a customer back to the rules


@dataclass(frozen=True)
class StageRules:
    """The SQL that computes a customer's rule stage (`stage`) and why (`reason`) from
    `customers c` joined to `customer_figures f`, with its bound values."""

    stage: str
    reason: str
    params: dict[str, Any]


def elapsed_days_sql(dialect: str, later: str, earlier: str) -> str:
    if dialect == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


def stage_rules(rules: EngagementSettings, dialect: str) -> StageRules:
    elapsed = elapsed_days_sql(dialect, ":now", "f.last_purchase_at")
    by_cycle = (
        f"{elapsed} > :lapsed_factor * COALESCE(f.repurchase_interval_days, :default_cycle_days)"
    )
    by_p_alive = "1 = 0"
    params: dict[str, Any] = {
        "lapsed_factor": float(rules.lapsed_factor),
        "default_cycle_days": float(rules.default_cycle_days),
        "loyal_min_orders": int(rules.loyal_min_orders),
        "fan": LifecycleStage.FAN.value,
        "agent": LifecycleStage.AGENT.value,
    }
    if rules.lapsed_p_alive_below is not None:
        by_p_alive = "(f.p_alive IS NOT NULL AND f.p_alive < :p_alive_below)"
        params["p_alive_below"] = float(rules.lapsed_p_alive_below)
    sticky = "c.lifecycle_stage IN (:fan, :agent)"
    stage = (
        f"CASE WHEN {sticky} THEN c.lifecycle_stage"
        " WHEN COALESCE(f.orders_count, 0) = 0 THEN 'prospect'"
        f" WHEN {by_cycle} OR {by_p_alive} THEN 'lapsed'"
        " WHEN f.orders_count >= :loyal_min_orders THEN 'loyal'"
        " WHEN f.orders_count >= 2 THEN 'repeat'"
        " ELSE 'new' END"
    )
    reason = (
        f"CASE WHEN {sticky} THEN 'staff'"
        " WHEN COALESCE(f.orders_count, 0) = 0 THEN 'rule:prospect'"
        f" WHEN {by_cycle} THEN 'rule:lapsed'"
        f" WHEN {by_p_alive} THEN 'rule:p_alive'"
        " WHEN f.orders_count >= :loyal_min_orders THEN 'rule:loyal'"
        " WHEN f.orders_count >= 2 THEN 'rule:repeat'"
        " ELSE 'rule:new' END"
    )
    return StageRules(stage=stage, reason=reason, params=params)


def apply_stage_rules(
    session: Session, org_id: int, now: datetime, customers: str, params: dict[str, Any]
) -> int:
    """Move the customers selected by the SQL condition `customers` (over `{id}`) to their rule
    stage, writing a history row for each one that changes. Returns how many changed."""
    dialect = session.get_bind().dialect.name
    rules = stage_rules(rules_for(session, org_id), dialect)
    values = {**rules.params, **params, "org_id": org_id, "now": now}
    joined = (
        "FROM customers c JOIN customer_figures f"
        " ON f.org_id = c.org_id AND f.customer_id = c.id"
        f" WHERE c.org_id = :org_id AND c.merged_into_id IS NULL AND ({customers.format(id='c.id')})"
        f" AND ({rules.stage}) <> c.lifecycle_stage"
    )
    now_param = bindparam("now", type_=UtcDateTime())
    session.execute(
        text(
            "INSERT INTO stage_changes"
            " (org_id, customer_id, kind, from_stage, to_stage, at, changed_by_id, reason)"
            f" SELECT c.org_id, c.id, 'lifecycle', c.lifecycle_stage, {rules.stage}, :now,"
            f" NULL, {rules.reason} {joined}"
        ).bindparams(now_param),
        values,
    )
    changed = session.execute(
        text(
            f"UPDATE customers SET lifecycle_stage = (SELECT {rules.stage}"
            " FROM customer_figures f JOIN customers c ON c.id = f.customer_id"
            " WHERE f.org_id = customers.org_id AND f.customer_id = customers.id)"
            " WHERE customers.org_id = :org_id AND customers.id IN"
            f" (SELECT c.id {joined})"
        ).bindparams(now_param),
        values,
    )
    return changed.rowcount or 0  # type: ignore[attr-defined]


def rule_lines(rules: EngagementSettings) -> list[tuple[str, dict[str, Any]]]:
    """The rules in plain words (gettext message, parameters), for the settings page."""
    lines: list[tuple[str, dict[str, Any]]] = [
        (N_("Fan and agent are set by staff; the rules never move a customer out of them."), {}),
        (N_("No paid order yet: prospect."), {}),
        (
            N_(
                "Lapsed: no purchase for %(factor)s × the customer's own repurchase interval "
                "(× %(days)s days while they have bought only once)."
            ),
            {"factor": f"{rules.lapsed_factor:g}", "days": rules.default_cycle_days},
        ),
    ]
    if rules.lapsed_p_alive_below is not None:
        lines.append(
            (
                N_("Also lapsed: the value model puts the chance they still buy below %(p)s."),
                {"p": f"{rules.lapsed_p_alive_below:g}"},
            )
        )
    lines += [
        (
            N_("Loyal: at least %(n)s paid orders and not lapsed."),
            {"n": rules.loyal_min_orders},
        ),
        (N_("Returning: 2 paid orders or more; first-time: exactly one."), {}),
    ]
    return lines


def set_stage_by_staff(
    session: Session, actor: Actor, customer_id: int, stage: str, reason: str | None, now: datetime
) -> Customer:
    """Staff make a customer a fan or an agent, or (`auto`) hand them back to the rules."""
    actor.require(Permission.EDIT_CUSTOMERS)
    if stage not in (*STAFF_STAGES, AUTOMATIC):
        raise Invalid(
            N_("Staff can only set fan or agent, or hand the stage back to the rules."),
            code="lifecycle_stage_invalid",
            field="stage",
        )
    customer = get_customer_for(session, actor, customer_id)
    if customer.merged_into_id is not None or customer.erased_at is not None:
        raise Invalid(N_("This customer can no longer change."), code="customer_inactive")
    note = (reason or "").strip()[:200] or None
    previous = LifecycleStage(customer.lifecycle_stage)
    if stage == AUTOMATIC:
        from laoke.engagement.figures import refresh_figures

        refresh_figures(session, actor.org_id, customer.id, now)
        new = computed_stage(session, actor.org_id, customer.id, now, ignore_staff=True)
    else:
        new = LifecycleStage(stage)
    if new != previous:
        session.add(
            StageChange(
                org_id=actor.org_id,
                customer_id=customer.id,
                kind=StageKind.LIFECYCLE,
                from_stage=previous.value,
                to_stage=new.value,
                at=now,
                changed_by_id=actor.user_id,
                reason=note or "staff",
            )
        )
        customer.lifecycle_stage = new
        session.flush()
    return customer


def computed_stage(
    session: Session, org_id: int, customer_id: int, now: datetime, *, ignore_staff: bool = False
) -> LifecycleStage:
    """What the rules say for one customer (whose figures row is current)."""
    rules = stage_rules(rules_for(session, org_id), session.get_bind().dialect.name)
    params = {**rules.params, "org_id": org_id, "customer_id": customer_id, "now": now}
    if ignore_staff:
        params["fan"] = params["agent"] = ""
    value = session.execute(
        text(
            f"SELECT {rules.stage} FROM customers c LEFT JOIN customer_figures f"
            " ON f.org_id = c.org_id AND f.customer_id = c.id"
            " WHERE c.org_id = :org_id AND c.id = :customer_id"
        ).bindparams(bindparam("now", type_=UtcDateTime())),
        params,
    ).scalar_one()
    return LifecycleStage(value)


def stage_label(stage: str) -> str:
    return LIFECYCLE_LABELS.get(LifecycleStage(stage), stage) if stage else ""
