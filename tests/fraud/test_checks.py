"""Checks are made where leads are made: the landing page, staff entry, conversion."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from laoke.customers.models import Customer
from laoke.fraud.devices import COOKIE
from laoke.fraud.models import CustomerDevice, FraudHousehold
from laoke.fraud.review import release_block
from laoke.referrals.models import ReferralLead
from tests.fraud.conftest import codes_of


def submit(client, code, phone="139 0013 9000", name="李娜"):
    return client.post(f"/r/{code}", data={"name": name, "phone": phone, "consent": "yes"})


def test_a_landing_page_lead_is_checked_and_its_device_remembered(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    page = client.get(f"/r/{code}")
    device = page.cookies.get(COOKIE) or client.cookies.get(COOKIE)
    assert device and "httponly" in page.headers["set-cookie"].lower()
    assert "samesite=lax" in page.headers["set-cookie"].lower()
    assert submit(client, code).status_code == 200
    (lead,) = ref.leads()
    assert lead.device_hash and len(lead.device_hash) == 64 and device not in lead.device_hash
    check = ref.check(lead.id)
    assert check.status == "clear" and not check.flagged and check.stage == "created"
    assert len(ref.evaluations(lead.id)) == 1
    with ref.database.unit_of_work() as s:
        assert release_block(s, lead.org_id, lead.id) is None


def test_a_referrer_signing_up_a_friend_on_their_own_phone_is_flagged(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    with ref.database.unit_of_work() as s:
        from laoke.accounts.service import actor_for
        from laoke.referrals import portal

        secret = portal.create_link(s, actor_for(ref.cast.alice), referrer.id)
        s.commit()
    assert client.get(f"/me/{secret}").status_code == 200
    with ref.database.unit_of_work() as s:
        (device,) = s.scalars(select(CustomerDevice)).all()
        assert device.customer_id == referrer.id and device.ip_hash
    assert client.get(f"/me/{secret}").status_code == 200  # same browser: still one row
    submit(client, code)
    (lead,) = ref.leads()
    check = ref.check(lead.id)
    assert "self_device" in codes_of(check) and check.status == "pending"
    with ref.database.unit_of_work() as s:
        assert release_block(s, lead.org_id, lead.id) == "review"
        assert len(s.scalars(select(CustomerDevice)).all()) == 1


def test_several_friends_from_one_browser_are_flagged(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    for phone in ("13900139001", "13900139002", "13900139003"):
        submit(client, code, phone=phone)
    last = ref.leads()[-1]
    check = ref.check(last.id)
    assert "device_reuse" in codes_of(check) and check.flagged


def test_staff_entered_leads_are_checked_with_email_variants(ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000", email="xiaomei.wang@gmail.com")
    lead_id = ref.staff_lead(
        "13900139000", referrer_customer_id=referrer.id, email="X.i.a.o.Mei.Wang+friend@gmail.com"
    )
    check = ref.check(lead_id)
    assert check is not None and "self_email" in codes_of(check) and check.status == "pending"
    clean = ref.staff_lead("13900139001", referrer_customer_id=referrer.id, email="li@qq.com")
    assert ref.check(clean).status == "clear"
    throwaway = ref.staff_lead(
        "13900139002", referrer_customer_id=referrer.id, email="a@yopmail.com"
    )
    assert codes_of(ref.check(throwaway)) == {"disposable_email"}


def test_a_friend_resubmitted_by_the_same_referrer_is_a_duplicate(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    submit(client, code, phone="13900139000")
    client.cookies.clear()
    submit(client, code, phone="+86 139-0013-9000")
    first, second = ref.leads()
    assert second.attribution == "duplicate"
    assert ref.check(first.id).status == "clear"
    check = ref.check(second.id)
    assert "duplicate_referee" in codes_of(check) and check.flagged


def test_a_burst_of_leads_trips_velocity(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    for i in range(7):
        client.cookies.clear()
        submit(client, code, phone=f"1390013{9000 + i}")
    statuses = [ref.check(lead.id) for lead in ref.leads()]
    assert [c.flagged for c in statuses[:5]] == [False] * 5
    assert "velocity_referrer_hour" in codes_of(statuses[-1]) and statuses[-1].flagged


def test_conversion_is_checked_again_and_a_fast_one_is_flagged(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    submit(client, code)
    (lead,) = ref.leads()
    friend = ref.customer("李娜", "+8613900139000", stage="prospect")
    ref.order(friend.id)
    lead = ref.lead(lead.id)
    assert lead.status == "converted"
    check = ref.check(lead.id)
    assert check.stage == "converted" and "fast_conversion" in codes_of(check)
    assert check.status == "pending" and len(ref.evaluations(lead.id)) == 2


def test_a_slow_conversion_stays_clear(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    submit(client, code)
    (lead,) = ref.leads()
    with ref.database.unit_of_work() as s:
        earlier = lead.created_at - timedelta(days=2)
        s.execute(update(ReferralLead).values(created_at=earlier))
        s.commit()
    friend = ref.customer("李娜", "+8613900139000", stage="prospect")
    ref.order(friend.id)
    check = ref.check(lead.id)
    assert check.stage == "converted" and check.status == "clear", check.hits


def test_a_family_at_one_address_is_not_flagged_and_a_household_stays_quiet(ref) -> None:
    ref.program()
    home = "上海市徐汇区漕溪路100弄5号1201室"
    mum = ref.customer("王妈妈", "+8613800138000", address=home)
    ref.customer(
        "王小妹", "+8613900139000", stage="prospect", address="上海市 徐汇区 漕溪路 100弄 5号 1201"
    )
    lead_id = ref.staff_lead("13900139000", referrer_customer_id=mum.id)
    check = ref.check(lead_id)
    assert codes_of(check) >= {"self_address"} and check.status == "clear", check.hits
    with ref.database.unit_of_work() as s:
        from laoke.fraud.signals import address_key

        s.add(FraudHousehold(org_id=mum.org_id, address_key=address_key(home)))
        s.commit()
    ref.customer("王小弟", "+8613900139001", stage="prospect", address=home)
    later = ref.staff_lead("13900139001", referrer_customer_id=mum.id)
    assert "self_address" not in codes_of(ref.check(later))


def test_a_referral_closing_a_loop_is_flagged(ref) -> None:
    ref.program()
    a = ref.customer("甲", "+8613800138001")
    b = ref.customer("乙", "+8613800138002")
    c = ref.customer("丙", "+8613800138003")
    ab = ref.staff_lead("13800138002", referrer_customer_id=a.id)
    bc = ref.staff_lead("13800138003", referrer_customer_id=b.id)
    ca = ref.staff_lead("13800138001", referrer_customer_id=c.id)
    assert ref.evaluations(ab)[0].hits == [] and ref.evaluations(bc)[0].hits == []
    check = ref.check(ca)
    assert "ring_cycle" in codes_of(check) and check.flagged
    (hit,) = [h for h in check.hits if h["code"] == "ring_cycle"]
    assert hit["inputs"]["cycle"] == [c.id, a.id, b.id, c.id]
    # The ring's earlier referrals are checked again and held too.
    for earlier in (ab, bc):
        assert "ring_cycle" in codes_of(ref.check(earlier))
        assert ref.check(earlier).status == "pending"
        assert len(ref.evaluations(earlier)) == 2


def test_refunds_of_earlier_friends_flag_the_next_referral(ref, database) -> None:
    from laoke.orders.models import Order

    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    for i in range(2):
        phone = f"+861390013900{i}"
        lead_id = ref.staff_lead(phone, referrer_customer_id=referrer.id)
        friend = ref.customer(f"朋友{i}", phone, stage="prospect")
        order_id = ref.order(friend.id)
        assert ref.lead(lead_id).converting_order_id == order_id
        with database.unit_of_work() as s:
            s.execute(update(Order).where(Order.id == order_id).values(status="refunded"))
            s.commit()
    lead_id = ref.staff_lead("13900139009", referrer_customer_id=referrer.id)
    check = ref.check(lead_id)
    assert "refund_after_reward" in codes_of(check) and check.flagged


def test_erasing_a_customer_forgets_devices_and_compared_details(ref, database) -> None:
    from laoke.fraud.hooks import scrub_fraud
    from laoke.fraud.models import FraudCheck, FraudEvaluation

    ref.program()
    referrer = ref.customer("王小美", "+8613800138000", email="xiaomei@gmail.com")
    lead_id = ref.staff_lead(
        "13900139000", referrer_customer_id=referrer.id, email="xiao.mei@gmail.com"
    )
    assert ref.check(lead_id).hits[0]["inputs"]["email"]
    with database.unit_of_work() as s:
        s.add(CustomerDevice(org_id=referrer.org_id, customer_id=referrer.id, device_hash="d" * 64))
        s.commit()
        scrub_fraud(s, referrer.org_id, referrer.id)
        s.commit()
        assert s.scalars(select(CustomerDevice)).all() == []
        assert s.get(Customer, referrer.id) is not None
        for model in (FraudCheck, FraudEvaluation):
            (row,) = s.scalars(select(model)).all()
            assert [h["code"] for h in row.hits] == ["self_email"]
            assert "email" not in row.hits[0]["inputs"]


def test_a_hostile_device_cookie_is_replaced(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    client.cookies.set(COOKIE, "<script>alert(1)</script>")
    response = submit(client, code)
    assert response.status_code == 200
    fresh = response.cookies.get(COOKIE)
    assert fresh and "<" not in fresh and len(fresh) >= 16
    (lead,) = ref.leads()
    assert lead.device_hash and "script" not in lead.device_hash


def test_the_cookie_is_set_once_and_kept(client, ref) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    code = ref.code_of(referrer.id)
    first = client.get(f"/r/{code}")
    assert COOKIE in first.headers.get("set-cookie", "")
    second = client.get(f"/r/{code}")  # the cached page, same browser
    assert COOKIE not in second.headers.get("set-cookie", "")
    submit(client, code, phone="13900139001")
    client.cookies.clear()
    submit(client, code, phone="13900139002")
    one, two = ref.leads()
    assert one.device_hash != two.device_hash


def test_a_friend_released_by_a_lost_lead_may_be_referred_again(ref, database) -> None:
    from laoke.referrals import leads as lead_service

    ref.program()
    first = ref.customer("王小美", "+8613800138000")
    second = ref.customer("张大卫", "+8613800138001")
    earlier = ref.staff_lead("13900139000", referrer_customer_id=first.id)
    with database.unit_of_work() as s:
        lead_service.change_status(
            s, s.get(ReferralLead, earlier), "lost", by_id=None, reason="没兴趣"
        )
        s.commit()
    again = ref.staff_lead("+86 139 0013 9000", referrer_customer_id=second.id)
    assert ref.lead(again).attribution == "attributed"
    assert ref.check(again).status == "clear", ref.check(again).hits
    # The same referrer trying again after losing is still a resubmission.
    third = ref.staff_lead("13900139000", referrer_customer_id=first.id)
    assert "duplicate_referee" in codes_of(ref.check(third))
