"""Charts drawn on the server as inline SVG: readable without JavaScript, light on a slow
phone, and testable as text. Colours come from CSS classes in laoke.css."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 64
MARGIN_BOTTOM = 44
MARGIN_TOP = 12


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]
    css_class: str


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def bar_chart(
    categories: Sequence[str], series: Sequence[Series], *, title: str, axis_label: str = ""
) -> Markup:
    """Grouped vertical bars, one group per category, one bar per series, with a legend."""
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    top = _nice_max(max((v for s in series for v in s.values), default=0.0))
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 34}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in range(5):
        value = top * tick / 4
        y = MARGIN_TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(value)}</text>"
        )
    for i, category in enumerate(categories):
        x0 = MARGIN_LEFT + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / top
            x = x0 + j * bar_w
            y = MARGIN_TOP + plot_h - h
            parts.append(
                f'<rect class="{escape(s.css_class)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar_w * 0.92:.1f}" height="{h:.1f}">'
                f"<title>{escape(s.label)} · {escape(category)}: {value:.2f}</title></rect>"
            )
        parts.append(
            f'<text class="tick" x="{x0 + group_w * 0.4:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 22}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    if axis_label:
        parts.append(
            f'<text class="axis" x="{MARGIN_LEFT + plot_w / 2:.1f}" y="{HEIGHT - 4}" '
            f'text-anchor="middle">{escape(axis_label)}</text>'
        )
    legend_x = MARGIN_LEFT
    for s in series:
        parts.append(
            f'<rect class="{escape(s.css_class)}" x="{legend_x}" y="{HEIGHT + 10}" width="18" height="18"/>'
            f'<text class="legend" x="{legend_x + 24}" y="{HEIGHT + 26}">{escape(s.label)}</text>'
        )
        legend_x += 48 + 20 * len(s.label)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute above is escaped
