"""Normalisation: variants of one phone, mailbox or dwelling make one key."""

from __future__ import annotations

import pytest

from laoke.fraud.signals import (
    address_key,
    disposable_domains,
    email_domain,
    email_key,
    is_disposable,
    phone_key,
)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "１３８００１３８０００",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "0086 138 0013 8000",
        "8613800138000",
        "＋８６　１３８－００１３－８０００",
    ],
)
def test_phone_variants_are_one_number(raw: str) -> None:
    assert phone_key(raw) == "+8613800138000"


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "abc", "12", "1" * 500, "<script>", "138\x000013\x008000", "+999"]
)
def test_malformed_or_hostile_phones_give_no_key(raw: str | None) -> None:
    assert phone_key(raw) is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("john.smith@gmail.com", "johnsmith@gmail.com"),
        ("J.O.H.N.Smith+promo@GMAIL.com", "johnsmith@gmail.com"),
        ("johnsmith@googlemail.com", "johnsmith@gmail.com"),
        ("ｊｏｈｎｓｍｉｔｈ＠ｇｍａｉｌ．ｃｏｍ", "johnsmith@gmail.com"),
        (" <johnsmith@gmail.com> ", "johnsmith@gmail.com"),
        ("12345+refer@qq.com", "12345@qq.com"),
        ("li.na+1@163.com", "li.na@163.com"),
        ("Li.Na+x@Outlook.com", "li.na@outlook.com"),
        ("mailto:a.b@126.com", "a.b@126.com"),
    ],
)
def test_email_variants_are_one_mailbox(raw: str, key: str) -> None:
    assert email_key(raw) == key


def test_dots_matter_outside_gmail() -> None:
    assert email_key("li.na@163.com") != email_key("lina@163.com")


@pytest.mark.parametrize(
    "raw", [None, "", "no-at-sign", "a@b", "@gmail.com", "+tag@gmail.com", "a@@b.com", "x" * 400]
)
def test_malformed_emails_give_no_key(raw: str | None) -> None:
    assert email_key(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "北京市朝阳区建国路8号3栋2单元502室",
        "北京市 朝阳区 建国路 8 号 3 栋 2 单元 502 室",
        "北京市朝阳区建国路８号３栋２单元５０２",
        "北京市朝阳区建国路8號3棟2單元502室",
        "北京市朝阳区建国路8号三栋二单元502室",
        "北京市朝阳区，建国路8号-3栋-2单元-502室。",
        "北京市朝阳区建国路8号3号楼2单元502",
    ],
)
def test_address_variants_are_one_dwelling(raw: str) -> None:
    assert address_key(raw) == "北京市朝阳区建国路8号3栋2单元502室"


def test_different_flats_stay_different() -> None:
    assert address_key("建国路8号3栋2单元502室") != address_key("建国路8号3栋2单元503室")


@pytest.mark.parametrize("raw", [None, "", "  ", "!!", "a"])
def test_empty_addresses_give_no_key(raw: str | None) -> None:
    assert address_key(raw) is None


def test_disposable_domains_are_bundled_and_match_subdomains() -> None:
    assert len(disposable_domains()) >= 300
    assert is_disposable("mailinator.com") and is_disposable("x.yopmail.com")
    assert is_disposable(email_domain("Someone+x@GuerrillaMail.com"))
    for everyday in ("qq.com", "163.com", "gmail.com", "outlook.com", "126.com", "sina.com"):
        assert not is_disposable(everyday)
    assert not is_disposable(None) and not is_disposable("")
