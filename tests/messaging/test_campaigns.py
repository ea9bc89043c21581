"""Campaigns: a dry run that explains the skips, throttled enqueueing, live progress."""

from __future__ import annotations

from laoke.customers.stages import LifecycleStage
from laoke.messaging import campaigns
from laoke.messaging.models import CampaignStatus, MessageStatus
from tests.conftest import csrf_from


def _audience(acme, cast) -> None:
    for n in range(5):
        acme.customer(
            f"会员{n}",
            phone=f"+861380013800{n}",
            owner_id=cast.bob.id,
            lifecycle_stage=LifecycleStage.REPEAT,
        )
    acme.customer(
        "没同意",
        consent=False,
        phone="+8613900000001",
        owner_id=cast.bob.id,
        lifecycle_stage=LifecycleStage.REPEAT,
    )
    acme.customer(
        "没邮箱",
        email=None,
        phone="+8613900000002",
        owner_id=cast.bob.id,
        lifecycle_stage=LifecycleStage.REPEAT,
    )
    acme.customer(
        "别人的",
        phone="+8613900000003",
        owner_id=cast.carol.id,
        lifecycle_stage=LifecycleStage.REPEAT,
    )


def test_the_dry_run_counts_who_gets_it_and_why_others_are_skipped(cast, api_of, acme) -> None:
    acme.channel("smtp", host="127.0.0.1", port="2525", security="none", from_address="s@acme.test")
    template = acme.template(channel="smtp", subject="会员日", body="{{ customer_name }}，会员日")
    _audience(acme, cast)
    result = (
        api_of(cast.maggie)
        .post(
            "/api/v1/campaigns/dry-run",
            json={
                "template_id": template.id,
                "filters": {"owner": [str(cast.bob.id)], "lifecycle_stage": ["repeat"]},
            },
        )
        .json()
    )
    assert result == {"audience": 7, "will_send": 5, "skipped": {"no_consent": 1, "no_address": 1}}


def test_a_campaign_is_enqueued_a_slice_a_minute_and_finishes(
    cast, acme, sink, worker, clock, database
) -> None:
    acme.webhook_channel(sink.url)
    template = acme.template(body="{{ customer_name }}{% if coupon %}：{{ coupon }}{% endif %}")
    _audience(acme, cast)
    with database.unit_of_work() as s:
        campaign = campaigns.start_campaign(
            s, acme.system, name="双十一", template_id=template.id, filters={"owner": [str(cast.bob.id)]},
            per_minute=3, coupon="满200减30", now=clock(),
        )  # fmt: skip
    worker.run_once()
    assert len(sink.received) == 3
    assert worker.run_once().claimed == 0  # the next slice waits a minute
    clock.advance(minutes=1)
    worker.run_once()
    clock.advance(minutes=1)
    worker.run_once()
    with database.unit_of_work(write=False) as s:
        done = campaigns.get_campaign_for(s, acme.system, campaign.id)
        status, enqueued, skipped = done.status, done.enqueued, dict(done.skipped)
        progress = campaigns.progress(s, acme.system, campaign.id)
    assert status == CampaignStatus.FINISHED and enqueued == 6 and skipped == {"no_consent": 1}
    assert progress["sent"] == 6 and len(sink.received) == 6
    assert "满200减30" in sink.received[0]["body"].decode()


def test_the_progress_view_polls_while_running_and_cancel_stops_it(
    cast, acme, sink, browser_of, database, clock
) -> None:
    acme.webhook_channel(sink.url)
    template = acme.template()
    _audience(acme, cast)
    alice = browser_of(cast.alice)
    form = alice.get("/messages/campaigns/new")
    token = csrf_from(form.text)
    dry = alice.post(
        "/messages/campaigns/dry-run",
        data={"csrf_token": token, "template_id": str(template.id), "f_owner": str(cast.bob.id)},
    )
    assert 'data-test="dry-run-result"' in dry.text
    created = alice.post(
        "/messages/campaigns/new",
        data={
            "csrf_token": token,
            "name": "测试",
            "template_id": str(template.id),
            "per_minute": "2",
            "f_owner": str(cast.bob.id),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    detail = alice.get(created.headers["location"])
    assert 'hx-trigger="every 2s"' in detail.text
    campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
    alice.post(f"/messages/campaigns/{campaign_id}/cancel", data={"csrf_token": token})
    fragment = alice.get(
        f"/messages/campaigns/{campaign_id}/progress", headers={"HX-Request": "true"}
    )
    assert "every 2s" not in fragment.text
    assert all(m.status != MessageStatus.QUEUED for m in acme.messages())


def test_viewers_cannot_send_and_other_tenants_cannot_see(cast, acme, api_of) -> None:
    acme.webhook_channel("http://127.0.0.1:9/x")
    template = acme.template()
    acme.customer()
    viewer = api_of(cast.victor)
    body = {"name": "x", "template_id": template.id}
    assert viewer.post("/api/v1/campaigns", json=body).status_code == 403
    assert (
        viewer.post(
            "/api/v1/templates",
            json={
                "name": "t",
                "purpose": "service.notice",
                "channel": "sms",
                "texts": {"en": {"body": "x"}},
            },
        ).status_code
        == 403
    )
    made = api_of(cast.alice).post("/api/v1/campaigns", json=body)
    assert made.status_code == 201
    assert viewer.get(f"/api/v1/campaigns/{made.json()['id']}").status_code == 200
    assert api_of(cast.oscar).get(f"/api/v1/campaigns/{made.json()['id']}").status_code == 404
    assert (
        api_of(cast.oscar)
        .post("/api/v1/campaigns/dry-run", json={"template_id": template.id})
        .status_code
        == 404
    )


def test_segments_are_saved_and_used_by_id(cast, acme, api_of) -> None:
    acme.webhook_channel("http://127.0.0.1:9/x")
    template = acme.template()
    _audience(acme, cast)
    api = api_of(cast.maggie)
    saved = api.post(
        "/api/v1/segments",
        json={
            "name": "Bob 的老客",
            "filters": {"owner": [str(cast.bob.id)], "lifecycle_stage": ["repeat"]},
        },
    )
    assert saved.status_code == 201, saved.text
    assert [s["name"] for s in api.get("/api/v1/segments").json()] == ["Bob 的老客"]
    dry = api.post(
        "/api/v1/campaigns/dry-run",
        json={"template_id": template.id, "segment_id": saved.json()["id"]},
    ).json()
    assert dry["audience"] == 7
    assert (
        api_of(cast.oscar)
        .post(
            "/api/v1/campaigns/dry-run",
            json={"template_id": template.id, "segment_id": saved.json()["id"]},
        )
        .status_code
        == 404
    )
    assert (
        api.post("/api/v1/segments", json={"name": "Bob 的老客", "filters": {}}).status_code == 409
    )
