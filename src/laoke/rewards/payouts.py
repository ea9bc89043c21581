"""What staff do with a released reward: pay out cash with a reference, hand over a gift,
or reverse a reward by hand with a reason."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.rewards import ledger
from laoke.rewards.models import (
    AccountKind,
    Asset,
    Operation,
    Reward,
    RewardKind,
    RewardStatus,
)


def get_reward(session: Session, actor: Actor, reward_id: int) -> Reward:
    reward = session.get(Reward, reward_id)
    if reward is None or reward.org_id != actor.org_id:
        raise NotFound(N_("No such reward."), code="reward_not_found")
    return reward


def _hand_over(
    session: Session, actor: Actor, reward: Reward, asset: Asset, amount: Decimal, reference: str
) -> Reward:
    head = ledger.lock(session, actor.org_id)
    session.refresh(reward)
    if reward.status != RewardStatus.RELEASED:
        raise Conflict(N_("Only a released reward can be handed over."), code="reward_not_released")
    ledger.post(
        session,
        head,
        ledger.Posting(
            Operation.PAYOUT,
            asset,
            amount,
            debit=ledger.account(
                session, actor.org_id, asset, AccountKind.AVAILABLE, reward.customer_id
            ),
            credit=ledger.account(session, actor.org_id, asset, AccountKind.REDEEMED),
            reward_id=reward.id,
            memo=reference,
            actor_id=actor.user_id,
        ),
    )
    reward.status = RewardStatus.REDEEMED
    reward.reference = reference
    session.flush()
    record(
        session,
        actor,
        AuditAction.REWARD_PAID_OUT,
        target_type="reward",
        target_id=reward.id,
        details={"kind": str(reward.kind), "amount": f"{reward.amount}"},
    )
    return reward


def pay_out(session: Session, actor: Actor, reward_id: int, reference: str) -> Reward:
    """Cash or commission paid to the customer outside laoke (transfer, WeChat Pay, till)."""
    actor.require(Permission.REVIEW_REWARDS)
    reference = (reference or "").strip()[:100]
    if not reference:
        raise Invalid(N_("Give the payment reference."), field="reference")
    reward = get_reward(session, actor, reward_id)
    if reward.kind not in (RewardKind.CASH, RewardKind.COMMISSION):
        raise Invalid(N_("Only cash rewards are paid out."), code="not_cash")
    return _hand_over(session, actor, reward, Asset.CASH, Decimal(reward.amount), reference)


def hand_over_gift(session: Session, actor: Actor, reward_id: int, note: str = "") -> Reward:
    actor.require(Permission.EDIT_CUSTOMERS)
    reward = get_reward(session, actor, reward_id)
    if reward.kind != RewardKind.GIFT:
        raise Invalid(N_("Only gifts are handed over."), code="not_gift")
    return _hand_over(session, actor, reward, Asset.GIFT, Decimal(1), (note or "").strip()[:100])


def reverse_by_hand(session: Session, actor: Actor, reward_id: int, reason: str) -> Reward:
    actor.require(Permission.REVIEW_REWARDS)
    reason = (reason or "").strip()[:200]
    if not reason:
        raise Invalid(N_("Say why the reward is reversed."), field="reason")
    reward = get_reward(session, actor, reward_id)
    from laoke.rewards.reversal import reverse

    head = ledger.lock(session, actor.org_id)
    session.refresh(reward)
    if not reverse(session, head, reward, reason=reason, actor_id=actor.user_id):
        raise Conflict(N_("This reward cannot be reversed."), code="reward_not_reversible")
    record(
        session,
        actor,
        AuditAction.REWARD_REVERSED,
        target_type="reward",
        target_id=reward.id,
        details={"kind": str(reward.kind), "amount": f"{reward.amount}"},
    )
    return reward
