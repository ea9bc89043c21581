"""JSON API: the tenant's engagement rules, and lifecycle stages set by staff."""

from __future__ import annotations

from fastapi import APIRouter

from laoke.customers.stages import LifecycleStage
from laoke.db import utcnow
from laoke.engagement import rules
from laoke.engagement.lifecycle import rule_lines, set_stage_by_staff
from laoke.engagement.models import EngagementSettings
from laoke.engagement.recompute import last_recomputed_at
from laoke.engagement.rules_schemas import RulesFields, RulesPublic, StageInput, StagePublic
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep
from laoke.web.i18n import translations

router = APIRouter(prefix="/api/v1", tags=["engagement"], dependencies=[CsrfProtected])


def _public(session: SessionDep, row: EngagementSettings, language: str) -> RulesPublic:
    gettext = translations(language).gettext
    return RulesPublic(
        **rules.rules_values(row),
        last_recomputed_at=last_recomputed_at(session, row.org_id),
        rules=[
            gettext(message) % params if params else gettext(message)
            for message, params in rule_lines(row)
        ],
    )


@router.get(
    "/engagement/settings",
    response_model=RulesPublic,
    summary="The lifecycle and product-cycle rules",
)
def get_rules(session: SessionDep, actor: ApiActor) -> RulesPublic:
    return _public(session, rules.read_rules(session, actor), actor.language)


@router.put(
    "/engagement/settings",
    response_model=RulesPublic,
    summary="Change the lifecycle and product-cycle rules",
)
def put_rules(session: SessionDep, actor: ApiActor, body: RulesFields) -> RulesPublic:
    row = rules.save_rules(session, actor, body)
    session.commit()
    return _public(session, row, actor.language)


@router.put(
    "/customers/{customer_id}/lifecycle-stage",
    response_model=StagePublic,
    summary="Make a customer a fan or an agent, or hand them back to the rules",
)
def put_lifecycle_stage(
    session: SessionDep, actor: ApiActor, customer_id: int, body: StageInput
) -> StagePublic:
    customer = set_stage_by_staff(session, actor, customer_id, body.stage, body.reason, utcnow())
    session.commit()
    return StagePublic(
        customer_id=customer.id, lifecycle_stage=LifecycleStage(customer.lifecycle_stage)
    )
