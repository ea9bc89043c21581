"""Rows of an import that match customers already in the pool: fill, overwrite or skip.

The same rules as a hand merge (`customers.merge.fill_gaps`): with "fill", only empty fields
are filled; with "overwrite", the file's non-empty values win (an empty cell never clears a
field). Phones and tags are always added, never removed. Each pool customer that changes gets
an audit entry `merged` with source "import", as a hand merge does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.audit.models import AuditAction, AuditEvent
from laoke.customers.import_fields import Candidate
from laoke.customers.models import Customer, CustomerPhone, CustomerTag, Gender
from laoke.imports.bulk import BulkInserter
from laoke.imports.models import MergePolicy

CUSTOMERS = Customer.__table__
PHONES = CustomerPhone.__table__
TAGS = CustomerTag.__table__
PHONE_COLUMNS = ("customer_id", "e164", "national", "kind", "is_primary")
LOOKUP_CHUNK = 5000

# Fields copied into an existing customer by the fill and overwrite policies.
MERGE_FIELDS = (
    "nickname",
    "wechat_id",
    "email",
    "address",
    "birthday",
    "gender",
    "source_channel",
    "needs",
    "purchasing_power",
    "social_circle",
    "owner_id",
    "external_id",
)


@dataclass(frozen=True)
class PoolMatch:
    customer_id: int
    owner_id: int | None
    import_job_id: int | None
    import_row: int | None


UPDATED = (
    "name",
    *MERGE_FIELDS,
    "marketing_consent",
    "consent_source",
    "consent_at",
    "custom_attributes",
)


def merged_fields(
    row: dict[str, Any], candidate: Candidate, policy: MergePolicy, now: datetime
) -> list[str]:
    """Apply the candidate to `row` (in place) under the policy; the names of changed fields."""
    changed = []
    incoming = dict(candidate.fields)
    consent = incoming.pop("marketing_consent", None)
    overwrite = policy is MergePolicy.OVERWRITE
    if overwrite and candidate.name and candidate.name != row["name"]:
        row["name"] = candidate.name
        changed.append("name")
    for name in MERGE_FIELDS:
        value = incoming.get(name)
        if value in (None, "") or (name == "gender" and value == Gender.UNKNOWN):
            continue
        empty = row[name] in (None, "") or (name == "gender" and row[name] == Gender.UNKNOWN)
        if (empty or overwrite) and row[name] != value:
            row[name] = value
            changed.append(name)
    attributes = dict(row["custom_attributes"] or {})
    for key, value in candidate.custom.items():
        if key not in attributes or (overwrite and attributes[key] != value):
            attributes[key] = value
            if "custom_attributes" not in changed:
                changed.append("custom_attributes")
    row["custom_attributes"] = attributes
    if consent is not None and consent != row["marketing_consent"] and (consent or overwrite):
        row["marketing_consent"] = consent
        row["consent_source"] = "import"
        row["consent_at"] = now
        changed.append("marketing_consent")
    return changed


def merge_into_existing(
    session: Session,
    actor: Actor,
    *,
    job_id: int,
    policy: MergePolicy,
    now: datetime,
    merges: list[tuple[Candidate, PoolMatch, MergePolicy]],
) -> list[int]:
    """Apply each row to the customer it matched, under its policy; audit pool merges.

    Returns the ids of customers that changed. Matches created by this same job (an earlier
    batch of the file) are filled in but not audited: they are the import's own rows.
    """
    if not merges:
        return []
    org_id = actor.org_id
    ids = sorted({match.customer_id for _, match, _ in merges})
    current: dict[int, dict[str, Any]] = {}
    phones: dict[int, set[str]] = {i: set() for i in ids}
    tags: dict[int, set[str]] = {i: set() for i in ids}
    for chunk in chunks(ids):
        for row in session.execute(
            select(
                Customer.id,
                Customer.name,
                Customer.marketing_consent,
                Customer.consent_source,
                Customer.consent_at,
                Customer.custom_attributes,
                *(getattr(Customer, name) for name in MERGE_FIELDS),
            ).where(Customer.id.in_(chunk))
        ).mappings():
            current[row["id"]] = dict(row)
        for customer_id, e164 in session.execute(
            select(CustomerPhone.customer_id, CustomerPhone.e164).where(
                CustomerPhone.org_id == org_id, CustomerPhone.customer_id.in_(chunk)
            )
        ):
            phones[customer_id].add(e164)
        for customer_id, tag in session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag).where(
                CustomerTag.org_id == org_id, CustomerTag.customer_id.in_(chunk)
            )
        ):
            tags[customer_id].add(tag)
    changed: dict[int, list[str]] = {}
    audited: dict[int, tuple[int, set[str]]] = {}
    new_phones, new_tags = [], []
    for candidate, match, policy in merges:
        customer_id = match.customer_id
        row = current[customer_id]
        fields = merged_fields(row, candidate, policy, now)
        for phone in candidate.phones:
            if phone.e164 not in phones[customer_id]:
                new_phones.append(
                    {
                        "org_id": org_id,
                        "customer_id": customer_id,
                        "e164": phone.e164,
                        "national": phone.national,
                        "kind": phone.kind,
                        "is_primary": not phones[customer_id],
                    }
                )
                phones[customer_id].add(phone.e164)
                fields.append("phones")
        existing_tags = {t.casefold() for t in tags[customer_id]}
        for tag in candidate.tags:
            if tag.casefold() not in existing_tags:
                new_tags.append({"org_id": org_id, "customer_id": customer_id, "tag": tag})
                tags[customer_id].add(tag)
                existing_tags.add(tag.casefold())
                fields.append("tags")
        if fields:
            changed.setdefault(customer_id, []).extend(fields)
        if match.import_job_id != job_id and fields:
            seen_fields = audited.setdefault(customer_id, (candidate.row, set()))[1]
            seen_fields.update(fields)
    updates = [
        {
            "b_id": customer_id,
            **{name: current[customer_id][name] for name in UPDATED},
            "updated_at": now,
        }
        for customer_id, names in changed.items()
        if set(names) - {"phones", "tags"}
    ]
    if updates:
        statement = (
            update(CUSTOMERS)
            .where(CUSTOMERS.c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in (*UPDATED, "updated_at")})
        )
        session.connection().execute(statement, updates)
    BulkInserter(session, PHONES, PHONE_COLUMNS, {"org_id": org_id}).insert(
        (p["customer_id"], p["e164"], p["national"], p["kind"], p["is_primary"]) for p in new_phones
    )
    BulkInserter(session, TAGS, ("customer_id", "tag"), {"org_id": org_id}).insert(
        (t["customer_id"], t["tag"]) for t in new_tags
    )
    if audited:
        session.execute(
            insert(AuditEvent.__table__),
            [
                {
                    "org_id": org_id,
                    "actor_user_id": actor.user_id,
                    "action": AuditAction.MERGED,
                    "target_type": "customer",
                    "target_id": customer_id,
                    "details": {
                        "source": "import",
                        "import_job_id": job_id,
                        "row": row_number,
                        "filled_fields": sorted(names),
                        "policy": str(policy),
                    },
                    "ip": actor.ip,
                    "at": now,
                }
                for customer_id, (row_number, names) in audited.items()
            ],
        )
    return sorted(changed)


def chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
