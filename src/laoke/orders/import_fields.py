"""Order import: the header catalogue (shop back-end exports in zh-CN, zh-TW and English)
and how one spreadsheet row becomes an order line or a rejection.

A row is rejected when it cannot become part of an order: no way to find the customer
(phone or customer number), no readable date, an amount that is not money, a status word we
do not know. Rows with the same order number are lines of one order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from laoke.errors import N_, DomainError
from laoke.imports.mapping import Catalogue, FieldSpec, normalise_header
from laoke.imports.values import BadValue, PhoneValue, parse_amount, parse_date, parse_phones
from laoke.orders.models import OrderStatus
from laoke.orders.service import EARLIEST_ORDER, FUTURE_SLACK, MAX_ORDER_AMOUNT

Note = tuple[str, dict[str, object]]


def _synonyms(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|"))


ORDER_FIELDS = Catalogue(
    (
        FieldSpec(
            "order_number",
            N_("Order number"),
            _synonyms(
                "订单号|订单编号|订单号码|单号|交易单号|交易号|流水号|訂單號|訂單編號|訂單號碼|單號|"
                "交易單號|order no|order number|order id|order #|transaction id"
            ),
        ),
        FieldSpec(
            "ordered_at",
            N_("Order date"),
            _synonyms(
                "下单时间|下单日期|订单时间|订单日期|购买时间|购买日期|付款时间|支付时间|成交时间|"
                "交易时间|创建时间|日期|下單時間|下單日期|訂單時間|訂單日期|購買時間|購買日期|"
                "付款時間|支付時間|成交時間|交易時間|建立時間|order date|order time|date|"
                "purchase date|paid at|created at"
            ),
        ),
        FieldSpec(
            "phones",
            N_("Customer phone"),
            _synonyms(
                "买家手机号|买家手机|买家电话|手机|手机号|手机号码|电话|联系电话|收货人手机|"
                "收货人电话|会员手机|買家手機|買家手機號|買家電話|手機|手機號|手機號碼|電話|"
                "聯絡電話|收件人手機|phone|mobile|buyer phone|customer phone|tel|telephone"
            ),
            multiple=True,
        ),
        FieldSpec(
            "external_id",
            N_("Customer number"),
            _synonyms(
                "客户编号|会员号|会员编号|会员卡号|客户id|客戶編號|會員號|會員編號|會員卡號|"
                "customer id|customer no|member id|member no|external id"
            ),
            fuzzy=False,
        ),
        FieldSpec(
            "product_name",
            N_("Product"),
            _synonyms(
                "商品名称|商品|商品名|商品标题|宝贝标题|产品|产品名称|品名|项目|服务项目|"
                "商品名稱|商品標題|產品|產品名稱|項目|服務項目|product|product name|item|"
                "item name|service"
            ),
        ),
        FieldSpec(
            "quantity",
            N_("Quantity"),
            _synonyms("数量|购买数量|件数|商品数量|數量|購買數量|件數|quantity|qty"),
        ),
        FieldSpec(
            "unit_price",
            N_("Unit price"),
            _synonyms("单价|商品单价|售价|價格|單價|商品單價|售價|unit price|price"),
        ),
        FieldSpec(
            "amount",
            N_("Amount paid"),
            _synonyms(
                "实付金额|实付|实收金额|金额|支付金额|付款金额|商品金额|小计|成交金额|實付金額|"
                "實付|實收金額|金額|支付金額|付款金額|小計|成交金額|amount|paid|paid amount|"
                "amount paid|subtotal|item amount"
            ),
        ),
        FieldSpec(
            "order_total",
            N_("Order total"),
            _synonyms(
                "订单总额|订单金额|订单总金额|订单实付|訂單總額|訂單金額|訂單總金額|訂單實付|"
                "order total|order amount|total"
            ),
        ),
        FieldSpec(
            "status",
            N_("Order status"),
            _synonyms(
                "订单状态|交易状态|状态|訂單狀態|交易狀態|狀態|status|order status|payment status"
            ),
        ),
        FieldSpec(
            "channel",
            N_("Sales channel"),
            _synonyms(
                "渠道|来源|订单来源|销售渠道|店铺|平台|来源渠道|來源|訂單來源|銷售渠道|通路|"
                "店鋪|平臺|channel|source|platform|store|shop"
            ),
        ),
        FieldSpec(
            "notes",
            N_("Notes"),
            _synonyms(
                "备注|买家备注|卖家备注|订单备注|備註|買家備註|賣家備註|訂單備註|notes|note|"
                "remark|remarks|comments"
            ),
            multiple=True,
        ),
    )
)

_STATUS_WORDS = {
    OrderStatus.PAID: "已付款|已支付|已完成|完成|交易成功|交易完成|成功|已发货|待发货|已收货|"
    "已签收|已付款待发货|已付款|已付款待發貨|已發貨|待發貨|已收貨|已簽收|已支付|"
    "paid|completed|complete|success|succeeded|shipped|delivered|done",
    OrderStatus.REFUNDED: "已退款|退款成功|退款完成|全额退款|已退货|退货退款|已退貨|退款|"
    "refunded|refund|returned",
    OrderStatus.CANCELLED: "已取消|取消|交易关闭|交易關閉|已关闭|已關閉|关闭|關閉|已作废|已作廢|"
    "cancelled|canceled|closed|void|voided",
}
STATUS_WORDS = {
    normalise_header(word): status
    for status, words in _STATUS_WORDS.items()
    for word in words.split("|")
}


@lru_cache(maxsize=256)
def parse_status(text: str) -> OrderStatus:
    key = normalise_header(text)
    if not key:
        return OrderStatus.PAID
    if key in STATUS_WORDS:
        return STATUS_WORDS[key]
    raise BadValue(
        N_("%(value)s is not an order status we understand (paid, refunded, cancelled)."),
        code="bad_status",
        value=text,
    )


_TIME = re.compile(r"[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?$")
_SERIAL_WITH_TIME = re.compile(r"(\d{1,5})\.(\d+)")
NOON = time(12)


def parse_ordered_at(text: str, timezone: str, day_first: bool | None) -> datetime:
    """A date with an optional time, as the shop's local time, in UTC. A date alone is taken
    as local noon, so the day stays the same in every zone the shop might report in."""
    raw = unicodedata.normalize("NFKC", text).strip()
    if match := _SERIAL_WITH_TIME.fullmatch(raw):
        serial = Decimal(raw)
        day = parse_date(match[1])
        seconds = int((serial - int(serial)) * 86400)
        moment = datetime.combine(day, time(), tzinfo=ZoneInfo(timezone))
        return (moment + timedelta(seconds=seconds)).astimezone(UTC)
    at = NOON
    if match := _TIME.search(raw):
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise BadValue(
                N_("%(value)s is not a date we understand."), code="bad_date", value=text
            )
        at = time(hour, minute, second)
        raw = raw[: match.start()]
    day = parse_date(raw, day_first=day_first)
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


@dataclass
class OrderLine:
    """One row on its way into an order."""

    row: int
    values: list[str]
    number: str | None = None
    ordered_at: datetime | None = None
    phones: list[PhoneValue] = field(default_factory=list)
    external_id: str | None = None
    product_name: str | None = None
    quantity: int = 1
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    order_total: Decimal | None = None
    status: OrderStatus = OrderStatus.PAID
    channel: str | None = None
    notes: list[str] = field(default_factory=list)
    reject: Note | None = None


@dataclass
class LineContext:
    headers: list[str]
    mapping: list[str]
    timezone: str
    day_first: bool | None
    now: datetime


def _money(text: str) -> Decimal:
    value = parse_amount(text)
    if value < 0:
        raise BadValue(N_("%(value)s is a negative amount."), code="bad_amount", value=text)
    if value > MAX_ORDER_AMOUNT:
        raise BadValue(N_("%(value)s is more than 10,000,000."), code="bad_amount", value=text)
    return value


def _quantity(text: str) -> int:
    raw = unicodedata.normalize("NFKC", text).strip().rstrip("件个個份盒瓶支次张張")
    try:
        value = Decimal(raw.replace(",", ""))
    except ArithmeticError:
        value = Decimal(-1)
    if not value.is_finite() or value != int(value) or not 1 <= value <= 10_000:
        raise BadValue(
            N_("%(value)s is not a quantity (a whole number from 1 to 10,000)."),
            code="bad_quantity",
            value=text,
        )
    return int(value)


def _short(text: str, limit: int) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())[:limit]


def parse_line(ctx: LineContext, number: int, cells: list[str]) -> OrderLine:
    line = OrderLine(row=number, values=cells)
    bad_phones: list[str] = []
    for index, target in enumerate(ctx.mapping):
        text = cells[index] if index < len(cells) else ""
        if not text:
            continue
        header = ctx.headers[index]
        try:
            _take(ctx, line, target, text, bad_phones)
        except DomainError as exc:
            line.reject = (exc.message, {**exc.params, "column": header})
            return line
    if line.ordered_at is None:
        line.reject = (N_("The order date is missing."), {})
    elif line.ordered_at > ctx.now + FUTURE_SLACK:
        line.reject = (N_("The order date is in the future."), {})
    elif line.ordered_at < EARLIEST_ORDER:
        line.reject = (N_("The order date is too far in the past."), {})
    elif not line.phones and not line.external_id:
        if bad_phones:
            line.reject = (
                N_("%(value)s is not a phone number we understand."),
                {"value": "、".join(bad_phones)},
            )
        else:
            line.reject = (N_("No phone number or customer number to find the customer."), {})
    elif line.amount is None and line.unit_price is not None:
        line.amount = (line.unit_price * line.quantity).quantize(Decimal("0.01"))
    if line.reject is None and line.amount is None and line.order_total is None:
        line.reject = (N_("The amount is missing."), {})
    return line


def _take(ctx: LineContext, line: OrderLine, target: str, text: str, bad: list[str]) -> None:
    if target == "order_number":
        line.number = line.number or _short(text, 64)
    elif target == "ordered_at":
        line.ordered_at = line.ordered_at or parse_ordered_at(text, ctx.timezone, ctx.day_first)
    elif target == "phones":
        phones, not_understood = parse_phones(text)
        line.phones += phones
        bad += not_understood
    elif target == "external_id":
        line.external_id = line.external_id or _short(text, 100)
    elif target == "product_name":
        line.product_name = line.product_name or _short(text, 200)
    elif target == "quantity":
        line.quantity = _quantity(text)
    elif target == "unit_price":
        line.unit_price = _money(text)
    elif target == "amount":
        line.amount = _money(text)
    elif target == "order_total":
        line.order_total = _money(text)
    elif target == "status":
        line.status = parse_status(text)
    elif target == "channel":
        line.channel = line.channel or _short(text, 64)
    elif target == "notes":
        line.notes.append(text.strip()[:2000])
    # "custom" and "ignore": an order has no custom attributes; the report keeps the row.
