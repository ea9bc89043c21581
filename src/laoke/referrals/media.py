"""QR codes (SVG and PNG, segno) and the share poster (PNG, Pillow) of an invite link.

The poster needs a CJK font: Noto Sans CJK (fonts-noto-cjk) or any font fontconfig knows
for Chinese. Without one it still renders — the QR, the code and every line that plain
Latin glyphs can draw — rather than boxes of missing glyphs.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import textwrap
from functools import lru_cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)
# Face index inside a Noto CJK collection: simplified and traditional Chinese glyph forms.
TTC_FACE = {"zh_CN": 2, "zh_TW": 3, "en": 2}
POSTER_SIZE = (900, 1400)
BRAND = (196, 60, 60)


def qr_svg(link: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="svg", scale=8, border=2, xmldecl=False)
    return buffer.getvalue()


def qr_png(link: str, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    for candidate in CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", ":lang=zh"],  # noqa: S607
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        if found and Path(found).is_file() and "cjk" in found.lower():
            return found
    return None


def _font(size: int, language: str) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    path = cjk_font_path()
    if path is not None:
        index = TTC_FACE.get(language, 2) if path.endswith(".ttc") else 0
        try:
            return ImageFont.truetype(path, size, index=index), True
        except OSError:
            pass
    return ImageFont.load_default(size=size), False


def _drawable(text: str, has_cjk: bool) -> bool:
    return has_cjk or text.isascii()


def _lines(text: str, width_chars: int) -> list[str]:
    if text.isascii():
        return textwrap.wrap(text, width_chars) or [""]
    step = max(width_chars // 2, 1)
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def poster_png(
    *, headline: str, invited_by: str, offer: str, code: str, link: str, language: str
) -> bytes:
    """A shareable poster: headline, who invites, what the friend gets, the QR and code."""
    width, _height = POSTER_SIZE
    image = Image.new("RGB", POSTER_SIZE, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 260), fill=BRAND)
    big, has_cjk = _font(64, language)
    medium, _ = _font(40, language)
    small, _ = _font(30, language)
    y = 60
    for line in _lines(headline, 26)[:2] if _drawable(headline, has_cjk) else []:
        draw.text((width // 2, y), line, font=big, fill="white", anchor="mt")
        y += 80
    y = 310
    if _drawable(invited_by, has_cjk):
        draw.text((width // 2, y), invited_by, font=medium, fill=(40, 40, 40), anchor="mt")
        y += 70
    for line in _lines(offer, 36)[:3] if offer and _drawable(offer, has_cjk) else []:
        draw.text((width // 2, y), line, font=small, fill=(90, 90, 90), anchor="mt")
        y += 46
    qr = Image.open(io.BytesIO(qr_png(link, scale=14))).convert("RGB")
    qr = qr.resize((560, 560), Image.Resampling.NEAREST)
    top = max(y + 30, 560)
    image.paste(qr, ((width - 560) // 2, top))
    draw.text((width // 2, top + 590), code, font=medium, fill=BRAND, anchor="mt")
    draw.text((width // 2, top + 650), link, font=small, fill=(120, 120, 120), anchor="mt")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
