"""Value parsers: phones (fast path = full path), dates, genders, tags, yes/no, amounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laoke.customers.phones import national_digits, split_phones
from laoke.imports.values import (
    BadValue,
    parse_amount,
    parse_bool,
    parse_date,
    parse_gender,
    parse_phones,
    parse_power,
    split_tags,
)


def full_path(cell: str) -> list[tuple[str, str, str]]:
    phones, _ = split_phones(cell)
    return [(p.e164, national_digits(p.e164), str(p.kind)) for p in phones]


def shapes(digits: str) -> list[str]:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in digits)
    return [
        digits,
        f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
        f"+86 {digits}",
        f"+86{digits}",
        f"0086{digits}",
        f"86{digits}",
        full_width,
        f" {digits} ",
    ]


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_the_mobile_fast_path_agrees_with_the_full_parser(digits: str) -> None:
    for cell in shapes(digits):
        fast = [(p.e164, p.national, str(p.kind)) for p in parse_phones(cell)[0]]
        assert fast == full_path(cell), cell


def test_landlines_foreign_and_several_numbers_take_the_full_path() -> None:
    phones, bad = parse_phones("138 1234 5678 / 010-8888 6666；0755-2345 6789")
    assert [p.e164 for p in phones] == ["+8613812345678", "+861088886666", "+8675523456789"]
    assert [p.kind for p in phones] == ["mobile", "landline", "landline"]
    assert bad == []
    assert [p.e164 for p in parse_phones("+852 9123 4567")[0]] == ["+85291234567"]
    assert parse_phones("12345") == ([], ["12345"])
    assert parse_phones("") == ([], [])


@pytest.mark.parametrize(
    "text",
    [
        "1990-05-03",
        "1990/5/3",
        "1990.05.03",
        "1990年5月3日",
        "1990年05月03号",
        "19900503",
        "32996",
        "１９９０－０５－０３",
        "1990-05-03 00:00:00",
        "3/5/1990",
    ],
)
def test_dates_in_every_common_form(text: str) -> None:
    assert parse_date(text, day_first=True) == date(1990, 5, 3)


def test_day_and_month_order() -> None:
    assert parse_date("5/3/1990", day_first=False) == date(1990, 5, 3)
    assert parse_date("5/3/1990", day_first=True) == date(1990, 3, 5)
    assert parse_date("25/12/1990") == date(1990, 12, 25)  # obvious without being told
    assert parse_date("12/25/1990") == date(1990, 12, 25)
    with pytest.raises(BadValue) as caught:
        parse_date("5/3/1990")
    assert caught.value.code == "ambiguous_date"
    with pytest.raises(BadValue):
        parse_date("1990-02-30")
    with pytest.raises(BadValue):
        parse_date("下周三")


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2060, 12, 31)))
def test_any_date_survives_every_form(day: date) -> None:
    serial = (day - date(1899, 12, 30)).days
    for text in (
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
        str(serial),
    ):
        assert parse_date(text) == day, text
    assert parse_date(f"{day.day}/{day.month}/{day.year}", day_first=True) == day
    assert parse_date(f"{day.month}/{day.day}/{day.year}", day_first=False) == day
    assert day + timedelta(0) == day


@pytest.mark.parametrize(
    ("text", "gender"),
    [
        ("女", "female"),
        ("女士", "female"),
        ("女性", "female"),
        ("F", "female"),
        ("female", "female"),
        ("Female ", "female"),
        ("小姐", "female"),
        ("男", "male"),
        ("先生", "male"),
        ("M", "male"),
        ("male", "male"),
        ("男性", "male"),
        ("其他", "other"),
        ("保密", "unknown"),
        ("", "unknown"),
    ],
)
def test_gender_words_in_three_languages(text: str, gender: str) -> None:
    assert parse_gender(text) == gender


def test_unknown_gender_words_are_reported() -> None:
    with pytest.raises(BadValue):
        parse_gender("外星人")


def test_tags_split_on_every_separator() -> None:
    assert split_tags("VIP，宝妈;上班族；敏感肌、老客户/学生|新客 , ") == [
        "VIP",
        "宝妈",
        "上班族",
        "敏感肌",
        "老客户",
        "学生",
        "新客",
    ]


def test_yes_no_and_purchasing_power() -> None:
    assert [parse_bool(x) for x in ("是", "同意", "Y", "yes", "1", "√", "✓")] == [True] * 7
    assert [parse_bool(x) for x in ("否", "不同意", "N", "no", "0", "×", "x")] == [False] * 7
    assert [parse_power(x) for x in ("高", "中等", "low", "H", "一般")] == [
        "high",
        "medium",
        "low",
        "high",
        "medium",
    ]
    with pytest.raises(BadValue):
        parse_bool("也许")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("¥1,234.50", "1234.50"),
        ("1234.5元", "1234.50"),
        ("RMB 88", "88.00"),
        ("￥ 1，000", "1000.00"),
        ("(12.00)", "-12.00"),
        ("-3", "-3.00"),
        ("CNY 9.999", "10.00"),
    ],
)
def test_amounts_with_currency_marks(text: str, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)


def test_not_an_amount() -> None:
    with pytest.raises(BadValue):
        parse_amount("十块")
    with pytest.raises(BadValue):
        parse_amount("NaN")
