"""Each rule alone: what fires, what does not, and the weights that make a flag."""

from __future__ import annotations

from dataclasses import replace

from laoke.fraud.rules import (
    REASONS,
    Match,
    Party,
    ReferralFacts,
    Thresholds,
    evaluate,
)
from laoke.fraud.signals import address_key, email_key, phone_key

HOME = address_key("上海市徐汇区漕溪路100弄5号1201室")
ME = Party(
    phones=frozenset({"+8613800138000"}),
    emails=frozenset({"johnsmith@gmail.com"}),
    address=HOME,
    devices=frozenset({"dev-me"}),
    ips=frozenset({"ip-home"}),
)
FRIEND = Party(phones=frozenset({"+8613900139000"}), devices=frozenset({"dev-friend"}))
BASE = ReferralFacts(lead_id=1, referrer=ME, referee=FRIEND, referrer_node=1, referee_node=2)


def codes(facts: ReferralFacts, limits: Thresholds | None = None) -> set[str]:
    return {hit.code for hit in evaluate(facts, limits).hits}


def friend(**fields) -> ReferralFacts:
    return replace(BASE, referee=replace(FRIEND, **fields))


def test_an_ordinary_referral_is_clear() -> None:
    decision = evaluate(BASE)
    assert decision.hits == [] and decision.score == 0 and not decision.flagged


def test_every_rule_has_a_reason() -> None:
    assert all(text.endswith(".") for text in REASONS.values())


def test_self_referral_by_a_phone_variant() -> None:
    decision = evaluate(friend(phones=frozenset({phone_key("＋８６ １３８-0013-8000")})))
    assert decision.flagged and {h.code for h in decision.hits} == {"self_phone"}
    assert (
        decision.hits[0].inputs["phone"].endswith("00")
        and "****" in decision.hits[0].inputs["phone"]
    )


def test_self_referral_by_a_gmail_dot_variant() -> None:
    decision = evaluate(friend(emails=frozenset({email_key("j.o.h.n.s.m.i.t.h+2@googlemail.com")})))
    assert decision.flagged and {h.code for h in decision.hits} == {"self_email"}


def test_self_referral_by_device() -> None:
    assert codes(friend(devices=frozenset({"dev-me"}))) == {"self_device"}
    assert evaluate(friend(devices=frozenset({"dev-me"}))).flagged


def test_a_shared_address_alone_does_not_flag() -> None:
    same_home = friend(address=address_key("上海市 徐汇区 漕溪路100弄 5号 1201"))
    decision = evaluate(same_home)
    assert codes(same_home) == {"self_address"} and not decision.flagged
    # ... but with another signal it does.
    assert evaluate(replace(same_home, device_leads=1)).flagged


def test_a_household_address_carries_no_weight() -> None:
    same_home = replace(friend(address=HOME), household=True, device_leads=1)
    assert codes(same_home) == {"device_reuse"} and not evaluate(same_home).flagged


def test_an_ip_address_alone_never_flags() -> None:
    crowded = friend(ips=frozenset({"ip-home"}))
    crowded = replace(crowded, ip_leads_day=50)
    decision = evaluate(crowded)
    assert codes(crowded) == {"shared_ip"} and decision.score < 1.0 and not decision.flagged


def test_duplicate_referee() -> None:
    held = (Match("lead", 7, "phone"),)
    assert evaluate(replace(BASE, matches=held)).flagged
    again = (Match("lead", 7, "email", same_referrer=True),)
    assert evaluate(replace(BASE, matches=again, attributed=False)).flagged
    # Someone else referred them first and attribution already refused this lead: a note.
    noted = evaluate(replace(BASE, matches=held, attributed=False))
    assert {h.code for h in noted.hits} == {"duplicate_referee"} and not noted.flagged


def test_a_referral_closing_a_cycle_is_a_ring() -> None:
    cycle = replace(BASE, referrer_node=3, referee_node=1, edges=frozenset({(1, 2), (2, 3)}))
    (hit,) = evaluate(cycle).hits
    assert hit.code == "ring_cycle" and hit.inputs["cycle"] == [3, 1, 2, 3]
    five = frozenset({(1, 2), (2, 3), (3, 4), (4, 5)})
    assert codes(replace(BASE, referrer_node=5, referee_node=1, edges=five)) == {"ring_cycle"}
    chain = replace(BASE, referrer_node=5, referee_node=6, edges=five)
    assert codes(chain) == set()


def test_a_small_group_referring_each_other_is_a_cluster() -> None:
    group = frozenset({(1, 3), (3, 2), (1, 4), (4, 2)})
    decision = evaluate(replace(BASE, referrer_node=1, referee_node=2, edges=group))
    assert {h.code for h in decision.hits} == {"ring_cluster"} and decision.flagged
    # A friend who refers several friends is a star, not a cluster.
    star = frozenset({(1, 3), (1, 4), (1, 5)})
    assert codes(replace(BASE, referrer_node=1, referee_node=2, edges=star)) == set()


def test_velocity_per_referrer_and_per_code() -> None:
    limits = Thresholds()
    assert codes(replace(BASE, referrer_leads_hour=5, referrer_leads_day=12)) == set()
    assert codes(replace(BASE, referrer_leads_hour=6)) == {"velocity_referrer_hour"}
    assert codes(replace(BASE, referrer_leads_day=13)) == {"velocity_referrer_day"}
    leaked = replace(BASE, code_leads_hour=9, code_ips_hour=9)
    (hit,) = evaluate(leaked, limits).hits
    assert hit.code == "velocity_code_hour" and hit.inputs["distinct_ips_last_hour"] == 9
    assert codes(replace(BASE, code_leads_day=21)) == {"velocity_code_day"}
    assert codes(replace(BASE, referrer_leads_hour=6), Thresholds(referrer_hour_limit=10)) == set()


def test_too_fast_conversion() -> None:
    assert evaluate(replace(BASE, conversion_seconds=45)).flagged
    assert codes(replace(BASE, conversion_seconds=3 * 60 + 1)) == set()
    assert codes(replace(BASE, conversion_seconds=45, source="staff")) == set()
    assert codes(replace(BASE, conversion_seconds=-5)) == set()


def test_refund_after_reward() -> None:
    assert not evaluate(replace(BASE, friends_refunded=1, friends_converted=3)).flagged
    assert evaluate(replace(BASE, friends_refunded=2, friends_converted=3)).flagged
    assert codes(replace(BASE, friends_converted=5)) == set()


def test_disposable_email() -> None:
    throwaway = friend(emails=frozenset({email_key("Someone@Mailinator.com")}))
    assert codes(throwaway) == {"disposable_email"} and evaluate(throwaway).flagged
    assert codes(friend(emails=frozenset({email_key("someone@qq.com")}))) == set()


def test_device_reuse_across_friends() -> None:
    assert not evaluate(replace(BASE, device_leads=1)).flagged
    assert evaluate(replace(BASE, device_leads=2)).flagged


def test_hits_carry_their_inputs_for_the_record() -> None:
    decision = evaluate(replace(BASE, referrer_leads_hour=7, conversion_seconds=10))
    records = [hit.as_dict() for hit in decision.hits]
    assert {r["code"] for r in records} == {"velocity_referrer_hour", "fast_conversion"}
    assert all(set(r) == {"code", "weight", "inputs"} and r["inputs"] for r in records)
    assert decision.score == 2.0
