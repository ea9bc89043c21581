"""Customer pages: forms, errors shown in place, and who may see what."""

from __future__ import annotations

from sqlalchemy import select

from laoke.audit.models import AuditAction, AuditEvent
from laoke.customers.models import Customer
from tests.conftest import csrf_from


def _form(client, path: str, **fields):
    token = csrf_from(client.get("/customers/new").text)
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def test_a_customer_is_created_from_the_form_and_shown(cast, browser_of) -> None:
    bob = browser_of(cast.bob)
    response = _form(
        bob,
        "/customers/new",
        name="王丽",
        phones="138 1234 5678\n+86 139 8765 4321",
        tags="VIP，宝妈",
        custom_attributes="肤质 = 干性",
        marketing_consent="on",
        birthday="1990-05-03",
    )
    assert response.status_code == 303
    page = bob.get(response.headers["location"]).text
    assert "王丽" in page and "138****5678" in page and "13812345678" not in page
    assert "宝妈" in page and "干性" in page and "1990-05-03" in page


def test_form_errors_are_shown_next_to_the_field_and_nothing_is_saved(
    cast, browser_of, database
) -> None:
    bob = browser_of(cast.bob)
    _form(bob, "/customers/new", name="王丽", phones="13812345678")
    duplicate = _form(bob, "/customers/new", name="李娜", phones="+86 138-1234-5678")
    assert (
        duplicate.status_code == 409
        and "138****5678" in duplicate.text
        and "李娜" in duplicate.text
    )
    bad = _form(bob, "/customers/new", name="", phones="12")
    assert bad.status_code == 422
    bad_date = _form(bob, "/customers/new", name="张三", birthday="1990-02-30")
    assert bad_date.status_code == 422
    with database.unit_of_work() as s:
        assert s.scalar(select(Customer.name).where(Customer.name != "王丽")) is None


def test_editing_keeps_what_is_not_changed(cast, browser_of) -> None:
    alice = browser_of(cast.alice)
    location = _form(
        alice, "/customers/new", name="王丽", phones="13812345678", email="wl@qq.com"
    ).headers["location"]
    edit_page = alice.get(f"{location}/edit").text
    assert 'value="wl@qq.com"' in edit_page
    response = _form(
        alice,
        f"{location}/edit",
        name="王丽丽",
        phones="138 1234 5678",
        email="wl@qq.com",
        owner_id=str(cast.carol.id),
    )
    assert response.status_code == 303
    page = alice.get(location).text
    assert "王丽丽" in page and "Carol" in page


def test_reveal_merge_and_erase_from_the_page_are_audited(cast, browser_of, database) -> None:
    maggie = browser_of(cast.maggie)
    kept = _form(maggie, "/customers/new", name="王丽", phones="13812345678").headers["location"]
    dup = _form(maggie, "/customers/new", name="王丽", phones="13987654321").headers["location"]
    detail = maggie.get(kept).text
    assert f'value="{dup.rsplit("/", 1)[1]}"' in detail  # offered as a likely duplicate
    token = csrf_from(detail)
    revealed = maggie.post(f"{kept}/reveal", data={"csrf_token": token})
    assert "138 1234 5678" in revealed.text
    merged = maggie.post(
        f"{kept}/merge",
        data={"csrf_token": token, "other_id": dup.rsplit("/", 1)[1]},
        follow_redirects=False,
    )
    assert merged.headers["location"].startswith(kept)
    assert maggie.get(dup, follow_redirects=False).headers["location"] == kept
    not_confirmed = maggie.post(f"{kept}/erase", data={"csrf_token": token}, follow_redirects=False)
    assert "#" not in maggie.get(kept).text.split('data-test="customer-name">')[1][:3]
    assert not_confirmed.status_code == 303
    maggie.post(f"{kept}/erase", data={"csrf_token": token, "confirm": "erase"})
    with database.unit_of_work() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {AuditAction.PII_REVEALED, AuditAction.MERGED, AuditAction.ERASED} <= actions


def test_colleagues_and_other_tenants_get_nothing(cast, browser_of) -> None:
    carol = browser_of(cast.carol)
    carols = _form(carol, "/customers/new", name="Carol的客户", phones="13812345678").headers[
        "location"
    ]
    oscar = browser_of(cast.oscar)
    theirs = _form(oscar, "/customers/new", name="Oscar的客户", phones="13812345678").headers[
        "location"
    ]
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get("/customers").text)
    assert "Carol的客户" not in bob.get("/customers").text
    for who, path in ((bob, carols), (bob, theirs), (browser_of(cast.alice), theirs)):
        assert who.get(path).status_code == 404
        assert who.get(f"{path}/edit").status_code in (403, 404)
        assert who.post(f"{path}/reveal", data={"csrf_token": token}).status_code in (403, 404)
    victor = browser_of(cast.victor)
    assert victor.get(carols).status_code == 200
    assert "13812345678" not in victor.get(carols).text
    assert victor.get("/customers/new").status_code == 403
    assert (
        victor.post(
            f"{carols}/reveal", data={"csrf_token": csrf_from(victor.get(carols).text)}
        ).status_code
        == 403
    )
