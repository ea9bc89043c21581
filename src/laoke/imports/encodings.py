"""Which encoding a text table was saved in: UTF-8 (with or without BOM), GB18030/GBK, Big5.

Chinese Excel saves "CSV" in the system code page: GBK on the mainland, Big5 (cp950) in
Taiwan and Hong Kong. Both are double-byte encodings whose byte ranges overlap, so a strict
decode alone cannot tell them apart: many Big5 files decode as GB18030 into rare characters.
We decode a sample strictly with each candidate and keep the one whose text is made of the
characters people actually write (the most common Chinese characters, in both scripts).
"""

from __future__ import annotations

import codecs

from laoke.errors import N_
from laoke.imports.safety import UnreadableFile

SAMPLE_BYTES = 256 * 1024

_COMMON_SIMPLIFIED = (
    "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对"
    "可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同"
    "三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定"
    "女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化"
    "由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应"
    "路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许"
    "八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带"
    "花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻"
    "程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形"
    "委早房音火际则首单护团刚客户姓名话号码址微签备注源渠负责邮箱丽娜静敏燕艳芳娟秀慧婷雪琳欣怡佳悦"
    "伟磊勇杰涛超辉鹏飞鑫波斌宇浩凯健俊龙阳亮志峰省县镇村楼室街"
)
_COMMON_TRADITIONAL = (
    "並來個們偉傑備傳兒內兩凱別則剛動務區卻員問喫單國團報場學實寫將對峯師帶幹幾廣張強後從悅愛應戰"
    "戶數於時書會東條業極樓標樣機權歷氣決沒滿濤無爲現產當發碼種籤紅結給統經縣總義聯聲聽臉臺與華萬處"
    "號衆術裏見親覺計記設許註話該認語說請論識議護變讓豔負責資車軍輕輝轉辦這連進運過達遠還邊郵錢鎮長"
    "門開間關陽隊際雙難電靜領頭題風飛馬體鵬麗麼黃點黨龍為眾裡"
)
COMMON = frozenset(_COMMON_SIMPLIFIED + _COMMON_TRADITIONAL)
CANDIDATES = ("utf-8", "gb18030", "cp950", "big5hkscs")


def _strict(sample: bytes, encoding: str) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        # final=False: a sample cut through a multi-byte character is not an error.
        return decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return None


def _score(text: str) -> float:
    han = [c for c in text if "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"]
    if not han:
        return 0.5
    private = sum(1 for c in text if "\ue000" <= c <= "\uf8ff")
    return (sum(1 for c in han if c in COMMON) - 5 * private) / len(han)


def detect_encoding(sample: bytes) -> str:
    """The Python codec name for a text table's first bytes; raises `UnreadableFile`."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample[:4096]:
        raise UnreadableFile(N_("This file is binary, not a text table."), code="binary_file")
    if _strict(sample, "utf-8") is not None:
        return "utf-8"
    best, best_score = None, -1.0
    for encoding in CANDIDATES[1:]:
        text = _strict(sample, encoding)
        if text is None:
            continue
        score = _score(text)
        if score > best_score:
            best, best_score = encoding, score
    if best is None or _looks_binary(sample, best):
        raise UnreadableFile(
            N_("The text encoding of this file could not be recognised. Please save it as UTF-8."),
            code="unknown_encoding",
        )
    return best


def _looks_binary(sample: bytes, encoding: str) -> bool:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    if not text:
        return True
    controls = sum(1 for c in text if (ord(c) < 32 and c not in "\r\n\t") or ord(c) == 127)
    return controls > len(text) * 0.01
