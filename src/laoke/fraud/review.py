"""The review queue: flagged referrals wait for a reviewer, who approves, declines with a
reason, or approves as a household (the shared address stops counting from then on).

`release_block` is what the reward ledger asks before paying anything tied to a lead."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.events.bus import emit
from laoke.fraud.models import CheckStatus, FraudCheck, FraudHousehold
from laoke.fraud.rules import REASONS
from laoke.referrals.leads import get_lead_for
from laoke.referrals.models import ReferralLead


class Outcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    HOUSEHOLD = "household"  # approved; the shared address is one family from now on


def release_block(session: Session, org_id: int, lead_id: int) -> str | None:
    """None: rewards tied to this lead may be released; "review": flagged and awaiting a
    reviewer; "declined": a reviewer declined it."""
    status = session.scalar(
        select(FraudCheck.status).where(FraudCheck.org_id == org_id, FraudCheck.lead_id == lead_id)
    )
    if status == CheckStatus.PENDING:
        return "review"
    if status == CheckStatus.DECLINED:
        return "declined"
    return None


def check_of(session: Session, org_id: int, lead_id: int) -> FraudCheck | None:
    return session.scalar(
        select(FraudCheck).where(FraudCheck.org_id == org_id, FraudCheck.lead_id == lead_id)
    )


def check_for(session: Session, actor: Actor, lead_id: int) -> tuple[ReferralLead, FraudCheck]:
    """The lead (as the actor may see it) and its check; NotFound when unchecked."""
    lead = get_lead_for(session, actor, lead_id)
    check = check_of(session, actor.org_id, lead.id)
    if check is None:
        raise NotFound(N_("This referral has not been checked."), code="check_not_found")
    return lead, check


@dataclass(frozen=True, slots=True)
class QueueItem:
    check: FraudCheck
    lead: ReferralLead


def list_reviews(
    session: Session,
    actor: Actor,
    *,
    status: CheckStatus | None = None,
    rule: str | None = None,
    flagged_only: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[QueueItem], int]:
    actor.require(Permission.REVIEW_REWARDS)
    query = (
        select(FraudCheck, ReferralLead)
        .join(
            ReferralLead,
            (ReferralLead.id == FraudCheck.lead_id) & (ReferralLead.org_id == FraudCheck.org_id),
        )
        .where(FraudCheck.org_id == actor.org_id)
    )
    if status is not None:
        query = query.where(FraudCheck.status == status)
    elif flagged_only:
        query = query.where(FraudCheck.status != CheckStatus.CLEAR)
    ordered = query.order_by(
        case((FraudCheck.status == CheckStatus.PENDING, 0), else_=1),
        FraudCheck.created_at.desc(),
        FraudCheck.id.desc(),
    )
    if not rule:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(ordered.limit(limit).offset(offset)).all()
        return [QueueItem(check, lead) for check, lead in rows], total
    # Hits are JSON; filtering by rule here keeps one query for both databases. Only
    # flagged checks are kept by default, so this stays a reviewer-sized list.
    items = [
        QueueItem(check, lead)
        for check, lead in session.execute(ordered).all()
        if any(h.get("code") == rule for h in check.hits or [])
    ]
    return items[offset : offset + limit], len(items)


def pending_count(session: Session, org_id: int) -> int:
    query = select(func.count()).where(
        FraudCheck.org_id == org_id, FraudCheck.status == CheckStatus.PENDING
    )
    return session.scalar(query) or 0


def _shared_address(check: FraudCheck) -> str | None:
    for hit in check.hits or []:
        if hit.get("code") == "self_address":
            return (hit.get("inputs") or {}).get("address_key")
    return None


def decide(
    session: Session, actor: Actor, lead_id: int, outcome: Outcome, reason: str | None
) -> FraudCheck:
    actor.require(Permission.REVIEW_REWARDS)
    _lead, check = check_for(session, actor, lead_id)
    reason = (reason or "").strip()[:500] or None
    if outcome == Outcome.DECLINED and not reason:
        raise Invalid(N_("Say why the referral is declined."), field="reason")
    if check.status == CheckStatus.CLEAR and outcome != Outcome.DECLINED:
        raise Conflict(N_("Nothing to review: no rule flagged this referral."), code="not_flagged")
    household = outcome == Outcome.HOUSEHOLD
    if household:
        address = _shared_address(check)
        if address is None:
            raise Invalid(
                N_("No shared address fired on this referral; approve it instead."),
                field="outcome",
            )
        exists = session.scalar(
            select(FraudHousehold.id).where(
                FraudHousehold.org_id == actor.org_id, FraudHousehold.address_key == address
            )
        )
        if exists is None:
            try:
                with session.begin_nested():
                    session.add(
                        FraudHousehold(
                            org_id=actor.org_id,
                            address_key=address,
                            lead_id=check.lead_id,
                            created_by_id=actor.user_id,
                        )
                    )
            except IntegrityError:
                pass  # another reviewer registered it a moment ago
    final = CheckStatus.DECLINED if outcome == Outcome.DECLINED else CheckStatus.APPROVED
    check.status = final
    check.household = household
    check.reason = reason
    check.reviewer_id = actor.user_id
    check.reviewed_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        AuditAction.FRAUD_REVIEWED,
        target_type="referral_lead",
        target_id=check.lead_id,
        details={"outcome": str(outcome), "score": check.score},
    )
    emit(
        session,
        actor.org_id,
        "fraud.reviewed",
        subject_type="referral_lead",
        subject_id=check.lead_id,
        payload={"lead_id": check.lead_id, "outcome": str(final), "reason": reason},
    )
    return check


def reason_of(code: str) -> str:
    return REASONS.get(code, code)
