"""Why a message is sent, and which variables its templates may use.

A purpose is registered once, by the domain that sends such messages:

    from laoke.messaging.purposes import Purpose, Variable, register
    register(Purpose("reward.issued", N_("Reward issued"), marketing=False,
                     variables=(Variable("reward", N_("Reward"), sample="50 积分"),)))

Customer-facing purposes always offer `customer_name` and `org_name`; marketing ones
also `unsubscribe_link`. A template that uses any other name is refused when saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from laoke.errors import N_, Invalid


class Audience(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    label: str
    sample: str
    # The value when the sender gives none; None means the sender must give one.
    default: str | None = None


CUSTOMER_NAME = Variable("customer_name", N_("Customer's name"), sample="王小美")
ORG_NAME = Variable("org_name", N_("Sender (organisation name)"), sample="老客美容会所")
UNSUBSCRIBE_LINK = Variable(
    "unsubscribe_link", N_("One-click unsubscribe link"), sample="https://example.com/u/…"
)
STAFF_NAME = Variable("staff_name", N_("Staff member's name"), sample="李娜")


@dataclass(frozen=True, slots=True)
class Purpose:
    name: str
    label: str
    marketing: bool
    variables: tuple[Variable, ...] = ()
    audience: Audience = Audience.CUSTOMER
    description: str = ""
    all_variables: tuple[Variable, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        common = (
            (CUSTOMER_NAME, ORG_NAME)
            if self.audience is Audience.CUSTOMER
            else (STAFF_NAME, ORG_NAME)
        )
        extra = (UNSUBSCRIBE_LINK,) if self.marketing else ()
        names: dict[str, Variable] = {}
        for variable in (*common, *extra, *self.variables):
            names.setdefault(variable.name, variable)
        object.__setattr__(self, "all_variables", tuple(names.values()))

    @property
    def variable_names(self) -> frozenset[str]:
        return frozenset(v.name for v in self.all_variables)

    def samples(self) -> dict[str, str]:
        return {v.name: v.sample for v in self.all_variables}


PURPOSES: dict[str, Purpose] = {}


def register(purpose: Purpose) -> Purpose:
    """Add a purpose; registering the same name twice with a different definition fails."""
    existing = PURPOSES.get(purpose.name)
    if existing is not None and existing != purpose:
        raise ValueError(f"message purpose {purpose.name!r} is already registered differently")
    PURPOSES[purpose.name] = purpose
    return purpose


def get_purpose(name: str) -> Purpose:
    try:
        return PURPOSES[name]
    except KeyError:
        raise Invalid(N_("Unknown message purpose."), field="purpose") from None


COUPON = Variable("coupon", N_("Coupon"), sample="满300减50 优惠券", default="")

CAMPAIGN = register(
    Purpose(
        "campaign.message",
        N_("Campaign to a segment"),
        marketing=True,
        variables=(COUPON,),
        description=N_("Sent to every consenting customer of a segment."),
    )
)
BIRTHDAY = register(
    Purpose(
        "care.birthday",
        N_("Birthday greeting"),
        marketing=True,
        variables=(COUPON,),
        description=N_("Sent on the customer's birthday in the morning (organisation time)."),
    )
)
HOLIDAY = register(
    Purpose(
        "care.holiday",
        N_("Holiday greeting"),
        marketing=True,
        variables=(Variable("holiday_name", N_("Holiday"), sample="中秋节"),),
        description=N_("Sent on the dates of the care calendar."),
    )
)
SERVICE_NOTICE = register(
    Purpose(
        "service.notice",
        N_("Service notice"),
        marketing=False,
        variables=(Variable("notice", N_("Notice text"), sample="您预约的护理时间是明天 15:00。"),),
        description=N_("Transactional: sent even to customers without marketing consent."),
    )
)
STAFF_DIGEST = register(
    Purpose(
        "staff.digest",
        N_("Digest to staff"),
        marketing=False,
        audience=Audience.STAFF,
        variables=(Variable("digest", N_("Digest text"), sample="今日待办：3 位客户"),),
    )
)
CHANNEL_TEST = register(
    Purpose("channel.test", N_("Test of a channel"), marketing=False, audience=Audience.STAFF)
)
EVENT_DELIVERY = register(
    Purpose("webhook.event", N_("Event delivery to an integration"), marketing=False)
)
