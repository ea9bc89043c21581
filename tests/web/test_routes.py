"""Every route is guarded: pages need a session, the API a token, forms a CSRF token."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from laoke.config import Mode, Settings
from laoke.web.app import create_app
from tests.conftest import all_routes

PUBLIC = {
    "/login",
    "/healthz",
    "/",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/u/{token}",
    "/r/{code}",
    "/r/{code}/qr.svg",
    "/r/{code}/qr.png",
    "/r/{code}/poster.png",
    "/me/{token}",
    "/g/{token}",
    "/g/{token}/qr.svg",
}
UNSAFE = {"POST", "PATCH", "PUT", "DELETE"}


def _routes() -> list[tuple[str, str]]:
    app = create_app(
        Settings(mode=Mode.TEST, secret_key="t" * 48, database_url="sqlite:///:memory:")
    )
    found = []
    for route in all_routes(app):
        if route.path not in PUBLIC:
            for method in sorted(route.methods - {"HEAD"}):
                found.append((method, re.sub(r"{[^}]+}", "1", route.path)))
    return found


ROUTES = _routes()


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_requests_are_turned_away(client, method, path) -> None:
    response = client.request(method, path, follow_redirects=False)
    if path.startswith("/api/"):
        assert response.status_code == 401, response.text
    else:
        assert response.status_code in (303, 403), response.text
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] in UNSAFE])
def test_state_changes_with_a_session_cookie_need_the_csrf_token(
    cast, browser_of, method, path
) -> None:
    signed_in = browser_of(cast.alice)
    response = signed_in.request(method, path, data={"name": "x"}, follow_redirects=False)
    assert response.status_code == 403
    assert "csrf" in response.text.lower() or "表单已过期" in response.text


def test_unknown_pages_get_a_friendly_page_and_unknown_api_paths_json(
    cast, browser_of, client
) -> None:
    page = browser_of(cast.alice).get("/no-such-page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["code"] == "not_found"


def test_server_errors_show_no_stack_trace(app) -> None:
    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = TestClient(app, raise_server_exceptions=False).get("/api/v1/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.json()["code"] == "internal_error"
