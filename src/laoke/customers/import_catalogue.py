"""The customer fields an import can fill, and the headers that name them in simplified
Chinese, traditional Chinese and English."""

from __future__ import annotations

from laoke.errors import N_
from laoke.imports.mapping import Catalogue, FieldSpec


def _synonyms(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|"))


CUSTOMER_FIELDS = Catalogue(
    (
        FieldSpec(
            "name",
            N_("Name"),
            _synonyms(
                "姓名|客户姓名|客户名称|顾客姓名|会员姓名|名字|联系人|真实姓名|"
                "客戶姓名|客戶名稱|顧客姓名|會員姓名|聯絡人|聯繫人|真實姓名|"
                "name|full name|customer name|customer|contact name|contact"
            ),
        ),
        FieldSpec(
            "nickname",
            N_("Nickname"),
            _synonyms("昵称|暱稱|称呼|稱呼|微信昵称|微信暱稱|nickname|nick name|alias"),
        ),
        FieldSpec(
            "phones",
            N_("Phone numbers"),
            _synonyms(
                "手机|手机号|手机号码|电话|电话号码|联系电话|联系方式|移动电话|座机|固话|"
                "手機|手機號|手機號碼|電話|電話號碼|聯絡電話|聯繫電話|聯絡方式|行動電話|座機|市話|"
                "mobile|phone|phone number|tel|telephone|cell|cellphone|mobile phone|contact number"
            ),
            multiple=True,
        ),
        FieldSpec(
            "wechat_id",
            N_("WeChat id"),
            _synonyms(
                "微信|微信号|微信號|微信id|微信账号|微信帳號|微信號碼|wechat|wechat id|weixin|wx"
            ),
        ),
        FieldSpec(
            "email",
            N_("Email"),
            _synonyms("邮箱|电子邮箱|电子邮件|郵箱|電子郵件|電郵|email|e-mail|mail|email address"),
        ),
        FieldSpec(
            "address",
            N_("Address"),
            _synonyms(
                "地址|收货地址|收貨地址|住址|联系地址|聯絡地址|家庭住址|通讯地址|通訊地址|送货地址|"
                "送貨地址|address|shipping address|delivery address"
            ),
        ),
        FieldSpec(
            "birthday",
            N_("Birthday"),
            _synonyms("生日|出生日期|出生年月日|生辰|birthday|birth date|date of birth|dob"),
        ),
        FieldSpec("gender", N_("Gender"), _synonyms("性别|性別|gender|sex")),
        FieldSpec(
            "tags",
            N_("Tags"),
            _synonyms("标签|標籤|客户标签|客戶標籤|分类|分類|tags|tag|labels|label"),
            multiple=True,
        ),
        FieldSpec(
            "notes",
            N_("Notes"),
            _synonyms("备注|備註|备注信息|说明|說明|remark|remarks|notes|note|comments"),
            multiple=True,
        ),
        FieldSpec(
            "source_channel",
            N_("Source channel"),
            _synonyms(
                "来源|渠道|客户来源|来源渠道|获客渠道|來源|客戶來源|來源渠道|獲客渠道|"
                "source|channel|lead source|source channel"
            ),
        ),
        FieldSpec(
            "owner",
            N_("Owner (staff name or email)"),
            _synonyms(
                "负责人|跟进人|归属人|所属销售|销售顾问|专属顾问|负责销售|"
                "負責人|跟進人|歸屬人|所屬銷售|銷售顧問|專屬顧問|"
                "owner|sales rep|salesperson|account owner|assigned to"
            ),
            fuzzy=False,
        ),
        FieldSpec(
            "needs",
            N_("Needs"),
            _synonyms("需求|需求信息|客户需求|需求資訊|客戶需求|needs|requirements|interests"),
        ),
        FieldSpec(
            "purchasing_power",
            N_("Purchasing power"),
            _synonyms(
                "购买力|消费能力|消费水平|購買力|消費能力|消費水平|purchasing power|spending power"
            ),
        ),
        FieldSpec(
            "social_circle",
            N_("Social circle"),
            _synonyms("圈层|圈子|社交圈|圈層|social circle|circle"),
        ),
        FieldSpec(
            "marketing_consent",
            N_("Marketing consent"),
            _synonyms(
                "营销同意|同意营销|接受营销|是否同意营销|接收推送|同意接收|行銷同意|同意行銷|接受行銷|"
                "consent|marketing consent|opt in|opt-in|subscribed"
            ),
        ),
        FieldSpec(
            "external_id",
            N_("External id"),
            _synonyms(
                "客户编号|会员号|会员编号|会员卡号|客戶編號|會員號|會員編號|會員卡號|"
                "customer id|external id|member id|member no"
            ),
            fuzzy=False,
        ),
    )
)


def detect_mapping(headers: list[str]) -> list[str]:
    """Targets per column; a lone nickname column stands in for the name."""
    targets = CUSTOMER_FIELDS.detect(headers)
    if "name" not in targets and "nickname" in targets:
        targets[targets.index("nickname")] = "name"
    return targets
