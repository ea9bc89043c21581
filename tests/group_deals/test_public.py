"""The public group page `/g/{token}`: what it shows, joining, hostile input, closed groups."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from laoke.customers.models import Customer
from laoke.group_deals.groups import SOURCE_CHANNEL
from laoke.group_deals.models import GroupStatus
from laoke.referrals.throttle import Limit, Limits, Throttle


@pytest.fixture
def group(gd):
    offer = gd.offer(description="三人成团，团长免单")
    leader = gd.customer("王小美", "+8613800138000")
    return gd.open(offer, leader.id)


def join(client, token, **fields):
    data = {"name": "李娜", "phone": "139 0013 9000", "consent": "yes", **fields}
    return client.post(f"/g/{token}", data=data)


def test_the_page_shows_the_offer_the_masked_leader_and_what_is_needed(client, group) -> None:
    page = client.get(f"/g/{group.token}")
    assert page.status_code == 200
    text = page.text
    assert "3人成团 1人免单" in text and "三人成团，团长免单" in text
    assert "王**" in text and "王小美" not in text and "138" not in text
    english = client.get(f"/g/{group.token}?lang=en").text
    assert "1 of 3 joined" in english and "0 bought" in english and "2 more needed" in english
    assert "left" in english
    assert 'name="website"' in text and "<script" not in text
    assert page.headers["cache-control"] == "no-store"
    assert client.get(f"/g/{group.token.upper()}").status_code == 200


def test_languages(client, group) -> None:
    assert "opened a group" in client.get(f"/g/{group.token}?lang=en").text
    client.cookies.clear()
    taiwan = client.get(f"/g/{group.token}", headers={"Accept-Language": "zh-TW,zh;q=0.9"})
    assert 'lang="zh-TW"' in taiwan.text


def test_a_new_friend_joins_and_becomes_a_customer_from_the_group_deal(
    client, gd, group, database, cast
) -> None:
    response = join(client, group.token)
    assert response.status_code == 200 and 'data-test="join-thanks"' in response.text
    _leader, friend = gd.members(group.id)
    assert friend.source == "link" and friend.consent and not friend.is_leader
    with database.unit_of_work(write=False) as s:
        customer = s.get(Customer, friend.customer_id)
        assert (customer.name, customer.primary_phone) == ("李娜", "+8613900139000")
        assert customer.source_channel == SOURCE_CHANNEL
        assert customer.owner_id == cast.bob.id  # whoever looks after the leader
    # The friend buys: they qualify.
    gd.order(friend.customer_id, "200")
    assert gd.members(group.id)[1].qualified_at is not None


def test_an_existing_customer_is_matched_by_phone_even_written_full_width(
    client, gd, group, database
) -> None:
    existing = gd.customer("李娜", "+8613900139000")
    response = join(client, group.token, phone="１３９ ００１３ ９０００", name="娜娜")
    assert response.status_code == 200, response.text
    assert gd.members(group.id)[1].customer_id == existing.id
    with database.unit_of_work(write=False) as s:
        assert s.scalar(select(Customer.name).where(Customer.id == existing.id)) == "李娜"


def test_the_same_phone_cannot_join_twice(client, gd, group) -> None:
    assert join(client, group.token).status_code == 200
    again = join(client, f"{group.token}?lang=en", phone="+86 139-0013-9000")
    assert again.status_code == 409 and 'data-test="form-error"' in again.text
    assert "already joined" in again.text
    assert len(gd.members(group.id)) == 2


def test_nobody_is_in_two_open_groups_of_the_same_offer(client, gd, group) -> None:
    other = gd.open(group.offer_id, gd.customer("张伟", "+8613700137000").id)
    assert join(client, group.token).status_code == 200
    response = join(client, f"{other.token}?lang=en")
    assert response.status_code == 409 and "already in an open group" in response.text
    assert len(gd.members(other.id)) == 1
    # The leader of one group cannot join the other either.
    assert join(client, other.token, phone="13800138000", name="王小美").status_code == 409


def test_the_honeypot_records_nothing(client, gd, group) -> None:
    response = join(client, group.token, website="http://spam.example")
    assert response.status_code == 200 and 'data-test="join-thanks"' in response.text
    assert len(gd.members(group.id)) == 1


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"phone": "12345"}, 422, "phone"),
        ({"phone": "abc<script>"}, 422, "phone"),
        ({"phone": "1" * 1999}, 422, "phone"),
        ({"name": ""}, 422, "name"),
        ({"name": "   "}, 422, "name"),
        ({"name": "x" * 1999}, 422, "100"),
        ({"consent": ""}, 422, "contact"),
    ],
)
def test_bad_input_gets_a_friendly_message(client, gd, group, fields, status, message) -> None:
    response = join(client, f"{group.token}?lang=en", **fields)
    assert response.status_code == status
    assert 'data-test="form-error"' in response.text and message in response.text.lower()
    assert "Traceback" not in response.text and "<script>" not in response.text
    assert len(gd.members(group.id)) == 1


def test_errors_are_translated(client, group) -> None:
    page = join(client, group.token, phone="12345")
    assert page.status_code == 422 and "手机号" in page.text
    assert "not valid" not in page.text


@pytest.mark.parametrize("token", ["zzzzzzzzzzzz", "nope", "<script>alert(1)</script>", "x" * 500])
def test_unknown_links_get_a_friendly_404(client, group, token) -> None:
    for response in (client.get(f"/g/{token}"), join(client, token)):
        assert response.status_code == 404
        assert "text/html" in response.headers["content-type"]
        assert "<script>alert" not in response.text


def test_a_full_group_takes_no_one_else(client, gd, group) -> None:
    assert join(client, group.token).status_code == 200
    assert join(client, group.token, phone="13900139002", name="张伟").status_code == 200
    page = client.get(f"/g/{group.token}")
    assert 'data-test="group-closed"' in page.text and 'name="phone"' not in page.text
    late = join(client, group.token, phone="13900139003", name="赵六")
    assert late.status_code == 409 and 'data-test="form-error"' in late.text
    assert len(gd.members(group.id)) == 3


@pytest.mark.parametrize("status", ["completed", "expired", "cancelled"])
def test_closed_groups_say_so_and_take_no_joins(client, gd, group, database, status) -> None:
    if status == "expired":
        gd.backdate(group.id, hours=49)  # past the deadline: expired on read
    else:
        with database.unit_of_work() as s:
            from laoke.group_deals.models import Group

            s.get(Group, group.id).status = GroupStatus(status)
            s.commit()
    page = client.get(f"/g/{group.token}?lang=en")
    assert page.status_code == 200 and 'data-test="group-closed"' in page.text
    assert 'name="phone"' not in page.text
    response = join(client, group.token)
    assert response.status_code == 409
    assert len(gd.members(group.id)) == 1


def test_the_qr_code_encodes_the_link(client, group) -> None:
    response = client.get(f"/g/{group.token}/qr.svg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    assert client.get("/g/nope/qr.svg").status_code == 404


def test_joins_are_rate_limited_per_address(app, client, gd, group) -> None:
    app.state.group_throttle = Throttle(
        Limits(submit_per_ip=Limit(per_minute=0.01, burst=2), submit_per_code=Limit(60, 100))
    )
    assert join(client, group.token).status_code == 200
    assert join(client, group.token, phone="13900139002").status_code == 200
    assert join(client, group.token, phone="13900139003").status_code == 429
