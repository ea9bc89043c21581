"""What the rewards domain plugs into others: event subscribers, scheduled jobs and the
customer-merge hook that moves balances with entries instead of rewriting accounts."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

_installed = False


def move_balances_on_merge(session: Session, org_id: int, retired_id: int, kept_id: int) -> None:
    """The retired customer's balances move to the kept one through `transfer` entries."""
    from laoke.rewards import ledger
    from laoke.rewards.models import Agent, LedgerAccount, Operation

    accounts = list(
        session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.org_id == org_id,
                LedgerAccount.owner_key == ledger.owner_key(retired_id),
                LedgerAccount.balance > 0,
            )
        )
    )
    if accounts:
        head = ledger.lock(session, org_id)
        for source in accounts:
            target = ledger.account(session, org_id, source.asset, source.kind, kept_id)
            amount = Decimal(source.balance)
            # A receivable moves the other way round: it is owed, not held.
            debit, credit = (
                (target, source) if source.kind in ledger.DEBIT_NORMAL else (source, target)
            )
            ledger.post(
                session,
                head,
                ledger.Posting(
                    Operation.TRANSFER,
                    source.asset,
                    amount,
                    debit=debit,
                    credit=credit,
                    memo=f"merge c{retired_id} -> c{kept_id}",
                ),
            )
    retired_agent = session.scalar(
        select(Agent).where(Agent.org_id == org_id, Agent.customer_id == retired_id)
    )
    if retired_agent is not None:
        kept_agent = session.scalar(
            select(Agent).where(Agent.org_id == org_id, Agent.customer_id == kept_id)
        )
        if kept_agent is None:
            retired_agent.customer_id = kept_id
        else:
            kept_agent.commission_rate = max(
                kept_agent.commission_rate, retired_agent.commission_rate
            )
            retired_agent.active = False
    session.flush()


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from laoke.customers.merge import MERGE_HOOKS
    from laoke.events.bus import subscribe
    from laoke.rewards import notices, triggers  # noqa: F401 - notices registers purposes

    subscribe("lead.created", triggers.on_lead_event)
    subscribe("lead.status_changed", triggers.on_lead_event)
    subscribe("order.created", triggers.on_order_created)
    subscribe("order.refunded", triggers.on_order_reversed)
    subscribe("order.cancelled", triggers.on_order_reversed)
    subscribe("fraud.reviewed", triggers.on_fraud_reviewed)
    MERGE_HOOKS.append(move_balances_on_merge)
    register_jobs()


def register_jobs() -> None:
    from laoke.messaging.scheduler import Job, register
    from laoke.rewards.expiry import expire_job, reminder_job
    from laoke.rewards.holds import release_job

    register(
        Job(
            "rewards.release",
            release_job,
            every_minutes=15,
            description="Release rewards whose hold period is over",
        )
    )
    register(
        Job(
            "rewards.expire",
            expire_job,
            daily_at="00:30",
            description="Expire lapsed points, coupons and privileges",
        )
    )
    register(
        Job(
            "rewards.points_reminder",
            reminder_job,
            daily_at="10:30",
            description="Remind customers of points about to lapse",
        )
    )
