"""One idempotency key sent a thousand times, fifty at once, issues exactly once.

At the service level, from threads that each open their own session, on every backend;
and over real HTTP (a uvicorn server, fifty client threads) where the build has
`POST /api/v1/rewards`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from laoke.db import Database
from laoke.errors import DomainError
from laoke.rewards import ledger
from laoke.rewards.issuing import IssueRequest, issue
from laoke.rewards.models import (
    LedgerEntry,
    Operation,
    Redemption,
    Reward,
    RewardKind,
)
from laoke.rewards.redeeming import RedeemRequest, redeem
from tests.conftest import Cast, all_routes
from tests.rewards.shop import Shop, build_shop
from tests.rewards.workload import is_busy

SENDS = 1_000
AT_ONCE = 50
HTTP_TRIES = 8


def send_all(
    database: Database, call: Callable[..., tuple[object, bool]], requests: list
) -> Counter:
    """Each request in its own thread-owned transaction; outcomes counted by kind."""

    def one(request: object) -> str:
        for tries in range(20):
            try:
                with database.unit_of_work() as s:
                    row, created = call(s, request)
                    s.commit()
                    return f"created:{row.id}" if created else f"again:{row.id}"
            except DomainError as error:
                return f"refused:{error.code}"
            except Exception as error:
                if not is_busy(error):
                    raise
                time.sleep(0.01 * (tries + 1))
        return "busy"

    with ThreadPoolExecutor(AT_ONCE) as pool:
        return Counter(pool.map(one, requests))


def shop_of(database: Database, cast: Cast) -> Shop:
    return build_shop(database, cast.acme.id, cast.alice.id, customers=1, leads=1)


def count(database: Database, query) -> int:
    with database.unit_of_work(write=False) as s:
        return s.scalar(query) or 0


def test_one_issue_key_sent_a_thousand_times_fifty_at_once_issues_once(
    database: Database, cast: Cast
) -> None:
    shop = shop_of(database, cast)
    customer = shop.customers[0]
    request = IssueRequest(
        customer_id=customer,
        kind=RewardKind.POINTS,
        amount=Decimal(500),
        program_id=shop.program_id,
        rule_id=shop.rule_id,
        lead_id=shop.leads[0],
        order_id=shop.orders[customer][0],
        hold_days=0,
    )
    started = time.monotonic()
    outcomes = send_all(
        database,
        lambda s, r: issue(s, shop.org_id, r, "rule:1:lead:1:referrer"),
        [request] * SENDS,
    )
    print(
        f"\n[{database.engine.dialect.name}] {SENDS} sends: {dict(outcomes)} "
        f"in {time.monotonic() - started:.1f} s"
    )
    created = [o for o in outcomes if o.startswith("created:")]
    assert len(created) == 1 and outcomes[created[0]] == 1
    reward_id = created[0].split(":")[1]
    assert outcomes[f"again:{reward_id}"] == SENDS - 1
    assert count(database, select(func.count(Reward.id))) == 1
    assert (
        count(
            database,
            select(func.count(LedgerEntry.id)).where(LedgerEntry.operation == Operation.ISSUE),
        )
        == 1
    )
    with database.unit_of_work(write=False) as s:
        assert ledger.customer_balances(s, shop.org_id, customer)["points"].available == 500
        assert ledger.verify(s, shop.org_id).ok


def test_one_key_with_two_different_requests_racing_issues_one_and_refuses_the_other(
    database: Database, cast: Cast
) -> None:
    shop = shop_of(database, cast)
    customer = shop.customers[0]
    small, large = (
        IssueRequest(customer_id=customer, kind=RewardKind.POINTS, amount=Decimal(n))
        for n in (100, 900)
    )
    requests = [small if n % 2 else large for n in range(200)]
    outcomes = send_all(database, lambda s, r: issue(s, shop.org_id, r, "visit-7"), requests)
    created = [o for o in outcomes if o.startswith("created:")]
    assert len(created) == 1
    with database.unit_of_work(write=False) as s:
        reward = s.scalar(select(Reward))
        winners = 100  # as many sends of the winning request as of the losing one
        assert outcomes[f"again:{reward.id}"] == winners - 1
        assert outcomes["refused:idempotency_key_reused"] == 200 - winners
        held = ledger.customer_balances(s, shop.org_id, customer)["points"].held
        assert held == reward.amount
        assert ledger.verify(s, shop.org_id).ok


def test_one_redeem_key_sent_a_thousand_times_fifty_at_once_spends_once(
    database: Database, cast: Cast
) -> None:
    shop = shop_of(database, cast)
    customer = shop.customers[0]
    with database.unit_of_work() as s:
        issue(
            s,
            shop.org_id,
            IssueRequest(
                customer_id=customer, kind=RewardKind.POINTS, amount=Decimal(500), hold_days=0
            ),
            "stock",
        )
        s.commit()
    request = RedeemRequest(customer, shop.orders[customer][0], points=Decimal(300))
    outcomes = send_all(
        database, lambda s, r: redeem(s, shop.org_id, r, "till-42"), [request] * SENDS
    )
    assert sum(1 for o in outcomes if o.startswith("created:")) == 1
    assert sum(n for o, n in outcomes.items() if o.startswith("again:")) == SENDS - 1
    assert count(database, select(func.count(Redemption.id))) == 1
    with database.unit_of_work(write=False) as s:
        assert ledger.customer_balances(s, shop.org_id, customer)["points"].available == 200
        assert ledger.verify(s, shop.org_id).ok


# --- over real HTTP ------------------------------------------------------------------------


def has_route(app, method: str, path: str) -> bool:
    return any(method in route.methods and route.path == path for route in all_routes(app))


@contextmanager
def served(app) -> Iterator[str]:
    """The app behind a real uvicorn server on a free local port."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", workers=1)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_one_key_posted_a_thousand_times_fifty_at_once_over_http_issues_once(
    app, api_of, database: Database, cast: Cast
) -> None:
    if not has_route(app, "POST", "/api/v1/rewards"):
        pytest.skip("POST /api/v1/rewards is not part of this build")
    shop = shop_of(database, cast)
    authorization = api_of(cast.alice).headers["Authorization"]
    body = {"customer_id": shop.customers[0], "kind": "points", "amount": "500", "hold_days": 0}
    local = threading.local()

    retried: Counter = Counter()

    with served(app) as base_url:

        def post(_: int) -> tuple[int, object]:
            """Like a careful client: on a timeout or a 5xx, send again with the same key."""
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=base_url, timeout=60)
            for _try in range(HTTP_TRIES):
                try:
                    response = local.client.post(
                        "/api/v1/rewards",
                        json=body,
                        headers={"Authorization": authorization, "Idempotency-Key": "goodwill-1"},
                    )
                except (
                    httpx.TimeoutException,
                    httpx.TransportError,
                ):  # reset under load: send again
                    retried["timeout"] += 1
                    continue
                if response.status_code < 500:
                    return response.status_code, response.json().get("id")
                retried[response.status_code] += 1
                time.sleep(0.1)
            return 0, None

        started = time.monotonic()
        with ThreadPoolExecutor(AT_ONCE) as pool:
            answers = Counter(pool.map(post, range(SENDS)))
    print(
        f"\n[{database.engine.dialect.name}] HTTP: {dict(answers)}, sent again after "
        f"{dict(retried)}, in {time.monotonic() - started:.1f} s"
    )
    statuses = Counter(status for status, _ in answers.elements())
    # One 201, unless the response that carried it was lost and its retry got the 200.
    assert statuses[201] <= 1 and statuses[201] + statuses[200] == SENDS, statuses
    assert len({reward_id for _, reward_id in answers}) == 1
    assert count(database, select(func.count(Reward.id))) == 1
    assert (
        count(
            database,
            select(func.count(LedgerEntry.id)).where(LedgerEntry.operation == Operation.ISSUE),
        )
        == 1
    )
    with database.unit_of_work(write=False) as s:
        assert ledger.verify(s, shop.org_id).ok
