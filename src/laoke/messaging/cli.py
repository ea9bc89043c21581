"""`laoke worker`, `laoke channel …`, `laoke webhook …`, `laoke sink`."""

from __future__ import annotations

import signal
import threading
from dataclasses import asdict
from typing import Annotated, Any

import typer
from sqlalchemy import select

from laoke.accounts.actor import Actor
from laoke.cli_support import console, database, domain_errors, fail, print_json
from laoke.config import get_settings
from laoke.messaging import channel_service, webhooks
from laoke.messaging.channels import SPECS
from laoke.messaging.models import Channel, ChannelKind
from laoke.messaging.outbox import enqueue_text
from laoke.tenancy.service import get_org_by_slug

channel_app = typer.Typer(
    help="Message channels (SMTP, webhook, WeCom robot, SMS gateway).", no_args_is_help=True
)
webhook_app = typer.Typer(help="Event webhooks for integrations.", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="Organisation short name (slug)")]


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Process what is due now, then exit")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Messages per claim")] = 100,
    name: Annotated[
        str | None, typer.Option(help="Worker name in the outbox (default host:pid)")
    ] = None,
) -> None:
    """Send queued messages and run scheduled jobs (care, digests, campaigns)."""
    from laoke.messaging.worker import Worker

    settings = get_settings()
    runner = Worker(database(), settings, name=name, batch_size=batch_size)
    if once:
        report = runner.run_once()
        runner.close()
        console.print(
            f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}, "
            f"dead {report.dead}, deferred {report.deferred}, cancelled {report.cancelled}, "
            f"campaign messages enqueued {report.enqueued}, jobs run {len(report.jobs)}",
            highlight=False,
        )
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"worker {runner.name} running — Ctrl-C to stop", highlight=False)
    runner.run_forever(stop)


CHANNEL_OPTIONS = {
    "host", "port", "security", "username", "password", "from_address", "from_name",
    "verify_certificate", "timeout", "url", "secret", "msgtype", "method", "content_type",
    "body_template", "auth_header", "auth_value", "success_field", "success_value",
    "message_id_field",
}  # fmt: skip


@channel_app.command("add")
def channel_add(
    org: OrgOption,
    kind: Annotated[str, typer.Option(help="smtp, webhook, wecom or sms")],
    name: Annotated[str | None, typer.Option(help="A name (default: the kind)")] = None,
    host: Annotated[str | None, typer.Option(help="smtp: server")] = None,
    port: Annotated[int | None, typer.Option(help="smtp: port")] = None,
    security: Annotated[str | None, typer.Option(help="smtp: starttls, ssl or none")] = None,
    username: Annotated[str | None, typer.Option(help="smtp: user name")] = None,
    password: Annotated[str | None, typer.Option(help="smtp: password (sealed)")] = None,
    from_address: Annotated[str | None, typer.Option(help="smtp: From address")] = None,
    from_name: Annotated[str | None, typer.Option(help="smtp: From name")] = None,
    verify_certificate: Annotated[
        bool | None, typer.Option("--verify-certificate/--no-verify-certificate", help="smtp")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="webhook/sms: URL; wecom: robot URL (sealed)")
    ] = None,
    secret: Annotated[str | None, typer.Option(help="webhook: signing secret (sealed)")] = None,
    msgtype: Annotated[str | None, typer.Option(help="wecom: text or markdown")] = None,
    method: Annotated[str | None, typer.Option(help="sms: POST or GET")] = None,
    content_type: Annotated[str | None, typer.Option(help="sms: json or form")] = None,
    body_template: Annotated[str | None, typer.Option(help="sms: JSON body template")] = None,
    auth_header: Annotated[str | None, typer.Option(help="sms: auth header name")] = None,
    auth_value: Annotated[str | None, typer.Option(help="sms: auth header value (sealed)")] = None,
    success_field: Annotated[
        str | None, typer.Option(help="sms: JSON field meaning success")
    ] = None,
    success_value: Annotated[str | None, typer.Option(help="sms: its success value")] = None,
    message_id_field: Annotated[str | None, typer.Option(help="sms: JSON field of the id")] = None,
    timeout: Annotated[int | None, typer.Option(help="seconds per attempt")] = None,
    rate_per_minute: Annotated[int | None, typer.Option(help="at most this many a minute")] = None,
    burst: Annotated[int | None, typer.Option(help="token bucket size")] = None,
) -> None:
    """Configure a message channel for an organisation."""
    given = {k: v for k, v in locals().items() if k in CHANNEL_OPTIONS and v is not None}
    settings = get_settings()
    with domain_errors(), database().unit_of_work() as session:
        if kind not in {k.value for k in ChannelKind}:
            fail("--kind must be smtp, webhook, wecom or sms")
        spec = SPECS[ChannelKind(kind)]
        allowed = {f.name for f in spec.fields}
        wrong = sorted(set(given) - allowed)
        if wrong:
            fail(f"--{wrong[0].replace('_', '-')} does not apply to a {kind} channel")
        tenant = get_org_by_slug(session, org)
        channel = channel_service.create_channel(
            session,
            Actor.system(tenant.id),
            settings,
            kind=kind,
            name=name or kind,
            values=given,
            rate_per_minute=rate_per_minute,
            burst=burst,
        )
        console.print(
            f"added {kind} channel {channel.name!r} (id {channel.id}) to {tenant.slug}",
            highlight=False,
        )


@channel_app.command("list")
def channel_list(org: OrgOption, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List an organisation's channels (secrets are never shown)."""
    settings = get_settings()
    with domain_errors(), database().unit_of_work(write=False) as session:
        tenant = get_org_by_slug(session, org)
        views = [
            channel_service.ChannelView.of(c, settings)
            for c in channel_service.list_channels(session, Actor.system(tenant.id))
        ]
    if as_json:
        print_json([asdict(view) | {"kind": view.kind.value} for view in views])
        return
    for view in views:
        state = "on" if view.enabled else "off"
        rate = f"{view.rate_per_minute}/min" if view.rate_per_minute else "no limit"
        secrets = ", ".join(f"{name} ••• set" for name in view.secrets_set) or "no secrets"
        console.print(
            f"{view.id:>4}  {view.kind:<8} {view.name:<20} {state:<4} {rate:<10} {secrets}",
            highlight=False,
        )


@channel_app.command("test")
def channel_test(
    org: OrgOption,
    name: Annotated[str, typer.Option(help="The channel's name")],
    to: Annotated[str, typer.Option(help="Recipient: an email, a phone number, or 'group'")],
) -> None:
    """Queue a test message on a channel; `laoke worker --once` sends it."""
    with domain_errors(), database().unit_of_work() as session:
        tenant = get_org_by_slug(session, org)
        channel = session.scalar(
            select(Channel).where(Channel.org_id == tenant.id, Channel.name == name)
        )
        if channel is None:
            fail(f"no channel {name!r} in {tenant.slug}")
        from laoke.db import utcnow

        now = utcnow()
        result = enqueue_text(
            session,
            org_id=tenant.id,
            purpose="channel.test",
            key=f"test:{channel.id}:{now.timestamp()}",
            channel=channel,
            recipient=to,
            subject=f"{tenant.name}: test message",
            body=f"This is a test message from laoke for {tenant.name}.",
            now=now,
        )
        session.commit()
        console.print(
            f"queued message {result.message.id if result.message else '?'}", highlight=False
        )


@webhook_app.command("add")
def webhook_add(
    org: OrgOption,
    url: Annotated[str, typer.Option(help="Where to POST the events")],
    secret: Annotated[
        str, typer.Option(help="Shared secret for the HMAC-SHA256 signature (16+ characters)")
    ],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="An event name; repeat; none means all events"),
    ] = None,
    description: Annotated[str, typer.Option(help="What this integration is")] = "",
) -> None:
    """Subscribe an integration to domain events (all of them unless --event is given)."""
    settings = get_settings()
    with domain_errors(), database().unit_of_work() as session:
        tenant = get_org_by_slug(session, org)
        sub, _ = webhooks.create_subscription(
            session,
            Actor.system(tenant.id),
            settings,
            url=url,
            secret=secret,
            events=event or [],
            description=description,
        )
        names = ", ".join(sub.events) if sub.events else "all events"
        console.print(f"webhook {sub.id} → {sub.url} ({names})", highlight=False)


@webhook_app.command("list")
def webhook_list(org: OrgOption, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List an organisation's event webhooks (secrets are never shown)."""
    with domain_errors(), database().unit_of_work(write=False) as session:
        tenant = get_org_by_slug(session, org)
        subs = webhooks.list_subscriptions(session, Actor.system(tenant.id))
        rows: list[dict[str, Any]] = [
            {"id": s.id, "url": s.url, "events": s.events or ["*"], "enabled": s.enabled}
            for s in subs
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(f"{row['id']:>4}  {row['url']}  {', '.join(row['events'])}", highlight=False)


def sink(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 9099,
    secret: Annotated[str | None, typer.Option(help="Check signatures with this secret")] = None,
) -> None:
    """Run a local webhook receiver that prints what it gets (for trying things out)."""
    from laoke.messaging.sink import serve

    serve(port, secret, lambda line: console.print(line, highlight=False, markup=False))
