"""JSON API: a customer's wallet, the reward list and one reward, issuing by hand, paying
out, handing over, reversing, redeeming on an order, and reading and verifying the ledger.

Writes that create something take an `Idempotency-Key` header: the same key with the same
body answers 200 with what the first call made, with another body 409
`idempotency_key_reused`. Every write goes through `busy.committed`, so a database busy with
another writer ends as a retry or 409 `busy_retry`, never a 500.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.service import get_customer_for
from laoke.errors import N_, NotFound
from laoke.orders.models import Order
from laoke.rewards import browse, ledger, payouts
from laoke.rewards.busy import committed
from laoke.rewards.issuing import IssueRequest, check_key, issue
from laoke.rewards.models import Coupon, LedgerEntry, Redemption, Reward, RewardKind, RewardStatus
from laoke.rewards.redeeming import RedeemRequest, redeem
from laoke.rewards.schemas import (
    HandOverIn,
    LedgerEntriesOut,
    LedgerEntryOut,
    LedgerVerifyOut,
    PayoutIn,
    RedemptionIn,
    RedemptionOut,
    ReferralOut,
    ReverseIn,
    RewardCoupon,
    RewardDetailOut,
    RewardIssue,
    RewardOut,
    RewardPageOut,
    WalletCash,
    WalletCoupon,
    WalletLadder,
    WalletLine,
    WalletOut,
    WalletPoints,
)
from laoke.rewards.wallet import Wallet, wallet_of
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep

router = APIRouter(prefix="/api/v1", tags=["rewards"], dependencies=[CsrfProtected])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        max_length=120,
        description="Any unique string per intended write; a retry sends the same one",
    ),
]


def wallet_out(wallet: Wallet) -> WalletOut:
    points, cash = wallet.points, wallet.cash_payable
    ladders = [WalletLadder(**vars(ladder)) for ladder in wallet.ladders]
    tier = wallet.tier
    return WalletOut(
        customer_id=wallet.customer_id,
        points=WalletPoints(
            available=points.available,
            held=points.held,
            owed=points.owed,
            lapsing_soon=points.lapsing_soon,
            lapses_on=points.lapses_on,
            value=points.value,
        ),
        coupons=[
            WalletCoupon(
                id=c.id,
                reward_id=c.reward_id,
                code=c.code,
                kind=c.kind,
                value=c.value,
                min_spend=c.min_spend,
                expires_on=c.expires_on,
                status=c.status,
                usable=c.usable,
            )
            for c in wallet.coupons
        ],
        cash_payable=WalletCash(available=cash.available, held=cash.held, owed=cash.owed),
        gifts=[WalletLine(**vars(line)) for line in wallet.gifts],
        privileges=[WalletLine(**vars(line)) for line in wallet.privileges],
        titles=wallet.titles,
        tier=WalletLadder(**vars(tier)) if tier else None,
        ladders=ladders,
        commission_rate=wallet.commission_rate,
    )


def reward_out(reward: Reward, coupon: Coupon | None = None) -> RewardOut:
    return RewardOut(
        id=reward.id,
        customer_id=reward.customer_id,
        kind=reward.kind,
        amount=Decimal(reward.amount),
        cost=Decimal(reward.cost),
        label=reward.label,
        status=reward.status,
        status_reason=reward.status_reason,
        program_id=reward.program_id,
        rule_id=reward.rule_id,
        tier_id=reward.tier_id,
        lead_id=reward.lead_id,
        order_id=reward.order_id,
        source=reward.source,
        hold_until=reward.hold_until,
        released_at=reward.released_at,
        reversed_at=reward.reversed_at,
        expires_on=reward.expires_on,
        reference=reward.reference,
        created_at=reward.created_at,
        coupon=RewardCoupon(
            id=coupon.id,
            code=coupon.code,
            kind=coupon.kind,
            value=Decimal(coupon.value),
            min_spend=coupon.min_spend,
            expires_on=coupon.expires_on,
            status=coupon.status,
            used_order_id=coupon.used_order_id,
        )
        if coupon
        else None,
    )


def entry_out(entry: LedgerEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=entry.id,
        seq=entry.seq,
        at=entry.at,
        operation=entry.operation,
        asset=entry.asset,
        amount=Decimal(entry.amount),
        debit_account_id=entry.debit_account_id,
        credit_account_id=entry.credit_account_id,
        reward_id=entry.reward_id,
        coupon_id=entry.coupon_id,
        redemption_id=entry.redemption_id,
        order_id=entry.order_id,
        memo=entry.memo,
        hash=entry.hash,
        prev_hash=entry.prev_hash,
    )


def _reward_detail(session: Session, reward: Reward) -> RewardDetailOut:
    coupon = browse.coupons_of(session, [reward]).get(reward.id)
    lead = browse.lead_of(session, reward)
    return RewardDetailOut(
        **reward_out(reward, coupon).model_dump(),
        entries=[entry_out(e) for e in browse.entries_of(session, reward)],
        referral=ReferralOut(
            lead_id=lead.id,
            status=str(lead.status),
            referrer_customer_id=lead.referrer_customer_id,
            referee_customer_id=lead.referee_customer_id,
        )
        if lead
        else None,
    )


def _created(response: Response, created: bool) -> None:
    response.status_code = 201 if created else 200


# --- wallet and rewards -------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/wallet",
    response_model=WalletOut,
    summary="A customer's points, coupons, cash payable, gifts, titles and ladder tier",
)
def customer_wallet(session: SessionDep, actor: ApiActor, customer_id: int) -> WalletOut:
    customer = get_customer_for(session, actor, customer_id)
    return wallet_out(wallet_of(session, actor.org_id, customer.id))


@router.get("/rewards", response_model=RewardPageOut, summary="Rewards, filtered and paged")
def list_rewards(
    session: SessionDep,
    actor: ApiActor,
    status: RewardStatus | None = None,
    kind: RewardKind | None = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    program_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=browse.MAX_PER_PAGE)] = 50,
) -> RewardPageOut:
    filters = browse.RewardFilters(status, kind, customer_id, program_id)
    result = browse.list_rewards(session, actor, filters, page=page, per_page=per_page)
    coupons = browse.coupons_of(session, result.items)
    return RewardPageOut(
        items=[reward_out(r, coupons.get(r.id)) for r in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


@router.get(
    "/rewards/{reward_id}",
    response_model=RewardDetailOut,
    summary="One reward with its ledger entries and the referral it came from",
)
def get_reward(session: SessionDep, actor: ApiActor, reward_id: int) -> RewardDetailOut:
    return _reward_detail(session, browse.get_reward_for(session, actor, reward_id))


@router.post(
    "/rewards",
    response_model=RewardDetailOut,
    status_code=201,
    summary="Issue a reward by hand (201 new, 200 replay of the same key and body)",
    responses={200: {"description": "The reward this idempotency key already issued"}},
)
def issue_reward(
    session: SessionDep,
    actor: ApiActor,
    body: RewardIssue,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> RewardDetailOut:
    actor.require(Permission.REVIEW_REWARDS)
    key = check_key(idempotency_key)
    request = IssueRequest(
        customer_id=body.customer_id,
        kind=body.kind,
        amount=body.amount,
        label=body.label,
        program_id=body.program_id,
        hold_days=body.hold_days,
        coupon_kind=body.coupon_kind,
        min_spend=body.min_spend,
        source="manual",
    )

    def work() -> tuple[Reward, bool]:
        get_customer_for(session, actor, body.customer_id)
        _check_program(session, actor, body.program_id)
        return issue(session, actor.org_id, request, key, actor_id=actor.user_id)

    reward, created = committed(session, work)
    _created(response, created)
    return _reward_detail(session, reward)


def _check_program(session: Session, actor: Actor, program_id: int | None) -> None:
    if program_id is None:
        return
    from laoke.referrals.models import ReferralProgram

    program = session.get(ReferralProgram, program_id)
    if program is None or program.org_id != actor.org_id:
        raise NotFound(N_("No such program."), code="program_not_found", field="program_id")


@router.post(
    "/rewards/{reward_id}/payout",
    response_model=RewardDetailOut,
    summary="Record that a cash reward or commission was paid out, with its reference",
)
def pay_out(
    session: SessionDep, actor: ApiActor, reward_id: int, body: PayoutIn
) -> RewardDetailOut:
    def work() -> Reward:
        browse.get_reward_for(session, actor, reward_id)
        return payouts.pay_out(session, actor, reward_id, body.reference)

    return _reward_detail(session, committed(session, work))


@router.post(
    "/rewards/{reward_id}/hand-over",
    response_model=RewardDetailOut,
    summary="Record that a gift was handed over",
)
def hand_over(
    session: SessionDep, actor: ApiActor, reward_id: int, body: HandOverIn
) -> RewardDetailOut:
    def work() -> Reward:
        browse.get_reward_for(session, actor, reward_id)
        return payouts.hand_over_gift(session, actor, reward_id, body.note)

    return _reward_detail(session, committed(session, work))


@router.post(
    "/rewards/{reward_id}/reverse",
    response_model=RewardDetailOut,
    summary="Take a reward back by hand, with a reason",
)
def reverse(
    session: SessionDep, actor: ApiActor, reward_id: int, body: ReverseIn
) -> RewardDetailOut:
    def work() -> Reward:
        browse.get_reward_for(session, actor, reward_id)
        return payouts.reverse_by_hand(session, actor, reward_id, body.reason)

    return _reward_detail(session, committed(session, work))


# --- redeeming ----------------------------------------------------------------------------


def redemption_out(redemption: Redemption) -> RedemptionOut:
    return RedemptionOut(
        id=redemption.id,
        order_id=redemption.order_id,
        customer_id=redemption.customer_id,
        points=Decimal(redemption.points),
        coupon_id=redemption.coupon_id,
        value=Decimal(redemption.value),
        created_at=redemption.created_at,
        restored_at=redemption.restored_at,
    )


def order_for(session: Session, actor: Actor, order_id: int, *, edit: bool = False) -> Order:
    """The order if this actor may see (or change) its customer, else NotFound."""
    order = session.get(Order, order_id)
    if order is None or order.org_id != actor.org_id:
        raise NotFound(N_("No such order."), code="order_not_found")
    try:
        get_customer_for(session, actor, order.customer_id, edit=edit)
    except NotFound:
        raise NotFound(N_("No such order."), code="order_not_found") from None
    return order


def redeem_on_order(
    session: Session, actor: Actor, order_id: int, points: int, coupon_id: int | None, key: str
) -> tuple[Redemption, bool]:
    """Use points and/or a coupon on an order and commit (retried when the database is busy)."""
    key = check_key(key)

    def work() -> tuple[Redemption, bool]:
        order = order_for(session, actor, order_id, edit=True)
        request = RedeemRequest(
            customer_id=order.customer_id,
            order_id=order.id,
            points=Decimal(points),
            coupon_id=coupon_id,
        )
        return redeem(session, actor.org_id, request, key, actor_id=actor.user_id)

    return committed(session, work)


@router.post(
    "/orders/{order_id}/redemptions",
    response_model=RedemptionOut,
    status_code=201,
    summary="Use the customer's points and/or a coupon on a paid order (201 new, 200 replay)",
    responses={200: {"description": "The redemption this idempotency key already made"}},
)
def create_redemption(
    session: SessionDep,
    actor: ApiActor,
    order_id: int,
    body: RedemptionIn,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> RedemptionOut:
    redemption, created = redeem_on_order(
        session, actor, order_id, body.points, body.coupon_id, idempotency_key
    )
    _created(response, created)
    return redemption_out(redemption)


# --- the ledger ---------------------------------------------------------------------------


@router.get(
    "/ledger/entries",
    response_model=LedgerEntriesOut,
    summary="Ledger entries in sequence order, paged by sequence number",
)
def ledger_entries(
    session: SessionDep,
    actor: ApiActor,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LedgerEntriesOut:
    actor.require(Permission.REVIEW_REWARDS)
    rows = browse.entries_page(session, actor.org_id, after_seq=after_seq, limit=limit)
    return LedgerEntriesOut(
        items=[entry_out(e) for e in rows],
        next_after_seq=rows[-1].seq if len(rows) == limit else None,
    )


@router.get(
    "/ledger/verify",
    response_model=LedgerVerifyOut,
    summary="Recompute the hash chain and every balance from the entries",
)
def ledger_verify(session: SessionDep, actor: ApiActor) -> LedgerVerifyOut:
    actor.require(Permission.REVIEW_REWARDS)
    result = ledger.verify(session, actor.org_id)
    return LedgerVerifyOut(
        ok=result.ok,
        entries=result.entries,
        accounts=result.accounts,
        head_hash=result.head_hash,
        problems=result.problems,
        first_broken_seq=result.first_broken_seq,
        first_broken_id=result.first_broken_id,
    )
