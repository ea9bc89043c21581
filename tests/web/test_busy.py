"""A database busy with another writer is a "try again", never a server error — even when
it happens before a route's own retries, e.g. while a token is looked up."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from laoke.web.write_turns import Busy


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked")),
        PoolTimeout("QueuePool limit of size 10 overflow 20 reached"),
        Busy(),  # no turn to write came in time
    ],
)
def test_contention_outside_a_route_is_a_409_to_retry(app, error) -> None:
    @app.get("/api/v1/test-busy")
    def busy() -> None:
        raise error

    response = TestClient(app, raise_server_exceptions=False).get("/api/v1/test-busy")
    assert response.status_code == 409
    assert response.json()["code"] == "busy_retry"
    assert response.headers["retry-after"] == "1"


def test_other_database_errors_stay_server_errors(app) -> None:
    @app.get("/api/v1/test-broken")
    def broken() -> None:
        raise IntegrityError("INSERT", {}, Exception("NOT NULL constraint failed: x.y"))

    response = TestClient(app, raise_server_exceptions=False).get("/api/v1/test-broken")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
