"""Setting up rewards: rules checked per kind and trigger, the ladder, the budget and the
reward settings; one-line descriptions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from laoke.accounts.service import actor_for
from laoke.errors import Conflict, Invalid, NotFound, PermissionDenied
from laoke.referrals.models import ReferralProgram
from laoke.rewards import rules
from laoke.rewards.models import RewardRule, RewardStatus
from laoke.rewards.schemas import (
    RuleCreate,
    RuleUpdate,
    SettingsFields,
    TierCreate,
    TierFields,
)
from laoke.web.i18n import translations
from tests.rewards.conftest import Rewards


def _create(rw: Rewards, program_id: int, user: Any = None, **fields: Any) -> RewardRule:
    with rw.database.unit_of_work() as s:
        rule = rules.create_rule(
            s, actor_for(user or rw.cast.alice), program_id, RuleCreate(**fields)
        )
        s.commit()
        s.expunge(rule)
        return rule


def _tier(rw: Rewards, program_id: int, user: Any = None, **fields: Any) -> int:
    with rw.database.unit_of_work() as s:
        tier = rules.create_tier(
            s, actor_for(user or rw.cast.alice), program_id, TierCreate(**fields)
        )
        s.commit()
        return tier.id


GOOD_RULES = [
    ({"kind": "points", "amount": "500"}, {"amount": Decimal(500), "label": ""}),
    ({"kind": "cash", "amount": "20.5"}, {"amount": Decimal("20.50")}),
    (
        {
            "kind": "coupon",
            "coupon_kind": "fixed",
            "amount": "20",
            "min_spend": "200",
            "valid_days": 30,
        },
        {"coupon_kind": "fixed", "min_spend": Decimal(200), "valid_days": 30},
    ),
    ({"kind": "coupon", "coupon_kind": "percent", "amount": "15"}, {"amount": Decimal(15)}),
    ({"kind": "gift", "label": " 护手霜 ", "amount": "35"}, {"label": "护手霜"}),
    ({"kind": "gift", "label": "试用装", "amount": "0"}, {"amount": Decimal(0)}),
    (
        {"kind": "privilege", "label": "VIP 包间", "valid_days": 90, "amount": "99"},
        {"amount": Decimal(0), "valid_days": 90},
    ),
    ({"kind": "honour", "label": "推荐之星"}, {"amount": Decimal(0)}),
    (
        {"kind": "points", "amount": "100", "trigger": "purchase_at_least", "min_amount": "500"},
        {"min_amount": Decimal(500)},
    ),
    (
        {"kind": "points", "amount": "100", "min_amount": "500"},
        {"min_amount": None},  # only purchase_at_least keeps it
    ),
    (
        {"kind": "points", "amount": "1", "hold_days": 0, "cap_per_month": 5, "cap_lifetime": 1},
        {"hold_days": 0, "cap_per_month": 5, "cap_lifetime": 1},
    ),
    ({"kind": "cash", "amount": "5", "label": "ignored", "valid_days": 3}, {"label": ""}),
    ({"kind": "points", "amount": "100", "beneficiary": "referee", "trigger": "lead"}, {}),
]


@pytest.mark.parametrize(("fields", "expected"), GOOD_RULES)
def test_valid_rules_are_stored_consistently(rw: Rewards, fields: dict, expected: dict) -> None:
    program = rw.program()
    rule = _create(rw, program, **fields)
    assert rule.active and rule.tier_id is None
    for name, value in expected.items():
        assert getattr(rule, name) == value, name
    if fields["kind"] != "coupon":
        assert (rule.coupon_kind, rule.min_spend) == (None, None)


BAD_RULES = [
    ({"kind": "points", "amount": "0"}, "amount"),
    ({"kind": "points", "amount": "-5"}, "amount"),
    ({"kind": "points", "amount": "12.5"}, "amount"),
    ({"kind": "points", "amount": "1000001"}, "amount"),
    ({"kind": "points", "amount": "1e30"}, "amount"),
    ({"kind": "cash", "amount": "0"}, "amount"),
    ({"kind": "cash", "amount": "0.001"}, "amount"),
    ({"kind": "cash", "amount": "99999999999999999999"}, "amount"),
    ({"kind": "coupon", "amount": "20"}, "coupon_kind"),
    ({"kind": "coupon", "coupon_kind": "fixed", "amount": "0"}, "amount"),
    ({"kind": "coupon", "coupon_kind": "percent", "amount": "100"}, "amount"),
    ({"kind": "coupon", "coupon_kind": "percent", "amount": "0.5"}, "amount"),
    ({"kind": "coupon", "coupon_kind": "fixed", "amount": "5", "min_spend": "-1"}, "min_spend"),
    ({"kind": "coupon", "coupon_kind": "fixed", "amount": "5", "valid_days": 0}, "valid_days"),
    ({"kind": "coupon", "coupon_kind": "fixed", "amount": "5", "valid_days": 3651}, "valid_days"),
    ({"kind": "gift", "amount": "10"}, "label"),
    ({"kind": "gift", "label": "   ", "amount": "10"}, "label"),
    ({"kind": "gift", "label": "杯子", "amount": "-1"}, "amount"),
    ({"kind": "privilege", "label": "VIP"}, "valid_days"),
    ({"kind": "privilege", "valid_days": 30}, "label"),
    ({"kind": "honour"}, "label"),
    ({"kind": "commission", "amount": "5"}, "kind"),
    ({"kind": "points", "amount": "5", "trigger": "purchase_at_least"}, "min_amount"),
    (
        {"kind": "points", "amount": "5", "trigger": "purchase_at_least", "min_amount": "0"},
        "min_amount",
    ),
    ({"kind": "points", "amount": "5", "trigger": "tier"}, "trigger"),
    ({"kind": "points", "amount": "5", "hold_days": -1}, "hold_days"),
    ({"kind": "points", "amount": "5", "hold_days": 366}, "hold_days"),
    ({"kind": "points", "amount": "5", "cap_per_month": 0}, "cap_per_month"),
    ({"kind": "points", "amount": "5", "cap_lifetime": -3}, "cap_lifetime"),
    ({"kind": "points", "amount": "5", "cap_lifetime": 10**12}, "cap_lifetime"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_RULES)
def test_invalid_rules_are_refused_naming_the_field(rw: Rewards, fields: dict, field: str) -> None:
    program = rw.program()
    with pytest.raises(Invalid) as refused:
        _create(rw, program, **fields)
    assert refused.value.field == field
    with rw.database.unit_of_work(write=False) as s:
        assert s.query(RewardRule).count() == 0


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), "abc", "1..2"])
def test_not_a_number_is_refused_by_the_check_itself(amount: Any) -> None:
    values: dict[str, Any] = dict.fromkeys(rules.RULE_FIELDS)
    values.update(beneficiary="referrer", trigger="lead", kind="cash", amount=amount)
    with pytest.raises(Invalid) as refused:
        rules.check_rule(values, for_tier=False)
    assert (refused.value.field, refused.value.code) == ("amount", "not_a_number")


def test_the_referee_cannot_have_a_tier_rule(rw: Rewards) -> None:
    program = rw.program()
    tier = _tier(rw, program, threshold=3, title="银牌")
    with pytest.raises(Invalid) as refused:
        _create(rw, program, kind="points", amount="5", beneficiary="referee", tier_id=tier)
    assert refused.value.field == "beneficiary"
    with pytest.raises(Invalid) as refused:
        _create(rw, program, kind="points", amount="5", trigger="first_purchase", tier_id=tier)
    assert refused.value.field == "trigger"
    rule = _create(rw, program, kind="points", amount="300", tier_id=tier)
    assert (rule.tier_id, rule.trigger) == (tier, "tier")


def test_a_tier_of_another_program_or_tenant_is_refused(rw: Rewards) -> None:
    first, second = rw.program("一"), rw.program("二")
    tier = _tier(rw, second, threshold=1, title="铜牌")
    with pytest.raises(Invalid):
        _create(rw, first, kind="points", amount="5", tier_id=tier)
    theirs = rw.program("Globex", org=rw.cast.globex)
    their_tier = _tier(rw, theirs, user=rw.cast.oscar, threshold=1, title="Bronze")
    with pytest.raises(NotFound):
        _create(rw, first, kind="points", amount="5", tier_id=their_tier)
    with pytest.raises(NotFound):
        _create(rw, theirs, kind="points", amount="5")


@pytest.mark.parametrize("who", ["maggie", "bob", "victor"])
def test_only_owners_and_admins_change_rewards(rw: Rewards, who: str) -> None:
    program = rw.program()
    rule = _create(rw, program, kind="points", amount="5")
    user = getattr(rw.cast, who)
    with pytest.raises(PermissionDenied):
        _create(rw, program, user=user, kind="points", amount="5")
    with pytest.raises(PermissionDenied):
        _tier(rw, program, user=user, threshold=1, title="x")
    with rw.database.unit_of_work() as s:
        actor = actor_for(user)
        for attempt in (
            lambda: rules.update_rule(s, actor, rule.id, RuleUpdate(amount=Decimal(9))),
            lambda: rules.deactivate_rule(s, actor, rule.id),
            lambda: rules.set_budget(s, actor, program, Decimal(100)),
            lambda: rules.update_settings(
                s,
                actor,
                SettingsFields(
                    return_window_days=7,
                    point_value=Decimal("0.01"),
                    points_valid_days=365,
                    expiry_reminder_days=14,
                    max_redeem_share=Decimal("0.5"),
                ),
            ),
        ):
            with pytest.raises(PermissionDenied):
                attempt()
        # Everybody reads.
        assert [r.id for r in rules.rules_of(s, s.get(ReferralProgram, program))] == [rule.id]
        assert rules.read_settings(s, actor).return_window_days == 7


def test_updating_merges_checks_and_deactivates(rw: Rewards) -> None:
    program = rw.program()
    rule = _create(rw, program, kind="points", amount="500", cap_per_month=5)
    with rw.database.unit_of_work() as s:
        actor = actor_for(rw.cast.alice)
        changed = rules.update_rule(
            s, actor, rule.id, RuleUpdate(kind="coupon", coupon_kind="fixed", amount=Decimal(20))
        )
        assert (changed.kind, changed.amount, changed.cap_per_month) == ("coupon", 20, 5)
        with pytest.raises(Invalid) as refused:
            rules.update_rule(s, actor, rule.id, RuleUpdate(coupon_kind=None))
        assert refused.value.field == "coupon_kind"
        with pytest.raises(Invalid) as refused:
            rules.update_rule(s, actor, rule.id, RuleUpdate(kind=None))
        assert refused.value.field == "kind"
        s.rollback()
        cleared = rules.update_rule(s, actor, rule.id, RuleUpdate(cap_per_month=None))
        assert cleared.cap_per_month is None
        assert not rules.deactivate_rule(s, actor, rule.id).active
        s.commit()
    with rw.database.unit_of_work(write=False) as s:
        stored = s.get(RewardRule, rule.id)
        assert (stored.kind, stored.active, stored.cap_per_month) == ("points", False, None)


def test_tiers_validate_and_thresholds_are_unique_per_program(rw: Rewards) -> None:
    program, other = rw.program("一"), rw.program("二")
    first = _tier(rw, program, threshold=1, title="铜牌推荐官")
    _tier(rw, other, threshold=1, title="另一个计划")
    with pytest.raises(Conflict) as duplicate:
        _tier(rw, program, threshold=1, title="重复")
    assert duplicate.value.field == "threshold"
    for fields, field in [
        ({"threshold": 0, "title": "零"}, "threshold"),
        ({"threshold": 1001, "title": "太多"}, "threshold"),
        ({"threshold": -1, "title": "负"}, "threshold"),
        ({"threshold": 3, "title": "   "}, "title"),
        ({"threshold": 3, "title": "金", "makes_agent": True}, "commission_rate"),
        (
            {"threshold": 3, "title": "金", "makes_agent": True, "commission_rate": "1"},
            "commission_rate",
        ),
        (
            {"threshold": 3, "title": "金", "makes_agent": True, "commission_rate": "0"},
            "commission_rate",
        ),
        (
            {"threshold": 3, "title": "金", "makes_agent": True, "commission_rate": "-0.1"},
            "commission_rate",
        ),
    ]:
        with pytest.raises(Invalid) as refused:
            _tier(rw, program, **fields)
        assert refused.value.field == field, fields
    agent = _tier(
        rw, program, threshold=20, title="分销商", makes_agent=True, commission_rate="0.05"
    )
    plain = _tier(rw, program, threshold=5, title="银牌", commission_rate="0.3")
    with rw.database.unit_of_work() as s:
        actor = actor_for(rw.cast.alice)
        ladder = rules.ladder_of(s, s.get(ReferralProgram, program))
        assert [r.tier.threshold for r in ladder] == [1, 5, 20]
        assert ladder[1].tier.commission_rate is None  # only agents have a rate
        assert ladder[2].tier.commission_rate == Decimal("0.05")
        with pytest.raises(Conflict):
            rules.update_tier(s, actor, plain, TierFields(threshold=1))
        s.rollback()
        moved = rules.update_tier(s, actor, plain, TierFields(threshold=3, title="银牌推荐官"))
        assert (moved.threshold, moved.title) == (3, "银牌推荐官")
        s.commit()
    rule = _create(rw, program, kind="points", amount="300", tier_id=agent)
    with rw.database.unit_of_work() as s:
        rules.delete_tier(s, actor_for(rw.cast.alice), agent)
        s.commit()
    with rw.database.unit_of_work(write=False) as s:
        assert s.get(RewardRule, rule.id) is None
        ladder = rules.ladder_of(s, s.get(ReferralProgram, program))
        assert [r.tier.id for r in ladder] == [first, plain]


def test_settings_are_read_with_defaults_and_checked(rw: Rewards) -> None:
    good = {
        "return_window_days": 14,
        "point_value": Decimal("0.02"),
        "points_valid_days": 730,
        "expiry_reminder_days": 7,
        "max_redeem_share": Decimal("0.3"),
    }
    with rw.database.unit_of_work() as s:
        actor = actor_for(rw.cast.alice)
        assert rules.read_settings(s, actor).return_window_days == 7
        for change, field in [
            ({"return_window_days": -1}, "return_window_days"),
            ({"return_window_days": 91}, "return_window_days"),
            ({"point_value": Decimal(0)}, "point_value"),
            ({"point_value": Decimal("-0.01")}, "point_value"),
            ({"point_value": Decimal("0.001")}, "point_value"),
            ({"points_valid_days": 0}, "points_valid_days"),
            ({"points_valid_days": 3651}, "points_valid_days"),
            ({"expiry_reminder_days": 91}, "expiry_reminder_days"),
            ({"max_redeem_share": Decimal("1.01")}, "max_redeem_share"),
            ({"max_redeem_share": Decimal("-0.1")}, "max_redeem_share"),
        ]:
            with pytest.raises(Invalid) as refused:
                rules.update_settings(s, actor, SettingsFields(**{**good, **change}))
            assert refused.value.field == field
        rules.update_settings(s, actor, SettingsFields(**good))
        s.commit()
    with rw.database.unit_of_work(write=False) as s:
        row = rules.read_settings(s, actor_for(rw.cast.maggie))
        assert rules.settings_values(row) == good
        assert rules.read_settings(s, actor_for(rw.cast.oscar)).return_window_days == 7


def test_rules_in_one_line(rw: Rewards) -> None:
    program = rw.program()
    zh = translations("zh_CN").gettext
    en = translations("en").gettext
    first = _create(rw, program, kind="points", amount="500", cap_per_month=5)
    assert rules.describe_rule(first, zh) == "被推荐人首单后 推荐人得 500 积分，每月最多 5 次"
    assert rules.describe_rule(first, en) == (
        "After the friend's first purchase, the referrer gets 500 points, at most 5 a month"
    )
    coupon = _create(
        rw,
        program,
        kind="coupon",
        coupon_kind="fixed",
        amount="20",
        min_spend="200",
        beneficiary="referee",
        trigger="lead",
        hold_days=0,
    )
    assert rules.describe_rule(coupon, zh) == (
        "被推荐人留资后 被推荐人得 ¥20 优惠券（满 ¥200 可用），立即可用"
    )
    big = _create(
        rw,
        program,
        kind="cash",
        amount="50",
        trigger="purchase_at_least",
        min_amount="1000",
        cap_lifetime=3,
        hold_days=10,
    )
    assert "¥1000" in rules.describe_rule(big, zh) and "累计最多 3 次" in rules.describe_rule(
        big, zh
    )
    assert "10 天后可用" in rules.describe_rule(big, zh)
    assert "ruleset" not in rules.describe_rule(big, translations("zh_TW").gettext)


def test_budget_usage_counts_live_rewards_only(rw: Rewards) -> None:
    program = rw.program()
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", program_id=program)  # 500 points × ¥0.01 = ¥5
    rw.issue(wang.id, 300, key="b", program_id=program)
    with rw.database.unit_of_work() as s:
        actor = actor_for(rw.cast.alice)
        row = s.get(ReferralProgram, program)
        usage = rules.budget_usage(s, row)
        assert (usage.budget, usage.spent, usage.left, usage.share) == (
            None,
            Decimal("8.00"),
            None,
            None,
        )
        rules.set_budget(s, actor, program, Decimal("10"))
        usage = rules.budget_usage(s, row)
        assert (usage.left, usage.percent) == (Decimal("2.00"), 80)
        for bad in (Decimal(-1), Decimal("0.001"), Decimal("1e12"), Decimal("NaN")):
            with pytest.raises(Invalid) as refused:
                rules.set_budget(s, actor, program, bad)
            assert refused.value.field == "reward_budget"
        s.commit()
    capped = rw.issue(wang.id, 300, key="c", program_id=program)
    assert capped.status == RewardStatus.CAPPED and capped.status_reason == "budget"
    with rw.database.unit_of_work(write=False) as s:
        assert rules.budget_usage(s, s.get(ReferralProgram, program)).spent == Decimal("8.00")
