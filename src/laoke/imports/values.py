"""Cell values as people type them, made into the values we store.

Each parser takes the cell text and returns the value, or raises `BadValue` with a message id
saying what is wrong (shown in the report in the user's language). Phones have a fast path
for the common case — an 11-digit mainland mobile, possibly with +86/0086, spaces or dashes —
that gives exactly what `laoke.customers.phones` would, without a full phonenumbers parse;
everything else (landlines, foreign numbers, several numbers in a cell) takes the full path.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers

from laoke.customers.phones import DEFAULT_REGION, PhoneKind, national_digits, split_phones
from laoke.errors import N_, Invalid


class BadValue(Invalid):
    code = "bad_value"
    default_message = N_("This value is not valid.")


# --- phones -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhoneValue:
    e164: str
    national: str
    kind: str


def _cn_patterns() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    return re.compile(metadata.mobile.national_number_pattern)


_CN_MOBILE = _cn_patterns()
_FAST_MOBILE = re.compile(r"(?:\+86|0086|86)?[ -]?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})")


def parse_phones(cell: str, region: str = DEFAULT_REGION) -> tuple[list[PhoneValue], list[str]]:
    """All numbers in a cell, normalised to E.164; returns (numbers, parts not understood)."""
    text = cell.strip()
    if not text:
        return [], []
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).strip()
    match = _FAST_MOBILE.fullmatch(text)
    if match is not None and region == DEFAULT_REGION:
        national = match[1] + match[2] + match[3]
        # The metadata's own mobile pattern: valid exactly when phonenumbers says so.
        if _CN_MOBILE.fullmatch(national):
            return [PhoneValue("+86" + national, national, PhoneKind.MOBILE)], []
    phones, bad = split_phones(text, region)
    return [PhoneValue(p.e164, national_digits(p.e164), str(p.kind)) for p in phones], bad


# --- dates --------------------------------------------------------------------------------

_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's 1900 leap-year bug
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号號]?")
_DMY = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{1,5}(?:\.0+)?")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def parse_date(text: str, *, day_first: bool | None = None) -> date:
    """1990-05-03, 1990/5/3, 1990年5月3日, 19900503, Excel serials, and 5/3/1990 or 3/5/1990
    when the order is stated (or obvious because one part is above 12)."""
    raw = unicodedata.normalize("NFKC", text).strip()
    raw = _TIME_TAIL.sub("", raw)
    try:
        if match := _YMD.fullmatch(raw):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _COMPACT.fullmatch(raw):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if _SERIAL.fullmatch(raw):
            serial = int(float(raw))
            if 1 <= serial <= 2958465:
                return _EXCEL_EPOCH + timedelta(days=serial)
        if match := _DMY.fullmatch(raw):
            first, second, year = int(match[1]), int(match[2]), int(match[3])
            if day_first is None:
                if first > 12 >= second:
                    day_first = True
                elif second > 12 >= first:
                    day_first = False
                elif first == second:
                    day_first = True
                else:
                    raise BadValue(
                        N_(
                            "The date %(value)s could be day/month or month/day; "
                            "choose the date order for this import."
                        ),
                        code="ambiguous_date",
                        value=text,
                    )
            day, month = (first, second) if day_first else (second, first)
            return date(year, month, day)
    except ValueError:
        pass
    raise BadValue(N_("%(value)s is not a date we understand."), code="bad_date", value=text)


# --- words --------------------------------------------------------------------------------


def _key(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


_GENDERS = {
    "female": (
        "女 女士 女性 女生 女的 小姐 太太 夫人 阿姨 妈妈 宝妈 f female woman w girl lady ms mrs miss 女子"
    ),
    "male": ("男 男士 男性 男生 男的 先生 叔叔 m male man boy mr 男子"),
    "other": "其他 其它 other x 非二元 nonbinary",
    "unknown": "未知 保密 不详 不詳 unknown n/a na 无 無 -",
}
GENDER_WORDS = {_key(w): g for g, words in _GENDERS.items() for w in words.split()}


@lru_cache(maxsize=1024)
def parse_gender(text: str) -> str:
    """female / male / other / unknown, from words in Chinese (both scripts) or English."""
    key = _key(text)
    if not key:
        return "unknown"
    if key in GENDER_WORDS:
        return GENDER_WORDS[key]
    raise BadValue(N_("%(value)s is not a gender we understand."), code="bad_gender", value=text)


_POWER = {
    "high": "高 很高 强 強 高消费 高消費 high h a 3 大",
    "medium": "中 中等 一般 普通 medium mid m b 2 适中 適中",
    "low": "低 较低 較低 弱 低消费 低消費 low l c 1 小",
}
POWER_WORDS = {_key(w): p for p, words in _POWER.items() for w in words.split()}


@lru_cache(maxsize=1024)
def parse_power(text: str) -> str:
    key = _key(text)
    if key in POWER_WORDS:
        return POWER_WORDS[key]
    raise BadValue(
        N_("%(value)s is not a purchasing power (high, medium or low)."),
        code="bad_purchasing_power",
        value=text,
    )


_YES = "是 对 對 有 同意 愿意 願意 接受 允许 允許 y yes true 1 √ ✓ ✔ ok 可以 订阅 訂閱"
_NO = "否 不 无 無 没有 沒有 不同意 不愿意 不願意 拒绝 拒絕 n no false 0 × ✗ ✘ 退订 退訂"
BOOL_WORDS = {**{_key(w): True for w in _YES.split()}, **{_key(w): False for w in _NO.split()}}
BOOL_WORDS[_key("√")] = True
BOOL_WORDS[_key("×")] = False


@lru_cache(maxsize=1024)
def parse_bool(text: str) -> bool:
    stripped = unicodedata.normalize("NFKC", text).strip().casefold()
    if stripped in ("√", "✓", "✔"):
        return True
    if stripped in ("×", "✗", "✘", "x"):
        return False
    key = _key(text)
    if key in BOOL_WORDS:
        return BOOL_WORDS[key]
    raise BadValue(N_("%(value)s is not yes or no."), code="bad_yes_no", value=text)


# --- lists and amounts --------------------------------------------------------------------

_TAG_SPLIT = re.compile(r"[,，;；、/|｜\n]+")


def split_tags(text: str) -> list[str]:
    """Tags separated by , ， ; ； 、 / | or new lines."""
    return [t.strip() for t in _TAG_SPLIT.split(text) if t.strip()]


_AMOUNT_NOISE = re.compile(r"[¥￥$＄,，\s]|RMB|CNY|元|圆|圓|块|塊", re.IGNORECASE)


def parse_amount(text: str) -> Decimal:
    """¥1,234.50 / 1234.5元 / RMB 88 / (12.00) → Decimal with two places."""
    raw = unicodedata.normalize("NFKC", text).strip()
    negative = raw.startswith("(") and raw.endswith(")")
    cleaned = _AMOUNT_NOISE.sub("", raw.strip("()"))
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadValue(
            N_("%(value)s is not an amount of money."), code="bad_amount", value=text
        ) from None
    if not value.is_finite():
        raise BadValue(N_("%(value)s is not an amount of money."), code="bad_amount", value=text)
    value = -value if negative else value
    return value.quantize(Decimal("0.01"))
