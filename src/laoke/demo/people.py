"""Realistic Chinese customers from a seeded random generator.

One generator serves the demo tenant, the tests and the benchmarks, so what a
developer measures is what a user sees. Everything is drawn from `rng`; the same
seed gives the same people.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN_FEMALE = "丽娜静敏燕艳芳娟秀英华慧巧美婷雪琳晶欣怡佳悦瑶梦露璐颖倩萍红玲霞丹琴云莉月蓉薇洁"
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳亮成志峰建"
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)
CITIES = {
    "上海市": ("浦东新区", "徐汇区", "静安区", "长宁区", "闵行区"),
    "北京市": ("朝阳区", "海淀区", "东城区", "西城区", "丰台区"),
    "广州市": ("天河区", "越秀区", "海珠区", "番禺区"),
    "深圳市": ("南山区", "福田区", "罗湖区", "宝安区"),
    "杭州市": ("西湖区", "上城区", "拱墅区", "滨江区"),
    "成都市": ("锦江区", "武侯区", "青羊区", "高新区"),
}
STREETS = (
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "和平路",
    "长江路",
    "新华路",
    "文化路",
    "南京路",
    "湖滨路",
)
SOURCE_CHANNELS = (
    ("老客户转介绍", 30),
    ("微信", 20),
    ("门店到访", 15),
    ("小红书", 10),
    ("抖音", 8),
    ("美团/大众点评", 8),
    ("社区活动", 5),
    ("企业团购", 4),
)
TAGS = (
    ("VIP", 8),
    ("老客户", 25),
    ("敏感肌", 10),
    ("高消费", 8),
    ("转介绍达人", 4),
    ("新客", 15),
    ("待回访", 12),
    ("团购客户", 6),
    ("宝妈", 10),
    ("上班族", 15),
    ("学生", 5),
    ("价格敏感", 8),
)
NEEDS = (
    "想改善皮肤暗沉",
    "关注抗衰老项目",
    "需要祛痘方案",
    "想做身体放松护理",
    "对美白项目感兴趣",
    "咨询过年卡价格",
    "希望周末预约",
    "想给妈妈买护理套餐",
    "关注补水保湿",
    "想了解头皮护理",
)
CIRCLES = (
    "宝妈群活跃，常在群里分享",
    "公司行政，同事多",
    "健身房会员，朋友圈广",
    "小区业主群群主",
    "瑜伽馆常客",
    "大学同学圈",
    "做微商，认识人多",
    "跳广场舞的阿姨们",
    "家长会认识的妈妈们",
)
SKIN_TYPES = ("干性", "油性", "混合性", "中性", "敏感性")


@dataclass
class PersonRecord:
    name: str
    gender: str
    phones: list[str]
    wechat_id: str | None
    email: str | None
    address: str | None
    birthday: date | None
    source_channel: str
    tags: list[str]
    needs: str | None
    purchasing_power: str | None
    social_circle: str | None
    marketing_consent: bool
    custom_attributes: dict[str, str] = field(default_factory=dict)
    nickname: str | None = None


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def chinese_name(rng: random.Random, gender: str) -> str:
    pool = GIVEN_FEMALE if gender == "female" else GIVEN_MALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def mobile_number(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def messy_phone(rng: random.Random, digits: str) -> str:
    """The same number as people really type it."""
    style = rng.randrange(7)
    if style == 0:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 1:
        return f"+86 {digits}"
    if style == 2:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return "".join(chr(ord(c) + 0xFEE0) for c in digits)  # full-width digits
    if style == 4:
        return f"0086{digits}"
    return digits


def people(rng: random.Random, count: int) -> Iterator[PersonRecord]:
    """`count` distinct people: no two share a phone number, WeChat id or email."""
    used_phones: set[str] = set()
    used_handles: set[str] = set()
    for _ in range(count):
        gender = "female" if rng.random() < 0.72 else "male"
        phone = mobile_number(rng)
        while phone in used_phones:
            phone = mobile_number(rng)
        used_phones.add(phone)
        phones = [phone]
        if rng.random() < 0.06:
            second = mobile_number(rng)
            if second not in used_phones:
                used_phones.add(second)
                phones.append(second)
        handle = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 9))) + str(
            rng.randrange(100)
        )
        while handle in used_handles:
            handle += rng.choice(string.ascii_lowercase)
        used_handles.add(handle)
        city = rng.choice(list(CITIES))
        tags = sorted({_weighted(rng, TAGS) for _ in range(rng.choice((0, 1, 1, 2, 2, 3)))})
        yield PersonRecord(
            name=chinese_name(rng, gender),
            gender=gender,
            phones=phones,
            wechat_id=f"wx_{handle}" if rng.random() < 0.7 else None,
            email=f"{handle}@{rng.choice(('qq.com', '163.com', '126.com', 'gmail.com', 'outlook.com'))}"
            if rng.random() < 0.35
            else None,
            address=f"{city}{rng.choice(CITIES[city])}{rng.choice(STREETS)}{rng.randint(1, 999)}号"
            if rng.random() < 0.6
            else None,
            birthday=date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
            if rng.random() < 0.75
            else None,
            source_channel=_weighted(rng, SOURCE_CHANNELS),
            tags=tags,
            needs=rng.choice(NEEDS) if rng.random() < 0.5 else None,
            purchasing_power=rng.choice(("low", "medium", "medium", "high"))
            if rng.random() < 0.7
            else None,
            social_circle=rng.choice(CIRCLES) if rng.random() < 0.3 else None,
            marketing_consent=rng.random() < 0.65,
            custom_attributes={"肤质": rng.choice(SKIN_TYPES)} if rng.random() < 0.5 else {},
            nickname=rng.choice(("小", "阿")) + rng.choice(GIVEN_FEMALE + GIVEN_MALE)
            if rng.random() < 0.15
            else None,
        )
