"""Shared fixtures: a migrated database per backend, a standing cast, HTTP clients.

The cast, as in a specification:
  acme   — alice (owner), maggie (manager), bob and carol (sales), victor (viewer)
  globex — oscar (owner): another tenant, who must never see acme's records.

Every database test runs on SQLite and, when LAOKE_TEST_POSTGRES_URL is set, on
PostgreSQL too. Each test starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from laoke.accounts import passwords
from laoke.accounts import service as accounts
from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Role
from laoke.config import Mode, Settings
from laoke.db import Database, make_engine
from laoke.migrate import upgrade
from laoke.rewards import guard
from laoke.schema import metadata
from laoke.tenancy.models import Org
from laoke.web.app import create_app

PASSWORD = "correct horse battery"
POSTGRES_URL = os.environ.get("LAOKE_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def _postgres_url() -> str:
    url = POSTGRES_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _postgres_schema_engine(prefix: str) -> tuple[object, str]:
    """An engine on a schema of our own, so parallel runs against one database never collide."""
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(_postgres_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(
        _postgres_url(),
        connect_args={"options": f"-csearch_path={schema}"},
        pool_size=10,
        max_overflow=20,
    )
    return engine, schema


def _drop_schemas(schemas: list[str]) -> None:
    if not schemas:
        return
    admin = create_engine(_postgres_url())
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def _engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    engines: dict[str, object] = {}
    sqlite_path = tmp_path_factory.mktemp("db") / "test.db"
    engines["sqlite"] = make_engine(f"sqlite:///{sqlite_path}")
    schemas: list[str] = []
    if POSTGRES_URL:
        engines["postgres"], schema = _postgres_schema_engine("laoke_test")
        schemas.append(schema)
    for engine in engines.values():
        upgrade(engine)  # type: ignore[arg-type]
    yield engines
    for engine in engines.values():
        engine.dispose()  # type: ignore[attr-defined]
    _drop_schemas(schemas)


def _tables_with_rows(conn, tables: list) -> list:
    """The tables holding any row, in one round trip (most tests touch a few of them)."""
    probes = " UNION ALL ".join(
        f'SELECT {n} WHERE EXISTS (SELECT 1 FROM "{t.name}")' for n, t in enumerate(tables)
    )
    return [tables[n] for n in conn.execute(text(probes)).scalars()]


def _empty_tables(database: Database) -> None:
    # DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of the few filled tables must cascade
    # to every table referring to them, which is all of them, and costs far more.
    tables = list(reversed(metadata.sorted_tables))
    with database.engine.begin() as conn:
        filled = _tables_with_rows(conn, tables)
        if any(t.name == "ledger_entries" for t in filled):
            with guard.lifted(conn):  # ledger entries refuse DELETE
                for table in filled:
                    conn.execute(table.delete())
        else:
            for table in filled:
                conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, _engines: dict[str, object]) -> Iterator[Database]:
    db = Database(_engines[request.param])  # type: ignore[arg-type]
    _empty_tables(db)
    yield db


DEMO_CUSTOMERS, DEMO_SEED = 300, 11


@dataclass
class DemoTenant:
    """The demo tenant, seeded once per backend for the tests that only read it."""

    database: Database
    org: Org


@pytest.fixture(scope="session")
def _demo_tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, DemoTenant]]:
    tenants: dict[str, DemoTenant] = {}
    schemas: list[str] = []

    def seeded(backend: str) -> DemoTenant:
        if backend not in tenants:
            from laoke.demo.seed import seed_demo

            if backend == "postgres":
                engine, schema = _postgres_schema_engine("laoke_demo")
                schemas.append(schema)
            else:
                engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
            upgrade(engine)  # type: ignore[arg-type]
            db = Database(engine)  # type: ignore[arg-type]
            org = seed_demo(db, customers=DEMO_CUSTOMERS, seed=DEMO_SEED)
            tenants[backend] = DemoTenant(db, org)
        return tenants[backend]

    yield seeded  # type: ignore[misc]
    for tenant in tenants.values():
        tenant.database.dispose()
    _drop_schemas(schemas)


@pytest.fixture(params=BACKENDS)
def demo_tenant(request: pytest.FixtureRequest, _demo_tenants) -> DemoTenant:
    """Read-only: tests share it, so none may change it."""
    return _demo_tenants(request.param)  # type: ignore[operator]


@pytest.fixture
def session(database: Database) -> Iterator:
    with database.unit_of_work() as s:
        yield s


@pytest.fixture(scope="session")
def password_hash() -> str:
    return passwords.hash_password(PASSWORD)


@dataclass
class Cast:
    acme: Org
    globex: Org
    alice: User
    maggie: User
    bob: User
    carol: User
    victor: User
    oscar: User

    def actor(self, user: User) -> Actor:
        return accounts.actor_for(user)


@pytest.fixture
def cast(database: Database, password_hash: str) -> Cast:
    with database.unit_of_work() as s:
        acme = Org(slug="acme", name="Acme 美容")
        globex = Org(slug="globex", name="Globex 教育")
        s.add_all([acme, globex])
        s.flush()

        def user(org: Org, name: str, role: Role) -> User:
            row = User(
                org_id=org.id,
                email=f"{name}@{org.slug}.test",
                name=name.title(),
                role=role,
                password_hash=password_hash,
            )
            s.add(row)
            return row

        people = {
            "alice": user(acme, "alice", Role.OWNER),
            "maggie": user(acme, "maggie", Role.MANAGER),
            "bob": user(acme, "bob", Role.SALES),
            "carol": user(acme, "carol", Role.SALES),
            "victor": user(acme, "victor", Role.VIEWER),
            "oscar": user(globex, "oscar", Role.OWNER),
        }
        s.commit()
        return Cast(acme=acme, globex=globex, **people)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        mode=Mode.TEST,
        secret_key="t" * 48,
        database_url="sqlite:///unused.db",
        data_dir=tmp_path / "data",
    )


@pytest.fixture
def app(settings: Settings, database: Database):
    return create_app(settings, database)


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app, base_url="http://testserver")


def csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def login(client: TestClient, user: User, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": password,
            "csrf_token": csrf_from(page.text),
            "next": "/customers",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def browser_of(app):
    """A signed-in page client per user: browser_of(cast.alice)."""

    def make(user: User) -> TestClient:
        return login(TestClient(app, base_url="http://testserver"), user)

    return make


@pytest.fixture
def api_of(app, database: Database):
    """An API client authenticated with a fresh bearer token for the user."""

    def make(user: User) -> TestClient:
        with database.unit_of_work() as s:
            secret = accounts.create_api_token(
                s, accounts.actor_for(s.get(User, user.id)), name="test"
            ).secret
        return TestClient(
            app, base_url="http://testserver", headers={"Authorization": f"Bearer {secret}"}
        )

    return make


def all_routes(app) -> list:
    """Every APIRoute of the app, looking inside included routers."""
    from fastapi.routing import APIRoute

    found: list[APIRoute] = []

    def walk(routes: list) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(app.routes)
    return found
