"""A manager on a phone imports a spreadsheet: upload, check the columns, start, watch, download."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.imports.files import xlsx

pytestmark = pytest.mark.browser

ROWS = [
    ["门店客户名单"],
    [],
    ["客户姓名", "联系电话", "微信号", "生日", "性别", "标签", "肤质"],
    ["王丽", "138 1234 5678", "wx_wangli", "1990/5/3", "女", "VIP，宝妈", "干性"],
    ["李娜", "+86 139-1234-5678", "", "1988年2月1日", "女士", "新客", ""],
    ["王丽", "13812345678", "", "", "", "上班族", ""],
    ["", "13700000000", "", "", "", "", ""],
]


def test_upload_confirm_progress_summary(live_server, phone_page, cast, tmp_path) -> None:
    path = xlsx(tmp_path / "客户名单.xlsx", ROWS)
    page = phone_page
    page.goto(f"{live_server}/login")
    page.fill("#email", cast.maggie.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/today")  # staff land on their Today list

    page.click("[data-test=nav-imports]")
    page.wait_for_url(f"{live_server}/imports")
    page.set_input_files("[data-test=file]", str(path))
    page.click("[data-test=upload]")
    page.wait_for_selector("[data-test=mapping]")
    assert "表头在第 3 行" in page.content()
    assert page.input_value("[data-test=map-1]") == "phones"
    assert page.input_value("[data-test=map-6]") == "custom"
    page.select_option("[data-test=map-6]", "ignore")
    page.check("[data-test=policy-fill]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page itself does not scroll sideways; the table does"
    page.click("[data-test=confirm]")

    page.wait_for_selector("[data-test=summary]", timeout=30_000)
    assert page.inner_text("[data-test=inserted]") == "2"
    assert page.inner_text("[data-test=duplicates]") == "1"
    assert page.inner_text("[data-test=rejected]") == "1"
    page.reload()  # the finished job survives a reload
    assert page.inner_text("[data-test=read]") == "4"
    with page.expect_download() as download:
        page.click("[data-test=report-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")

    page.goto(f"{live_server}/customers?q=王丽")
    page.wait_for_selector("[data-test=customer-row]")
    assert "VIP" in page.inner_text("[data-test=customer-row]")
