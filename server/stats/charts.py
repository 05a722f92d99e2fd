"""Charts drawn on the server as inline SVG: no chart library in the browser, nothing for the CSP to allow.

Colours come from classes (static/css/app.css), sizes from SVG presentation attributes, never from ``style``
attributes. Every chart has a title and a text description for screen readers, and prints its values as text
next to each bar, so it is readable without colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from markupsafe import escape

WIDTH = 640
BAR_HEIGHT = 28
GAP = 12
LABEL_WIDTH = 230
VALUE_WIDTH = 90


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, the text printed after it, and the class that colours it."""

    label: str
    value: float
    text: str
    css_class: str = "bar"


def bar_chart(chart_id: str, title: str, bars: list[Bar], scale_max: float | None = None) -> Markup:
    """A horizontal bar chart, scaled to the largest value (or ``scale_max``, for rates out of 1)."""
    top = max([scale_max or 0, *(bar.value for bar in bars)]) or 1
    track = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    description = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = round(track * max(bar.value, 0) / top, 1)
        middle = y + BAR_HEIGHT / 2
        parts.append(f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end" '
                     f'dominant-baseline="middle">{escape(bar.label)}</text>')
        parts.append(f'<rect class="{escape(bar.css_class)}" x="{LABEL_WIDTH}" y="{y}" width="{length}" '
                     f'height="{BAR_HEIGHT}"/>')
        parts.append(f'<text class="chart-value" x="{LABEL_WIDTH + length + 6}" y="{middle}" '
                     f'dominant-baseline="middle">{escape(bar.text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
