"""Normalised keys for comparing people: phones, emails, addresses, disposable domains.

Pure functions. A fraudster varies what they type ("１３８-1234-5678", "+86 138…",
"j.o.h.n+x@gmail.com", "朝阳区 建国路 8 号 3 栋"); the keys here make variants equal.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

from laoke.customers.phones import InvalidPhone, normalize_phone

DISPOSABLE_FILE = Path(__file__).resolve().parent / "disposable_domains.txt"

# Gmail ignores dots in the local part. "+tag" sub-addressing (RFC 5233) is honoured by
# Gmail, Outlook/Hotmail, iCloud, Yahoo, Proton, Fastmail and QQ/Foxmail; 163/126/Sina do
# not deliver it at all. Either way "name+tag@" is never a second person, so the tag is
# dropped for every domain.
_DOT_BLIND = {"gmail.com"}
_DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}$")


def phone_key(raw: str | None) -> str | None:
    """E.164 for anything `normalize_phone` accepts, else None (never raises)."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw))[:60]
    if not text.strip():
        return None
    try:
        return normalize_phone(text).e164
    except InvalidPhone:
        return None


def email_domain(raw: str | None) -> str | None:
    key = email_key(raw)
    return key.rsplit("@", 1)[1] if key else None


def email_key(raw: str | None) -> str | None:
    """The mailbox an address delivers to: lowercase, tags removed, Gmail dots removed."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw))[:320].strip().lower()
    text = text.replace("＠", "@").strip("<>\"' ")
    if text.startswith("mailto:"):
        text = text[7:]
    if not _EMAIL.match(text):
        return None
    local, domain = text.rsplit("@", 1)
    domain = domain.strip(".")
    if not domain or "." not in domain:
        return None
    domain = _DOMAIN_ALIASES.get(domain, domain)
    local = local.split("+", 1)[0]
    if domain in _DOT_BLIND:
        local = local.replace(".", "")
    if not local:
        return None
    return f"{local}@{domain}"


# Address variants: "号楼" is a building; "栋/幢/座" likewise; "单元" a stairwell; "室/房"
# a flat. People write them with and without spaces, in full or half width, and with
# "#" or "-" for 号.
_ADDRESS_SUBS = [
    (re.compile(r"號"), "号"),
    (re.compile(r"樓"), "楼"),
    (re.compile(r"棟"), "栋"),
    (re.compile(r"單元"), "单元"),
    (re.compile(r"號樓|号楼|幢|座|栋"), "栋"),
    (re.compile(r"房间|房間|房|室"), "室"),
    (re.compile(r"(\d+)#"), r"\1号"),
    (re.compile(r"(?:省|市)?(?:中国|中國)"), ""),
]
_NUMBERS_ZH = {
    "零": "0",
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
_TRAILING_FLAT = re.compile(r"(\d+)$")


def address_key(raw: str | None) -> str | None:
    """One key per dwelling: width, spacing, punctuation and common spellings unified."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw))[:500].lower()
    text = "".join(
        ch
        for ch in text
        if not (ch.isspace() or unicodedata.category(ch).startswith(("P", "S"))) or ch == "#"
    )
    for pattern, repl in _ADDRESS_SUBS:
        text = pattern.sub(repl, text)
    # Single Chinese numerals next to a unit word: "三栋" → "3栋", "二单元" → "2单元".
    text = re.sub(
        r"([零一二两三四五六七八九])(?=栋|单元|楼|室|号|层)",
        lambda m: _NUMBERS_ZH[m.group(1)],
        text,
    )
    # A bare trailing number after a building/stair is the flat: "3栋2单元502" == "…502室".
    if re.search(r"(栋|单元|号)\d+$", text):
        text = _TRAILING_FLAT.sub(r"\1室", text)
    text = text.replace("#", "号")
    if len(text) < 4:
        return None
    return text[:200]


@cache
def disposable_domains() -> frozenset[str]:
    lines = DISPOSABLE_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def is_disposable(domain: str | None) -> bool:
    """Whether the domain (or a parent of it) is a known throwaway-mail service."""
    if not domain:
        return False
    known = disposable_domains()
    parts = domain.lower().split(".")
    return any(".".join(parts[i:]) in known for i in range(len(parts) - 1))
