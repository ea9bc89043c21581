"""The rewards pages: a program's rules, ladder and budget, editing rules and tiers, and the
reward settings; forms work without JavaScript, refuse bad input kindly, escape what they
show and are read-only without MANAGE_SETTINGS."""

from __future__ import annotations

from decimal import Decimal

import pytest

from laoke.referrals.models import ReferralProgram
from laoke.rewards.models import RewardRule, RewardSettings, RewardTier
from tests.conftest import Cast, csrf_from
from tests.rewards.conftest import Rewards

HOSTILE = "<script>alert('x')</script>"


def _form(page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_from(page), **fields}


def _rules(rw: Rewards) -> list[RewardRule]:
    with rw.database.unit_of_work(write=False) as s:
        rows = list(s.query(RewardRule).order_by(RewardRule.id))
        s.expunge_all()
        return rows


def test_the_program_page_links_here_and_shows_fields_per_kind(
    rw: Rewards, cast: Cast, browser_of
) -> None:
    program = rw.program()
    browser = browser_of(cast.alice)
    assert (
        f'href="/rewards/programs/{program}"' in browser.get(f"/referrals/programs/{program}").text
    )
    listing = browser.get("/referrals/programs").text
    assert (
        f'href="/rewards/programs/{program}"' in listing and 'href="/settings/rewards"' in listing
    )
    page = browser.get(f"/rewards/programs/{program}")
    assert page.status_code == 200
    assert 'name="amount"' in page.text and 'name="coupon_kind"' not in page.text
    coupon = browser.get(f"/rewards/programs/{program}?kind=coupon").text
    assert 'name="coupon_kind"' in coupon and 'name="min_spend"' in coupon
    assert 'name="valid_days"' in coupon and 'name="label"' not in coupon
    honour = browser.get(f"/rewards/programs/{program}?kind=honour").text
    assert 'name="label"' in honour and 'name="amount"' not in honour
    bogus = browser.get(f"/rewards/programs/{program}?kind=<b>").text
    assert 'value="points"' in bogus


def test_adding_editing_and_stopping_a_rule(rw: Rewards, cast: Cast, browser_of) -> None:
    program = rw.program()
    browser = browser_of(cast.alice)
    page = browser.get(f"/rewards/programs/{program}").text
    added = browser.post(
        f"/rewards/programs/{program}/rules",
        data=_form(
            page,
            kind="points",
            beneficiary="referrer",
            trigger="first_purchase",
            amount="500",
            cap_per_month="5",
        ),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    shown = browser.get(added.headers["location"]).text
    assert "500 积分" in shown and "每月 5 次" in shown and "已添加奖励规则" in shown
    (rule,) = _rules(rw)
    edit = browser.get(f"/rewards/rules/{rule.id}?kind=coupon").text
    assert "被推荐人首单后 推荐人得 500 积分，每月最多 5 次" in edit
    saved = browser.post(
        f"/rewards/rules/{rule.id}",
        data=_form(
            edit,
            kind="coupon",
            coupon_kind="percent",
            amount="15",
            beneficiary="referee",
            trigger="lead",
            hold_days="0",
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    (rule,) = _rules(rw)
    assert (rule.kind, rule.coupon_kind, rule.amount, rule.cap_per_month) == (
        "coupon",
        "percent",
        Decimal(15),
        None,
    )
    assert "15% 折扣券" in browser.get(f"/rewards/programs/{program}").text
    stop = browser.post(
        f"/rewards/rules/{rule.id}/deactivate", data=_form(edit), follow_redirects=False
    )
    assert stop.status_code == 303 and not _rules(rw)[0].active
    assert "已停用" in browser.get(f"/rewards/programs/{program}").text
    browser.post(f"/rewards/rules/{rule.id}/activate", data=_form(edit))
    assert _rules(rw)[0].active


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "points", "amount": "-5"}, "积分须为大于零的整数"),
        ({"kind": "points", "amount": "1.5"}, "积分须为大于零的整数"),
        ({"kind": "points", "amount": "99999999999999999999999"}, "金额最多为"),
        ({"kind": "points", "amount": "abc"}, "请输入数字"),
        ({"kind": "cash", "amount": ""}, "请输入大于零的金额"),
        ({"kind": "coupon", "coupon_kind": "percent", "amount": "150"}, "1% 到 99%"),
        ({"kind": "gift", "label": "", "amount": "3"}, "库存中的名称"),
        ({"kind": "privilege", "label": "VIP", "valid_days": ""}, "有效天数"),
        ({"kind": "points", "amount": "5", "hold_days": "999"}, "0 到 365"),
        ({"kind": "points", "amount": "5", "cap_lifetime": "1e5"}, "请输入整数"),
        ({"kind": "points", "amount": "5", "trigger": "purchase_at_least"}, "消费金额"),
        ({"kind": "points", "amount": "5", "trigger": "tier"}, "只用于奖励阶梯"),
        ({"kind": "commission", "amount": "5"}, "请从选项中选择"),
        ({"kind": "points", "amount": "5", "beneficiary": "boss"}, "请从选项中选择"),
    ],
)
def test_bad_rule_forms_are_shown_again_with_the_reason(
    rw: Rewards, cast: Cast, browser_of, fields: dict, message: str
) -> None:
    program = rw.program()
    browser = browser_of(cast.alice)
    page = browser.get(f"/rewards/programs/{program}").text
    data = {"beneficiary": "referrer", "trigger": "first_purchase", **fields}
    response = browser.post(f"/rewards/programs/{program}/rules", data=_form(page, **data))
    assert response.status_code == 422
    assert message in response.text
    assert 'data-test="field-error"' in response.text
    assert _rules(rw) == []


def test_hostile_text_is_shown_escaped(rw: Rewards, cast: Cast, browser_of) -> None:
    program = rw.program(HOSTILE)
    browser = browser_of(cast.alice)
    page = browser.get(f"/rewards/programs/{program}?kind=gift").text
    browser.post(
        f"/rewards/programs/{program}/rules",
        data=_form(
            page, kind="gift", label=HOSTILE, amount="10", beneficiary="referrer", trigger="lead"
        ),
    )
    browser.post(
        f"/rewards/programs/{program}/tiers", data=_form(page, threshold="1", title=HOSTILE)
    )
    refused = browser.post(
        f"/rewards/programs/{program}/budget", data=_form(page, reward_budget=HOSTILE)
    )
    assert refused.status_code == 422 and HOSTILE not in refused.text
    shown = browser.get(f"/rewards/programs/{program}").text
    assert HOSTILE not in shown
    assert "&lt;script&gt;" in shown
    assert shown.count("&lt;script&gt;alert(") >= 3  # the program name, the gift, the title


def test_the_ladder_is_built_from_pages(rw: Rewards, cast: Cast, browser_of) -> None:
    program = rw.program()
    browser = browser_of(cast.alice)
    page = browser.get(f"/rewards/programs/{program}").text
    for threshold, title in (("1", "铜牌"), ("3", "银牌")):
        done = browser.post(
            f"/rewards/programs/{program}/tiers",
            data=_form(page, threshold=threshold, title=title),
            follow_redirects=False,
        )
        assert done.status_code == 303
    duplicate = browser.post(
        f"/rewards/programs/{program}/tiers", data=_form(page, threshold="3", title="又一个")
    )
    assert duplicate.status_code == 422 and "此推荐数已经有一个阶梯了" in duplicate.text
    for bad, message in (
        ({"threshold": "0", "title": "x"}, "1 到 1000"),
        ({"threshold": "", "title": "x"}, "此项必填"),
        ({"threshold": "5", "title": " "}, "请为阶梯填写称号"),
        ({"threshold": "5", "title": "x", "makes_agent": "1"}, "佣金比例"),
        ({"threshold": "5", "title": "x", "makes_agent": "1", "commission_rate": "5"}, "佣金比例"),
    ):
        response = browser.post(f"/rewards/programs/{program}/tiers", data=_form(page, **bad))
        assert response.status_code == 422 and message in response.text, bad
    top = browser.post(
        f"/rewards/programs/{program}/tiers",
        data=_form(page, threshold="5", title="分销商", makes_agent="1", commission_rate="0.05"),
        follow_redirects=False,
    )
    tier_url = top.headers["location"].split("?")[0]
    tier_page = browser.get(tier_url + "?kind=cash").text
    assert "成功推荐 5 人时达到" in tier_page and "佣金 5%" in tier_page
    assert 'name="beneficiary"' not in tier_page  # tier rules always reward the referrer
    tier_id = int(tier_url.rsplit("/", 1)[1])
    reward = browser.post(
        f"/rewards/programs/{program}/rules",
        data=_form(tier_page, kind="cash", amount="88", tier_id=str(tier_id)),
        follow_redirects=False,
    )
    assert reward.status_code == 303, reward.text
    ladder = browser.get(f"/rewards/programs/{program}").text
    assert ladder.index("铜牌") < ladder.index("银牌") < ladder.index("分销商，佣金 5%")
    assert "¥88 现金" in ladder
    renamed = browser.post(
        tier_url,
        data=_form(
            tier_page, threshold="10", title="金牌分销商", makes_agent="1", commission_rate="0.08"
        ),
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    with rw.database.unit_of_work(write=False) as s:
        tier = s.get(RewardTier, tier_id)
        assert (tier.threshold, tier.title, tier.commission_rate) == (
            10,
            "金牌分销商",
            Decimal("0.08"),
        )
    gone = browser.post(f"{tier_url}/delete", data=_form(tier_page), follow_redirects=False)
    assert gone.status_code == 303
    with rw.database.unit_of_work(write=False) as s:
        assert s.get(RewardTier, tier_id) is None
        assert s.query(RewardRule).count() == 0


def test_the_budget_bar(rw: Rewards, cast: Cast, browser_of) -> None:
    program = rw.program()
    wang = rw.customer()
    rw.issue(wang.id, 2500, key="a", program_id=program)  # ¥25
    browser = browser_of(cast.alice)
    page = browser.get(f"/rewards/programs/{program}").text
    assert "未设预算" in page and "¥25.00" in page
    for bad in ("-1", "abc", "1e30", "0.001"):
        response = browser.post(
            f"/rewards/programs/{program}/budget", data=_form(page, reward_budget=bad)
        )
        assert response.status_code == 422, bad
    saved = browser.post(
        f"/rewards/programs/{program}/budget",
        data=_form(page, reward_budget="100"),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    shown = browser.get(f"/rewards/programs/{program}").text
    assert (
        '<progress max="100" value="25"' in shown and "预算 ¥100.00，已花费 ¥25.00（25%）" in shown
    )
    browser.post(f"/rewards/programs/{program}/budget", data=_form(page, reward_budget=""))
    with rw.database.unit_of_work(write=False) as s:
        assert s.get(ReferralProgram, program).reward_budget is None


def test_settings_page_saves_and_validates(rw: Rewards, cast: Cast, browser_of) -> None:
    browser = browser_of(cast.alice)
    page = browser.get("/settings/rewards")
    assert page.status_code == 200 and 'value="7"' in page.text
    good = {
        "return_window_days": "14",
        "point_value": "0.02",
        "points_valid_days": "730",
        "expiry_reminder_days": "7",
        "max_redeem_share": "0.3",
    }
    for change, message in (
        ({"return_window_days": "91"}, "0 到 90"),
        ({"return_window_days": "1.5"}, "请输入整数"),
        ({"point_value": "0"}, "大于零"),
        ({"point_value": HOSTILE}, "请输入数字"),
        ({"points_valid_days": ""}, "此项必填"),
        ({"max_redeem_share": "1.5"}, "0 到 1"),
    ):
        response = browser.post("/settings/rewards", data=_form(page.text, **{**good, **change}))
        assert response.status_code == 422 and message in response.text, change
        assert HOSTILE not in response.text
    saved = browser.post("/settings/rewards", data=_form(page.text, **good), follow_redirects=False)
    assert saved.status_code == 303
    assert "15 天" in browser.get("/settings/rewards").text  # the default hold now
    with rw.database.unit_of_work(write=False) as s:
        row = s.get(RewardSettings, cast.acme.id)
        assert (row.return_window_days, row.point_value) == (14, Decimal("0.02"))


@pytest.mark.parametrize("who", ["maggie", "bob", "victor"])
def test_others_read_but_cannot_change(rw: Rewards, cast: Cast, browser_of, who: str) -> None:
    program = rw.program()
    rule = rw.rule(program)
    admin = browser_of(cast.alice)
    admin_page = admin.get(f"/rewards/programs/{program}").text
    admin.post(
        f"/rewards/programs/{program}/tiers", data=_form(admin_page, threshold="1", title="铜")
    )
    with rw.database.unit_of_work(write=False) as s:
        tier_id = s.query(RewardTier.id).scalar()
    browser = browser_of(getattr(cast, who))
    page = browser.get(f"/rewards/programs/{program}")
    assert page.status_code == 200 and 'data-test="read-only"' in page.text
    assert 'data-test="rule-form"' not in page.text and 'data-test="tier-form"' not in page.text
    assert "500 积分" in page.text
    assert browser.get(f"/rewards/rules/{rule}").status_code == 200
    assert browser.get(f"/rewards/tiers/{tier_id}").status_code == 200
    settings = browser.get("/settings/rewards")
    assert settings.status_code == 200 and "disabled" in settings.text
    token = csrf_from(page.text)
    for url, data in (
        (f"/rewards/programs/{program}/rules", {"kind": "points", "amount": "5"}),
        (f"/rewards/rules/{rule}", {"kind": "points", "amount": "5"}),
        (f"/rewards/rules/{rule}/deactivate", {}),
        (f"/rewards/programs/{program}/tiers", {"threshold": "2", "title": "x"}),
        (f"/rewards/tiers/{tier_id}", {"threshold": "2", "title": "x"}),
        (f"/rewards/tiers/{tier_id}/delete", {}),
        (f"/rewards/programs/{program}/budget", {"reward_budget": "5"}),
        ("/settings/rewards", {"return_window_days": "1"}),
    ):
        response = browser.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 403, url
    assert _rules(rw)[0].active and len(_rules(rw)) == 1


def test_another_tenants_pages_are_not_found(rw: Rewards, cast: Cast, browser_of) -> None:
    program = rw.program()
    rule = rw.rule(program)
    oscar = browser_of(cast.oscar)
    page = oscar.get("/settings/rewards").text
    for url in (f"/rewards/programs/{program}", f"/rewards/rules/{rule}"):
        assert oscar.get(url).status_code == 404
    for url in (
        f"/rewards/programs/{program}/rules",
        f"/rewards/rules/{rule}/deactivate",
        f"/rewards/programs/{program}/budget",
    ):
        response = oscar.post(url, data=_form(page, kind="points", amount="1"))
        assert response.status_code == 404, url
    assert _rules(rw)[0].active
