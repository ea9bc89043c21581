"""Messaging fixtures: the same secret for the app, the worker and enqueue; local
receivers; a clock the tests move; helpers to set up channels, templates and customers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from laoke.accounts.actor import Actor
from laoke.config import Mode, Settings, get_settings
from laoke.customers.models import Customer, CustomerPhone
from laoke.db import Database
from laoke.messaging import channel_service, templates_service
from laoke.messaging.compose import Text
from laoke.messaging.models import Channel, MessageTemplate, OutboxMessage
from laoke.messaging.sink import Sink
from laoke.messaging.worker import Worker

SECRET_KEY = "t" * 48
HOOK_SECRET = "hook-secret-0123456789"


@pytest.fixture(autouse=True)
def _one_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`enqueue` falls back to get_settings(); make it agree with the test app's settings."""
    monkeypatch.setenv("LAOKE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("LAOKE_MODE", "test")
    monkeypatch.setenv("LAOKE_PUBLIC_BASE_URL", "http://testserver")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        mode=Mode.TEST,
        secret_key=SECRET_KEY,
        database_url="sqlite:///unused.db",
        public_base_url="http://testserver",
    )


class Clock:
    """A clock the test moves; starts at a Shanghai mid-morning (outside quiet hours)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(database: Database, settings: Settings, clock: Clock) -> Iterator[Worker]:
    w = Worker(database, settings, name="test-worker", clock=clock, rng=random.Random(7), jobs={})
    yield w
    w.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink(secret=HOOK_SECRET) as receiver:
        yield receiver


@dataclass
class Setup:
    database: Database
    settings: Settings
    org_id: int
    channels: dict[str, Channel] = field(default_factory=dict)

    @property
    def system(self) -> Actor:
        return Actor.system(self.org_id)

    def channel(self, kind: str, name: str | None = None, **values: Any) -> Channel:
        extra = {k: values.pop(k) for k in ("rate_per_minute", "burst") if k in values}
        with self.database.unit_of_work() as s:
            channel = channel_service.create_channel(
                s, self.system, self.settings, kind=kind, name=name or kind, values=values, **extra
            )
        self.channels[channel.name] = channel
        return channel

    def webhook_channel(self, url: str, **extra: Any) -> Channel:
        return self.channel("webhook", url=url, secret=HOOK_SECRET, **extra)

    def template(
        self,
        purpose: str = "campaign.message",
        channel: str = "webhook",
        body: str = "{{ customer_name }}, hello from {{ org_name }}",
        subject: str | None = None,
        name: str | None = None,
        language: str = "zh_CN",
        texts: dict[str, Text] | None = None,
    ) -> MessageTemplate:
        draft = templates_service.Draft(
            name=name or f"{purpose}-{channel}",
            purpose=purpose,
            channel=channel,
            texts=texts or {language: Text(subject, body)},
        )
        with self.database.unit_of_work() as s:
            return templates_service.save_template(s, self.system, draft)

    def customer(
        self,
        name: str = "王小美",
        *,
        consent: bool = True,
        email: str | None = "xiaomei@example.com",
        phone: str | None = "+8613800138000",
        **fields: Any,
    ) -> Customer:
        with self.database.unit_of_work() as s:
            customer = Customer(
                org_id=self.org_id,
                name=name,
                email=email,
                marketing_consent=consent,
                consent_source="form" if consent else None,
                **{"custom_attributes": {}, **fields},
            )
            if phone:
                customer.phones.append(
                    CustomerPhone(
                        org_id=self.org_id,
                        e164=phone,
                        national=phone[-11:],
                        kind="mobile",
                        is_primary=True,
                    )
                )
            s.add(customer)
            s.commit()
            return customer

    def messages(self) -> list[OutboxMessage]:
        from sqlalchemy import select

        with self.database.unit_of_work(write=False) as s:
            rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
            s.expunge_all()
            return rows

    def message(self, message_id: int) -> OutboxMessage:
        with self.database.unit_of_work(write=False) as s:
            row = s.get(OutboxMessage, message_id)
            s.expunge_all()
            return row


@pytest.fixture
def acme(database: Database, settings: Settings, cast) -> Setup:
    return Setup(database, settings, cast.acme.id)


@pytest.fixture
def globex(database: Database, settings: Settings, cast) -> Setup:
    return Setup(database, settings, cast.globex.id)
