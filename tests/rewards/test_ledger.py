"""The ledger's promises: double entry, balances from entries, append-only in the database,
a hash chain that names the first edited entry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from laoke.errors import Conflict
from laoke.rewards import guard
from laoke.rewards.models import Asset, RewardStatus
from tests.rewards.conftest import Rewards


def test_issue_holds_then_release_makes_points_usable(rw: Rewards) -> None:
    wang = rw.customer()
    reward = rw.issue(wang.id, 500)
    assert reward.status == RewardStatus.HELD
    points = rw.balances(wang.id)[Asset.POINTS]
    assert (points.held, points.available) == (Decimal(500), Decimal(0))
    assert rw.release_all() == 1
    points = rw.balances(wang.id)[Asset.POINTS]
    assert (points.held, points.available) == (Decimal(0), Decimal(500))
    result = rw.verify()
    assert result.ok, result.problems
    assert (result.entries, result.accounts) == (2, 3)


def test_same_key_same_request_issues_once_different_request_refused(rw: Rewards) -> None:
    wang = rw.customer()
    first = rw.issue(wang.id, 500, key="visit-42")
    again = rw.issue(wang.id, 500, key="visit-42")
    assert again.id == first.id
    with pytest.raises(Conflict) as refused:
        rw.issue(wang.id, 900, key="visit-42")
    assert refused.value.code == "idempotency_key_reused"
    assert rw.balances(wang.id)[Asset.POINTS].held == Decimal(500)


def test_entries_refuse_update_and_delete_in_the_database(rw: Rewards) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500)
    statements = ["UPDATE ledger_entries SET amount = 5000", "DELETE FROM ledger_entries"]
    if not rw.database.is_sqlite:
        statements.append("TRUNCATE ledger_entries CASCADE")
    for statement in statements:
        with pytest.raises(DBAPIError), rw.database.engine.begin() as conn:
            conn.execute(text(statement))
    assert rw.verify().ok


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE ledger_entries SET amount = amount + 1 WHERE seq = 2",
        "UPDATE ledger_entries SET credit_account_id = debit_account_id + 0, "
        "debit_account_id = credit_account_id WHERE seq = 2",
        "UPDATE ledger_entries SET memo = 'edited' WHERE seq = 2",
        "DELETE FROM ledger_entries WHERE seq = 2",
    ],
)
def test_a_hand_edit_is_found_and_named(rw: Rewards, tamper: str) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a")
    rw.issue(wang.id, 300, key="b")
    rw.issue(wang.id, 200, key="c")
    with rw.database.engine.begin() as conn, guard.lifted(conn):
        conn.execute(text(tamper))
    result = rw.verify()
    assert not result.ok
    assert result.first_broken_seq in (2, 3)
    assert "#2" in result.problems[0] or "#3" in result.problems[0]


def test_a_hand_edited_balance_is_found(rw: Rewards) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500)
    with rw.database.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_accounts SET balance = 9999 WHERE kind = 'held'"))
    result = rw.verify()
    assert not result.ok
    assert "9999" in result.problems[0]
