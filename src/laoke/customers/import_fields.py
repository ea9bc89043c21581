"""Customer import: the field catalogue and how one spreadsheet row becomes a candidate.

A value we cannot use in its field (a birthday we cannot read, an unknown gender word, an
email that is not one) never sinks the row: the row is taken in, the original text is kept
as a custom attribute under its column's header, and the report notes it. A row is
rejected only when it cannot become a customer: no name, or nothing to tell the person
apart by (no valid phone, WeChat id, email or external id) — without a key, re-importing
the file could not find it again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from laoke.customers.service import MAX_TAG_LENGTH, clean_email
from laoke.errors import N_, DomainError
from laoke.imports.mapping import CUSTOM, IGNORE
from laoke.imports.readers import column_letter
from laoke.imports.values import (
    PhoneValue,
    parse_bool,
    parse_date,
    parse_gender,
    parse_phones,
    parse_power,
    split_tags,
)

NOTES_ATTRIBUTE = "备注"
MAX_ATTRIBUTE_NAME = 64


TEXT_LIMITS = {
    "nickname": 100,
    "wechat_id": 64,
    "address": 500,
    "source_channel": 64,
    "needs": 5000,
    "social_circle": 5000,
    "external_id": 100,
}
_SIMPLE_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


Note = tuple[str, dict[str, Any]]
"""(message id, params) — translated when the report is written."""


@dataclass
class Candidate:
    """One row on its way into the pool."""

    row: int
    values: list[str]
    name: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    phones: list[PhoneValue] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    reject: Note | None = None
    keys: list[tuple[str, str]] = field(default_factory=list)

    def identity_keys(self) -> list[tuple[str, str]]:
        """Identity keys in the order duplicates are looked for: phones, WeChat, email, id."""
        keys = [("p", p.e164) for p in self.phones]
        if wechat := self.fields.get("wechat_id"):
            keys.append(("w", wechat))
        if email := self.fields.get("email"):
            keys.append(("e", email))
        if external := self.fields.get("external_id"):
            keys.append(("x", external))
        return keys

    def fold(self, other: Candidate, claimable: set[str]) -> None:
        """Take what `other` (a later row of the same person) adds; this row's values win."""
        for key, value in other.fields.items():
            if self.fields.get(key) in (None, "", "unknown"):
                self.fields[key] = value
        if self.fields.get("marketing_consent") is False and other.fields.get("marketing_consent"):
            self.fields["marketing_consent"] = True
        known = {p.e164 for p in self.phones}
        self.phones += [p for p in other.phones if p.e164 not in known and p.e164 in claimable]
        self.tags += [
            t for t in other.tags if t.casefold() not in {x.casefold() for x in self.tags}
        ]
        for key, value in other.custom.items():
            self.custom.setdefault(key, value)
        self.keys = self.identity_keys()


@dataclass
class RowContext:
    headers: list[str]
    mapping: list[str]
    day_first: bool | None
    staff_by_key: dict[str, int]
    owner_fixed: int | None  # a salesperson's imports are theirs
    # (column index, handler, header, attribute name) for mapped columns, planned once.
    plan: list[tuple[int, Any, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for index, target in enumerate(self.mapping):
            if target == IGNORE:
                continue
            header = self.headers[index]
            handler = _HANDLERS.get(target, _take_text) if target != CUSTOM else None
            self.plan.append((index, handler, header, _attribute_name(header)))
        self.phone_header = next(
            (self.headers[i] for i, t in enumerate(self.mapping) if t == "phones"),
            NOTES_ATTRIBUTE,
        )


def _attribute_name(header: str) -> str:
    return header.strip()[:MAX_ATTRIBUTE_NAME] or "?"


def parse_row(ctx: RowContext, number: int, cells: list[str]) -> Candidate:
    c = Candidate(row=number, values=cells)
    notes: list[str] = []
    bad_phones: list[str] = []
    width = len(cells)
    for index, handler, header, attribute in ctx.plan:
        if index >= width:
            continue
        text = cells[index]
        if not text:
            continue
        if handler is None:
            c.custom.setdefault(attribute, text)
            continue
        try:
            handler(ctx, c, text, bad_phones, notes)
        except DomainError as exc:
            c.notes.append((exc.message, {**exc.params, "column": header}))
            c.custom.setdefault(attribute, text)
    for index in range(len(ctx.mapping), width):
        if cells[index]:
            c.custom.setdefault(column_letter(index), cells[index])
    if not c.name and c.fields.get("nickname"):
        c.name = c.fields["nickname"]
    if notes:
        c.custom[NOTES_ATTRIBUTE] = "\n".join(notes)
    if bad_phones:
        joined = "、".join(bad_phones)
        if c.phones or c.fields.get("wechat_id") or c.fields.get("email"):
            c.notes.append(
                (N_("%(value)s is not a phone number we understand."), {"value": joined})
            )
            c.custom.setdefault(_attribute_name(ctx.phone_header), joined)
    c.keys = c.identity_keys()
    if not c.name:
        c.reject = (N_("The name is missing."), {})
    elif not c.keys:
        if bad_phones:
            c.reject = (
                N_(
                    "%(value)s is not a phone number we understand, and there is no WeChat id "
                    "or email to identify this customer."
                ),
                {"value": "、".join(bad_phones)},
            )
        else:
            c.reject = (
                N_("No phone number, WeChat id or email to identify this customer."),
                {},
            )
    return c


@lru_cache(maxsize=8192)
def _clean(text: str) -> str:
    """NFKC (full-width letters and digits) and single spaces; ASCII passes untouched."""
    if text.isascii():
        return text if "  " not in text else " ".join(text.split())
    return " ".join(unicodedata.normalize("NFKC", text).split())


@lru_cache(maxsize=4096)
def _tags(text: str) -> tuple[str, ...]:
    tags: dict[str, str] = {}
    for tag in split_tags(_clean(text)):
        if len(tag) > MAX_TAG_LENGTH:
            raise _bad(N_("Tags can be at most %(n)s characters."), n=MAX_TAG_LENGTH)
        tags.setdefault(tag.casefold(), tag)
    return tuple(tags.values())


def _take_phones(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    phones, bad = parse_phones(text)
    if c.phones:
        known = {p.e164 for p in c.phones}
        phones = [p for p in phones if p.e164 not in known]
    c.phones += phones
    if bad:
        bad_phones += bad


def _take_name(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    if c.name:
        return
    name = _clean(text)
    if len(name) > 100:
        c.reject = (N_("The name is longer than %(n)s characters."), {"n": 100})
    c.name = name[:100]


def _take_tags(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    tags = _tags(text)
    if c.tags:
        known = {t.casefold() for t in c.tags}
        tags = tuple(t for t in tags if t.casefold() not in known)
    c.tags += tags


def _take_notes(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    notes.append(text)


def _take_email(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    email = text.strip()
    c.fields.setdefault(
        "email", email.lower() if _SIMPLE_EMAIL.fullmatch(email) else clean_email(email)
    )


def _take_birthday(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    c.fields.setdefault("birthday", _birthday(text, ctx.day_first))


def _take_gender(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    c.fields.setdefault("gender", parse_gender(text))


def _take_power(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    c.fields.setdefault("purchasing_power", parse_power(text))


def _take_consent(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    c.fields.setdefault("marketing_consent", parse_bool(text))


def _take_owner(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    c.fields.setdefault("owner_id", _owner(ctx, text))


def _text_taker(target: str) -> Callable[[RowContext, Candidate, str, list[str], list[str]], None]:
    limit = TEXT_LIMITS.get(target, 5000)

    def take(
        ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
    ) -> None:
        if target in c.fields:
            return
        value = _clean(text)
        if len(value) > limit:
            raise _bad(N_("The text is longer than %(n)s characters."), n=limit)
        c.fields[target] = value

    return take


def _take_text(
    ctx: RowContext, c: Candidate, text: str, bad_phones: list[str], notes: list[str]
) -> None:
    raise AssertionError("every field has a handler")


_HANDLERS = {
    "phones": _take_phones,
    "name": _take_name,
    "tags": _take_tags,
    "notes": _take_notes,
    "email": _take_email,
    "birthday": _take_birthday,
    "gender": _take_gender,
    "purchasing_power": _take_power,
    "marketing_consent": _take_consent,
    "owner": _take_owner,
    **{
        key: _text_taker(key)
        for key in (
            "nickname",
            "wechat_id",
            "address",
            "source_channel",
            "needs",
            "social_circle",
            "external_id",
        )
    },
}


def _bad(message: str, **params: Any) -> DomainError:
    from laoke.imports.values import BadValue

    return BadValue(message, **params)


@lru_cache(maxsize=16384)
def _birthday(text: str, day_first: bool | None) -> date:
    value = parse_date(text, day_first=day_first)
    if not date(1900, 1, 1) <= value <= date.today():
        raise _bad(N_("%(value)s is not a plausible birthday."), value=text)
    return value


def staff_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _owner(ctx: RowContext, text: str) -> int | None:
    user_id = ctx.staff_by_key.get(staff_key(text))
    if ctx.owner_fixed is not None:
        if user_id != ctx.owner_fixed:
            raise _bad(
                N_("Customers you import are assigned to you; %(value)s was not used as owner."),
                value=text,
            )
        return ctx.owner_fixed
    if user_id is None:
        raise _bad(N_("No active staff member is called %(value)s."), value=text)
    return user_id
