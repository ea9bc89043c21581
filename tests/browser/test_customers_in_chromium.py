"""A salesperson's day on a phone: sign in, add a customer, find them by phone, switch to English."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_create_find_by_phone_and_switch_language(live_server, phone_page, cast) -> None:
    page = phone_page
    page.goto(f"{live_server}/login")
    page.fill("#email", cast.bob.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/today")  # staff land on their Today list
    page.click("nav a[href='/customers']")
    page.wait_for_url(f"{live_server}/customers")
    assert page.locator("h1").inner_text() == "客户"

    page.click("[data-test=new-customer]")
    page.fill("#name", "周晓梅")
    page.fill("#phones", "１３９ 8765-4321")
    page.fill("#tags", "VIP，宝妈")
    page.click("[data-test=save]")
    assert page.locator("[data-test=customer-name]").inner_text() == "周晓梅"
    assert "139****4321" in page.locator("[data-test=phones]").inner_text()

    page.click("[data-test=reveal]")
    page.wait_for_selector("[data-test=phones] a[href^='tel:']")
    assert "139 8765 4321" in page.locator("[data-test=phones]").inner_text()

    page.goto(f"{live_server}/customers")
    page.fill("#q", "0000")
    page.wait_for_url("**q=0000**")  # search-as-you-type keeps a shareable address
    page.wait_for_function("document.querySelectorAll('[data-test=customer-row]').length === 0")
    page.fill("#q", "4321")
    page.wait_for_url("**q=4321**")
    page.wait_for_function("document.querySelectorAll('[data-test=customer-row]').length === 1")
    assert "周晓梅" in page.locator("[data-test=customer-row]").inner_text()

    page.select_option("[data-test=language]", "en")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Customers"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no sideways scrolling on a phone"
