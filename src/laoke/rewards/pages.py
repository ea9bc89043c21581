"""Staff pages: the reward list with its monthly chart, one reward with its ledger trail and
actions, the ledger with its verification and Excel download, and the panels other pages
load: a customer's wallet, redeeming on an order, a lead's rewards."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for
from laoke.db import utcnow
from laoke.errors import N_, DomainError
from laoke.orders.models import Order, OrderStatus
from laoke.referrals.leads import get_lead_for
from laoke.referrals.models import LEAD_STATUS_LABELS
from laoke.rewards import browse, ledger, payouts
from laoke.rewards.api import order_for, redeem_on_order
from laoke.rewards.busy import committed
from laoke.rewards.describe import describe
from laoke.rewards.export import ledger_response
from laoke.rewards.models import (
    COUPON_STATUS_LABELS,
    OPERATION_LABELS,
    REWARD_KIND_LABELS,
    REWARD_STATUS_LABELS,
    CouponKind,
    Redemption,
    Reward,
    RewardKind,
    RewardStatus,
)
from laoke.rewards.settings import settings_of
from laoke.rewards.wallet import wallet_of
from laoke.web.charts import Series, bar_chart
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(prefix="/rewards", include_in_schema=False, dependencies=[CsrfProtected])

# What a redeem form tells the page after a redirect (`?redeem=<code>`).
REDEEM_MESSAGES = {
    "done": N_("Used on the order."),
    "insufficient_points": N_("Not enough points."),
    "redeem_limit": N_("That is more than points and coupons may pay of this order."),
    "coupon_expired": N_("This coupon has expired."),
    "coupon_unusable": N_("This coupon cannot be used now."),
    "coupon_not_found": N_("No such coupon."),
    "order_not_paid": N_("Only a paid order can use points or coupons."),
    "idempotency_key_reused": N_("This form was already used. Please reload the page."),
    "busy_retry": N_("Someone else is changing the same records. Please try again."),
    "invalid": N_("Some values are not valid."),
}
ACTION_MESSAGES = {
    "paid": N_("The payout was recorded."),
    "handed": N_("The gift was handed over."),
    "reversed": N_("The reward was reversed."),
}
LABELS = {
    "status_labels": REWARD_STATUS_LABELS,
    "kind_labels": REWARD_KIND_LABELS,
    "operation_labels": OPERATION_LABELS,
    "coupon_status_labels": COUPON_STATUS_LABELS,
}


def _describer(request: Request, session: Session, rewards: list[Reward]) -> dict[int, str]:
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    coupons = browse.coupons_of(session, rewards)
    return {
        r.id: describe(r, gettext, coupons[r.id].kind if r.id in coupons else None) for r in rewards
    }


def _form_key() -> str:
    """An idempotency key made when a form renders, so a double submit acts once."""
    return "form:" + secrets.token_urlsafe(18)


# --- the reward list ----------------------------------------------------------------------


def _chart(request: Request, session: Session, actor: Actor) -> Any:
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    data = browse.monthly_value(session, actor, utcnow())
    if not any(data.issued + data.redeemed + data.reversed):
        return None
    return bar_chart(
        [month[2:] for month in data.months],
        [
            Series(gettext(N_("Issued")), data.issued, "series-a"),
            Series(gettext(N_("Redeemed")), data.redeemed, "series-b"),
            Series(gettext(N_("Reversed")), data.reversed, "series-c"),
        ],
        title=gettext(N_("Reward value per month (¥)")),
        axis_label=gettext(N_("Month")),
    )


@router.get("")
def reward_list(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    status: str = "",
    kind: str = "",
    customer_id: str = "",
    page: str = "1",
) -> HTMLResponse:
    filters = browse.RewardFilters(
        status=RewardStatus(status) if status in set(RewardStatus) else None,
        kind=RewardKind(kind) if kind in set(RewardKind) else None,
        customer_id=int(customer_id) if customer_id.isdigit() and len(customer_id) < 15 else None,
    )
    number = int(page) if page.isdigit() and len(page) < 7 else 1
    result = browse.list_rewards(session, actor, filters, page=number, per_page=50)
    context = {
        **LABELS,
        "result": result,
        "texts": _describer(request, session, result.items),
        "names": browse.customer_names(
            session, actor.org_id, [r.customer_id for r in result.items]
        ),
        "counts": browse.status_counts(session, actor, filters),
        "statuses": list(RewardStatus),
        "kinds": list(RewardKind),
        "filters": {
            "status": status if filters.status else "",
            "kind": kind if filters.kind else "",
            "customer_id": str(filters.customer_id or ""),
        },
        "chart": _chart(request, session, actor),
        "can_review": actor.can(Permission.REVIEW_REWARDS),
    }
    return render(request, "rewards_list.html", context)


# --- the ledger ---------------------------------------------------------------------------


@router.get("/ledger")
def ledger_page(
    request: Request, session: SessionDep, actor: PageActor, before: str = ""
) -> HTMLResponse:
    actor.require(Permission.REVIEW_REWARDS)
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    before_seq = int(before) if before.isdigit() and len(before) < 15 else None
    entries = browse.entries_page(session, actor.org_id, before_seq=before_seq, limit=100)
    accounts = browse.accounts_by_id(session, actor.org_id)
    names = browse.customer_names(session, actor.org_id, [a.customer_id for a in accounts.values()])
    reveal = actor.can(Permission.REVEAL_PII)
    described = {
        account_id: browse.describe_account(account, names, gettext, reveal=reveal)
        for account_id, account in accounts.items()
    }
    context = {
        **LABELS,
        "entries": entries,
        "accounts": described,
        "older": entries[-1].seq if len(entries) == 100 and entries[-1].seq > 1 else None,
        "verification": ledger.verify(session, actor.org_id),
    }
    return render(request, "rewards_ledger.html", context)


@router.get("/ledger.xlsx")
def ledger_download(session: SessionDep, actor: PageActor) -> Response:
    return ledger_response(session, actor)


# --- one reward ---------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    reward_id: int,
    *,
    done: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    reward = browse.get_reward_for(session, actor, reward_id)
    coupon = browse.coupons_of(session, [reward]).get(reward.id)
    entries = browse.entries_of(session, reward)
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    accounts = browse.accounts_by_id(session, actor.org_id)
    names = browse.customer_names(session, actor.org_id, [reward.customer_id])
    released = reward.status == RewardStatus.RELEASED
    context = {
        **LABELS,
        "reward": reward,
        "text": describe(reward, gettext, coupon.kind if coupon else None),
        "coupon": coupon,
        "customer": session.get(Customer, reward.customer_id),
        "lead": browse.lead_of(session, reward),
        "lead_status_labels": LEAD_STATUS_LABELS,
        "tier": browse.tier_of(session, reward),
        "entries": entries,
        "accounts": {
            account_id: browse.describe_account(accounts.get(account_id), names, gettext)
            for entry in entries
            for account_id in (entry.debit_account_id, entry.credit_account_id)
        },
        "message": ACTION_MESSAGES.get(done),
        "error": error,
        "can_pay": released
        and reward.kind in (RewardKind.CASH, RewardKind.COMMISSION)
        and actor.can(Permission.REVIEW_REWARDS),
        "can_hand_over": released
        and reward.kind == RewardKind.GIFT
        and actor.can(Permission.EDIT_CUSTOMERS),
        "can_reverse": reward.status not in (RewardStatus.REVERSED, RewardStatus.CAPPED)
        and actor.can(Permission.REVIEW_REWARDS),
    }
    return render(request, "rewards_detail.html", context, status_code=status_code)


@router.get("/{reward_id}")
def reward_detail(
    request: Request, session: SessionDep, actor: PageActor, reward_id: int, done: str = ""
) -> HTMLResponse:
    return _detail(request, session, actor, reward_id, done=done)


def _act(
    request: Request, session: Session, actor: Actor, reward_id: int, done: str, action: Any
) -> Response:
    def work() -> Reward:
        browse.get_reward_for(session, actor, reward_id)
        return action()

    try:
        committed(session, work)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404):
            raise
        gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
        text = gettext(exc.message)
        error = text % exc.params if exc.params else text
        return _detail(request, session, actor, reward_id, error=error, status_code=exc.status)
    return RedirectResponse(f"/rewards/{reward_id}?done={done}", status_code=303)


@router.post("/{reward_id}/payout")
def pay_out(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    reward_id: int,
    reference: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor.require(Permission.REVIEW_REWARDS)
    return _act(
        request,
        session,
        actor,
        reward_id,
        "paid",
        lambda: payouts.pay_out(session, actor, reward_id, reference),
    )


@router.post("/{reward_id}/hand-over")
def hand_over(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    reward_id: int,
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor.require(Permission.EDIT_CUSTOMERS)
    return _act(
        request,
        session,
        actor,
        reward_id,
        "handed",
        lambda: payouts.hand_over_gift(session, actor, reward_id, note),
    )


@router.post("/{reward_id}/reverse")
def reverse(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    reward_id: int,
    reason: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    actor.require(Permission.REVIEW_REWARDS)
    return _act(
        request,
        session,
        actor,
        reward_id,
        "reversed",
        lambda: payouts.reverse_by_hand(session, actor, reward_id, reason),
    )


# --- panels other pages load --------------------------------------------------------------


def _paid_orders(session: Session, org_id: int, customer_id: int) -> list[Order]:
    return list(
        session.scalars(
            select(Order)
            .where(
                Order.org_id == org_id,
                Order.customer_id == customer_id,
                Order.status == OrderStatus.PAID,
            )
            .order_by(Order.ordered_at.desc(), Order.id.desc())
            .limit(10)
        )
    )


@router.get("/customers/{customer_id}/wallet")
def wallet_panel(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int, redeem: str = ""
) -> HTMLResponse:
    customer = get_customer_for(session, actor, customer_id)
    # get_customer_for let the actor see the customer: a salesperson only their own.
    can_redeem = actor.can(Permission.EDIT_CUSTOMERS) and customer.is_active
    context = {
        **LABELS,
        "customer": customer,
        "wallet": wallet_of(session, actor.org_id, customer.id),
        "orders": _paid_orders(session, actor.org_id, customer.id) if can_redeem else [],
        "can_redeem": can_redeem,
        "form_key": _form_key(),
        "percent": CouponKind.PERCENT,
        "message": REDEEM_MESSAGES.get(redeem),
        "ok": redeem == "done",
    }
    return render(request, "rewards_wallet.html", context)


@router.get("/orders/{order_id}/redeem")
def order_panel(
    request: Request, session: SessionDep, actor: PageActor, order_id: int, redeem: str = ""
) -> HTMLResponse:
    order = order_for(session, actor, order_id)
    settings = settings_of(session, actor.org_id)
    used = list(
        session.scalars(
            select(Redemption)
            .where(Redemption.org_id == actor.org_id, Redemption.order_id == order.id)
            .order_by(Redemption.id)
        )
    )
    live = sum((Decimal(r.value) for r in used if r.restored_at is None), Decimal(0))
    limit = (Decimal(order.amount) * Decimal(settings.max_redeem_share)).quantize(ledger.CENT)
    customer = session.get(Customer, order.customer_id)
    can_redeem = (
        order.status == OrderStatus.PAID
        and actor.can(Permission.EDIT_CUSTOMERS)
        and customer is not None
        and customer.is_active
    )
    context = {
        "order": order,
        "wallet": wallet_of(session, actor.org_id, order.customer_id),
        "redemptions": used,
        "limit": limit,
        "room": max(limit - live, Decimal(0)),
        "point_value": Decimal(settings.point_value),
        "can_redeem": can_redeem,
        "form_key": _form_key(),
        "percent": CouponKind.PERCENT,
        "message": REDEEM_MESSAGES.get(redeem),
        "ok": redeem == "done",
    }
    return render(request, "rewards_order_redeem.html", context)


def _redeem(
    session: Session,
    actor: Actor,
    order_id: int,
    points: str,
    coupon_id: str,
    key: str,
    back: str,
) -> Response:
    """Redeem from a form and go back to the page it came from with `?redeem=<code>`."""
    order = order_for(session, actor, order_id, edit=True)
    target = f"/customers/{order.customer_id}" if back == "customer" else f"/orders/{order.id}"
    text = points.strip() or "0"
    if not text.isdigit() or len(text) > 9:
        return RedirectResponse(f"{target}?redeem=invalid", status_code=303)
    coupon = int(coupon_id) if coupon_id.isdigit() and len(coupon_id) < 15 else None
    try:
        redeem_on_order(session, actor, order.id, int(text), coupon, key)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404) and exc.code != "coupon_not_found":
            raise
        code = exc.code if exc.code in REDEEM_MESSAGES else "invalid"
        return RedirectResponse(f"{target}?redeem={code}", status_code=303)
    return RedirectResponse(f"{target}?redeem=done", status_code=303)


@router.post("/orders/{order_id}/redeem")
def redeem_on_order_form(
    session: SessionDep,
    actor: PageActor,
    order_id: int,
    points: Annotated[str, Form(max_length=20)] = "",
    coupon_id: Annotated[str, Form(max_length=20)] = "",
    key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    return _redeem(session, actor, order_id, points, coupon_id, key, "order")


@router.post("/customers/{customer_id}/redeem")
def redeem_from_wallet(
    session: SessionDep,
    actor: PageActor,
    customer_id: int,
    order_id: Annotated[str, Form(max_length=20)] = "",
    points: Annotated[str, Form(max_length=20)] = "",
    coupon_id: Annotated[str, Form(max_length=20)] = "",
    key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    customer = get_customer_for(session, actor, customer_id, edit=True)
    if not order_id.isdigit() or len(order_id) > 15:
        return RedirectResponse(f"/customers/{customer.id}?redeem=invalid", status_code=303)
    order = order_for(session, actor, int(order_id), edit=True)
    if order.customer_id != customer.id:
        return RedirectResponse(f"/customers/{customer.id}?redeem=invalid", status_code=303)
    return _redeem(session, actor, order.id, points, coupon_id, key, "customer")


@router.get("/leads/{lead_id}")
def lead_panel(
    request: Request, session: SessionDep, actor: PageActor, lead_id: int
) -> HTMLResponse:
    lead = get_lead_for(session, actor, lead_id)
    rewards = browse.rewards_of_lead(session, actor, lead.id)
    context = {
        **LABELS,
        "lead": lead,
        "rewards": rewards,
        "texts": _describer(request, session, rewards),
        "names": browse.customer_names(session, actor.org_id, [r.customer_id for r in rewards]),
    }
    return render(request, "rewards_lead.html", context)
