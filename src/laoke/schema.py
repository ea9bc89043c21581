"""Imports every domain's tables so the metadata is complete (Alembic, merges, tests)."""

from laoke.accounts import models as accounts_models
from laoke.audit import models as audit_models
from laoke.customers import models as customers_models
from laoke.db import Base
from laoke.engagement import models as engagement_models
from laoke.events import models as events_models
from laoke.fraud import models as fraud_models
from laoke.group_deals import models as group_deals_models
from laoke.imports import models as imports_models
from laoke.insights import models as insights_models
from laoke.messaging import models as messaging_models
from laoke.orders import models as orders_models
from laoke.referrals import models as referrals_models
from laoke.rewards import models as rewards_models
from laoke.tenancy import models as tenancy_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "customers_models",
    "engagement_models",
    "events_models",
    "fraud_models",
    "group_deals_models",
    "imports_models",
    "insights_models",
    "messaging_models",
    "metadata",
    "orders_models",
    "referrals_models",
    "rewards_models",
    "tenancy_models",
]
