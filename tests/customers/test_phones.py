"""Phone normalisation: every way people write a number gives one E.164 string."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laoke.customers.phones import (
    InvalidPhone,
    digits_fragment,
    format_phone,
    mask_phone,
    normalize_phone,
    split_phones,
)
from laoke.demo.people import MOBILE_PREFIXES

mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(MOBILE_PREFIXES),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _variants(digits: str) -> list[str]:
    return [
        digits,
        f"+86{digits}",
        f"+86 {digits}",
        f"0086{digits}",
        f"0086 {digits}",
        f"86{digits}",
        f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
        f"(+86) {digits[:3]}-{digits[3:7]}-{digits[7:]}",
        _fullwidth(digits),
        _fullwidth(f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"),
        f"\u3000{digits}\u3000",
    ]


@given(mobiles)
def test_every_spelling_of_a_mobile_number_normalises_to_the_same_e164(digits: str) -> None:
    results = {normalize_phone(variant).e164 for variant in _variants(digits)}
    assert results == {f"+86{digits}"}


@given(mobiles)
def test_masking_keeps_the_first_three_and_last_four_digits(digits: str) -> None:
    masked = mask_phone(f"+86{digits}")
    assert masked == f"{digits[:3]}****{digits[7:]}"


@given(mobiles)
def test_formatting_groups_digits_3_4_4(digits: str) -> None:
    assert format_phone(f"+86{digits}") == f"{digits[:3]} {digits[3:7]} {digits[7:]}"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("010-8888 6666", "+861088886666"),
        ("(021) 5555 1234", "+862155551234"),
        ("0755-2345 6789", "+8675523456789"),
        ("+852 9123 4567", "+85291234567"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("138 1234 5678 转 123", "+8613812345678"),
    ],
)
def test_landlines_foreign_numbers_and_extensions(raw: str, e164: str) -> None:
    assert normalize_phone(raw).e164 == e164


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "12345",
        "1381234567",
        "138123456789",
        "abc",
        "13812345678abc",
        "+86 000 0000 0000",
        "☎",
    ],
)
def test_invalid_numbers_are_rejected_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw)
    assert info.value.code == "invalid_phone"
    assert info.value.message


def test_a_cell_with_several_numbers_yields_each_once() -> None:
    phones, bad = split_phones("138 1234 5678 / 010-8888 6666；13812345678、139 8765 4321 或 12")
    assert [p.e164 for p in phones] == ["+8613812345678", "+861088886666", "+8613987654321"]
    assert bad == ["12"]


def test_numbers_separated_by_single_spaces_are_split() -> None:
    phones, bad = split_phones("13812345678 13987654321")
    assert [p.e164 for p in phones] == ["+8613812345678", "+8613987654321"]
    assert bad == []


def test_search_fragments_are_digits_only() -> None:
    assert digits_fragment("5678") == "5678"
    assert digits_fragment("１３８ 12") == "13812"
    assert digits_fragment("王丽") is None
    assert digits_fragment("12") is None


def test_foreign_numbers_keep_their_country_code_when_masked() -> None:
    assert mask_phone("+14155552671") == "+1 415***2671"
