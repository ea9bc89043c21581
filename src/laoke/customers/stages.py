"""Lifecycle and relationship stages of a customer (the rules that set them live in engagement)."""

from __future__ import annotations

from enum import StrEnum

from laoke.errors import N_


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"
    NEW = "new"
    REPEAT = "repeat"
    LAPSED = "lapsed"
    LOYAL = "loyal"
    FAN = "fan"
    AGENT = "agent"


LIFECYCLE_LABELS = {
    LifecycleStage.PROSPECT: N_("Prospect"),
    LifecycleStage.NEW: N_("First-time customer"),
    LifecycleStage.REPEAT: N_("Returning customer"),
    LifecycleStage.LAPSED: N_("Lapsed"),
    LifecycleStage.LOYAL: N_("Loyal"),
    LifecycleStage.FAN: N_("Fan"),
    LifecycleStage.AGENT: N_("Agent"),
}


class RelationshipStage(StrEnum):
    STRANGER = "stranger"
    ACQUAINTED = "acquainted"
    CUSTOMER = "customer"
    FRIEND = "friend"
    CONFIDANT = "confidant"


RELATIONSHIP_LABELS = {
    RelationshipStage.STRANGER: N_("Stranger"),
    RelationshipStage.ACQUAINTED: N_("Acquainted"),
    RelationshipStage.CUSTOMER: N_("Customer relationship"),
    RelationshipStage.FRIEND: N_("Friend"),
    RelationshipStage.CONFIDANT: N_("Confidant"),
}
