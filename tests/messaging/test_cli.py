"""The command line: `laoke channel add`, `laoke webhook add`, `laoke worker --once`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from laoke.cli import app
from laoke.config import get_settings
from laoke.messaging.sink import Sink
from tests.messaging.conftest import HOOK_SECRET


@pytest.fixture
def cli(database, monkeypatch, cast):
    if database.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised against the SQLite file")
    monkeypatch.setenv(
        "LAOKE_DATABASE_URL", database.engine.url.render_as_string(hide_password=False)
    )
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, list(args))
        return result

    return run


def test_channels_and_webhooks_from_the_command_line_and_a_worker_pass(cli, acme) -> None:
    with Sink(secret=HOOK_SECRET) as sink:
        added = cli(
            "channel",
            "add",
            "--org",
            "acme",
            "--kind",
            "webhook",
            "--name",
            "hook",
            "--url",
            sink.url + "/m",
            "--secret",
            HOOK_SECRET,
        )
        assert added.exit_code == 0, added.output
        smtp = cli(
            "channel",
            "add",
            "--org",
            "acme",
            "--kind",
            "smtp",
            "--host",
            "127.0.0.1",
            "--port",
            "2525",
            "--security",
            "none",
            "--password",
            "pw-secret-123",
            "--from-address",
            "s@acme.test",
        )
        assert smtp.exit_code == 0, smtp.output
        listed = cli("channel", "list", "--org", "acme", "--json")
        assert "pw-secret-123" not in listed.output and HOOK_SECRET not in listed.output
        assert {c["kind"] for c in json.loads(listed.output)} == {"webhook", "smtp"}
        wrong = cli("channel", "add", "--org", "acme", "--kind", "wecom", "--host", "x")
        assert wrong.exit_code != 0
        hook = cli(
            "webhook",
            "add",
            "--org",
            "acme",
            "--url",
            sink.url + "/events",
            "--secret",
            HOOK_SECRET,
            "--event",
            "customer.created",
        )
        assert hook.exit_code == 0, hook.output
        all_events = cli(
            "webhook", "add", "--org", "acme", "--url", sink.url + "/all", "--secret", HOOK_SECRET
        )
        assert "all events" in all_events.output
        cli("customers", "add", "--org", "acme", "--name", "命令行客户")
        cli("channel", "test", "--org", "acme", "--name", "hook", "--to", "group")
        once = cli("worker", "--once")
        assert once.exit_code == 0, once.output
    paths = sorted(r["path"] for r in sink.received)
    assert paths == ["/all", "/events", "/m"]
    assert all(r["valid"] for r in sink.received)
    assert any("signature" in h for h in sink.received[0]["headers"])


def test_unknown_organisations_and_bad_urls_are_clear_errors(cli) -> None:
    missing = cli(
        "webhook", "add", "--org", "nope", "--url", "http://127.0.0.1:9/x", "--secret", HOOK_SECRET
    )
    assert missing.exit_code == 1
    bad = cli("webhook", "add", "--org", "acme", "--url", "not a url", "--secret", HOOK_SECRET)
    assert bad.exit_code == 1 and "http" in bad.output
