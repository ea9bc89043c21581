"""Which column holds which field: detected from the headers, confirmed by the user.

Each import target (customers now, orders next) has a `Catalogue` of fields with header
synonyms in simplified Chinese, traditional Chinese and English. Headers are compared after
normalising (NFKC, case, spaces, punctuation, notes in brackets such as "（必填）"): first
exactly, then — for headers like "会员手机号码" — by the longest synonym they contain.
A column we do not recognise is kept as a custom attribute under its header; the user may
map it to a field or choose not to import it, but nothing is dropped on our own initiative.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from laoke.errors import N_, Invalid
from laoke.imports.readers import column_letter

CUSTOM = "custom"
IGNORE = "ignore"
SPECIAL_TARGETS = (CUSTOM, IGNORE)
TARGET_LABELS = {CUSTOM: N_("Keep as a custom attribute"), IGNORE: N_("Do not import")}

_BRACKETED = re.compile(r"[(（【\[<《].*?[)）】\]>》]")
_NOISE = re.compile(r"[\s\W_]+")
_SUFFIX = re.compile(r"\s*\(\d+\)$")


def normalise_header(text: str) -> str:
    """'客户 手机号（必填）*' → '客户手机号'; 'E-Mail' → 'email'."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = _SUFFIX.sub("", text)
    text = _BRACKETED.sub("", text) or text
    return _NOISE.sub("", text)


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    synonyms: tuple[str, ...]
    multiple: bool = False  # several columns may feed it (phones, tags, notes)
    fuzzy: bool = True  # may match a header that merely contains a synonym


class InvalidMapping(Invalid):
    code = "invalid_mapping"
    default_message = N_("The column mapping is not valid: %(reason)s")


class Catalogue:
    """The fields of one import target and how headers name them."""

    def __init__(self, fields: tuple[FieldSpec, ...]) -> None:
        self.fields = fields
        self.by_key = {f.key: f for f in fields}
        self._exact: dict[str, str] = {}
        self._contains: list[tuple[str, str]] = []
        for spec in fields:
            for synonym in (spec.key, *spec.synonyms):
                norm = normalise_header(synonym)
                self._exact.setdefault(norm, spec.key)
                if spec.fuzzy and len(norm) >= (2 if not norm.isascii() else 5):
                    self._contains.append((norm, spec.key))
        self._contains.sort(key=lambda item: -len(item[0]))

    def exact(self, header: str) -> str | None:
        return self._exact.get(normalise_header(header))

    def fuzzy(self, header: str) -> str | None:
        norm = normalise_header(header)
        if not norm:
            return None
        for synonym, key in self._contains:
            if synonym in norm:
                return key
        return None

    def is_known(self, header: str) -> bool:
        """For finding the header row: does this cell look like one of our headers?"""
        norm = normalise_header(header)
        return (
            bool(norm)
            and len(norm) <= 20
            and (self.exact(header) or self.fuzzy(header)) is not None
        )

    def detect(self, headers: list[str]) -> list[str]:
        """A target per column: a field key, or CUSTOM for what we do not recognise."""
        targets = [CUSTOM] * len(headers)
        taken: set[str] = set()
        for index, header in enumerate(headers):
            key = self.exact(header)
            if key and (self.by_key[key].multiple or key not in taken):
                targets[index] = key
                taken.add(key)
        for index, header in enumerate(headers):
            if targets[index] != CUSTOM:
                continue
            key = self.fuzzy(header)
            if key and (self.by_key[key].multiple or key not in taken):
                targets[index] = key
                taken.add(key)
        return targets

    def apply_overrides(
        self, headers: list[str], targets: list[str], overrides: Mapping
    ) -> list[str]:
        """Change some columns' targets; columns are named by header text or by letter (A, B…)."""
        result = list(targets)
        letters = {column_letter(i): i for i in range(len(headers))}
        by_name = {h: i for i, h in enumerate(headers)}
        by_norm = {normalise_header(h): i for i, h in reversed(list(enumerate(headers)))}
        for column, target in overrides.items():
            if not isinstance(column, str) or not isinstance(target, str):
                raise InvalidMapping(reason=f"{column!r}: {target!r}")
            index = by_name.get(column)
            if index is None:
                index = letters.get(column.strip().upper())
            if index is None:
                index = by_norm.get(normalise_header(column))
            if index is None:
                raise InvalidMapping(
                    N_("The mapping names a column %(column)s that the file does not have."),
                    column=column,
                )
            result[index] = self.check_target(target)
        return self.validate(result)

    def check_target(self, target: str) -> str:
        if target not in self.by_key and target not in SPECIAL_TARGETS:
            raise InvalidMapping(
                N_("%(target)s is not a field of this import."), target=target, code="unknown_field"
            )
        return target

    def validate(self, targets: list[str]) -> list[str]:
        seen: set[str] = set()
        for target in targets:
            self.check_target(target)
            if target in self.by_key and not self.by_key[target].multiple:
                if target in seen:
                    raise InvalidMapping(
                        N_("Two columns are mapped to the same field (%(field)s)."),
                        code="duplicate_field",
                        field=target,
                    )
                seen.add(target)
        return targets


def parse_mapping_json(text: str | None) -> dict[str, str]:
    """The CLI's --mapping: a JSON object {"column header or letter": "field"}."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMapping(reason=str(exc)) from exc
    if not isinstance(value, dict):
        raise InvalidMapping(reason="expected a JSON object")
    return value
