"""The fraud rules: pure functions over the facts about one referral.

Each rule returns the hits it found, each with a weight and the inputs that made it fire
(so a reviewer sees why, and so does an auditor later). The score is the sum of the
weights; a referral is flagged at 1.0. Weak signals (a shared address, a shared IP, a
near-miss on velocity) weigh less than 1.0 so that no weak signal flags on its own: an IP
address is shared by a whole office or a mobile carrier's NAT, an address by a family.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from laoke.errors import N_
from laoke.fraud.signals import is_disposable

FLAG_AT = 1.0
IP_WEIGHT_CAP = 0.45  # every IP hit together stays below the flag line
MAX_RING_DEPTH = 6


@dataclass(frozen=True, slots=True)
class Thresholds:
    referrer_hour_limit: int = 5
    referrer_day_limit: int = 12
    code_hour_limit: int = 8
    code_day_limit: int = 20
    fast_conversion_minutes: int = 3
    refund_limit: int = 2


@dataclass(frozen=True, slots=True)
class Party:
    """What identifies a person, already normalised (E.164, email keys, address key)."""

    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    address: str | None = None
    devices: frozenset[str] = frozenset()
    ips: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Match:
    """Another lead or customer that is the same referee."""

    kind: str  # "lead" | "customer"
    id: int
    by: str  # "phone" | "email"
    same_referrer: bool = False


@dataclass(frozen=True, slots=True)
class ReferralFacts:
    lead_id: int | None = None
    source: str = "landing"
    attributed: bool = True
    referrer: Party = field(default_factory=Party)
    referee: Party = field(default_factory=Party)
    household: bool = False  # the shared address is a reviewed household
    matches: tuple[Match, ...] = ()
    # The referral graph: customer ids, edges referrer → referee (this lead excluded).
    referrer_node: int | None = None
    referee_node: int | None = None
    edges: frozenset[tuple[int, int]] = frozenset()
    # Counts include this lead.
    referrer_leads_hour: int = 0
    referrer_leads_day: int = 0
    code_leads_hour: int = 0
    code_leads_day: int = 0
    code_ips_hour: int = 0
    # Other leads of the same referrer from this lead's IP (last day) and device (ever).
    ip_leads_day: int = 0
    device_leads: int = 0
    conversion_seconds: float | None = None
    friends_converted: int = 0
    friends_refunded: int = 0


@dataclass(frozen=True, slots=True)
class RuleHit:
    code: str
    weight: float
    inputs: dict[str, Any]

    @property
    def reason(self) -> str:
        return REASONS[self.code]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "weight": self.weight, "inputs": self.inputs}


@dataclass(frozen=True, slots=True)
class Decision:
    score: float
    flagged: bool
    hits: list[RuleHit]


REASONS = {
    "self_phone": N_("The friend's phone is the referrer's own phone."),
    "self_email": N_("The friend's email is the referrer's own mailbox."),
    "self_device": N_("The friend signed up on a device the referrer uses."),
    "self_address": N_("The friend lives at the referrer's address (weak on its own)."),
    "duplicate_referee": N_("This friend was already referred or is already a customer."),
    "ring_cycle": N_("This referral closes a loop: the friend already referred the referrer."),
    "ring_cluster": N_("The referrer and the friend belong to a small group referring each other."),
    "velocity_referrer_hour": N_("Too many referrals from this referrer within an hour."),
    "velocity_referrer_day": N_("Too many referrals from this referrer within a day."),
    "velocity_code_hour": N_("Too many sign-ups with this invite code within an hour."),
    "velocity_code_day": N_("Too many sign-ups with this invite code within a day."),
    "device_reuse": N_("Several friends of this referrer signed up on the same device."),
    "fast_conversion": N_("The friend paid within minutes of being referred."),
    "refund_after_reward": N_("Earlier friends of this referrer had their orders refunded."),
    "disposable_email": N_("The friend's email is a throwaway address."),
    "shared_ip": N_("Same network as the referrer or their other friends (weak on its own)."),
}

# What each input of a hit is, for reviewers.
INPUT_LABELS = {
    "phone": N_("Shared phone"),
    "email": N_("Shared mailbox"),
    "device": N_("Shared device"),
    "address_key": N_("Shared address"),
    "matches": N_("Same person as"),
    "same_referrer": N_("Submitted again by the same referrer"),
    "attributed": N_("Would earn a reward"),
    "cycle": N_("Loop of customers (ids)"),
    "members": N_("Group members (customer ids)"),
    "count": N_("Count in the window"),
    "limit": N_("Allowed at most"),
    "distinct_ips_last_hour": N_("Networks in the last hour"),
    "other_leads": N_("Other friends on this device"),
    "seconds": N_("Seconds from referral to payment"),
    "limit_seconds": N_("Suspicious below (seconds)"),
    "refunded": N_("Friends refunded"),
    "converted": N_("Friends who bought"),
    "domain": N_("Email domain"),
    "referrer_network": N_("On the referrer's network"),
    "other_leads_same_network_day": N_("Other friends on this network today"),
}


def _mask(value: str) -> str:
    """Enough of a phone or email for a reviewer to compare, not to contact."""
    if "@" in value:
        local, domain = value.split("@", 1)
        return f"{local[:2]}***@{domain}"
    return value[:6] + "****" + value[-2:] if len(value) > 8 else value


def self_referral(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    me, friend = facts.referrer, facts.referee
    hits = []
    if common := me.phones & friend.phones:
        hits.append(RuleHit("self_phone", 1.0, {"phone": _mask(min(common))}))
    if common := me.emails & friend.emails:
        hits.append(RuleHit("self_email", 1.0, {"email": _mask(min(common))}))
    if common := me.devices & friend.devices:
        hits.append(RuleHit("self_device", 1.0, {"device": min(common)[:12]}))
    if me.address and me.address == friend.address and not facts.household:
        hits.append(RuleHit("self_address", 0.5, {"address_key": me.address}))
    return hits


def duplicate_referee(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    if not facts.matches:
        return []
    same = [m for m in facts.matches if m.same_referrer]
    # A duplicate the attribution already refused earns nothing; only note it then.
    weight = 1.0 if same or facts.attributed else 0.3
    inputs = {
        "matches": [{"kind": m.kind, "id": m.id, "by": m.by} for m in facts.matches[:10]],
        "same_referrer": bool(same),
        "attributed": facts.attributed,
    }
    return [RuleHit("duplicate_referee", weight, inputs)]


def _path(edges: Iterable[tuple[int, int]], start: int, goal: int) -> list[int] | None:
    out: dict[int, list[int]] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    seen = {start: [start]}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        path = seen[node]
        if node == goal:
            return path
        if len(path) > MAX_RING_DEPTH:
            continue
        for nxt in sorted(out.get(node, ())):
            if nxt not in seen:
                seen[nxt] = [*path, nxt]
                queue.append(nxt)
    return None


def referral_ring(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    a, b = facts.referrer_node, facts.referee_node
    if a is None or b is None or a == b:
        return []
    edges = {e for e in facts.edges if e[0] != e[1]}
    if path := _path(edges, b, a):
        return [RuleHit("ring_cycle", 1.0, {"cycle": [a, *path]})]
    neighbours: dict[int, set[int]] = {}
    for x, y in edges:
        neighbours.setdefault(x, set()).add(y)
        neighbours.setdefault(y, set()).add(x)
    common = neighbours.get(a, set()) & neighbours.get(b, set())
    if common:
        group = sorted({a, b, *common})[:10]
        weight = 1.0 if len(common) >= 2 else 0.6
        return [RuleHit("ring_cluster", weight, {"members": group})]
    return []


def velocity(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    checks = [
        ("velocity_referrer_hour", facts.referrer_leads_hour, limits.referrer_hour_limit),
        ("velocity_referrer_day", facts.referrer_leads_day, limits.referrer_day_limit),
        ("velocity_code_hour", facts.code_leads_hour, limits.code_hour_limit),
        ("velocity_code_day", facts.code_leads_day, limits.code_day_limit),
    ]
    hits = []
    for code, count, limit in checks:
        if limit > 0 and count > limit:
            inputs: dict[str, Any] = {"count": count, "limit": limit}
            if code.startswith("velocity_code"):
                inputs["distinct_ips_last_hour"] = facts.code_ips_hour
            hits.append(RuleHit(code, 1.0, inputs))
    return hits


def device_reuse(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    if facts.device_leads <= 0:
        return []
    weight = 1.0 if facts.device_leads >= 2 else 0.5
    return [RuleHit("device_reuse", weight, {"other_leads": facts.device_leads})]


def fast_conversion(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    # At the counter staff record "who referred you?" as the friend pays: not suspicious.
    if facts.conversion_seconds is None or facts.source == "staff":
        return []
    limit = limits.fast_conversion_minutes * 60
    if 0 <= facts.conversion_seconds < limit:
        seconds = round(facts.conversion_seconds)
        return [RuleHit("fast_conversion", 1.0, {"seconds": seconds, "limit_seconds": limit})]
    return []


def refund_after_reward(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    refunded = facts.friends_refunded
    # A busy referrer with one refund among many happy friends is normal business; a
    # referrer whose friends mostly take the reward and then refund is not.
    if refunded <= 0 or refunded * 2 <= facts.friends_converted:
        return []
    weight = 1.0 if refunded >= limits.refund_limit else 0.5
    inputs = {"refunded": facts.friends_refunded, "converted": facts.friends_converted}
    return [RuleHit("refund_after_reward", weight, inputs)]


def disposable_email(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    for email in sorted(facts.referee.emails):
        domain = email.rsplit("@", 1)[-1]
        if is_disposable(domain):
            return [RuleHit("disposable_email", 1.0, {"domain": domain})]
    return []


def shared_ip(facts: ReferralFacts, limits: Thresholds) -> list[RuleHit]:
    weight = 0.0
    inputs: dict[str, Any] = {}
    if facts.referrer.ips & facts.referee.ips:
        weight += 0.3
        inputs["referrer_network"] = True
    if facts.ip_leads_day >= 2:
        weight += 0.3
        inputs["other_leads_same_network_day"] = facts.ip_leads_day
    if not weight:
        return []
    return [RuleHit("shared_ip", min(weight, IP_WEIGHT_CAP), inputs)]


RULES: list[Callable[[ReferralFacts, Thresholds], list[RuleHit]]] = [
    self_referral,
    duplicate_referee,
    referral_ring,
    velocity,
    device_reuse,
    fast_conversion,
    refund_after_reward,
    disposable_email,
    shared_ip,
]


def evaluate(facts: ReferralFacts, limits: Thresholds | None = None) -> Decision:
    limits = limits or Thresholds()
    hits = [hit for rule in RULES for hit in rule(facts, limits)]
    score = round(sum(hit.weight for hit in hits), 2)
    return Decision(score=score, flagged=score >= FLAG_AT, hits=hits)
