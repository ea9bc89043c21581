"""The demo tenant shows messaging lived-in."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from laoke.accounts.actor import Actor
from laoke.messaging import care
from laoke.messaging.models import Campaign, Channel, MessageTemplate, OutboxMessage, TemplateText


@pytest.mark.xdist_group("demo")  # one worker seeds the shared demo
def test_the_demo_has_templates_channels_history_a_campaign_and_birthdays(demo_tenant) -> None:
    org = demo_tenant.org
    with demo_tenant.database.unit_of_work(write=False) as s:
        languages = set(s.scalars(select(TemplateText.language)))
        assert languages == {"zh_CN", "zh_TW", "en"}
        assert s.scalar(select(func.count()).select_from(MessageTemplate)) >= 4
        hook = s.scalar(select(Channel).where(Channel.kind == "webhook"))
        assert hook.settings["url"] == "http://127.0.0.1:9099/hooks/demo"
        statuses = set(s.scalars(select(OutboxMessage.status)))
        assert {"sent", "failed", "dead"} <= statuses and "queued" not in statuses
        campaign = s.scalar(select(Campaign))
        assert campaign.status == "finished" and campaign.enqueued > 0
        upcoming = care.upcoming_birthdays(s, Actor.system(org.id), date.today())
        assert any(b.will_greet for b in upcoming)
