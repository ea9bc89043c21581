"""Messy customer files for the import benchmark, from the same generator as the demo."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

from laoke.demo.people import messy_phone, people

HEADERS = [
    "客户姓名",
    "手机号码",
    "微信号",
    "邮箱",
    "出生日期",
    "性别",
    "客户标签",
    "来源渠道",
    "收货地址",
    "肤质",
    "备注",
]
GENDER_WORDS = {"female": ("女", "女士", "F", "female"), "male": ("男", "先生", "M", "male")}


def messy_rows(count: int, seed: int = 20261125) -> Iterator[list[str]]:
    """`count` data rows: ~5% the same person again, ~2% not importable, dates in many forms."""
    rng = random.Random(seed)
    recent: list[list[str]] = []
    for person in people(rng, count):
        roll = rng.random()
        if roll < 0.05 and recent:
            twin = rng.choice(recent)
            yield [twin[0], twin[1], "", "", "", "", "复购", "", "", "", "重复录入"]
            continue
        if roll < 0.07:
            yield [
                person.name if roll < 0.06 else "",
                rng.choice(("12345", "138 1234", "无")),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "号码有误",
            ]
            continue
        birthday = person.birthday
        born = ""
        if birthday:
            born = rng.choice(
                (
                    birthday.isoformat(),
                    f"{birthday.year}/{birthday.month}/{birthday.day}",
                    f"{birthday.year}年{birthday.month}月{birthday.day}日",
                    birthday.strftime("%Y%m%d"),
                )
            )
        row = [
            person.name,
            messy_phone(rng, person.phones[0]) if rng.random() < 0.5 else person.phones[0],
            person.wechat_id or "",
            person.email or "",
            born,
            rng.choice(GENDER_WORDS[person.gender]),
            "，".join(person.tags),
            person.source_channel,
            person.address or "",
            person.custom_attributes.get("肤质", ""),
            rng.choice(("", "", "", "周末到店", "老客户介绍")),
        ]
        if len(recent) < 5000:
            recent.append(row)
        else:
            recent[rng.randrange(5000)] = row
        yield row


def write_csv(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["门店客户导出（旧系统）"])
        writer.writerow([])
        writer.writerow(HEADERS)
        writer.writerows(messy_rows(count))
    return path


def write_xlsx(path: Path, count: int) -> Path:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户名单")
    sheet.append(["门店客户导出（旧系统）"])
    sheet.append([])
    sheet.append(HEADERS)
    for row in messy_rows(count, seed=20261126):
        sheet.append(row)
    book.save(path)
    return path
