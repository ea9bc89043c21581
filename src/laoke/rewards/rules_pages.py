"""Pages: a program's rewards (`/rewards/programs/{id}`: rules, ladder, budget), editing a
rule or a tier, and the reward settings (`/settings/rewards`).

Forms post plain HTML and work without JavaScript: the kind of reward is chosen with
links (`?kind=coupon`) that show only the fields that kind uses. Staff without
MANAGE_SETTINGS see everything and change nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.errors import N_, DomainError, Invalid
from laoke.referrals.models import ReferralProgram
from laoke.referrals.programs import get_program
from laoke.rewards import rules
from laoke.rewards.models import (
    BENEFICIARY_LABELS,
    REWARD_KIND_LABELS,
    TRIGGER_LABELS,
    Beneficiary,
    CouponKind,
    RewardKind,
    RewardRule,
    RewardTier,
    RewardTrigger,
)
from laoke.rewards.schemas import RuleCreate, RuleUpdate, SettingsFields, TierCreate, TierFields
from laoke.rewards.settings import default_hold_days
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfProtected])

RULE_FORM_FIELDS = (
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
INT_FIELDS = ("valid_days", "hold_days", "cap_per_month", "cap_lifetime", "threshold")
# Which inputs each kind shows (besides who, when, hold and caps).
KIND_FIELDS = {
    RewardKind.POINTS: ("amount",),
    RewardKind.CASH: ("amount",),
    RewardKind.COUPON: ("coupon_kind", "amount", "min_spend", "valid_days"),
    RewardKind.GIFT: ("label", "amount"),
    RewardKind.PRIVILEGE: ("label", "valid_days"),
    RewardKind.HONOUR: ("label",),
}
AMOUNT_LABELS = {
    RewardKind.POINTS: N_("Points (whole number)"),
    RewardKind.CASH: N_("Cash, yuan"),
    RewardKind.COUPON: N_("Yuan off (fixed) or percent off (percent)"),
    RewardKind.GIFT: N_("What the gift costs you, yuan"),
}
LABEL_LABELS = {
    RewardKind.GIFT: N_("Gift (the stock item's name)"),
    RewardKind.PRIVILEGE: N_("Privilege"),
    RewardKind.HONOUR: N_("Honour title"),
}
COUPON_KIND_LABELS = {
    CouponKind.FIXED: N_("Fixed amount off"),
    CouponKind.PERCENT: N_("Percent off"),
}
SETTINGS_LABELS = {
    "return_window_days": N_("Return window, days (0–90)"),
    "point_value": N_("What one point is worth, yuan"),
    "points_valid_days": N_("Points lapse after, days (1–3650)"),
    "expiry_reminder_days": N_("Remind before points lapse, days (0–90)"),
    "max_redeem_share": N_("Share of an order points and coupons may pay (0–1)"),
}
PROGRAM_TRIGGERS = (
    RewardTrigger.LEAD,
    RewardTrigger.FIRST_PURCHASE,
    RewardTrigger.PURCHASE_AT_LEAST,
)


# --- reading forms ------------------------------------------------------------------------


def _text(form: FormData, name: str, limit: int = 100) -> str:
    return str(form.get(name) or "").strip()[:limit]


def _optional_int(raw: str, name: str) -> int | None:
    if not raw:
        return None
    if not re.fullmatch(r"-?\d{1,9}", raw):
        raise Invalid(N_("Enter a whole number."), code="not_a_whole_number", field=name)
    return int(raw)


def _optional_decimal(raw: str, name: str) -> str | None:
    """Kept as text; the service parses and bounds it and names the field when it fails."""
    if not raw:
        return None
    if not re.fullmatch(r"-?[0-9.,eE+]{1,40}", raw):
        raise Invalid(N_("Enter a number."), code="not_a_number", field=name)
    return raw.replace(",", "")


def _choice(raw: str, allowed: Any, name: str) -> str:
    if raw not in {str(v) for v in allowed}:
        raise Invalid(N_("Choose one of the options."), code="bad_choice", field=name)
    return raw


def rule_form_values(form: FormData) -> dict[str, str]:
    """The raw text of every rule input, for showing the form again."""
    return {name: _text(form, name, 200) for name in (*RULE_FORM_FIELDS, "tier_id")}


def _rule_data(values: dict[str, str], *, for_tier: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": _choice(values["kind"], rules.RULE_KINDS, "kind"),
        "label": values["label"][:100],
        "min_amount": _optional_decimal(values["min_amount"], "min_amount"),
        "amount": _optional_decimal(values["amount"], "amount"),
        "min_spend": _optional_decimal(values["min_spend"], "min_spend"),
        "coupon_kind": (
            _choice(values["coupon_kind"], CouponKind, "coupon_kind")
            if values["coupon_kind"]
            else None
        ),
    }
    if for_tier:
        data["beneficiary"] = Beneficiary.REFERRER
        data["trigger"] = RewardTrigger.TIER
    else:
        data["beneficiary"] = _choice(values["beneficiary"], Beneficiary, "beneficiary")
        data["trigger"] = _choice(values["trigger"], RewardTrigger, "trigger")
    for name in ("valid_days", "hold_days", "cap_per_month", "cap_lifetime"):
        data[name] = _optional_int(values[name], name)
    if data["amount"] is None:
        data["amount"] = "0"
    return data


def _message(actor: Actor, exc: Exception) -> tuple[str, str | None]:
    """The error in the reader's language, and the field it is about."""
    gettext = translations(actor.language).gettext
    if isinstance(exc, DomainError):
        text = gettext(exc.message)
        return (text % exc.params if exc.params else text), exc.field
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        field = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else None
        return gettext(N_("Some values are not valid.")), field
    return gettext(N_("Some values are not valid.")), None


# --- shared context -----------------------------------------------------------------------


def _rule_values(rule: RewardRule) -> dict[str, str]:
    def shown(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Decimal):
            return rules._number(value)
        return str(value)

    values = {name: shown(getattr(rule, name)) for name in RULE_FORM_FIELDS}
    values["tier_id"] = shown(rule.tier_id)
    return values


def _new_rule_values(kind: str, tier: RewardTier | None = None) -> dict[str, str]:
    values = dict.fromkeys((*RULE_FORM_FIELDS, "tier_id"), "")
    values["kind"] = kind if kind in {str(k) for k in rules.RULE_KINDS} else RewardKind.POINTS
    values["beneficiary"] = Beneficiary.REFERRER
    values["trigger"] = RewardTrigger.TIER if tier else RewardTrigger.FIRST_PURCHASE
    values["coupon_kind"] = CouponKind.FIXED
    values["tier_id"] = str(tier.id) if tier else ""
    return values


def _labels() -> dict[str, Any]:
    return {
        "kinds": rules.RULE_KINDS,
        "kind_labels": REWARD_KIND_LABELS,
        "kind_fields": KIND_FIELDS,
        "amount_labels": AMOUNT_LABELS,
        "label_labels": LABEL_LABELS,
        "coupon_kinds": list(CouponKind),
        "coupon_kind_labels": COUPON_KIND_LABELS,
        "beneficiaries": list(Beneficiary),
        "beneficiary_labels": BENEFICIARY_LABELS,
        "triggers": PROGRAM_TRIGGERS,
        "trigger_labels": TRIGGER_LABELS,
    }


def percent_of(rate: Decimal | None) -> str:
    """0.05 → "5", 0.125 → "12.50"."""
    return "" if rate is None else rules._number(Decimal(rate) * 100)


def _rule_rows(rows: list[RewardRule], settings: Any, gettext: Any) -> list[dict[str, Any]]:
    return [
        {
            "rule": rule,
            "what": rules.reward_words(rule, gettext),
            "line": rules.describe_rule(rule, gettext),
            "hold": rules.hold_words(rule, settings, gettext),
        }
        for rule in rows
    ]


def _program_page(
    request: Request,
    session: Session,
    actor: Actor,
    program: ReferralProgram,
    *,
    kind: str = "",
    rule_values: dict[str, str] | None = None,
    tier_values: dict[str, str] | None = None,
    budget_value: str | None = None,
    error: str | None = None,
    error_field: str | None = None,
    error_form: str = "",
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    gettext = translations(actor.language).gettext
    settings = rules.read_settings(session, actor)
    usage = rules.budget_usage(session, program)
    ladder = [
        {
            "tier": rung.tier,
            "rules": _rule_rows(rung.rules, settings, gettext),
            "rate": percent_of(rung.tier.commission_rate),
        }
        for rung in rules.ladder_of(session, program)
    ]
    context = {
        **_labels(),
        "program": program,
        "rules": _rule_rows(rules.rules_of(session, program), settings, gettext),
        "ladder": ladder,
        "usage": usage,
        "budget_value": (
            budget_value
            if budget_value is not None
            else ("" if usage.budget is None else rules._number(usage.budget))
        ),
        "form": rule_values or _new_rule_values(kind),
        "form_action": f"/rewards/programs/{program.id}/rules",
        "kind_base": f"/rewards/programs/{program.id}",
        "for_tier": False,
        "tier_values": tier_values or {"threshold": "", "title": "", "commission_rate": ""},
        "tier_action": f"/rewards/programs/{program.id}/tiers",
        "default_hold": default_hold_days(settings),
        "can_edit": actor.can(Permission.MANAGE_SETTINGS),
        "error": error,
        "error_field": error_field,
        "error_form": error_form,
        "notice": notice,
    }
    return render(request, "rewards_program.html", context, status_code=status_code)


def _back(program_id: int, notice: str, anchor: str = "") -> RedirectResponse:
    suffix = f"#{anchor}" if anchor else ""
    return RedirectResponse(
        f"/rewards/programs/{program_id}?notice={notice}{suffix}", status_code=303
    )


# --- a program's rewards ------------------------------------------------------------------


@router.get("/rewards/programs/{program_id}")
def program_rewards(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    program_id: int,
    kind: str = "",
    notice: str = "",
) -> HTMLResponse:
    program = get_program(session, actor, program_id)
    return _program_page(request, session, actor, program, kind=kind[:12], notice=notice[:20])


@router.post("/rewards/programs/{program_id}/rules")
async def add_rule(
    request: Request, session: SessionDep, actor: PageActor, program_id: int
) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    program = get_program(session, actor, program_id)
    values = rule_form_values(await request.form())
    tier = None
    if values["tier_id"]:
        tier_id = _optional_int(values["tier_id"], "tier_id") or 0
        tier = rules.get_tier(session, actor, tier_id)
    try:
        data = _rule_data(values, for_tier=tier is not None)
        rules.create_rule(
            session, actor, program.id, RuleCreate(**data, tier_id=tier.id if tier else None)
        )
    except (Invalid, ValidationError) as exc:
        session.rollback()
        message, field = _message(actor, exc)
        if tier is not None:
            return _tier_page(
                request,
                session,
                actor,
                tier,
                rule_values=values,
                error=message,
                error_field=field,
                error_form="rule",
                status_code=422,
            )
        return _program_page(
            request,
            session,
            actor,
            program,
            rule_values=values,
            error=message,
            error_field=field,
            error_form="rule",
            status_code=422,
        )
    session.commit()
    if tier is not None:
        return RedirectResponse(f"/rewards/tiers/{tier.id}?notice=saved", status_code=303)
    return _back(program.id, "rule_added", "rules")


def _rule_page(
    request: Request,
    session: Session,
    actor: Actor,
    rule: RewardRule,
    values: dict[str, str],
    *,
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    program = get_program(session, actor, rule.program_id)
    gettext = translations(actor.language).gettext
    context = {
        **_labels(),
        "program": program,
        "rule": rule,
        "line": rules.describe_rule(rule, gettext),
        "form": values,
        "form_action": f"/rewards/rules/{rule.id}",
        "kind_base": f"/rewards/rules/{rule.id}",
        "for_tier": rule.tier_id is not None,
        "can_edit": actor.can(Permission.MANAGE_SETTINGS),
        "default_hold": default_hold_days(rules.read_settings(session, actor)),
        "error": error,
        "error_field": error_field,
        "error_form": "rule",
    }
    return render(request, "rewards_rule.html", context, status_code=status_code)


@router.get("/rewards/rules/{rule_id}")
def rule_page(
    request: Request, session: SessionDep, actor: PageActor, rule_id: int, kind: str = ""
) -> HTMLResponse:
    rule = rules.get_rule(session, actor, rule_id)
    values = _rule_values(rule)
    if kind and kind in {str(k) for k in rules.RULE_KINDS}:
        values["kind"] = kind
    return _rule_page(request, session, actor, rule, values)


@router.post("/rewards/rules/{rule_id}")
async def save_rule(
    request: Request, session: SessionDep, actor: PageActor, rule_id: int
) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    rule = rules.get_rule(session, actor, rule_id)
    values = rule_form_values(await request.form())
    values["tier_id"] = "" if rule.tier_id is None else str(rule.tier_id)
    try:
        data = _rule_data(values, for_tier=rule.tier_id is not None)
        rules.update_rule(session, actor, rule.id, RuleUpdate(**data))
    except (Invalid, ValidationError) as exc:
        session.rollback()
        message, field = _message(actor, exc)
        rule = rules.get_rule(session, actor, rule_id)
        return _rule_page(
            request, session, actor, rule, values, error=message, error_field=field, status_code=422
        )
    session.commit()
    if rule.tier_id is not None:
        return RedirectResponse(f"/rewards/tiers/{rule.tier_id}?notice=saved", status_code=303)
    return _back(rule.program_id, "saved", "rules")


def _set_active(session: Session, actor: Actor, rule_id: int, active: bool) -> Response:
    rule = rules.set_rule_active(session, actor, rule_id, active)
    session.commit()
    if rule.tier_id is not None:
        return RedirectResponse(f"/rewards/tiers/{rule.tier_id}?notice=saved", status_code=303)
    return _back(rule.program_id, "saved", "rules")


@router.post("/rewards/rules/{rule_id}/deactivate")
def deactivate_rule(session: SessionDep, actor: PageActor, rule_id: int) -> Response:
    return _set_active(session, actor, rule_id, False)


@router.post("/rewards/rules/{rule_id}/activate")
def activate_rule(session: SessionDep, actor: PageActor, rule_id: int) -> Response:
    return _set_active(session, actor, rule_id, True)


# --- the ladder ---------------------------------------------------------------------------


def tier_form_values(form: FormData) -> dict[str, str]:
    return {
        "threshold": _text(form, "threshold", 20),
        "title": _text(form, "title", 200),
        "makes_agent": "1" if form.get("makes_agent") else "",
        "commission_rate": _text(form, "commission_rate", 20),
    }


def _tier_data(values: dict[str, str]) -> dict[str, Any]:
    threshold = _optional_int(values["threshold"], "threshold")
    if threshold is None:
        raise Invalid(N_("This value is required."), code="required", field="threshold")
    return {
        "threshold": threshold,
        "title": values["title"],
        "makes_agent": bool(values["makes_agent"]),
        "commission_rate": _optional_decimal(values["commission_rate"], "commission_rate"),
    }


def _tier_page(
    request: Request,
    session: Session,
    actor: Actor,
    tier: RewardTier,
    *,
    kind: str = "",
    tier_values: dict[str, str] | None = None,
    rule_values: dict[str, str] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    error_form: str = "",
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    program = get_program(session, actor, tier.program_id)
    gettext = translations(actor.language).gettext
    settings = rules.read_settings(session, actor)
    rung = next(r for r in rules.ladder_of(session, program) if r.tier.id == tier.id)
    context = {
        **_labels(),
        "program": program,
        "tier": tier,
        "rules": _rule_rows(rung.rules, settings, gettext),
        "tier_values": tier_values
        or {
            "threshold": str(tier.threshold),
            "title": tier.title,
            "makes_agent": "1" if tier.makes_agent else "",
            "commission_rate": rules._number(tier.commission_rate)
            if tier.commission_rate is not None
            else "",
        },
        "form": rule_values or _new_rule_values(kind, tier),
        "form_action": f"/rewards/programs/{program.id}/rules",
        "kind_base": f"/rewards/tiers/{tier.id}",
        "tier_action": f"/rewards/tiers/{tier.id}",
        "rate": percent_of(tier.commission_rate),
        "for_tier": True,
        "default_hold": default_hold_days(settings),
        "can_edit": actor.can(Permission.MANAGE_SETTINGS),
        "error": error,
        "error_field": error_field,
        "error_form": error_form,
        "notice": notice,
    }
    return render(request, "rewards_tier.html", context, status_code=status_code)


@router.post("/rewards/programs/{program_id}/tiers")
async def add_tier(
    request: Request, session: SessionDep, actor: PageActor, program_id: int
) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    program = get_program(session, actor, program_id)
    values = tier_form_values(await request.form())
    try:
        tier = rules.create_tier(session, actor, program.id, TierCreate(**_tier_data(values)))
    except (Invalid, ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        session.rollback()
        message, field = _message(actor, exc)
        return _program_page(
            request,
            session,
            actor,
            program,
            tier_values=values,
            error=message,
            error_field=field,
            error_form="tier",
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"/rewards/tiers/{tier.id}?notice=tier_added", status_code=303)


@router.get("/rewards/tiers/{tier_id}")
def tier_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    tier_id: int,
    kind: str = "",
    notice: str = "",
) -> HTMLResponse:
    tier = rules.get_tier(session, actor, tier_id)
    return _tier_page(request, session, actor, tier, kind=kind[:12], notice=notice[:20])


@router.post("/rewards/tiers/{tier_id}")
async def save_tier(
    request: Request, session: SessionDep, actor: PageActor, tier_id: int
) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    tier = rules.get_tier(session, actor, tier_id)
    values = tier_form_values(await request.form())
    try:
        rules.update_tier(session, actor, tier.id, TierFields(**_tier_data(values)))
    except (Invalid, ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        session.rollback()
        message, field = _message(actor, exc)
        tier = rules.get_tier(session, actor, tier_id)
        return _tier_page(
            request,
            session,
            actor,
            tier,
            tier_values=values,
            error=message,
            error_field=field,
            error_form="tier",
            status_code=422,
        )
    session.commit()
    return _back(tier.program_id, "saved", "ladder")


@router.post("/rewards/tiers/{tier_id}/delete")
def remove_tier(session: SessionDep, actor: PageActor, tier_id: int) -> Response:
    tier = rules.get_tier(session, actor, tier_id)
    program_id = tier.program_id
    rules.delete_tier(session, actor, tier.id)
    session.commit()
    return _back(program_id, "tier_deleted", "ladder")


# --- the budget ---------------------------------------------------------------------------


@router.post("/rewards/programs/{program_id}/budget")
async def save_budget(
    request: Request, session: SessionDep, actor: PageActor, program_id: int
) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    program = get_program(session, actor, program_id)
    raw = _text(await request.form(), "reward_budget", 40)
    try:
        amount = _optional_decimal(raw, "reward_budget")
        rules.set_budget(session, actor, program.id, None if amount is None else Decimal(amount))
    except (Invalid, ArithmeticError) as exc:
        session.rollback()
        if not isinstance(exc, Invalid):
            exc = Invalid(N_("Enter a number."), field="reward_budget")
        message, field = _message(actor, exc)
        program = get_program(session, actor, program_id)
        return _program_page(
            request,
            session,
            actor,
            program,
            budget_value=raw,
            error=message,
            error_field=field,
            error_form="budget",
            status_code=422,
        )
    session.commit()
    return _back(program.id, "saved", "budget")


# --- settings -----------------------------------------------------------------------------


def _settings_page(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, Any],
    *,
    error: str | None = None,
    error_field: str | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    row = rules.read_settings(session, actor)
    context = {
        "values": values,
        "labels": SETTINGS_LABELS,
        "default_hold": default_hold_days(row),
        "can_edit": actor.can(Permission.MANAGE_SETTINGS),
        "error": error,
        "error_field": error_field,
        "notice": notice,
    }
    return render(request, "rewards_settings.html", context, status_code=status_code)


@router.get("/settings/rewards")
def settings_page(
    request: Request, session: SessionDep, actor: PageActor, notice: str = ""
) -> HTMLResponse:
    row = rules.read_settings(session, actor)
    values = {
        name: rules._number(value) if isinstance(value, Decimal) else str(value)
        for name, value in rules.settings_values(row).items()
    }
    return _settings_page(request, session, actor, values, notice=notice[:20])


@router.post("/settings/rewards")
async def save_settings(request: Request, session: SessionDep, actor: PageActor) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    form = await request.form()
    values = {name: _text(form, name, 20) for name in SETTINGS_LABELS}
    try:
        data: dict[str, Any] = {}
        for name, raw in values.items():
            if not raw:
                raise Invalid(N_("This value is required."), code="required", field=name)
            if name in ("point_value", "max_redeem_share"):
                data[name] = _optional_decimal(raw, name)
            else:
                data[name] = _optional_int(raw, name)
        rules.update_settings(session, actor, SettingsFields(**data))
    except (Invalid, ValidationError) as exc:
        session.rollback()
        message, field = _message(actor, exc)
        return _settings_page(
            request, session, actor, values, error=message, error_field=field, status_code=422
        )
    session.commit()
    return RedirectResponse("/settings/rewards?notice=saved", status_code=303)
