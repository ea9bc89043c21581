"""Setting up what a program pays: reward rules, the ladder of tiers, the program's reward
budget and the tenant's reward settings.

Every write needs MANAGE_SETTINGS; every signed-in staff member may read (sales staff tell
customers what they will get). Values are checked here, not in the schemas, so the API and
the pages refuse the same things with the same messages and name the field at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.referrals.models import ReferralProgram
from laoke.referrals.programs import get_program
from laoke.rewards.describe import describe
from laoke.rewards.models import (
    LIVE_STATUSES,
    Beneficiary,
    CouponKind,
    Reward,
    RewardKind,
    RewardRule,
    RewardSettings,
    RewardTier,
    RewardTrigger,
)
from laoke.rewards.schemas import (
    RuleCreate,
    RuleUpdate,
    SettingsFields,
    TierCreate,
    TierFields,
)
from laoke.rewards.settings import default_hold_days, settings_of

MAX_AMOUNT = Decimal("1000000")
MAX_BUDGET = Decimal("1000000000")
MAX_CAP = 100_000
MAX_THRESHOLD = 1000
MAX_VALID_DAYS = 3650
MAX_HOLD_DAYS = 365

# Kinds a rule may pay; commission comes from agent tiers, never from a rule.
RULE_KINDS = (
    RewardKind.POINTS,
    RewardKind.COUPON,
    RewardKind.CASH,
    RewardKind.GIFT,
    RewardKind.PRIVILEGE,
    RewardKind.HONOUR,
)
LABELLED_KINDS = (RewardKind.GIFT, RewardKind.PRIVILEGE, RewardKind.HONOUR)
RULE_FIELDS = (
    "beneficiary",
    "trigger",
    "min_amount",
    "kind",
    "amount",
    "label",
    "coupon_kind",
    "min_spend",
    "valid_days",
    "hold_days",
    "cap_per_month",
    "cap_lifetime",
)


# --- checking values ----------------------------------------------------------------------


def _decimal(value: Any, field_name: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(N_("Enter a number."), code="not_a_number", field=field_name) from None
    if not number.is_finite():
        raise Invalid(N_("Enter a number."), code="not_a_number", field=field_name)
    return number


def _money(
    value: Any,
    field_name: str,
    *,
    positive: bool,
    ceiling: Decimal = MAX_AMOUNT,
    places: int = 2,
) -> Decimal:
    """A yuan amount: above (or at least) zero, at most `ceiling`, at most `places` decimals."""
    number = _decimal(value, field_name)
    if number < 0 or (positive and number == 0):
        message = N_("Enter an amount above zero.") if positive else N_("Enter zero or more.")
        raise Invalid(message, code="amount_out_of_range", field=field_name)
    if number > ceiling:
        raise Invalid(
            N_("The amount may be at most %(limit)s."),
            code="amount_too_large",
            field=field_name,
            limit=f"{ceiling:,}",
        )
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise Invalid(
            N_("Use at most %(places)s decimal places."),
            code="too_many_decimals",
            field=field_name,
            places=places,
        )
    return number.quantize(Decimal(1).scaleb(-places))


def _days(value: Any, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(
            N_("Enter a whole number from %(low)s to %(high)s."),
            code="out_of_range",
            field=field_name,
            low=low,
            high=high,
        )
    return value


def _label(value: Any, field_name: str = "label", limit: int = 100) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise Invalid(
            N_("At most %(limit)s characters."), code="too_long", field=field_name, limit=limit
        )
    return text


def check_rule(values: dict[str, Any], *, for_tier: bool) -> dict[str, Any]:
    """The rule's values made consistent for its kind and trigger, or `Invalid` naming the
    field at fault. Fields the kind does not use are cleared."""
    out = dict(values)
    kind = RewardKind(out["kind"])
    trigger = RewardTrigger(out["trigger"])
    beneficiary = Beneficiary(out["beneficiary"])
    if kind not in RULE_KINDS:
        raise Invalid(
            N_("Commission is paid to agents; set it on a ladder tier."),
            code="kind_not_allowed",
            field="kind",
        )
    if trigger == RewardTrigger.TIER and not for_tier:
        raise Invalid(
            N_("The tier trigger is only for a ladder tier's rewards."),
            code="tier_trigger_without_tier",
            field="trigger",
        )
    if for_tier and trigger != RewardTrigger.TIER:
        raise Invalid(
            N_("A ladder tier's rewards are paid on reaching the tier."),
            code="tier_rule_trigger",
            field="trigger",
        )
    if trigger == RewardTrigger.TIER and beneficiary != Beneficiary.REFERRER:
        raise Invalid(
            N_("Ladder tiers reward the referrer, not the referred friend."),
            code="tier_for_referee",
            field="beneficiary",
        )
    if trigger == RewardTrigger.PURCHASE_AT_LEAST:
        if out.get("min_amount") is None:
            raise Invalid(
                N_("Give the purchase amount that earns this reward."),
                code="min_amount_required",
                field="min_amount",
            )
        out["min_amount"] = _money(out["min_amount"], "min_amount", positive=True)
    else:
        out["min_amount"] = None

    out["label"] = _label(out.get("label"))
    amount = out.get("amount")
    amount = Decimal(0) if amount is None else _decimal(amount, "amount")
    if kind not in LABELLED_KINDS:
        out["label"] = ""
    if kind != RewardKind.COUPON:
        out["coupon_kind"] = out["min_spend"] = None
    if kind not in (RewardKind.COUPON, RewardKind.PRIVILEGE):
        out["valid_days"] = None
    match kind:
        case RewardKind.POINTS:
            if amount != amount.to_integral_value() or amount <= 0:
                raise Invalid(
                    N_("Points are a whole number above zero."),
                    code="points_whole",
                    field="amount",
                )
            amount = _money(amount, "amount", positive=True)
        case RewardKind.CASH:
            amount = _money(amount, "amount", positive=True)
        case RewardKind.COUPON:
            coupon_kind = out.get("coupon_kind")
            if coupon_kind not in set(CouponKind):
                raise Invalid(
                    N_("Choose a fixed-amount or a percent coupon."),
                    code="coupon_kind_required",
                    field="coupon_kind",
                )
            if coupon_kind == CouponKind.PERCENT:
                if not Decimal(1) <= amount <= Decimal(99):
                    raise Invalid(
                        N_("A percent coupon takes between 1 and 99 percent off."),
                        code="percent_out_of_range",
                        field="amount",
                    )
                amount = _money(amount, "amount", positive=True)
            else:
                amount = _money(amount, "amount", positive=True)
            if out.get("min_spend") is not None:
                out["min_spend"] = _money(out["min_spend"], "min_spend", positive=False)
            if out.get("valid_days") is not None:
                out["valid_days"] = _days(out["valid_days"], "valid_days", 1, MAX_VALID_DAYS)
        case RewardKind.GIFT:
            if not out["label"]:
                raise Invalid(
                    N_("Name the gift as it is called in stock."),
                    code="label_required",
                    field="label",
                )
            amount = _money(amount, "amount", positive=False)
        case RewardKind.PRIVILEGE:
            if not out["label"]:
                raise Invalid(
                    N_("Name the privilege or title."), code="label_required", field="label"
                )
            if out.get("valid_days") is None:
                raise Invalid(
                    N_("Say how many days the privilege lasts."),
                    code="valid_days_required",
                    field="valid_days",
                )
            out["valid_days"] = _days(out["valid_days"], "valid_days", 1, MAX_VALID_DAYS)
            amount = Decimal(0)
        case RewardKind.HONOUR:
            if not out["label"]:
                raise Invalid(
                    N_("Name the privilege or title."), code="label_required", field="label"
                )
            amount = Decimal(0)
    out["amount"] = amount
    if out.get("hold_days") is not None:
        out["hold_days"] = _days(out["hold_days"], "hold_days", 0, MAX_HOLD_DAYS)
    for cap in ("cap_per_month", "cap_lifetime"):
        if out.get(cap) is not None:
            out[cap] = _days(out[cap], cap, 1, MAX_CAP)
    return out


# --- rules --------------------------------------------------------------------------------


def get_rule(session: Session, actor: Actor, rule_id: int) -> RewardRule:
    rule = session.get(RewardRule, rule_id)
    if rule is None or rule.org_id != actor.org_id:
        raise NotFound(N_("No such reward rule."), code="rule_not_found")
    return rule


def rules_of(session: Session, program: ReferralProgram) -> list[RewardRule]:
    """The program's own rules (not its tiers'), active first, oldest first."""
    rows = session.scalars(
        select(RewardRule)
        .where(
            RewardRule.org_id == program.org_id,
            RewardRule.program_id == program.id,
            RewardRule.tier_id.is_(None),
        )
        .order_by(RewardRule.id)
    )
    return sorted(rows, key=lambda rule: not rule.active)


def create_rule(session: Session, actor: Actor, program_id: int, data: RuleCreate) -> RewardRule:
    actor.require(Permission.MANAGE_SETTINGS)
    program = get_program(session, actor, program_id)
    values = data.model_dump(include=set(RULE_FIELDS))
    tier = None
    if data.tier_id is not None:
        tier = get_tier(session, actor, data.tier_id)
        if tier.program_id != program.id:
            raise Invalid(
                N_("This tier belongs to another program."), code="tier_elsewhere", field="tier_id"
            )
        if "trigger" not in data.model_fields_set:
            values["trigger"] = RewardTrigger.TIER
    checked = check_rule(values, for_tier=tier is not None)
    rule = RewardRule(
        org_id=actor.org_id,
        program_id=program.id,
        tier_id=tier.id if tier else None,
        active=True,
        **checked,
    )
    session.add(rule)
    session.flush()
    return rule


def update_rule(session: Session, actor: Actor, rule_id: int, data: RuleUpdate) -> RewardRule:
    actor.require(Permission.MANAGE_SETTINGS)
    rule = get_rule(session, actor, rule_id)
    changes = data.model_dump(exclude_unset=True)
    for required in ("beneficiary", "trigger", "kind", "amount", "active"):
        if required in changes and changes[required] is None:
            raise Invalid(N_("This value is required."), code="required", field=required)
    if any(name in changes for name in RULE_FIELDS):
        values = {name: getattr(rule, name) for name in RULE_FIELDS}
        values.update({k: v for k, v in changes.items() if k in RULE_FIELDS})
        if values["label"] is None:
            values["label"] = ""
        checked = check_rule(values, for_tier=rule.tier_id is not None)
        for name, value in checked.items():
            setattr(rule, name, value)
    if "active" in changes:
        rule.active = bool(changes["active"])
    session.flush()
    return rule


def set_rule_active(session: Session, actor: Actor, rule_id: int, active: bool) -> RewardRule:
    """Stop a rule paying out, or start it again. Rules are never deleted: issued rewards
    point at them."""
    actor.require(Permission.MANAGE_SETTINGS)
    rule = get_rule(session, actor, rule_id)
    rule.active = active
    session.flush()
    return rule


def deactivate_rule(session: Session, actor: Actor, rule_id: int) -> RewardRule:
    return set_rule_active(session, actor, rule_id, False)


# --- the ladder ---------------------------------------------------------------------------


@dataclass
class Rung:
    """A ladder tier and its own rewards (the title is always granted too)."""

    tier: RewardTier
    rules: list[RewardRule] = field(default_factory=list)


def get_tier(session: Session, actor: Actor, tier_id: int) -> RewardTier:
    tier = session.get(RewardTier, tier_id)
    if tier is None or tier.org_id != actor.org_id:
        raise NotFound(N_("No such ladder tier."), code="tier_not_found")
    return tier


def ladder_of(session: Session, program: ReferralProgram) -> list[Rung]:
    """The program's tiers from the lowest threshold up, each with its rules."""
    tiers = list(
        session.scalars(
            select(RewardTier)
            .where(RewardTier.org_id == program.org_id, RewardTier.program_id == program.id)
            .order_by(RewardTier.threshold)
        )
    )
    rungs = {tier.id: Rung(tier) for tier in tiers}
    if rungs:
        for rule in session.scalars(
            select(RewardRule)
            .where(RewardRule.org_id == program.org_id, RewardRule.tier_id.in_(list(rungs)))
            .order_by(RewardRule.id)
        ):
            rungs[rule.tier_id].rules.append(rule)
    return list(rungs.values())


def _check_tier(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["threshold"] = _days(out.get("threshold"), "threshold", 1, MAX_THRESHOLD)
    out["title"] = _label(out.get("title"), "title", 60)
    if not out["title"]:
        raise Invalid(N_("Give the tier a title."), code="title_required", field="title")
    if out.get("makes_agent"):
        rate = out.get("commission_rate")
        if rate is None:
            raise Invalid(
                N_("Give the agent's commission rate, above 0 and below 1."),
                code="commission_rate_required",
                field="commission_rate",
            )
        rate = _decimal(rate, "commission_rate")
        if not Decimal(0) < rate < Decimal(1) or rate != rate.quantize(Decimal("0.0001")):
            raise Invalid(
                N_("Give the agent's commission rate, above 0 and below 1."),
                code="commission_rate_range",
                field="commission_rate",
            )
        out["commission_rate"] = rate.quantize(Decimal("0.0001"))
    else:
        out["makes_agent"] = False
        out["commission_rate"] = None
    return out


def _threshold_taken(session: Session, tier: RewardTier) -> bool:
    query = select(RewardTier.id).where(
        RewardTier.org_id == tier.org_id,
        RewardTier.program_id == tier.program_id,
        RewardTier.threshold == tier.threshold,
    )
    if tier.id is not None:
        query = query.where(RewardTier.id != tier.id)
    return session.scalar(query) is not None


def _flush_tier(session: Session, tier: RewardTier) -> None:
    duplicate = Conflict(
        N_("The ladder already has a tier at this number of referrals."),
        code="duplicate_threshold",
        field="threshold",
    )
    with session.no_autoflush:
        taken = _threshold_taken(session, tier)
    if taken:
        raise duplicate
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise duplicate from None


def create_tier(session: Session, actor: Actor, program_id: int, data: TierCreate) -> RewardTier:
    actor.require(Permission.MANAGE_SETTINGS)
    program = get_program(session, actor, program_id)
    checked = _check_tier(data.model_dump())
    tier = RewardTier(org_id=actor.org_id, program_id=program.id, **checked)
    session.add(tier)
    _flush_tier(session, tier)
    return tier


def update_tier(session: Session, actor: Actor, tier_id: int, data: TierFields) -> RewardTier:
    actor.require(Permission.MANAGE_SETTINGS)
    tier = get_tier(session, actor, tier_id)
    changes = data.model_dump(exclude_unset=True)
    for required in ("threshold", "title", "makes_agent"):
        if required in changes and changes[required] is None:
            raise Invalid(N_("This value is required."), code="required", field=required)
    values = {
        "threshold": tier.threshold,
        "title": tier.title,
        "makes_agent": tier.makes_agent,
        "commission_rate": tier.commission_rate,
    }
    values.update(changes)
    checked = _check_tier(values)
    with session.no_autoflush:
        for name, value in checked.items():
            setattr(tier, name, value)
    _flush_tier(session, tier)
    return tier


def delete_tier(session: Session, actor: Actor, tier_id: int) -> None:
    """Remove a tier and its own rules. Rewards already granted stay with their holders
    (they keep their amount and title; their link to the tier and rule is cleared)."""
    actor.require(Permission.MANAGE_SETTINGS)
    tier = get_tier(session, actor, tier_id)
    session.execute(
        delete(RewardRule).where(RewardRule.org_id == tier.org_id, RewardRule.tier_id == tier.id)
    )
    session.delete(tier)
    session.flush()


# --- the budget ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetUsage:
    budget: Decimal | None
    spent: Decimal

    @property
    def left(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.spent

    @property
    def share(self) -> float | None:
        """Spent over budget (above 1 when overspent); None without a budget."""
        if self.budget is None:
            return None
        if self.budget == 0:
            return 1.0 if self.spent == 0 else float("inf")
        return float(self.spent / self.budget)

    @property
    def percent(self) -> int:
        """For the usage bar: 0–100."""
        share = self.share
        return 0 if share is None else max(0, min(100, round(share * 100)))


def budget_usage(session: Session, program: ReferralProgram) -> BudgetUsage:
    """What the program's live rewards cost, counted like the budget check when issuing
    (`issuing._cap_reason`): capped and reversed rewards cost nothing."""
    spent = session.scalar(
        select(func.coalesce(func.sum(Reward.cost), 0)).where(
            Reward.org_id == program.org_id,
            Reward.program_id == program.id,
            Reward.status.in_(LIVE_STATUSES),
        )
    )
    budget = None if program.reward_budget is None else Decimal(program.reward_budget)
    return BudgetUsage(budget=budget, spent=Decimal(spent or 0).quantize(Decimal("0.01")))


def set_budget(
    session: Session, actor: Actor, program_id: int, budget: Decimal | None
) -> ReferralProgram:
    actor.require(Permission.MANAGE_SETTINGS)
    program = get_program(session, actor, program_id)
    program.reward_budget = (
        None
        if budget is None
        else _money(budget, "reward_budget", positive=False, ceiling=MAX_BUDGET)
    )
    session.flush()
    return program


# --- settings -----------------------------------------------------------------------------

SETTINGS_FIELDS = (
    "return_window_days",
    "point_value",
    "points_valid_days",
    "expiry_reminder_days",
    "max_redeem_share",
)


def read_settings(session: Session, actor: Actor) -> RewardSettings:
    return settings_of(session, actor.org_id)


def settings_values(row: RewardSettings) -> dict[str, Any]:
    return {name: getattr(row, name) for name in SETTINGS_FIELDS}


def update_settings(session: Session, actor: Actor, data: SettingsFields) -> RewardSettings:
    actor.require(Permission.MANAGE_SETTINGS)
    return_window = _days(data.return_window_days, "return_window_days", 0, 90)
    point_value = _money(data.point_value, "point_value", positive=True, ceiling=Decimal(10000))
    valid_days = _days(data.points_valid_days, "points_valid_days", 1, MAX_VALID_DAYS)
    reminder = _days(data.expiry_reminder_days, "expiry_reminder_days", 0, 90)
    share = _decimal(data.max_redeem_share, "max_redeem_share")
    if not Decimal(0) <= share <= Decimal(1) or share != share.quantize(Decimal("0.0001")):
        raise Invalid(
            N_("Enter a share from 0 to 1, such as 0.5."),
            code="share_out_of_range",
            field="max_redeem_share",
        )
    row = session.get(RewardSettings, actor.org_id)
    if row is None:
        row = RewardSettings(org_id=actor.org_id)
        session.add(row)
    row.return_window_days = return_window
    row.point_value = point_value
    row.points_valid_days = valid_days
    row.expiry_reminder_days = reminder
    row.max_redeem_share = share.quantize(Decimal("0.0001"))
    session.flush()
    return row


# --- words --------------------------------------------------------------------------------

WHEN = {
    RewardTrigger.LEAD: N_("Once the friend leaves their details"),
    RewardTrigger.FIRST_PURCHASE: N_("After the friend's first purchase"),
    RewardTrigger.PURCHASE_AT_LEAST: N_("After the friend buys for ¥%(amount)s or more"),
    RewardTrigger.TIER: N_("On reaching the tier"),
}
# Mid-sentence forms of `BENEFICIARY_LABELS`.
WHO = {
    Beneficiary.REFERRER: N_("the referrer"),
    Beneficiary.REFEREE: N_("the referred friend"),
}


def _number(value: Decimal | None) -> str:
    value = Decimal(value or 0)
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:.2f}"


def reward_words(rule: RewardRule, gettext: Callable[[str], str]) -> str:
    """What the rule gives, in words: "500 积分", "¥20 优惠券（满 ¥200 可用）"."""
    shown = Reward(kind=rule.kind, amount=Decimal(rule.amount or 0), label=rule.label or "")
    text = describe(shown, gettext, coupon_kind=rule.coupon_kind)
    if rule.kind == RewardKind.COUPON and rule.min_spend:
        text += gettext(N_(" (spend ¥%(amount)s or more)")) % {"amount": _number(rule.min_spend)}
    if rule.valid_days and rule.kind in (RewardKind.COUPON, RewardKind.PRIVILEGE):
        text += gettext(N_(", valid %(n)s days")) % {"n": rule.valid_days}
    return text


def describe_rule(rule: RewardRule, gettext: Callable[[str], str]) -> str:
    """The rule in one line: "被推荐人首单后 推荐人得 500 积分，每月最多 5 次"."""
    when = gettext(WHEN[RewardTrigger(rule.trigger)]) % {"amount": _number(rule.min_amount)}
    who = gettext(WHO[Beneficiary(rule.beneficiary)])
    text = gettext(N_("%(when)s, %(who)s gets %(what)s")) % {
        "when": when,
        "who": who,
        "what": reward_words(rule, gettext),
    }
    extras = []
    if rule.cap_per_month:
        extras.append(gettext(N_("at most %(n)s a month")) % {"n": rule.cap_per_month})
    if rule.cap_lifetime:
        extras.append(gettext(N_("at most %(n)s in all")) % {"n": rule.cap_lifetime})
    if rule.hold_days == 0:
        extras.append(gettext(N_("usable at once")))
    elif rule.hold_days:
        extras.append(gettext(N_("usable after %(n)s days")) % {"n": rule.hold_days})
    for extra in extras:
        text = gettext(N_("%(text)s, %(more)s")) % {"text": text, "more": extra}
    return text


def hold_words(rule: RewardRule, settings: RewardSettings, gettext: Callable[[str], str]) -> str:
    """The hold in words, naming the default when the rule has none of its own."""
    if rule.hold_days is None:
        return gettext(N_("%(n)s days (return window + 1)")) % {"n": default_hold_days(settings)}
    return gettext(N_("%(n)s days")) % {"n": rule.hold_days}
