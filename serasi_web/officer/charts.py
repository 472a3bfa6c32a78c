"""Charts as inline SVG drawn on the server: readable without JavaScript, printable, and small.

Colours are presentation attributes (not CSS) so a printed page or a saved SVG looks the same.
Every chart has a <title> for screen readers; the page shows the table behind it next to it.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Callable, Sequence

from markupsafe import Markup, escape

# Drawn for a phone: the viewBox is as wide as a 360 px screen's content, so 13 units of text
# render at about 12 px there (at 640 units, the first design, text shrank to 4-6 px); on a wide
# screen style.css caps the chart at 28rem, so the same text stays near 16 px.
WIDTH = 360
FONT_SIZE = 13
BRAND = "#0b5d4b"
ALERT = "#b3261e"
MUTED = "#5a6270"
GRID = "#d5d9e0"
FONT = f'font-family="system-ui, sans-serif" font-size="{FONT_SIZE}"'
CHARACTER_WIDTH = FONT_SIZE * 0.58  # a generous average for system-ui, to keep labels apart


def _plain(value: float) -> str:
    return f"{value:g}"


def _shortened(label: str, room: float) -> str:
    """``label`` cut with an ellipsis to fit ``room`` units (the full text is in the bar's title)."""
    fits = max(3, int(room / CHARACTER_WIDTH))
    return label if len(label) <= fits else label[:fits - 1] + "…"


def _svg(height: float, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" {FONT}>'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _nice_maximum(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def column_chart(points: Sequence[tuple[str, float]], title: str, *, format_value: Callable[[float], str] = _plain,
                 label_every: int | None = None) -> Markup:
    """Vertical bars over time (days, months); every ``label_every``-th label is written (by
    default as few as keep the labels from touching)."""
    left, top, plot_height, bottom = 44, 10, 140, 40
    plot_width = WIDTH - left - 8
    count = max(1, len(points))
    slot = plot_width / count
    maximum = _nice_maximum(max((value for _label, value in points), default=0))
    widest_label = max((len(label) for label, _value in points), default=1) * CHARACTER_WIDTH + 12
    label_every = label_every or max(1, math.ceil(widest_label / slot))
    body = []
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        body.append(f'<line x1="{left}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                    f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{escape(format_value(maximum * fraction))}</text>')
    for index, (label, value) in enumerate(points):
        height = plot_height * value / maximum
        x = left + index * slot
        body.append(f'<rect x="{x + slot * 0.1:.1f}" y="{top + plot_height - height:.1f}" width="{max(slot * 0.8, 1):.1f}" '
                    f'height="{height:.1f}" fill="{BRAND}"><title>{escape(label)}: {escape(format_value(value))}</title></rect>')
        if index % label_every == 0:
            # Centred under its bar, but kept inside the chart (a first or last label is not cut off).
            half = len(label) * CHARACTER_WIDTH / 2
            x_text = min(max(x + slot / 2, half), WIDTH - half)
            body.append(f'<text x="{x_text:.1f}" y="{top + plot_height + 16}" text-anchor="middle" fill="{MUTED}">{escape(label)}</text>')
    return _svg(top + plot_height + bottom - 16, title, body)


def bar_chart(rows: Sequence[tuple[str, float]], title: str, *, format_value: Callable[[float], str] = _plain,
              max_rows: int = 12, others_label: str = "…") -> Markup:
    """Horizontal bars for categories, largest first; beyond ``max_rows`` the rest are summed."""
    rows = list(rows)
    if len(rows) > max_rows:
        rows = rows[:max_rows - 1] + [(others_label, sum(value for _label, value in rows[max_rows - 1:]))]
    label_width, bar_height, gap, value_room = 136, 18, 6, 52
    plot_width = WIDTH - label_width - value_room
    maximum = max((value for _label, value in rows), default=0) or 1
    body = []
    for index, (label, value) in enumerate(rows):
        y = index * (bar_height + gap) + 4
        width = plot_width * value / maximum
        text = _shortened(label, label_width - 8)
        body.append(f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{escape(text)}</text>'
                    f'<rect x="{label_width}" y="{y}" width="{max(width, 1):.1f}" height="{bar_height}" fill="{BRAND}">'
                    f'<title>{escape(label)}: {escape(format_value(value))}</title></rect>'
                    f'<text x="{label_width + width + 4:.1f}" y="{y + 14}" fill="{MUTED}">{escape(format_value(value))}</text>')
    return _svg(max(len(rows), 1) * (bar_height + gap) + 8, title, body)


def timeline_chart(bars: Sequence[tuple[str, datetime, datetime, bool, bool]], title: str,
                   format_moment: Callable[[datetime], str]) -> Markup:
    """Stays as bars on one time axis: (label, start, end, still open, overlaps the one before).

    Overlapping stays are drawn in the alert colour; a stay with no check-out yet ends in a
    dashed edge at ``end`` (now).
    """
    if not bars:
        return Markup("")
    label_width, bar_height, gap, right = 120, 18, 10, 12
    plot_width = WIDTH - label_width - right
    first = min(start for _label, start, _end, _open, _overlap in bars)
    last = max(end for _label, _start, end, _open, _overlap in bars)
    span = max((last - first).total_seconds(), 3600)

    def x_of(moment: datetime) -> float:
        return label_width + plot_width * (moment - first).total_seconds() / span

    body = []
    for index, (label, start, end, still_open, overlap) in enumerate(bars):
        y = index * (bar_height + gap) + 4
        x1, x2 = x_of(start), x_of(end)
        colour = ALERT if overlap else BRAND
        dash = f' stroke="{colour}" stroke-dasharray="4 3" fill-opacity="0.55"' if still_open else ""
        text = _shortened(label, label_width - 8)
        body.append(f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{escape(text)}</text>'
                    f'<rect x="{x1:.1f}" y="{y}" width="{max(x2 - x1, 2):.1f}" height="{bar_height}" fill="{colour}"{dash}>'
                    f'<title>{escape(label)}: {escape(format_moment(start))} – {escape(format_moment(end))}</title></rect>')
    axis_y = len(bars) * (bar_height + gap) + 10
    body.append(f'<line x1="{label_width}" x2="{WIDTH - right}" y1="{axis_y}" y2="{axis_y}" stroke="{GRID}"/>'
                f'<text x="{label_width}" y="{axis_y + 16}" fill="{MUTED}">{escape(format_moment(first))}</text>'
                f'<text x="{WIDTH - right}" y="{axis_y + 34}" text-anchor="end" fill="{MUTED}">{escape(format_moment(last))}</text>')
    return _svg(axis_y + 42, title, body)
