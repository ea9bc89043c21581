"""Importing a shop's order export: headers mapped without hand work, customers matched by
phone or customer number, unmatched rows reported, re-running adds nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from laoke.accounts.service import actor_for
from laoke.cli import app as cli_app
from laoke.config import get_settings
from laoke.imports import service as imports
from laoke.imports.jobs import run_job
from laoke.imports.models import ImportIssue, ImportJob
from laoke.orders.models import Order
from tests.imports.files import csv_file, xlsx

SHOP_HEADER = [
    "订单号",
    "下单时间",
    "买家手机号",
    "商品名称",
    "数量",
    "单价",
    "实付金额",
    "订单状态",
    "渠道",
    "备注",
    "收货地址",
]
SHOP_ROWS = [
    [
        "T1001",
        "2025-03-05 14:22:10",
        "138 0000 0001",
        "补水面霜",
        "2",
        "198",
        "￥396.00",
        "交易成功",
        "天猫",
        "",
        "北京",
    ],
    [
        "T1001",
        "2025-03-05 14:22:10",
        "138 0000 0001",
        "洁面乳",
        "1",
        "88",
        "88",
        "交易成功",
        "天猫",
        "送小样",
        "北京",
    ],
    [
        "T1002",
        "2025/3/6",
        "+86 13800000002；010-88886666",
        "面部护理",
        "1",
        "",
        "1,280元",
        "退款成功",
        "门店",
        "",
        "",
    ],
    ["T1003", "2025年3月7日", "13900000009", "面部护理", "1", "", "99", "已付款", "门店", "", ""],
    ["T1004", "2025-03-08", "13800000001", "美甲", "1", "", "abc", "已付款", "", "", ""],
    ["T1005", "2025-03-09", "13800000002", "美甲", "1", "", "168", "交易关闭", "", "", ""],
]


def run_import(database, settings, actor, path: Path, batch_size: int = 2, **confirm) -> ImportJob:
    with database.unit_of_work() as s, path.open("rb") as source:
        job = imports.create_job(s, settings, actor, "orders", path.name, source)
        imports.confirm_job(s, actor, job.id, **confirm)
        job_id = job.id
    return run_job(database, settings, job_id, batch_size=batch_size)


def issues(database, job_id: int) -> list[tuple[int, str, str]]:
    with database.unit_of_work(write=False) as s:
        return [
            (i.row_number, i.outcome, i.reason)
            for i in s.scalars(
                select(ImportIssue)
                .where(ImportIssue.job_id == job_id)
                .order_by(ImportIssue.row_number)
            )
        ]


def orders_by_number(database) -> dict[str, Order]:
    with database.unit_of_work(write=False) as s:
        found = {o.order_number: o for o in s.scalars(select(Order))}
        for order in found.values():
            _ = order.items
        s.expunge_all()
        return found


def test_a_gbk_shop_export_maps_and_imports(cast, shop, database, settings, tmp_path) -> None:
    path = csv_file(tmp_path / "淘宝订单.csv", [SHOP_HEADER, *SHOP_ROWS], encoding="gbk")
    job = run_import(database, settings, actor_for(cast.alice), path)
    assert job.mapping[:10] == [
        "order_number",
        "ordered_at",
        "phones",
        "product_name",
        "quantity",
        "unit_price",
        "amount",
        "status",
        "channel",
        "notes",
    ]
    assert (job.rows_read, job.inserted, job.rejected) == (6, 3, 2)
    found = orders_by_number(database)
    assert sorted(found) == ["T1001", "T1002", "T1005"]
    two_lines = found["T1001"]
    assert (two_lines.customer_id, two_lines.amount, two_lines.channel, two_lines.notes) == (
        shop.bobs,
        Decimal("484.00"),
        "天猫",
        "送小样",
    )
    assert two_lines.ordered_at.isoformat() == "2025-03-05T06:22:10+00:00"
    assert [(i.product_name, i.quantity, i.amount, i.lasts_days) for i in two_lines.items] == [
        ("补水面霜", 2, Decimal("396.00"), 90),
        ("洁面乳", 1, Decimal("88.00"), None),
    ]
    assert (found["T1002"].customer_id, found["T1002"].amount, found["T1002"].status) == (
        shop.carols,
        Decimal("1280.00"),
        "refunded",
    )
    assert found["T1002"].ordered_at.isoformat() == "2025-03-06T04:00:00+00:00"
    assert found["T1005"].status == "cancelled"
    report = issues(database, job.id)
    assert [(row, outcome) for row, outcome, _ in report] == [(5, "rejected"), (6, "rejected")]
    assert "phone number" in report[0][2] and "amount" in report[1][2]
    assert Path(job.report_path).exists()
    # The same file again: every order number is already in the pool.
    again = run_import(database, settings, actor_for(cast.alice), path)
    assert (again.inserted, again.skipped, again.rejected) == (0, 4, 2)
    assert len(orders_by_number(database)) == 3


def test_an_order_split_by_a_batch_boundary_is_still_one_order(
    cast, shop, database, settings, tmp_path
) -> None:
    path = csv_file(tmp_path / "shop.csv", [SHOP_HEADER, *SHOP_ROWS[:2]], encoding="gbk")
    job = run_import(database, settings, actor_for(cast.alice), path, batch_size=1)
    assert (job.rows_read, job.inserted, job.rejected) == (2, 1, 0)
    order = orders_by_number(database)["T1001"]
    assert order.amount == Decimal("484.00") and len(order.items) == 2
    again = run_import(database, settings, actor_for(cast.alice), path, batch_size=1)
    assert (again.inserted, again.skipped) == (0, 2)
    assert orders_by_number(database)["T1001"].amount == Decimal("484.00")


def test_an_english_xlsx_with_customer_numbers_and_an_order_total(
    cast, shop, database, settings, tmp_path
) -> None:
    rows = [
        [
            "Order No.",
            "Order date",
            "Customer ID",
            "Product",
            "Quantity",
            "Amount",
            "Order total",
            "Status",
        ],
        ["E-1", "2025-04-01 09:00", "M-002", "Serum", 1, 100, 150, "paid"],
        ["E-1", "2025-04-01 09:00", "M-002", "Mask", 1, 60, 150, "paid"],
        ["E-2", 45755, "M-404", "Serum", 1, 100, "", "paid"],
        ["E-3", "2025-04-03", "", "Serum", 1, 100, "", "refunded"],
    ]
    path = xlsx(tmp_path / "orders.xlsx", rows, title="Orders")
    job = run_import(database, settings, actor_for(cast.maggie), path)
    assert job.mapping == [
        "order_number",
        "ordered_at",
        "external_id",
        "product_name",
        "quantity",
        "amount",
        "order_total",
        "status",
    ]
    assert (job.inserted, job.rejected) == (1, 2)
    order = orders_by_number(database)["E-1"]
    assert (order.customer_id, order.amount, len(order.items)) == (
        shop.carols,
        Decimal("150.00"),
        2,
    )
    reasons = {row: reason for row, _, reason in issues(database, job.id)}
    assert reasons[4] == "No customer in the pool has the customer number %(value)s."
    assert reasons[5] == "No phone number or customer number to find the customer."


def test_traditional_chinese_headers_and_a_salesperson_imports_only_their_customers(
    cast, shop, database, settings, tmp_path
) -> None:
    rows = [
        ["訂單編號", "下單時間", "買家手機", "商品名稱", "實付金額", "訂單狀態"],
        ["W1", "2025-05-01", "13800000001", "補水面霜", "198", "已付款"],
        ["W2", "2025-05-02", "13800000002", "補水面霜", "198", "已付款"],
        ["W3", "2025-05-03", "13800000003", "補水面霜", "198", "已付款"],
        ["W4", "2025-05-04", "13800000001", "補水面霜", "198", "送出了"],
    ]
    path = csv_file(tmp_path / "tw.csv", rows, encoding="big5")
    job = run_import(database, settings, actor_for(cast.bob), path)
    assert job.mapping == [
        "order_number",
        "ordered_at",
        "phones",
        "product_name",
        "amount",
        "status",
    ]
    assert (job.inserted, job.rejected) == (1, 3)
    assert list(orders_by_number(database)) == ["W1"]
    reasons = {row: reason for row, _, reason in issues(database, job.id)}
    assert "colleague" in reasons[3]
    assert "No customer in the pool" in reasons[4]  # globex's customer is not in acme's pool
    assert "order status" in reasons[5]


def test_the_command_line_contract(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAOKE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LAOKE_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("LAOKE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()

    def laoke(*args: str):
        return runner.invoke(cli_app, list(args))

    try:
        assert laoke("init").exit_code == 0
        assert laoke("org", "create", "shop", "--name", "小店").exit_code == 0
        for name, phone in (("王丽", "13800000001"), ("李娜", "13800000002")):
            added = laoke("customers", "add", "--org", "shop", "--name", name, "--phone", phone)
            assert added.exit_code == 0, added.output
        path = csv_file(tmp_path / "shop.csv", [SHOP_HEADER, *SHOP_ROWS], encoding="gbk")
        first = laoke("import", "orders", str(path), "--org", "shop", "--json")
        assert first.exit_code == 0, first.output
        summary = json.loads(first.stdout)
        assert {"read", "inserted", "rejected", "report_path"} <= summary.keys()
        assert (summary["read"], summary["inserted"], summary["rejected"]) == (6, 3, 2)
        assert Path(summary["report_path"]).exists()
        second = json.loads(laoke("import", "orders", str(path), "--org", "shop", "--json").stdout)
        assert (second["read"], second["inserted"], second["rejected"]) == (6, 0, 2)
        missing = laoke("import", "orders", str(tmp_path / "nope.csv"), "--org", "shop", "--json")
        assert missing.exit_code != 0 and "no such file" in missing.output
        garbage = tmp_path / "garbage.xlsx"
        garbage.write_bytes(b"\x00\x01 not a workbook")
        broken = laoke("import", "orders", str(garbage), "--org", "shop", "--json")
        assert broken.exit_code != 0 and broken.stdout == ""
        assert len(broken.stderr.strip().splitlines()) == 1
    finally:
        get_settings.cache_clear()
