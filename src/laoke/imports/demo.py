"""The demo tenant's import: a messy spreadsheet from "the old shop system", really imported.

A new user opens Imports and finds a finished job with duplicates merged, a few rows not
taken in, and the report to download — the same path their own files will take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.config import get_settings
from laoke.customers.models import Customer, CustomerPhone
from laoke.db import Database
from laoke.demo.people import messy_phone, people
from laoke.imports import service
from laoke.imports.cells import write_xlsx
from laoke.imports.jobs import run_job

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

HEADERS = [
    "客户姓名",
    "手机号码",
    "微信号",
    "出生日期",
    "性别",
    "客户标签",
    "来源渠道",
    "跟进人",
    "肤质",
    "备注",
]


def demo_rows(session: Session, ctx: DemoContext, count: int = 120) -> list[list[object]]:
    rng = ctx.rng
    staff = [u.name for u in ctx.staff.values() if u.role == "sales"]
    known = session.execute(
        select(Customer.name, CustomerPhone.e164)
        .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(Customer.org_id == ctx.org.id, Customer.erased_at.is_(None))
        .order_by(Customer.id)
        .limit(400)
    ).all()
    rows: list[list[object]] = []
    for person in people(rng, count):
        birthday = person.birthday
        date_text = ""
        if birthday:
            date_text = rng.choice(
                (
                    birthday.isoformat(),
                    f"{birthday.year}/{birthday.month}/{birthday.day}",
                    f"{birthday.year}年{birthday.month}月{birthday.day}日",
                    birthday.strftime("%Y%m%d"),
                )
            )
        rows.append(
            [
                person.name,
                messy_phone(rng, person.phones[0]),
                person.wechat_id or "",
                date_text,
                rng.choice(("女", "女士", "F", "男", "先生", "")) if person.gender else "",
                "，".join(person.tags),
                person.source_channel,
                rng.choice(staff) if staff and rng.random() < 0.7 else "",
                person.custom_attributes.get("肤质", ""),
                rng.choice(("", "", "老系统导出", "周末到店", "要发票")),
            ]
        )
    for name, e164 in rng.sample(known, min(15, len(known))):
        # Customers the shop already has: merged, their empty fields filled in.
        rows.insert(
            rng.randrange(len(rows)),
            [
                name,
                e164[3:],
                "",
                "",
                "",
                "老客户",
                "",
                "",
                rng.choice(("干性", "油性")),
                "已在系统中",
            ],
        )
    for _ in range(6):
        twin = rng.choice(rows[: len(rows) // 2])
        rows.append([twin[0], twin[1], "", "", "", "复购", "", "", "", "表格里重复录入"])
    rows.insert(
        rng.randrange(len(rows)), ["", "139 0000 0000", "", "", "", "", "", "", "", "没写名字"]
    )
    rows.insert(
        rng.randrange(len(rows)), ["钱多多", "12345", "", "", "", "", "", "", "", "号码少了位"]
    )
    rows.insert(
        rng.randrange(len(rows)),
        ["孙小美", "138 1234", "wx_sunxm", "1990-13-45", "", "", "", "", "", ""],
    )
    return rows


def seed_import(session: Session, ctx: DemoContext) -> None:
    """Import the demo spreadsheet as the manager, to the end, with its report."""
    settings = get_settings()
    folder = settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "老系统导出-客户名单.xlsx"
    rows = demo_rows(session, ctx)
    write_xlsx(path, HEADERS, rows, title="客户名单")
    manager = ctx.actor("manager@demo.laoke.local")
    with path.open("rb") as source:
        job = service.create_job(session, settings, manager, "customers", path.name, source)
    service.confirm_job(session, manager, job.id, policy="fill", default_owner_id=None)
    run_job(Database(session.get_bind()), settings, job.id)
