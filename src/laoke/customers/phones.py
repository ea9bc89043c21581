"""Phone numbers: normalised to E.164, mainland China as the default region.

People type numbers in many shapes: full-width digits (１３８…), spaces and dashes,
`+86` / `0086` / `86` prefixes, landlines with area codes (010-1234 5678), and several
numbers in one spreadsheet cell. Everything becomes one canonical E.164 string.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from laoke.errors import N_, Invalid

DEFAULT_REGION = "CN"
_SEPARATORS = re.compile(r"[,;/|、\n\r\t]+|\s{2,}|或|及")
_EXTENSION = re.compile(r"(?:转|轉|分机|分機|ext\.?|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)
_NOISE = re.compile(r"[\s\-.()\[\]·_]")


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    OTHER = "other"


class InvalidPhone(Invalid):
    code = "invalid_phone"
    default_message = N_("This phone number is not valid.")


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    kind: PhoneKind
    region: str | None
    extension: str | None = None


def _canonical_text(raw: str) -> tuple[str, str | None]:
    text = unicodedata.normalize("NFKC", raw).strip()
    extension = None
    if match := _EXTENSION.search(text):
        extension = match.group(1)
        text = text[: match.start()]
    text = _NOISE.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    elif re.fullmatch(r"861[3-9]\d{9}", text):
        text = "+" + text
    return text, extension


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> Phone:
    """Parse one number or raise `InvalidPhone` saying why."""
    if raw is None or not str(raw).strip():
        raise InvalidPhone(N_("The phone number is empty."))
    text, extension = _canonical_text(str(raw))
    if not re.fullmatch(r"\+?\d{3,17}", text):
        raise InvalidPhone(
            N_("A phone number may contain only digits, spaces, dashes and a leading +.")
        )
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone() from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(N_("This phone number has the wrong length or an unknown prefix."))
    number_type = phonenumbers.number_type(number)
    if number_type in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        kind = PhoneKind.MOBILE
    elif number_type == PhoneNumberType.FIXED_LINE:
        kind = PhoneKind.LANDLINE
    else:
        kind = PhoneKind.OTHER
    return Phone(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        kind=kind,
        region=phonenumbers.region_code_for_number(number),
        extension=extension,
    )


def split_phones(cell: str, region: str = DEFAULT_REGION) -> tuple[list[Phone], list[str]]:
    """All numbers in a cell such as "138 1234 5678 / 010-8888 6666"; returns (valid, bad parts)."""
    phones: list[Phone] = []
    bad: list[str] = []
    text = unicodedata.normalize("NFKC", cell or "")
    for part in (p.strip() for p in _SEPARATORS.split(text)):
        if not part:
            continue
        try:
            phones.append(normalize_phone(part, region))
            continue
        except InvalidPhone:
            pass
        # "13812345678 13987654321": numbers separated by single spaces.
        found = [m.number for m in phonenumbers.PhoneNumberMatcher(part, region)]
        if found:
            phones.extend(
                normalize_phone(phonenumbers.format_number(n, PhoneNumberFormat.E164))
                for n in found
            )
        else:
            bad.append(part)
    unique: dict[str, Phone] = {}
    for phone in phones:
        unique.setdefault(phone.e164, phone)
    return list(unique.values()), bad


def national_digits(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    return str(number.national_number)


def format_phone(e164: str) -> str:
    """Readable form: national for Chinese numbers (138 1234 5678), international otherwise."""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 86:
        digits = str(number.national_number)
        if len(digits) == 11 and digits.startswith("1"):
            return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str) -> str:
    """138****5678 for Chinese numbers; the country code stays visible for others."""
    number = phonenumbers.parse(e164, None)
    digits = str(number.national_number)
    keep_head, keep_tail = (3, 4) if len(digits) >= 9 else (2, 2)
    hidden = max(len(digits) - keep_head - keep_tail, 1)
    masked = digits[:keep_head] + "*" * hidden + digits[-keep_tail:]
    return masked if number.country_code == 86 else f"+{number.country_code} {masked}"


def digits_fragment(query: str) -> str | None:
    """The national digits of a search box entry if it looks like part of a phone number."""
    text = _NOISE.sub("", unicodedata.normalize("NFKC", query))
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        if len(text) > 11 and text.startswith("86"):
            text = text[2:]
    text = text.lstrip("+")
    return text if len(text) >= 3 and text.isdigit() else None
