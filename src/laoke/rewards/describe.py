"""A reward in words, in the reader's language: "500 积分", "¥20 优惠券（满 ¥200 可用）"."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from laoke.errors import N_
from laoke.rewards.models import CouponKind, Reward, RewardKind


def _number(value: Decimal) -> str:
    value = Decimal(value)
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:.2f}"


def describe(reward: Reward, gettext: Callable[[str], str], coupon_kind: str | None = None) -> str:
    amount = _number(reward.amount)
    match reward.kind:
        case RewardKind.POINTS:
            return gettext(N_("%(n)s points")) % {"n": amount}
        case RewardKind.CASH:
            return gettext(N_("¥%(amount)s cash")) % {"amount": amount}
        case RewardKind.COMMISSION:
            return gettext(N_("¥%(amount)s commission")) % {"amount": amount}
        case RewardKind.COUPON if coupon_kind == CouponKind.PERCENT:
            return gettext(N_("%(n)s%% off coupon")) % {"n": amount}
        case RewardKind.COUPON:
            return gettext(N_("¥%(amount)s coupon")) % {"amount": amount}
        case RewardKind.GIFT:
            return gettext(N_("Gift: %(name)s")) % {"name": reward.label}
        case RewardKind.PRIVILEGE:
            return gettext(N_("Privilege: %(name)s")) % {"name": reward.label}
        case RewardKind.HONOUR:
            return gettext(N_("Title: %(name)s")) % {"name": reward.label}
    return reward.label
