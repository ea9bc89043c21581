"""Column mapping from headers in simplified Chinese, traditional Chinese and English."""

from __future__ import annotations

import pytest

from laoke.customers.import_catalogue import CUSTOMER_FIELDS, detect_mapping
from laoke.imports.mapping import InvalidMapping, normalise_header, parse_mapping_json

SIMPLIFIED = [
    "客户姓名",
    "手机号",
    "收货地址",
    "微信号",
    "出生日期",
    "性别",
    "标签",
    "备注",
    "渠道",
    "负责人",
    "邮箱",
    "需求",
    "购买力",
    "圈层",
]
TRADITIONAL = [
    "客戶姓名",
    "聯絡電話",
    "收貨地址",
    "微信號",
    "生日",
    "性別",
    "標籤",
    "備註",
    "來源",
    "負責人",
    "電子郵件",
    "需求",
    "購買力",
    "圈層",
]
ENGLISH = [
    "Name",
    "Mobile",
    "Address",
    "WeChat",
    "Date of Birth",
    "Gender",
    "Tags",
    "Notes",
    "Source",
    "Owner",
    "E-mail",
    "Needs",
    "Purchasing power",
    "Social circle",
]
EXPECTED = [
    "name",
    "phones",
    "address",
    "wechat_id",
    "birthday",
    "gender",
    "tags",
    "notes",
    "source_channel",
    "owner",
    "email",
    "needs",
    "purchasing_power",
    "social_circle",
]


@pytest.mark.parametrize(
    "headers", [SIMPLIFIED, TRADITIONAL, ENGLISH], ids=["zh-CN", "zh-TW", "en"]
)
def test_headers_in_three_languages(headers: list[str]) -> None:
    assert detect_mapping(headers) == EXPECTED


def test_variants_and_decorations() -> None:
    headers = [
        "名字",
        "手机号码（必填）*",
        "电话",
        "Phone",
        "昵称",
        "客户来源",
        "E-Mail Address",
        "会员手机号码",
    ]
    assert detect_mapping(headers) == [
        "name",
        "phones",
        "phones",
        "phones",
        "nickname",
        "source_channel",
        "email",
        "phones",
    ]
    assert normalise_header(" 手机 号（必填）* ") == "手机号"
    assert normalise_header("ＥＭＡＩＬ") == "email"


def test_a_nickname_column_alone_is_the_name() -> None:
    assert detect_mapping(["昵称", "电话"]) == ["name", "phones"]


def test_unknown_columns_are_kept_as_custom_attributes() -> None:
    assert detect_mapping(["姓名", "肤质", "Company name", "销售额"]) == [
        "name",
        "custom",
        "custom",
        "custom",
    ]


def test_overrides_by_header_or_letter_and_their_checks() -> None:
    headers = ["姓名", "联系方式", "肤质"]
    detected = detect_mapping(headers)
    assert CUSTOMER_FIELDS.apply_overrides(
        headers, detected, {"C": "ignore", "联系方式": "wechat_id"}
    ) == ["name", "wechat_id", "ignore"]
    with pytest.raises(InvalidMapping):
        CUSTOMER_FIELDS.apply_overrides(headers, detected, {"不存在": "name"})
    with pytest.raises(InvalidMapping):
        CUSTOMER_FIELDS.apply_overrides(headers, detected, {"C": "salary"})
    with pytest.raises(InvalidMapping):
        CUSTOMER_FIELDS.apply_overrides(headers, detected, {"C": "name"})  # two name columns
    with pytest.raises(InvalidMapping):
        parse_mapping_json("[not json")
    assert parse_mapping_json('{"A": "name"}') == {"A": "name"}


def test_header_row_recognition() -> None:
    assert CUSTOMER_FIELDS.is_known("手机号")
    assert not CUSTOMER_FIELDS.is_known("客户名单（2024 年导出，请勿外传，仅供内部使用）")
