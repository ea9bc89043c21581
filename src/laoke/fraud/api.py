"""JSON API: the review queue, a lead's check, decisions and thresholds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from laoke.accounts.roles import Permission
from laoke.customers.phones import mask_phone
from laoke.fraud import review, settings
from laoke.fraud.models import CheckStatus, FraudCheck
from laoke.fraud.rules import REASONS
from laoke.fraud.schemas import (
    FraudCheckPublic,
    FraudReviewItem,
    FraudReviewPage,
    FraudRuleHit,
    FraudSettingsFields,
    ReviewDecision,
)
from laoke.referrals.models import ReferralLead
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep

router = APIRouter(prefix="/api/v1", tags=["fraud"], dependencies=[CsrfProtected])


def check_public(session: Session, check: FraudCheck, *, inputs: bool = True) -> FraudCheckPublic:
    hits = [
        FraudRuleHit(
            code=str(hit.get("code")),
            weight=float(hit.get("weight") or 0),
            reason=REASONS.get(str(hit.get("code")), ""),
            inputs=(hit.get("inputs") or {}) if inputs else {},
        )
        for hit in check.hits or []
    ]
    return FraudCheckPublic(
        lead_id=check.lead_id,
        status=check.status,
        stage=check.stage,
        score=check.score,
        flagged=check.flagged,
        hits=hits,
        evaluated_at=check.evaluated_at,
        reviewer_id=check.reviewer_id,
        reviewed_at=check.reviewed_at,
        reason=check.reason,
        household=check.household,
        release_block=review.release_block(session, check.org_id, check.lead_id),
    )


def review_item(session: Session, check: FraudCheck, lead: ReferralLead) -> FraudReviewItem:
    return FraudReviewItem(
        check=check_public(session, check),
        referee_name=lead.referee_name,
        referee_phone_masked=mask_phone(lead.referee_phone) if lead.referee_phone else None,
        referrer_customer_id=lead.referrer_customer_id,
        referrer_user_id=lead.referrer_user_id,
        lead_status=lead.status,
        attribution=lead.attribution,
        lead_created_at=lead.created_at,
    )


@router.get(
    "/fraud/reviews",
    response_model=FraudReviewPage,
    summary="Referrals the fraud rules flagged, awaiting review first",
)
def list_reviews(
    session: SessionDep,
    actor: ApiActor,
    status: CheckStatus | None = None,
    rule: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FraudReviewPage:
    items, total = review.list_reviews(
        session, actor, status=status, rule=rule, limit=limit, offset=offset
    )
    return FraudReviewPage(
        items=[review_item(session, i.check, i.lead) for i in items], total=total
    )


@router.get(
    "/referrals/leads/{lead_id}/fraud",
    response_model=FraudCheckPublic,
    summary="The fraud check of one referral lead: rules that fired and their inputs",
)
def lead_check(session: SessionDep, actor: ApiActor, lead_id: int) -> FraudCheckPublic:
    _lead, check = review.check_for(session, actor, lead_id)
    # What was compared (phones, mailboxes, addresses) is for reviewers only.
    return check_public(session, check, inputs=actor.can(Permission.REVIEW_REWARDS))


@router.post(
    "/fraud/reviews/{lead_id}/decision",
    response_model=FraudCheckPublic,
    summary="Approve, decline (reason required) or approve as one household",
)
def decide(
    session: SessionDep, actor: ApiActor, lead_id: int, body: ReviewDecision
) -> FraudCheckPublic:
    check = review.decide(session, actor, lead_id, body.outcome, body.reason)
    session.commit()
    return check_public(session, check)


@router.get("/fraud/settings", response_model=FraudSettingsFields, summary="Fraud thresholds")
def get_settings(session: SessionDep, actor: ApiActor) -> FraudSettingsFields:
    return settings.current(session, actor)


@router.put("/fraud/settings", response_model=FraudSettingsFields, summary="Change thresholds")
def put_settings(
    session: SessionDep, actor: ApiActor, body: FraudSettingsFields
) -> FraudSettingsFields:
    result = settings.update(session, actor, body)
    session.commit()
    return result
