"""The `laoke` command from a terminal's point of view, on a fresh SQLite file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from laoke.cli import app
from laoke.config import get_settings

runner = CliRunner()


@pytest.fixture
def laoke(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAOKE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LAOKE_SECRET_KEY", "s" * 48)
    get_settings.cache_clear()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run("init")
    yield run
    get_settings.cache_clear()


def test_an_organisation_its_staff_and_a_token(laoke) -> None:
    assert "created organisation shop" in laoke("org", "create", "shop", "--name", "小店").output
    laoke(
        "user",
        "create",
        "--org",
        "shop",
        "--email",
        "boss@shop.test",
        "--role",
        "owner",
        "--password",
        "long enough",
    )
    token = laoke("token", "create", "--org", "shop", "--email", "boss@shop.test").output.strip()
    assert token.startswith("lk_") and "\n" not in token
    assert laoke("org", "create", "shop", "--name", "again", ok=False).exit_code == 1
    bad_role = laoke(
        "user",
        "create",
        "--org",
        "shop",
        "--email",
        "x@shop.test",
        "--role",
        "god",
        "--password",
        "long enough",
        ok=False,
    )
    assert bad_role.exit_code == 1 and "role" in bad_role.output.lower()


def test_customers_from_the_command_line(laoke) -> None:
    laoke("org", "create", "shop", "--name", "小店")
    first = json.loads(
        laoke(
            "customers",
            "add",
            "--org",
            "shop",
            "--name",
            "王丽",
            "--phone",
            "138 1234 5678",
            "--tag",
            "VIP",
        ).output
    )
    assert first["phones"] == ["+8613812345678"]
    duplicate = laoke(
        "customers", "add", "--org", "shop", "--name", "李娜", "--phone", "+8613812345678", ok=False
    )
    assert duplicate.exit_code == 1 and "duplicate_phone" in duplicate.output
    second = json.loads(
        laoke(
            "customers", "add", "--org", "shop", "--name", "王丽", "--phone", "13987654321"
        ).output
    )
    listed = json.loads(laoke("customers", "list", "--org", "shop", "--q", "王", "--json").output)
    assert listed["total"] == 2
    assert (
        json.loads(laoke("customers", "list", "--org", "shop", "--tag", "VIP", "--json").output)[
            "total"
        ]
        == 1
    )
    updated = json.loads(
        laoke("customers", "update", "--org", "shop", str(first["id"]), "--tag", "老客户").output
    )
    assert updated["tags"] == ["老客户"]
    merged = json.loads(
        laoke("customers", "merge", "--org", "shop", str(first["id"]), str(second["id"])).output
    )
    assert merged["merged_id"] == second["id"]
    assert laoke("customers", "erase", "--org", "shop", str(first["id"]), ok=False).exit_code == 1
    assert (
        "pseudonym"
        in laoke("customers", "erase", "--org", "shop", str(first["id"]), "--yes").output
    )
    shown = json.loads(laoke("customers", "show", "--org", "shop", str(first["id"])).output)
    assert shown["erased"] and shown["phones"] == []


def test_the_demo_tenant_is_seeded_once_and_prints_its_logins(laoke) -> None:
    output = laoke("demo", "--customers", "60").output
    assert "owner@demo.laoke.local" in output and "laoke-demo" in output
    again = laoke("demo", "--if-empty").output
    assert "owner@demo.laoke.local" in again
    listed = json.loads(
        laoke("customers", "list", "--org", "demo", "--json", "--per-page", "200").output
    )
    assert listed["total"] >= 55
    as_sales = json.loads(
        laoke(
            "customers",
            "list",
            "--org",
            "demo",
            "--as",
            "li.na@demo.laoke.local",
            "--json",
            "--per-page",
            "200",
        ).output
    )
    assert 0 < as_sales["total"] < listed["total"]
