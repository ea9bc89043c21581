"""JSON API: a program's reward rules, ladder tiers and budget, and the reward settings."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.referrals.programs import get_program
from laoke.rewards import rules
from laoke.rewards.models import RewardRule, RewardSettings, RewardTier
from laoke.rewards.schemas import (
    BudgetInput,
    BudgetPublic,
    RuleCreate,
    RulePublic,
    RuleUpdate,
    SettingsFields,
    SettingsPublic,
    TierCreate,
    TierFields,
    TierPublic,
)
from laoke.rewards.settings import default_hold_days
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep
from laoke.web.i18n import translations

router = APIRouter(prefix="/api/v1", tags=["rewards"], dependencies=[CsrfProtected])


def rule_public(rule: RewardRule, actor: Actor) -> RulePublic:
    public = RulePublic.model_validate(rule)
    public.description = rules.describe_rule(rule, translations(actor.language).gettext)
    return public


def tier_public(session: Session, tier: RewardTier, actor: Actor) -> TierPublic:
    public = TierPublic.model_validate(tier, from_attributes=True)
    program = get_program(session, actor, tier.program_id)
    for rung in rules.ladder_of(session, program):
        if rung.tier.id == tier.id:
            public.rules = [rule_public(rule, actor) for rule in rung.rules]
    return public


def settings_public(row: RewardSettings) -> SettingsPublic:
    return SettingsPublic(
        **rules.settings_values(row),
        default_hold_days=default_hold_days(row),
        updated_at=row.updated_at,
    )


@router.get(
    "/referral-programs/{program_id}/reward-rules",
    response_model=list[RulePublic],
    summary="A program's reward rules (its ladder tiers' rules are listed with the tiers)",
)
def list_rules(session: SessionDep, actor: ApiActor, program_id: int) -> list[RulePublic]:
    program = get_program(session, actor, program_id)
    return [rule_public(rule, actor) for rule in rules.rules_of(session, program)]


@router.post(
    "/referral-programs/{program_id}/reward-rules",
    response_model=RulePublic,
    status_code=201,
    summary="Add a reward rule to a program, or to one of its ladder tiers (tier_id)",
)
def create_rule(
    session: SessionDep, actor: ApiActor, program_id: int, body: RuleCreate
) -> RulePublic:
    rule = rules.create_rule(session, actor, program_id, body)
    session.commit()
    return rule_public(rule, actor)


@router.patch(
    "/reward-rules/{rule_id}",
    response_model=RulePublic,
    summary="Change a reward rule; active=false stops it paying out",
)
def update_rule(session: SessionDep, actor: ApiActor, rule_id: int, body: RuleUpdate) -> RulePublic:
    rule = rules.update_rule(session, actor, rule_id, body)
    session.commit()
    return rule_public(rule, actor)


@router.get(
    "/referral-programs/{program_id}/reward-tiers",
    response_model=list[TierPublic],
    summary="A program's ladder: tiers by number of successful referrals, with their rewards",
)
def list_tiers(session: SessionDep, actor: ApiActor, program_id: int) -> list[TierPublic]:
    program = get_program(session, actor, program_id)
    found = []
    for rung in rules.ladder_of(session, program):
        public = TierPublic.model_validate(rung.tier, from_attributes=True)
        public.rules = [rule_public(rule, actor) for rule in rung.rules]
        found.append(public)
    return found


@router.post(
    "/referral-programs/{program_id}/reward-tiers",
    response_model=TierPublic,
    status_code=201,
    summary="Add a ladder tier",
)
def create_tier(
    session: SessionDep, actor: ApiActor, program_id: int, body: TierCreate
) -> TierPublic:
    tier = rules.create_tier(session, actor, program_id, body)
    session.commit()
    return tier_public(session, tier, actor)


@router.patch("/reward-tiers/{tier_id}", response_model=TierPublic, summary="Change a ladder tier")
def update_tier(session: SessionDep, actor: ApiActor, tier_id: int, body: TierFields) -> TierPublic:
    tier = rules.update_tier(session, actor, tier_id, body)
    session.commit()
    return tier_public(session, tier, actor)


@router.delete(
    "/reward-tiers/{tier_id}",
    status_code=204,
    summary="Remove a ladder tier and its rules (rewards already granted stay)",
)
def delete_tier(session: SessionDep, actor: ApiActor, tier_id: int) -> Response:
    rules.delete_tier(session, actor, tier_id)
    session.commit()
    return Response(status_code=204)


def _budget(session: Session, program_id: int, actor: Actor) -> BudgetPublic:
    program = get_program(session, actor, program_id)
    usage = rules.budget_usage(session, program)
    return BudgetPublic(
        program_id=program.id,
        reward_budget=usage.budget,
        spent=usage.spent,
        left=usage.left,
        share_used=usage.share if usage.share is None or usage.share < 1e9 else None,
    )


@router.get(
    "/referral-programs/{program_id}/reward-budget",
    response_model=BudgetPublic,
    summary="A program's reward budget and what its live rewards cost so far",
)
def get_budget(session: SessionDep, actor: ApiActor, program_id: int) -> BudgetPublic:
    return _budget(session, program_id, actor)


@router.put(
    "/referral-programs/{program_id}/reward-budget",
    response_model=BudgetPublic,
    summary="Set or clear (null) a program's reward budget",
)
def put_budget(
    session: SessionDep, actor: ApiActor, program_id: int, body: BudgetInput
) -> BudgetPublic:
    rules.set_budget(session, actor, program_id, body.reward_budget)
    session.commit()
    return _budget(session, program_id, actor)


@router.get("/reward-settings", response_model=SettingsPublic, summary="The reward settings")
def get_settings(session: SessionDep, actor: ApiActor) -> SettingsPublic:
    return settings_public(rules.read_settings(session, actor))


@router.put("/reward-settings", response_model=SettingsPublic, summary="Change the reward settings")
def put_settings(session: SessionDep, actor: ApiActor, body: SettingsFields) -> SettingsPublic:
    row = rules.update_settings(session, actor, body)
    session.commit()
    return settings_public(row)
