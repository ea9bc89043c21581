"""The demo tenant's messaging: channels aimed at local receivers, templates in three
languages, a finished campaign, a history of sent, failed and dead messages, and
birthdays coming up.

The channels point at this machine only:
- webhook and SMS gateway: `laoke sink --port 9099 --secret demo-webhook-secret-0001`
  prints what arrives (http://127.0.0.1:9099/hooks/demo, /sms/demo, /events);
- email: an SMTP receiver on 127.0.0.1:8025, e.g. `python -m aiosmtpd -n -l 127.0.0.1:8025`.
Without them running, messages the worker tries retry with backoff and end as dead letters.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.config import get_settings
from laoke.customers.models import Customer
from laoke.db import utcnow
from laoke.messaging import campaigns, care, channel_service, preferences, segments, webhooks
from laoke.messaging.compose import Text
from laoke.messaging.models import MessageStatus, OutboxMessage
from laoke.messaging.outbox import enqueue
from laoke.messaging.templates_service import Draft, save_template

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

DEMO_SINK = "http://127.0.0.1:9099"
DEMO_WEBHOOK_SECRET = "demo-webhook-secret-0001"

TEMPLATES = [
    Draft(
        "生日祝福（邮件）",
        "care.birthday",
        "smtp",
        {
            "zh_CN": Text(
                "{{ customer_name }}，生日快乐！",
                "亲爱的{{ customer_name }}：\n\n{{ org_name }}祝您生日快乐，愿新的一岁美丽常在。{% if coupon %}\n生日礼：{{ coupon }}。{% endif %}",
            ),
            "zh_TW": Text(
                "{{ customer_name }}，生日快樂！",
                "親愛的{{ customer_name }}：\n\n{{ org_name }}祝您生日快樂，願新的一歲美麗常在。{% if coupon %}\n生日禮：{{ coupon }}。{% endif %}",
            ),
            "en": Text(
                "Happy birthday, {{ customer_name }}!",
                "Dear {{ customer_name }},\n\nAll of us at {{ org_name }} wish you a happy birthday.{% if coupon %}\nYour gift: {{ coupon }}.{% endif %}",
            ),
        },
    ),
    Draft(
        "会员日活动（邮件）",
        "campaign.message",
        "smtp",
        {
            "zh_CN": Text(
                "{{ customer_name }}，会员日专属礼遇",
                "{{ customer_name }}您好：\n本周六会员日，全部护理项目 8 折。{% if coupon %}另送{{ coupon }}。{% endif %}\n期待您的光临！",
            ),
            "zh_TW": Text(
                "{{ customer_name }}，會員日專屬禮遇",
                "{{ customer_name }}您好：\n本週六會員日，全部護理項目 8 折。{% if coupon %}另送{{ coupon }}。{% endif %}\n期待您的光臨！",
            ),
            "en": Text(
                "{{ customer_name }}, member day offer",
                "Hello {{ customer_name }},\nThis Saturday is member day: 20% off every treatment.{% if coupon %} Plus {{ coupon }}.{% endif %}\nWe look forward to seeing you!",
            ),
        },
    ),
    Draft(
        "中秋问候（短信）",
        "care.holiday",
        "sms",
        {
            "zh_CN": Text(
                None, "{{ customer_name }}，{{ holiday_name }}快乐！花好月圆，阖家幸福。"
            ),
            "zh_TW": Text(
                None, "{{ customer_name }}，{{ holiday_name }}快樂！花好月圓，闔家幸福。"
            ),
            "en": Text(None, "{{ customer_name }}, happy {{ holiday_name }} from all of us!"),
        },
    ),
    Draft(
        "预约提醒（短信）",
        "service.notice",
        "sms",
        {
            "zh_CN": Text(None, "【{{ org_name }}】{{ customer_name }}您好，{{ notice }}"),
            "zh_TW": Text(None, "【{{ org_name }}】{{ customer_name }}您好，{{ notice }}"),
            "en": Text(None, "[{{ org_name }}] Hello {{ customer_name }}, {{ notice }}"),
        },
    ),
]


# Lunar holidays move; their Gregorian dates for the years a demo may be seeded in.
LUNAR = {
    "春节": [
        date(2026, 2, 17),
        date(2027, 2, 6),
        date(2028, 1, 26),
        date(2029, 2, 13),
        date(2030, 2, 3),
    ],
    "中秋节": [
        date(2026, 9, 25),
        date(2027, 9, 15),
        date(2028, 10, 3),
        date(2029, 9, 22),
        date(2030, 9, 12),
    ],
}


def _next(today: date, month: int, day: int) -> date:
    candidate = date(today.year, month, day)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def _holidays(today: date) -> list[tuple[str, date]]:
    found = [("元旦", _next(today, 1, 1)), ("国庆节", _next(today, 10, 1))]
    for name, dates in LUNAR.items():
        upcoming = [d for d in dates if d >= today]
        if upcoming:
            found.append((name, upcoming[0]))
    return sorted(found, key=lambda item: item[1])


def seed_messaging(session: Session, ctx: DemoContext) -> None:
    settings = get_settings()
    owner = ctx.actor("owner@demo.laoke.local")
    preferences.save(
        session, owner, quiet_enabled=True, quiet_start="21:00", quiet_end="08:00",
        birthday_coupon="生日当月护理立减 100 元",
    )  # fmt: skip
    channel_service.create_channel(
        session, owner, settings, kind="webhook", name="本地 Webhook 接收器",
        values={"url": f"{DEMO_SINK}/hooks/demo", "secret": DEMO_WEBHOOK_SECRET},
    )  # fmt: skip
    channel_service.create_channel(
        session, owner, settings, kind="smtp", name="邮件（本机 8025 端口）",
        values={"host": "127.0.0.1", "port": "8025", "security": "none",
                "from_address": "hello@demo.laoke.local", "from_name": ctx.org.name},
        rate_per_minute=120, burst=20,
    )  # fmt: skip
    channel_service.create_channel(
        session, owner, settings, kind="sms", name="短信网关（本地）",
        values={"url": f"{DEMO_SINK}/sms/demo", "auth_header": "X-Api-Key", "auth_value": "demo-key",
                "body_template": '{"mobile": "{{ to }}", "content": "{{ text }}", "ref": "{{ idempotency_key }}"}'},
        rate_per_minute=60, burst=10,
    )  # fmt: skip
    webhooks.create_subscription(
        session, owner, settings, url=f"{DEMO_SINK}/events", secret=DEMO_WEBHOOK_SECRET,
        events=["customer.created", "customer.updated"], description="演示：客户事件推送到本地接收器",
    )  # fmt: skip
    saved = {draft.purpose: save_template(session, owner, draft) for draft in TEMPLATES}
    today = utcnow().date()
    for name, on_date in _holidays(today):
        care.add_holiday(
            session, owner, on_date=on_date, name=name, template_id=saved["care.holiday"].id
        )
    _birthdays_ahead(session, ctx, today)
    _finished_campaign(session, ctx, owner, saved["campaign.message"].id)
    _service_notices(session, ctx, saved["service.notice"].id)


def _birthdays_ahead(session: Session, ctx: DemoContext, today: date) -> None:
    """A few consenting customers with birthdays this week, so the care page has a story."""
    consenting = list(
        session.scalars(
            select(Customer)
            .where(
                Customer.org_id == ctx.org.id,
                Customer.marketing_consent.is_(True),
                Customer.erased_at.is_(None),
            )
            .order_by(Customer.id)
            .limit(60)
        )
    )
    for offset, customer in enumerate(ctx.rng.sample(consenting, min(4, len(consenting)))):
        born = today + timedelta(days=offset + 1)
        customer.birthday = date(ctx.rng.randrange(1970, 2000), born.month, min(born.day, 28))
    session.commit()


def _finished_campaign(session: Session, ctx: DemoContext, owner: Actor, template_id: int) -> None:
    started = utcnow() - timedelta(days=3, hours=2)
    segment = segments.save_segment(
        session, owner, name="VIP 与老客户", filters={"tag": ["VIP", "老客户"]}
    )
    campaign = campaigns.start_campaign(
        session, owner, name="十一月会员日", template_id=template_id, segment_id=segment.id,
        per_minute=500, coupon="到店礼：免费肩颈放松 15 分钟", now=started,
    )  # fmt: skip
    while campaign.status == "running":
        campaigns._slice(session, campaign, started, 500)
        session.commit()
    rows = list(
        session.scalars(select(OutboxMessage).where(OutboxMessage.campaign_id == campaign.id))
    )
    _settle(ctx, rows, started)
    session.commit()


def _service_notices(session: Session, ctx: DemoContext, template_id: int) -> None:
    from laoke.messaging.models import MessageTemplate

    template = session.get(MessageTemplate, template_id)
    customers = list(
        session.scalars(
            select(Customer)
            .where(Customer.org_id == ctx.org.id, Customer.erased_at.is_(None))
            .order_by(Customer.id)
            .limit(40)
        )
    )
    sent_at = utcnow() - timedelta(days=1, hours=5)
    rows = []
    for customer in customers[:25]:
        result = enqueue(
            session, org_id=ctx.org.id, purpose="service.notice", key=f"demo:appointment:{customer.id}",
            template=template, customer=customer, variables={"notice": "您预约的护理时间是明天 15:00，如需改期请回复。"},
            now=sent_at,
        )  # fmt: skip
        if result.message is not None:
            rows.append(result.message)
    session.flush()
    _settle(ctx, rows, sent_at)
    session.commit()


def _settle(ctx: DemoContext, rows: list[OutboxMessage], start: datetime) -> None:
    """What a worker would have made of these messages: mostly sent, some not."""
    for index, row in enumerate(rows):
        at = start + timedelta(seconds=2 + index * 0.4)
        row.created_at = row.updated_at = start
        roll = ctx.rng.random()
        if index % 9 == 4:
            roll = 0.92 if index % 2 else 0.99  # a few of each, whatever the sample size
        if roll < 0.9:
            row.status, row.attempts, row.sent_at = MessageStatus.SENT, 1, at
            row.provider_message_id = f"demo-{row.id}"
        elif roll < 0.95:
            row.status, row.attempts = MessageStatus.FAILED, 1
            row.last_error = (
                "SMTP 550: 5.1.1 mailbox unavailable"
                if row.channel == "smtp"
                else "HTTP 400: invalid mobile"
            )
        else:
            row.status, row.attempts = MessageStatus.DEAD, row.max_attempts
            row.last_error = "ConnectError: [Errno 111] Connection refused"
        row.updated_at = at
        row.next_attempt_at = at
        row.lease_until = None
        row.claimed_by = "demo-worker"
