"""The demo tenant has referral programs, codes and leads in every pipeline state."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from laoke.referrals.models import (
    InviteCode,
    LeadStatusChange,
    ReferralLead,
    ReferralProgram,
)


@pytest.mark.xdist_group("demo")  # one worker seeds the shared demo
def test_the_demo_has_programs_codes_and_leads_in_every_state(demo_tenant) -> None:
    with demo_tenant.database.unit_of_work(write=False) as s:
        assert s.scalar(select(func.count()).select_from(ReferralProgram)) == 2
        customer_codes = s.scalar(
            select(func.count()).select_from(InviteCode).where(InviteCode.customer_id.is_not(None))
        )
        assert customer_codes == 200
        assert (
            s.scalar(
                select(func.count()).select_from(InviteCode).where(InviteCode.user_id.is_not(None))
            )
            == 4
        )
        leads = s.scalars(select(ReferralLead)).all()
        assert len(leads) >= 150  # and the few the rewards step refers and converts
        assert {lead.status for lead in leads} == {
            "new",
            "contacted",
            "visited",
            "converted",
            "lost",
        }
        assert {"attributed", "duplicate", "self_referral"} <= {lead.attribution for lead in leads}
        converted = [lead for lead in leads if lead.status == "converted"]
        assert all(lead.referee_customer_id and lead.converted_at for lead in converted)
        lost = [lead for lead in leads if lead.status == "lost"]
        assert all(lead.lost_reason for lead in lost)
        changes = s.scalar(select(func.count()).select_from(LeadStatusChange))
        assert changes > 300
