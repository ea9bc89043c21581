"""Customers as an import target: one batch of rows into the pool, in the caller's transaction.

For each batch:

1. every row becomes a `Candidate` (or a rejection) — `import_fields.parse_row`;
2. rows of the same person inside the batch are folded into the first (phone, then WeChat id,
   then email, then external id);
3. the batch's keys are looked up in the pool with one query per key kind. A match created by
   this same job (an earlier batch, perhaps before a crash) is a duplicate within the file;
   any other match is an existing customer, handled by the merge policy (fill / overwrite /
   skip) and recorded in the audit log as a merge with source "import", as a hand merge is;
4. new customers, their phones and tags, updates, audit entries, domain events and report
   issues are written with Core executemany — no ORM object per row.

Ids of new customers are allocated up front (SQLite: after max(id), under the write lock the
batch holds; PostgreSQL: from the table's sequence), so phones and tags need no round trip.
Nothing here commits: the job runner commits each batch together with its checkpoint.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.customers.import_catalogue import CUSTOMER_FIELDS, detect_mapping
from laoke.customers.import_fields import (
    Candidate,
    RowContext,
    parse_row,
    staff_key,
)
from laoke.customers.import_merge import PoolMatch, merge_into_existing
from laoke.customers.models import Customer, CustomerPhone, CustomerTag, Gender
from laoke.customers.stages import LifecycleStage, RelationshipStage
from laoke.errors import N_
from laoke.events.bus import emit, has_subscribers
from laoke.events.models import DomainEvent
from laoke.imports.bulk import BulkInserter, lookup_many
from laoke.imports.jobs import BatchResult, Issue, register_target
from laoke.imports.models import ImportJob, MergePolicy, Outcome

CUSTOMERS = Customer.__table__
PHONES = CustomerPhone.__table__
TAGS = CustomerTag.__table__


@dataclass
class CustomerImport:
    """The per-run state: who imports, under which rules, and the row parser's context."""

    actor: Actor
    job_id: int
    policy: MergePolicy
    rows: RowContext
    now: datetime
    sees_all: bool
    counts: Counter = field(default_factory=Counter)


class CustomersTarget:
    kind = "customers"
    catalogue = CUSTOMER_FIELDS

    def detect(self, headers: list[str]) -> list[str]:
        return detect_mapping(headers)

    def prepare(self, session: Session, actor: Actor, job: ImportJob, now: datetime) -> Any:
        actor.require(Permission.IMPORT)
        actor.require(Permission.EDIT_CUSTOMERS)
        staff: dict[str, int] = {}
        for user in session.scalars(
            select(User).where(User.org_id == actor.org_id, User.is_active.is_(True))
        ):
            staff.setdefault(staff_key(user.email), user.id)
            staff.setdefault(staff_key(user.name), user.id)
        sees_all = actor.can(Permission.SEE_ALL_CUSTOMERS)
        options = job.options or {}
        return CustomerImport(
            actor=actor,
            job_id=job.id,
            policy=MergePolicy(job.policy),
            rows=RowContext(
                headers=list(job.headers),
                mapping=list(job.mapping),
                day_first=options.get("day_first"),
                staff_by_key=staff,
                owner_fixed=None if sees_all else actor.user_id,
            ),
            now=now,
            sees_all=sees_all,
        )

    def default_owner(self, state: CustomerImport, job: ImportJob) -> int | None:
        if not state.sees_all:
            return state.actor.user_id
        return (job.options or {}).get("default_owner_id")

    def write_batch(
        self, session: Session, state: CustomerImport, job: ImportJob, rows: list
    ) -> BatchResult:
        return _BatchWriter(session, state, job, self.default_owner(state, job)).run(rows)


class _BatchWriter:
    def __init__(
        self, session: Session, state: CustomerImport, job: ImportJob, default_owner: int | None
    ) -> None:
        self.session = session
        self.state = state
        self.org_id = state.actor.org_id
        self.job = job
        self.default_owner = default_owner
        self.result = BatchResult()
        self._issues: list[dict[str, Any]] = []
        # Issues of in-batch duplicates learn their customer once the first row is written.
        self._pending: dict[int, list[dict[str, Any]]] = {}
        self._customer_of: dict[int, int | None] = {}
        self._skipped: set[int] = set()

    # --- the steps ----------------------------------------------------------------------

    def run(self, rows: list[tuple[int, list[str]]]) -> BatchResult:
        result = self.result
        masters: list[Candidate] = []
        seen: dict[tuple[str, str], Candidate] = {}
        for number, cells in rows:
            result.read += 1
            candidate = parse_row(self.state.rows, number, cells)
            if candidate.reject:
                self._issue(candidate, Outcome.REJECTED, *candidate.reject)
                result.rejected += 1
                continue
            keys = candidate.keys
            first = next((seen[k] for k in keys if k in seen), None)
            if first is not None:
                claimable = {k[1] for k in keys if k[0] == "p" and k not in seen}
                first.fold(candidate, claimable)
                for key in keys:
                    seen.setdefault(key, first)
                result.duplicates_in_file += 1
                self._issue(
                    candidate,
                    Outcome.DUPLICATE,
                    N_("The same person as row %(row)s; merged into it."),
                    {"row": first.row},
                    pending=first,
                )
                continue
            for key in keys:
                seen[key] = candidate
            masters.append(candidate)
        matches = self._lookup(masters)
        new: list[Candidate] = []
        merges: list[tuple[Candidate, PoolMatch, MergePolicy]] = []
        for candidate in masters:
            match = next((matches[k] for k in candidate.keys if k in matches), None)
            self._customer_of[id(candidate)] = match.customer_id if match else None
            if match is None:
                new.append(candidate)
            elif not self.state.sees_all and match.owner_id != self.state.actor.user_id:
                self._customer_of[id(candidate)] = None
                result.rejected += 1
                self._issue(
                    candidate,
                    Outcome.REJECTED,
                    N_(
                        "This customer is already in the pool and looked after by a colleague; "
                        "ask a manager to import this row."
                    ),
                    {},
                )
            elif match.import_job_id == self.job.id:
                result.duplicates_in_file += 1
                self._issue(
                    candidate,
                    Outcome.DUPLICATE,
                    N_("The same person as row %(row)s; merged into it."),
                    {"row": match.import_row},
                    customer_id=match.customer_id,
                )
                merges.append((candidate, match, MergePolicy.FILL))
            elif self.state.policy is MergePolicy.SKIP:
                self._skipped.add(id(candidate))
                result.skipped += 1
                self._issue(
                    candidate,
                    Outcome.SKIPPED,
                    N_("Already in the pool (customer %(id)s); left unchanged."),
                    {"id": match.customer_id},
                    customer_id=match.customer_id,
                )
            else:
                result.merged += 1
                merges.append((candidate, match, self.state.policy))
        # Phones and external ids already held by another customer stay with that customer.
        for candidate, match, _policy in merges:
            self._drop_foreign_keys(candidate, matches, match.customer_id)
        ids = self._insert(new)
        self._merge(merges)
        for candidate, customer_id in zip(new, ids, strict=True):
            self._customer_of[id(candidate)] = customer_id
        for candidate in masters:
            for pending in self._pending.get(id(candidate), []):
                pending["customer_id"] = self._customer_of.get(id(candidate))
        result.inserted += len(new)
        self._warnings(masters, new)
        result.issues.extend(self._issues)
        return result

    # --- pool lookup --------------------------------------------------------------------

    def _lookup(self, masters: list[Candidate]) -> dict[tuple[str, str], PoolMatch]:
        wanted: dict[str, list[str]] = {"p": [], "w": [], "e": [], "x": []}
        for candidate in masters:
            for kind, value in candidate.keys:
                wanted[kind].append(value)
        found: dict[tuple[str, str], PoolMatch] = {}
        columns = "c.id, c.owner_id, c.import_job_id, c.import_row"
        params = {"org": self.org_id}
        for e164, *rest in lookup_many(
            self.session,
            f"SELECT p.e164, {columns} FROM customer_phones p "  # noqa: S608 - our own names
            "JOIN customers c ON c.id = p.customer_id "
            "WHERE p.org_id = :org AND p.e164 IN (:keys)",
            wanted["p"],
            params,
        ):
            found[("p", e164)] = PoolMatch(*rest)
        for kind, column in (("w", "wechat_id"), ("e", "email"), ("x", "external_id")):
            rows = lookup_many(
                self.session,
                f"SELECT c.{column}, {columns} FROM customers c "  # noqa: S608 - our own names
                f"WHERE c.org_id = :org AND c.{column} IN (:keys) "
                "AND c.merged_into_id IS NULL AND c.erased_at IS NULL ORDER BY c.id DESC",
                wanted[kind],
                params,
            )
            for value, *rest in rows:
                found[(kind, value)] = PoolMatch(*rest)  # the oldest wins (ordered last)
        return found

    def _drop_foreign_keys(
        self, candidate: Candidate, matches: dict[tuple[str, str], PoolMatch], customer_id: int
    ) -> None:
        external = candidate.fields.get("external_id")
        holder = matches.get(("x", external)) if external else None
        if holder is not None and holder.customer_id != customer_id:
            del candidate.fields["external_id"]
            candidate.notes.append(
                (
                    N_("The external id %(value)s already belongs to customer %(id)s."),
                    {"value": external, "id": holder.customer_id},
                )
            )
        kept = []
        for phone in candidate.phones:
            owner = matches.get(("p", phone.e164))
            if owner is not None and owner.customer_id != customer_id:
                candidate.notes.append(
                    (
                        N_("The phone number %(value)s already belongs to customer %(id)s."),
                        {"value": phone.e164, "id": owner.customer_id},
                    )
                )
            else:
                kept.append(phone)
        candidate.phones = kept

    # --- inserts ------------------------------------------------------------------------

    def _allocate_ids(self, count: int) -> list[int]:
        if not count:
            return []
        if self.session.get_bind().dialect.name == "postgresql":
            rows = self.session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('customers', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": count},
            ).scalars()
            return sorted(rows)
        start = (self.session.scalar(select(func.max(Customer.id))) or 0) + 1
        return list(range(start, start + count))

    def _insert(self, new: list[Candidate]) -> list[int]:
        ids = self._allocate_ids(len(new))
        if not new:
            return ids
        now, org_id, job_id = self.state.now, self.org_id, self.job.id
        owner = self.default_owner
        customers, phones, tags = [], [], []
        unknown = str(Gender.UNKNOWN)
        for customer_id, c in zip(ids, new, strict=True):
            f = c.fields
            get = f.get
            consent = bool(get("marketing_consent"))
            nickname = get("nickname")
            customers.append(
                (
                    customer_id,
                    c.name,
                    nickname if nickname != c.name else None,
                    get("wechat_id"),
                    get("email"),
                    get("address"),
                    get("birthday"),
                    get("gender") or unknown,
                    get("source_channel"),
                    get("needs"),
                    get("purchasing_power"),
                    get("social_circle"),
                    get("owner_id") or owner,
                    consent,
                    "import" if consent else None,
                    now if consent else None,
                    c.custom,
                    get("external_id"),
                    c.row,
                )
            )
            for position, phone in enumerate(c.phones):
                phones.append((customer_id, phone.e164, phone.national, phone.kind, position == 0))
            for tag in c.tags:
                tags.append((customer_id, tag))
        self._writer(
            CUSTOMERS,
            _CUSTOMER_COLUMNS,
            org_id=org_id,
            lifecycle_stage=str(LifecycleStage.PROSPECT),
            relationship_stage=str(RelationshipStage.STRANGER),
            import_job_id=job_id,
            created_at=now,
            updated_at=now,
        ).insert(customers)
        self._writer(PHONES, _PHONE_COLUMNS, org_id=org_id).insert(phones)
        self._writer(TAGS, ("customer_id", "tag"), org_id=org_id).insert(tags)
        self._events("customer.created", ids)
        return ids

    def _writer(self, table: Table, columns: tuple[str, ...], **constants: Any) -> BulkInserter:
        return BulkInserter(self.session, table, columns, constants)

    # --- merges into existing customers -------------------------------------------------

    def _merge(self, merges: list[tuple[Candidate, PoolMatch, MergePolicy]]) -> None:
        changed = merge_into_existing(
            self.session,
            self.state.actor,
            job_id=self.job.id,
            policy=self.state.policy,
            now=self.state.now,
            merges=merges,
        )
        self._events("customer.updated", changed)

    # --- events, issues -----------------------------------------------------------------

    def _events(self, name: str, ids: list[int]) -> None:
        if not ids:
            return
        if has_subscribers(name):
            for customer_id in ids:
                emit(
                    self.session,
                    self.org_id,
                    name,
                    subject_type="customer",
                    subject_id=customer_id,
                    payload={"customer_id": customer_id},
                )
            return
        self._writer(
            DomainEvent.__table__,
            ("subject_id", "payload"),
            org_id=self.org_id,
            name=name,
            subject_type="customer",
            occurred_at=self.state.now,
        ).insert((customer_id, {"customer_id": customer_id}) for customer_id in ids)

    def _issue(
        self,
        candidate: Candidate,
        outcome: Outcome,
        reason: str,
        params: dict[str, Any],
        *,
        customer_id: int | None = None,
        pending: Candidate | None = None,
    ) -> None:
        issue = Issue(candidate.row, outcome, reason, params, candidate.values, customer_id)
        row = issue.as_row(self.org_id, self.job.id)
        self._issues.append(row)
        if pending is not None:
            self._pending.setdefault(id(pending), []).append(row)

    def _warnings(self, masters: list[Candidate], new: list[Candidate]) -> None:
        for candidate in masters:
            customer_id = self._customer_of.get(id(candidate))
            if customer_id is None or id(candidate) in self._skipped:
                continue  # not taken in: its rejection or skip is the issue that matters
            for reason, params in candidate.notes:
                self.result.warnings += 1
                self._issue(candidate, Outcome.WARNING, reason, params, customer_id=customer_id)


_CUSTOMER_COLUMNS = (
    "id",
    "name",
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
    "marketing_consent",
    "consent_source",
    "consent_at",
    "custom_attributes",
    "external_id",
    "import_row",
)
_PHONE_COLUMNS = ("customer_id", "e164", "national", "kind", "is_primary")


register_target(CustomersTarget())
