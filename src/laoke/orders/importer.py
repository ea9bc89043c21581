"""Orders as an import target: one batch of rows into orders and items, in the caller's
transaction (the job runner commits each batch with its checkpoint).

For each batch:

1. every row becomes an `OrderLine` (or a rejection) — `import_fields.parse_line`;
2. lines with the same order number are grouped into one order (a line without a number is
   an order of its own); when one line of an order cannot be read, the whole order is
   rejected, so that it is never taken in half;
3. customers are found by normalised phone or customer number (external id), with one query
   per key kind; a row whose customer is not in the pool is rejected, never created;
4. an order number already in the pool is skipped and counted — re-running a file adds
   nothing. One exception: an order this same job began in the previous batch (the batch
   boundary fell between its lines) gains the further lines;
5. orders, items and `order.created` events are written with bulk inserts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.errors import N_
from laoke.events.bus import emit, has_subscribers
from laoke.events.models import DomainEvent
from laoke.imports.bulk import BulkInserter, lookup_many
from laoke.imports.jobs import BatchResult, Issue, register_target
from laoke.imports.models import ImportJob, Outcome
from laoke.orders.import_fields import ORDER_FIELDS, LineContext, OrderLine, parse_line
from laoke.orders.models import Order, OrderItem, OrderStatus, Product
from laoke.orders.service import org_timezone

ORDERS = Order.__table__
ITEMS = OrderItem.__table__
CENT = Decimal("0.01")


@dataclass
class OrderImport:
    actor: Actor
    sees_all: bool
    lines: LineContext
    products: dict[str, tuple[int, int | None]]  # name → (id, usage cycle days)
    now: datetime


@dataclass
class Draft:
    """The lines of one order in this batch."""

    lines: list[OrderLine]
    customer_id: int | None = None
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> OrderLine:
        return self.lines[0]

    def amount(self) -> Decimal:
        total = next((ln.order_total for ln in self.lines if ln.order_total is not None), None)
        if total is not None:
            return total
        return sum((ln.amount or Decimal(0) for ln in self.lines), Decimal(0))


class OrdersTarget:
    kind = "orders"
    catalogue = ORDER_FIELDS

    def detect(self, headers: list[str]) -> list[str]:
        return ORDER_FIELDS.detect(headers)

    def prepare(self, session: Session, actor: Actor, job: ImportJob, now: datetime) -> Any:
        actor.require(Permission.IMPORT)
        actor.require(Permission.EDIT_CUSTOMERS)
        products = {
            name: (product_id, cycle)
            for name, product_id, cycle in session.execute(
                select(Product.name, Product.id, Product.usage_cycle_days).where(
                    Product.org_id == actor.org_id
                )
            )
        }
        return OrderImport(
            actor=actor,
            sees_all=actor.can(Permission.SEE_ALL_CUSTOMERS),
            lines=LineContext(
                headers=list(job.headers),
                mapping=list(job.mapping),
                timezone=org_timezone(session, actor.org_id),
                day_first=(job.options or {}).get("day_first"),
                now=now,
            ),
            products=products,
            now=now,
        )

    def write_batch(
        self, session: Session, state: OrderImport, job: ImportJob, rows: list
    ) -> BatchResult:
        return _BatchWriter(session, state, job).run(rows)


class _BatchWriter:
    def __init__(self, session: Session, state: OrderImport, job: ImportJob) -> None:
        self.session = session
        self.state = state
        self.org_id = state.actor.org_id
        self.job = job
        self.result = BatchResult()

    def run(self, rows: list[tuple[int, list[str]]]) -> BatchResult:
        drafts: dict[str, Draft] = {}
        singles: list[Draft] = []
        for number, cells in rows:
            self.result.read += 1
            line = parse_line(self.state.lines, number, cells)
            if line.number is None:
                singles.append(Draft([line]))
            else:
                drafts.setdefault(line.number, Draft([])).lines.append(line)
        candidates = [d for d in [*drafts.values(), *singles] if self._readable(d)]
        self._find_customers(candidates)
        existing = self._existing_numbers([d.first.number for d in candidates if d.first.number])
        new: list[Draft] = []
        for draft in candidates:
            number = draft.first.number
            if draft.customer_id is None:
                continue
            found = existing.get(number) if number else None
            if found is None:
                new.append(draft)
            elif found[1] == self.job.id:
                self._continue_order(found[0], draft)
            else:
                self.result.skipped += len(draft.lines)
                for line in draft.lines:
                    self._issue(
                        line,
                        Outcome.SKIPPED,
                        N_("Order %(number)s is already in the pool; not imported again."),
                        {"number": number},
                    )
        self._insert(new)
        return self.result

    # --- checks ---------------------------------------------------------------------------

    def _readable(self, draft: Draft) -> bool:
        bad = next((ln for ln in draft.lines if ln.reject), None)
        if bad is None:
            return True
        for line in draft.lines:
            self.result.rejected += 1
            if line is bad:
                self._issue(line, Outcome.REJECTED, *bad.reject)  # type: ignore[misc]
            else:
                self._issue(
                    line,
                    Outcome.REJECTED,
                    N_(
                        "Row %(row)s of the same order could not be read; the order was not imported."
                    ),
                    {"row": bad.row},
                )
        return False

    def _reject_draft(self, draft: Draft, reason: str, params: dict[str, Any]) -> None:
        for line in draft.lines:
            self.result.rejected += 1
            self._issue(line, Outcome.REJECTED, reason, params)

    def _find_customers(self, drafts: list[Draft]) -> None:
        phones = sorted({p.e164 for d in drafts for ln in d.lines for p in ln.phones})
        externals = sorted({ln.external_id for d in drafts for ln in d.lines if ln.external_id})
        params = {"org": self.org_id}
        columns = "c.id, c.owner_id"
        by_phone = {
            e164: (customer_id, owner_id)
            for e164, customer_id, owner_id in lookup_many(
                self.session,
                f"SELECT p.e164, {columns} FROM customer_phones p "  # noqa: S608 - our own names
                "JOIN customers c ON c.id = p.customer_id "
                "WHERE p.org_id = :org AND c.merged_into_id IS NULL AND p.e164 IN (:keys)",
                phones,
                params,
            )
        }
        by_external: dict[str, tuple[int, int | None]] = {}
        for external, customer_id, owner_id in lookup_many(
            self.session,
            f"SELECT c.external_id, {columns} FROM customers c "  # noqa: S608 - our own names
            "WHERE c.org_id = :org AND c.merged_into_id IS NULL AND c.external_id IN (:keys) "
            "ORDER BY c.id DESC",
            externals,
            params,
        ):
            by_external[external] = (customer_id, owner_id)  # the oldest wins (ordered last)
        for draft in drafts:
            match = None
            for line in draft.lines:
                keys = [by_phone.get(p.e164) for p in line.phones]
                if line.external_id:
                    keys.append(by_external.get(line.external_id))
                match = next((k for k in keys if k is not None), None)
                if match is not None:
                    break
            if match is None:
                self._reject_draft(draft, *self._unmatched(draft.first))
            elif not self.state.sees_all and match[1] != self.state.actor.user_id:
                self._reject_draft(
                    draft,
                    N_("This customer is looked after by a colleague; ask a manager to import it."),
                    {},
                )
            else:
                draft.customer_id = match[0]

    @staticmethod
    def _unmatched(line: OrderLine) -> tuple[str, dict[str, Any]]:
        if line.phones:
            return (
                N_("No customer in the pool has the phone number %(value)s."),
                {"value": "、".join(p.national for p in line.phones)},
            )
        return (
            N_("No customer in the pool has the customer number %(value)s."),
            {"value": line.external_id},
        )

    def _existing_numbers(self, numbers: list[str | None]) -> dict[str, tuple[int, int | None]]:
        wanted = sorted({n for n in numbers if n})
        rows = lookup_many(
            self.session,
            "SELECT order_number, id, import_job_id FROM orders "
            "WHERE org_id = :org AND order_number IN (:keys)",
            wanted,
            {"org": self.org_id},
        )
        return {number: (order_id, job_id) for number, order_id, job_id in rows}

    # --- writes ---------------------------------------------------------------------------

    def _items(self, draft: Draft) -> list[dict[str, Any]]:
        items = []
        lone = len(draft.lines) == 1
        for line in draft.lines:
            if not line.product_name:
                continue
            product_id, cycle = self.state.products.get(line.product_name, (None, None))
            amount = line.amount
            if amount is None:
                amount = line.order_total if lone and line.order_total is not None else Decimal(0)
            items.append(
                {
                    "org_id": self.org_id,
                    "product_id": product_id,
                    "product_name": line.product_name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "amount": amount,
                    "lasts_days": cycle * line.quantity if cycle else None,
                }
            )
        return items

    def _insert(self, drafts: list[Draft]) -> None:
        if not drafts:
            return
        now = self.state.now
        rows = []
        for draft in drafts:
            first = draft.first
            status = first.status
            notes = "\n".join(n for ln in draft.lines for n in ln.notes) or None
            rows.append(
                {
                    "org_id": self.org_id,
                    "customer_id": draft.customer_id,
                    "order_number": first.number,
                    "ordered_at": first.ordered_at,
                    "amount": draft.amount(),
                    "channel": next((ln.channel for ln in draft.lines if ln.channel), None),
                    "status": str(status),
                    "status_changed_at": None if status == OrderStatus.PAID else first.ordered_at,
                    "notes": notes[:5000] if notes else None,
                    "created_by_id": self.state.actor.user_id,
                    "import_job_id": self.job.id,
                    "import_row": first.row,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ids = self.session.execute(
            insert(ORDERS).returning(ORDERS.c.id, sort_by_parameter_order=True), rows
        ).scalars()
        items = []
        order_ids = list(ids)
        for order_id, draft in zip(order_ids, drafts, strict=True):
            items += [{**item, "order_id": order_id} for item in self._items(draft)]
        if items:
            self.session.execute(insert(ITEMS), items)
        self.result.inserted += len(drafts)
        self.result.merged += sum(len(d.lines) - 1 for d in drafts)
        self._events(order_ids, rows)

    def _continue_order(self, order_id: int, draft: Draft) -> None:
        """Lines of an order this job began in its previous batch."""
        items = [{**item, "order_id": order_id} for item in self._items(draft)]
        if items:
            self.session.execute(insert(ITEMS), items)
        total = next((ln.order_total for ln in draft.lines if ln.order_total is not None), None)
        if total is None:
            added = sum((ln.amount or Decimal(0) for ln in draft.lines), Decimal(0))
            self.session.execute(
                update(ORDERS).where(ORDERS.c.id == order_id).values(amount=ORDERS.c.amount + added)
            )
        self.result.merged += len(draft.lines)

    def _events(self, order_ids: list[int], rows: list[dict[str, Any]]) -> None:
        payloads = [
            {
                "order_id": order_id,
                "customer_id": row["customer_id"],
                "amount": f"{row['amount']:.2f}",
                "status": row["status"],
                "ordered_at": row["ordered_at"].isoformat(),
            }
            for order_id, row in zip(order_ids, rows, strict=True)
        ]
        if has_subscribers("order.created"):
            for payload in payloads:
                emit(
                    self.session,
                    self.org_id,
                    "order.created",
                    subject_type="order",
                    subject_id=int(str(payload["order_id"])),
                    payload=payload,
                )
            return
        BulkInserter(
            self.session,
            DomainEvent.__table__,
            ("subject_id", "payload"),
            {
                "org_id": self.org_id,
                "name": "order.created",
                "subject_type": "order",
                "occurred_at": self.state.now,
            },
        ).insert((payload["order_id"], payload) for payload in payloads)

    def _issue(self, line: OrderLine, outcome: Outcome, reason: str, params: dict) -> None:
        issue = Issue(line.row, outcome, reason, params, line.values)
        self.result.issues.append(issue.as_row(self.org_id, self.job.id))


register_target(OrdersTarget())
