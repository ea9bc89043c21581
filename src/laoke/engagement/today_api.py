"""JSON API: the Today list and the cadence rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from laoke.accounts.actor import Actor
from laoke.engagement import cadence
from laoke.engagement.models import CadenceRule
from laoke.engagement.today import Section, TodayList, today_for
from laoke.engagement.today_schemas import (
    CadenceRuleIn,
    CadenceRuleOut,
    CadenceRulePatch,
    StaffCountsOut,
    TodayItemOut,
    TodayOut,
    TodaySectionOut,
)
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep
from laoke.web.i18n import translations

router = APIRouter(prefix="/api/v1", tags=["today"], dependencies=[CsrfProtected])


def today_out(result: TodayList, actor: Actor) -> TodayOut:
    gettext = translations(actor.language).gettext
    sections = {
        name.value: TodaySectionOut(
            total=page.total,
            page=page.page,
            per_page=page.per_page,
            has_more=page.has_more,
            items=[
                TodayItemOut(
                    customer_id=item.customer_id,
                    customer_name=item.customer_name,
                    owner_id=item.owner_id,
                    value_tier=item.value_tier,
                    total_spent=item.total_spent,
                    reason=item.reason(gettext),
                    days_late=item.days_late,
                    due_on=item.due_on,
                    task_id=item.task_id,
                    task_kind=item.task_kind,
                    contact_id=item.contact_id,
                )
                for item in page.items
            ],
        )
        for name, page in result.sections.items()
    }
    team = [
        StaffCountsOut(
            staff_id=row.staff_id,
            name=row.name,
            overdue=row.counts[Section.OVERDUE],
            tasks=row.counts[Section.TASKS],
            birthdays=row.counts[Section.BIRTHDAYS],
            promises=row.counts[Section.PROMISES],
        )
        for row in result.team
    ]
    return TodayOut(today=result.today, staff_id=result.staff_id, sections=sections, team=team)


@router.get("/today", response_model=TodayOut, summary="What is due today, most pressing first")
def get_today(
    request: Request,
    session: SessionDep,
    actor: ApiActor,
    staff_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    team: bool = False,
    section: Section | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TodayOut:
    org = getattr(request.state, "org", None)
    result = today_for(
        session,
        actor,
        timezone=org.timezone if org else None,
        staff_id=staff_id,
        team=team,
        section=section,
        page=page,
        per_page=per_page,
    )
    return today_out(result, actor)


def _rule_out(rule: CadenceRule) -> CadenceRuleOut:
    return CadenceRuleOut(
        id=rule.id,
        scope=rule.scope,
        value=rule.value,
        max_gap_days=rule.max_gap_days,
        active=rule.active,
        updated_at=rule.updated_at,
    )


@router.get("/cadence-rules", response_model=list[CadenceRuleOut], summary="Cadence rules")
def list_cadence_rules(
    request: Request, session: SessionDep, actor: ApiActor
) -> list[CadenceRuleOut]:
    if not cadence.has_rules(session, actor.org_id):
        cadence.ensure_default_rules_saved(request.app.state.database, actor.org_id)
        session.rollback()  # end this read's snapshot so the saved defaults are seen
    return [_rule_out(rule) for rule in cadence.list_rules(session, actor)]


@router.post(
    "/cadence-rules",
    response_model=CadenceRuleOut,
    status_code=201,
    summary="Add a cadence rule for a lifecycle stage, tag or value tier",
)
def create_cadence_rule(
    session: SessionDep, actor: ApiActor, body: CadenceRuleIn
) -> CadenceRuleOut:
    rule = cadence.create_rule(
        session, actor, scope=body.scope, value=body.value, max_gap_days=body.max_gap_days
    )
    return _rule_out(rule)


@router.patch(
    "/cadence-rules/{rule_id}", response_model=CadenceRuleOut, summary="Change a cadence rule"
)
def update_cadence_rule(
    session: SessionDep, actor: ApiActor, rule_id: int, body: CadenceRulePatch
) -> CadenceRuleOut:
    rule = cadence.update_rule(
        session,
        actor,
        rule_id,
        value=body.value,
        max_gap_days=body.max_gap_days,
        active=body.active,
    )
    return _rule_out(rule)


@router.delete("/cadence-rules/{rule_id}", status_code=204, summary="Remove a cadence rule")
def delete_cadence_rule(session: SessionDep, actor: ApiActor, rule_id: int) -> Response:
    cadence.delete_rule(session, actor, rule_id)
    return Response(status_code=204)
