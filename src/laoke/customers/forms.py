"""The customer form on pages: form fields ⇄ schema values, with per-field errors."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from laoke.customers.models import Customer
from laoke.customers.phones import format_phone
from laoke.customers.schemas import CustomerCreate, CustomerUpdate

TEXT_FIELDS = (
    "name",
    "nickname",
    "wechat_id",
    "email",
    "address",
    "source_channel",
    "needs",
    "social_circle",
    "external_id",
)
_TAG_SPLIT = re.compile(r"[,，;；、|/\n]+")


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in _TAG_SPLIT.split(text or "") if t.strip()]


def parse_attributes(text: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            key, sep, value = line.partition("：") if "：" in line else line.partition(":")
        if key.strip():
            attributes[key.strip()] = value.strip()
    return attributes


def form_values(form: FormData) -> dict[str, Any]:
    """Raw values as typed, to re-fill the form after an error."""
    values: dict[str, Any] = {name: str(form.get(name, "") or "") for name in TEXT_FIELDS}
    values["phones"] = str(form.get("phones", "") or "")
    values["tags"] = str(form.get("tags", "") or "")
    values["birthday"] = str(form.get("birthday", "") or "")
    values["gender"] = str(form.get("gender", "") or "")
    values["purchasing_power"] = str(form.get("purchasing_power", "") or "")
    values["owner_id"] = str(form.get("owner_id", "") or "")
    values["marketing_consent"] = form.get("marketing_consent") == "on"
    values["custom_attributes"] = str(form.get("custom_attributes", "") or "")
    return values


def values_from_customer(customer: Customer) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(customer, name) or "" for name in TEXT_FIELDS}
    values["phones"] = "\n".join(format_phone(p.e164) for p in customer.phones)
    values["tags"] = ", ".join(customer.tags)
    values["birthday"] = customer.birthday.isoformat() if customer.birthday else ""
    values["gender"] = customer.gender or ""
    values["purchasing_power"] = customer.purchasing_power or ""
    values["owner_id"] = str(customer.owner_id or "")
    values["marketing_consent"] = customer.marketing_consent
    values["custom_attributes"] = "\n".join(
        f"{k} = {v}" for k, v in (customer.custom_attributes or {}).items()
    )
    return values


def _payload(values: dict[str, Any], *, can_assign: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {name: values[name] for name in TEXT_FIELDS}
    payload["phones"] = [p for p in re.split(r"[\n,，;；]+", values["phones"]) if p.strip()]
    payload["tags"] = split_tags(values["tags"])
    payload["birthday"] = values["birthday"] or None
    payload["gender"] = values["gender"] or None
    payload["purchasing_power"] = values["purchasing_power"] or None
    if can_assign and values["owner_id"]:
        payload["owner_id"] = values["owner_id"]
    payload["marketing_consent"] = values["marketing_consent"]
    payload["custom_attributes"] = parse_attributes(values["custom_attributes"])
    return payload


def field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        location = [str(p) for p in err["loc"]]
        errors.setdefault(location[0] if location else "form", err["msg"])
    return errors


def to_create(values: dict[str, Any], *, can_assign: bool) -> CustomerCreate:
    return CustomerCreate.model_validate(_payload(values, can_assign=can_assign))


def to_update(values: dict[str, Any], *, can_assign: bool) -> CustomerUpdate:
    payload = _payload(values, can_assign=can_assign)
    if not can_assign:
        payload.pop("owner_id", None)
    return CustomerUpdate.model_validate(payload)
