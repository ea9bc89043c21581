"""JSON API: referral programs, invite links, leads, referrer look-up and portal links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from laoke.customers.phones import mask_phone
from laoke.referrals import leads, portal, programs, sharing
from laoke.referrals.codes import link_for
from laoke.referrals.models import LeadSource, LeadStatus, ReferralLead
from laoke.referrals.schemas import (
    LeadCreate,
    LeadPage,
    LeadPublic,
    LeadUpdate,
    PortalLink,
    ProgramCreate,
    ProgramPublic,
    ProgramUpdate,
    ReferralLink,
    ReferrerCandidate,
)
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["referrals"], dependencies=[CsrfProtected])


def lead_public(lead: ReferralLead) -> LeadPublic:
    return LeadPublic(
        id=lead.id,
        program_id=lead.program_id,
        referrer_customer_id=lead.referrer_customer_id,
        referrer_user_id=lead.referrer_user_id,
        referee_name=lead.referee_name,
        referee_phone_masked=mask_phone(lead.referee_phone) if lead.referee_phone else None,
        status=lead.status,
        lost_reason=lead.lost_reason,
        attribution=lead.attribution,
        duplicate_of_id=lead.duplicate_of_id,
        source=lead.source,
        owner_id=lead.owner_id,
        next_step=lead.next_step,
        next_step_on=lead.next_step_on,
        notes=lead.notes,
        referee_customer_id=lead.referee_customer_id,
        consent=lead.consent,
        created_at=lead.created_at,
        converted_at=lead.converted_at,
        converting_order_id=lead.converting_order_id,
    )


def _commit_program(session: Session, program: object) -> ProgramPublic:
    session.commit()
    return ProgramPublic.model_validate(program)


@router.get("/referral-programs", response_model=list[ProgramPublic], summary="Referral programs")
def list_programs(session: SessionDep, actor: ApiActor) -> list[ProgramPublic]:
    return [ProgramPublic.model_validate(p) for p in programs.list_programs(session, actor.org_id)]


@router.post(
    "/referral-programs",
    response_model=ProgramPublic,
    status_code=201,
    summary="Create a referral program",
)
def create_program(session: SessionDep, actor: ApiActor, body: ProgramCreate) -> ProgramPublic:
    return _commit_program(session, programs.create_program(session, actor, body))


@router.get(
    "/referral-programs/{program_id}", response_model=ProgramPublic, summary="One referral program"
)
def get_program(session: SessionDep, actor: ApiActor, program_id: int) -> ProgramPublic:
    return ProgramPublic.model_validate(programs.get_program(session, actor, program_id))


@router.patch(
    "/referral-programs/{program_id}",
    response_model=ProgramPublic,
    summary="Change some fields of a referral program",
)
def update_program(
    session: SessionDep, actor: ApiActor, program_id: int, body: ProgramUpdate
) -> ProgramPublic:
    return _commit_program(session, programs.update_program(session, actor, program_id, body))


@router.get(
    "/customers/{customer_id}/referral",
    response_model=ReferralLink,
    summary="A customer's invite code, link, QR and poster (code created on first call)",
)
def customer_referral(
    session: sharing.WriteSessionDep, settings: SettingsDep, actor: ApiActor, customer_id: int
) -> ReferralLink:
    code = sharing.customer_code_for(session, actor, customer_id)
    session.commit()
    return link_for(settings.base_url, code.code)


@router.get(
    "/users/{user_id}/referral",
    response_model=ReferralLink,
    summary="A staff member's invite code, link and QR for walk-in referrals",
)
def staff_referral(
    session: sharing.WriteSessionDep, settings: SettingsDep, actor: ApiActor, user_id: int
) -> ReferralLink:
    code = sharing.staff_code_for(session, actor, user_id)
    session.commit()
    return link_for(settings.base_url, code.code)


@router.get("/referral-leads", response_model=LeadPage, summary="Referral leads")
def list_leads(
    session: SessionDep,
    actor: ApiActor,
    referrer_id: int | None = None,
    status: LeadStatus | None = None,
    owner_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> LeadPage:
    rows, total = leads.list_leads(
        session, actor, referrer_id=referrer_id, status=status, owner_id=owner_id, limit=limit
    )
    return LeadPage(items=[lead_public(lead) for lead in rows], total=total)


@router.post(
    "/referral-leads",
    response_model=LeadPublic,
    status_code=201,
    summary="Report a referred sign-up (by invite code or referrer id)",
)
def create_lead(session: SessionDep, actor: ApiActor, body: LeadCreate) -> LeadPublic:
    source = LeadSource.API if actor.via_token else LeadSource.STAFF
    lead = leads.create_lead(session, actor, body, source=source)
    session.commit()
    return lead_public(lead)


@router.get("/referral-leads/{lead_id}", response_model=LeadPublic, summary="One referral lead")
def get_lead(session: SessionDep, actor: ApiActor, lead_id: int) -> LeadPublic:
    return lead_public(leads.get_lead_for(session, actor, lead_id))


@router.patch(
    "/referral-leads/{lead_id}",
    response_model=LeadPublic,
    summary="Move a lead along: status, owner, next step, notes, linked customer",
)
def update_lead(session: SessionDep, actor: ApiActor, lead_id: int, body: LeadUpdate) -> LeadPublic:
    lead = leads.update_lead(session, actor, lead_id, body)
    session.commit()
    return lead_public(lead)


@router.get(
    "/referral-referrers",
    response_model=list[ReferrerCandidate],
    summary="Who referred them? Candidates for a code, phone or name",
)
def find_referrers(
    session: SessionDep, actor: ApiActor, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> list[ReferrerCandidate]:
    return [
        ReferrerCandidate(
            customer_id=c.id,
            name=c.name,
            phone_masked=mask_phone(c.primary_phone) if c.primary_phone else None,
        )
        for c in leads.find_referrers(session, actor, q)
    ]


@router.post(
    "/customers/{customer_id}/portal-links",
    response_model=PortalLink,
    status_code=201,
    summary="Create a magic link to the customer's referrer portal (shown once)",
)
def create_portal_link(
    session: SessionDep, settings: SettingsDep, actor: ApiActor, customer_id: int
) -> PortalLink:
    secret = portal.create_link(session, actor, customer_id)
    session.commit()
    return PortalLink(url=f"{settings.base_url}/me/{secret}", token=secret)


@router.delete(
    "/customers/{customer_id}/portal-links",
    status_code=204,
    summary="Revoke every portal link of the customer",
)
def revoke_portal_links(session: SessionDep, actor: ApiActor, customer_id: int) -> Response:
    portal.revoke_links(session, actor, customer_id)
    session.commit()
    return Response(status_code=204)
