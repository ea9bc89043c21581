"""The `laoke` command."""

from __future__ import annotations

from typing import Annotated

import typer

from laoke import fraud as _fraud  # noqa: F401 - checks leads made or converted by commands too
from laoke import group_deals as _group_deals  # noqa: F401 - its jobs run in `laoke worker`
from laoke.accounts.cli import org_app, token_app, user_app
from laoke.analytics.clv.transactions_cli import clv_app
from laoke.cli_support import console, database
from laoke.customers.cli import customers_app
from laoke.engagement.cli import recompute
from laoke.imports.cli import export_app, import_app
from laoke.messaging.cli import channel_app, sink, webhook_app, worker
from laoke.orders import cli as orders_cli  # noqa: F401 - adds `laoke import orders`
from laoke.rewards.cli import ledger_app

app = typer.Typer(
    name="laoke",
    help="laoke (老客): customer retention and referrals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(customers_app, name="customers")
app.add_typer(clv_app, name="clv")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(channel_app, name="channel")
app.add_typer(webhook_app, name="webhook")
app.add_typer(ledger_app, name="ledger")


@app.command()
def init() -> None:
    """Create or upgrade the database schema."""
    from laoke.migrate import upgrade

    db = database()
    upgrade(db.engine)
    console.print(f"database ready ({db.engine.url.render_as_string(hide_password=True)})")


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when a demo tenant exists")
    ] = False,
    customers: Annotated[int, typer.Option(min=10, max=200_000, help="How many customers")] = 2000,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same tenant")
    ] = 20261125,
) -> None:
    """Seed a realistic demo tenant (slug `demo`) and print its logins."""
    from laoke.demo.seed import DEMO_PASSWORD, DEMO_STAFF, demo_exists, seed_demo

    db = database()
    if demo_exists(db):
        if not if_empty:
            console.print("[yellow]the demo tenant already exists[/yellow]")
    else:
        with console.status(f"seeding the demo tenant with {customers} customers…"):
            seed_demo(db, customers=customers, seed=seed)
        console.print("[green]demo tenant ready[/green]")
    console.print(f"demo logins (password for all: [bold]{DEMO_PASSWORD}[/bold]):")
    for email, name, role in DEMO_STAFF:
        console.print(f"  {role:<8} {email}  ({name})", highlight=False)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default LAOKE_HOST or 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default LAOKE_PORT or 8000)")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
) -> None:
    """Serve the web application."""
    import uvicorn

    from laoke.config import get_settings

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    console.print(
        f"laoke on [bold]http://{host}:{port}[/bold]  (API docs: http://{host}:{port}/docs)"
    )
    uvicorn.run(
        "laoke.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        proxy_headers=False,
    )


app.command()(worker)
app.command()(recompute)
app.command()(sink)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
