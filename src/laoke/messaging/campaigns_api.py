"""JSON API: campaign dry runs, launches, progress and cancelling."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.messaging import campaigns, segments
from laoke.messaging.models import Campaign, CampaignStatus
from laoke.messaging.schemas import (
    CampaignIn,
    CampaignOut,
    DryRunIn,
    DryRunOut,
    SegmentIn,
    SegmentOut,
)
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep

router = APIRouter(prefix="/api/v1", tags=["campaigns"], dependencies=[CsrfProtected])


def _out(session: Session, actor: Actor, campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        template_id=campaign.template_id,
        filters=campaign.filters or {},
        status=CampaignStatus(campaign.status),
        per_minute=campaign.per_minute,
        audience=campaign.audience,
        enqueued=campaign.enqueued,
        skipped=campaign.skipped or {},
        progress=campaigns.progress(session, actor, campaign.id),
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
    )


@router.post(
    "/campaigns/dry-run",
    response_model=DryRunOut,
    summary="Who would get it, who is skipped and why",
)
def dry_run(session: SessionDep, actor: ApiActor, body: DryRunIn) -> DryRunOut:
    filters = (
        segments.get_segment_for(session, actor, body.segment_id).filters
        if body.segment_id
        else body.filters
    )
    result = campaigns.dry_run(session, actor, template_id=body.template_id, filters=filters)
    return DryRunOut(audience=result.audience, will_send=result.will_send, skipped=result.skipped)


@router.get("/campaigns", response_model=list[CampaignOut], summary="Campaigns, newest first")
def list_campaigns(session: SessionDep, actor: ApiActor) -> list[CampaignOut]:
    return [_out(session, actor, c) for c in campaigns.list_campaigns(session, actor)]


@router.post("/campaigns", response_model=CampaignOut, status_code=201, summary="Launch a campaign")
def create_campaign(session: SessionDep, actor: ApiActor, body: CampaignIn) -> CampaignOut:
    campaign = campaigns.start_campaign(
        session,
        actor,
        name=body.name,
        template_id=body.template_id,
        filters=body.filters,
        segment_id=body.segment_id,
        per_minute=body.per_minute,
        coupon=body.coupon,
    )
    return _out(session, actor, campaign)


@router.get(
    "/campaigns/{campaign_id}", response_model=CampaignOut, summary="A campaign and its progress"
)
def get_campaign(session: SessionDep, actor: ApiActor, campaign_id: int) -> CampaignOut:
    return _out(session, actor, campaigns.get_campaign_for(session, actor, campaign_id))


@router.post(
    "/campaigns/{campaign_id}/cancel", response_model=CampaignOut, summary="Stop a campaign"
)
def cancel_campaign(session: SessionDep, actor: ApiActor, campaign_id: int) -> CampaignOut:
    return _out(session, actor, campaigns.cancel_campaign(session, actor, campaign_id))


@router.get("/segments", response_model=list[SegmentOut], summary="Saved segments")
def list_segments(session: SessionDep, actor: ApiActor) -> list[SegmentOut]:
    return [
        SegmentOut(id=seg.id, name=seg.name, filters=seg.filters or {})
        for seg in segments.list_segments(session, actor)
    ]


@router.post(
    "/segments",
    response_model=SegmentOut,
    status_code=201,
    summary="Save a segment (filters: tag, lifecycle_stage, owner, and any registered later)",
)
def create_segment(session: SessionDep, actor: ApiActor, body: SegmentIn) -> SegmentOut:
    seg = segments.save_segment(session, actor, name=body.name, filters=body.filters)
    return SegmentOut(id=seg.id, name=seg.name, filters=seg.filters or {})
