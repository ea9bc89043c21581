"""Configuring a tenant's channels. Secrets are sealed on save and never read back out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.config import Settings
from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.messaging import vault
from laoke.messaging.channels import clean_settings, spec_for
from laoke.messaging.channels.base import Transport
from laoke.messaging.models import Channel, ChannelKind

MAX_RATE = 100_000


@dataclass(frozen=True, slots=True)
class ChannelView:
    """What anybody may see of a channel: settings, and which secrets are set (not them)."""

    id: int
    name: str
    kind: ChannelKind
    settings: dict[str, Any]
    secrets_set: list[str]
    enabled: bool
    rate_per_minute: int | None
    burst: int

    @classmethod
    def of(cls, channel: Channel, settings: Settings) -> ChannelView:
        try:
            secret_names = sorted(vault.unseal(settings.secret_key, channel.sealed_secrets))
        except vault.SecretsUnreadable:
            secret_names = []
        return cls(
            channel.id,
            channel.name,
            ChannelKind(channel.kind),
            dict(channel.settings or {}),
            secret_names,
            channel.enabled,
            channel.rate_per_minute,
            channel.burst,
        )


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise Invalid(N_("A name of at most 100 characters is required."), field="name")
    return name


def _clean_rate(rate: int | None, burst: int | None) -> tuple[int | None, int]:
    if rate is not None and not 0 < rate <= MAX_RATE:
        raise Invalid(
            N_("The rate must be between 1 and 100000 a minute."), field="rate_per_minute"
        )
    burst = burst or 1
    if not 0 < burst <= 10_000:
        raise Invalid(N_("The burst must be between 1 and 10000."), field="burst")
    return rate, burst


def list_channels(session: Session, actor: Actor) -> list[Channel]:
    actor.require(Permission.MANAGE_SETTINGS)
    return list(
        session.scalars(
            select(Channel).where(Channel.org_id == actor.org_id).order_by(Channel.kind, Channel.id)
        )
    )


def get_channel_for(session: Session, actor: Actor, channel_id: int) -> Channel:
    actor.require(Permission.MANAGE_SETTINGS)
    channel = session.get(Channel, channel_id)
    if channel is None or channel.org_id != actor.org_id:
        raise NotFound(N_("No such channel."), code="channel_not_found")
    return channel


def create_channel(
    session: Session,
    actor: Actor,
    settings: Settings,
    *,
    kind: str,
    name: str,
    values: dict[str, Any],
    rate_per_minute: int | None = None,
    burst: int | None = None,
    enabled: bool = True,
) -> Channel:
    actor.require(Permission.MANAGE_SETTINGS)
    spec = spec_for(kind)
    name = _clean_name(name)
    public, secrets = clean_settings(spec, values, allow_private=settings.allows_private_targets)
    rate, burst = _clean_rate(rate_per_minute or spec.default_rate_per_minute, burst)
    if session.scalar(
        select(Channel.id).where(Channel.org_id == actor.org_id, Channel.name == name)
    ):
        raise Conflict(N_("Another channel already has this name."), code="duplicate_channel")
    channel = Channel(
        org_id=actor.org_id,
        name=name,
        kind=spec.kind,
        settings=public,
        sealed_secrets=vault.seal(settings.secret_key, secrets) if secrets else None,
        enabled=enabled,
        rate_per_minute=rate,
        burst=burst,
        bucket_tokens=float(burst),
        bucket_at=utcnow(),
    )
    session.add(channel)
    session.commit()
    return channel


def update_channel(
    session: Session,
    actor: Actor,
    settings: Settings,
    channel_id: int,
    *,
    name: str | None = None,
    values: dict[str, Any] | None = None,
    clear_secrets: list[str] | None = None,
    rate_per_minute: int | bool | None = False,
    burst: int | None = None,
    enabled: bool | None = None,
) -> Channel:
    """Change a channel. Empty secret fields keep their value; `clear_secrets` removes some.
    `rate_per_minute=False` leaves the rate alone, None removes the limit."""
    channel = get_channel_for(session, actor, channel_id)
    spec = spec_for(channel.kind)
    if name is not None:
        name = _clean_name(name)
        clash = session.scalar(
            select(Channel.id).where(
                Channel.org_id == actor.org_id, Channel.name == name, Channel.id != channel.id
            )
        )
        if clash:
            raise Conflict(N_("Another channel already has this name."), code="duplicate_channel")
        channel.name = name
    if values is not None or clear_secrets:
        try:
            current_secrets = vault.unseal(settings.secret_key, channel.sealed_secrets)
        except vault.SecretsUnreadable:
            current_secrets = {}
        for secret_name in clear_secrets or []:
            current_secrets.pop(secret_name, None)
        public, secrets = clean_settings(
            spec,
            values or {},
            allow_private=settings.allows_private_targets,
            current=channel.settings,
            current_secrets=current_secrets,
        )
        channel.settings = public
        channel.sealed_secrets = vault.seal(settings.secret_key, secrets) if secrets else None
    if rate_per_minute is not False or burst is not None:
        rate = channel.rate_per_minute if rate_per_minute is False else rate_per_minute
        channel.rate_per_minute, channel.burst = _clean_rate(rate, burst or channel.burst)  # type: ignore[arg-type]
    if enabled is not None:
        channel.enabled = enabled
    channel.updated_at = utcnow()
    session.commit()
    return channel


def delete_channel(session: Session, actor: Actor, channel_id: int) -> None:
    channel = get_channel_for(session, actor, channel_id)
    session.delete(channel)
    session.commit()


def build_transport(channel: Channel, settings: Settings) -> Transport:
    """The adapter for a channel row (raises vault.SecretsUnreadable on a key change)."""
    spec = spec_for(channel.kind)
    secrets = vault.unseal(settings.secret_key, channel.sealed_secrets)
    return spec.build(dict(channel.settings or {}), secrets, settings.allows_private_targets)


def resend_safe(channel: Channel | None) -> bool:
    if channel is None:
        return True  # an event delivery: the webhook carries its idempotency key
    return spec_for(channel.kind).resend_safe(dict(channel.settings or {}))
