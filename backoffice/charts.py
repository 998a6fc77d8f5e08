"""Bar charts drawn on the server as inline SVG (no script, no inline style: the CSP
forbids both). Python computes the geometry and writes the shapes (``BarChart.svg_body``:
through the template engine, a chart's bars cost several milliseconds of a dashboard); the
template ``backoffice/dashboard/_bars.html`` writes the ``<svg>`` element and its title.
Every chart is shown next to a table holding the same data."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

TEXT = 'font-size="13" fill="#161616"'


def _number(value) -> str:
    """A coordinate as the template wrote it with ``{% localize off %}`` ("12.5", never
    "12,5": not an SVG number)."""
    if isinstance(value, int) or "e" not in str(value):
        return str(value)
    return formats.localize(value, use_l10n=False)


BAR_FILL = "#000091"  # DSFR "bleu France"
WIDTH = 640
LABEL_WIDTH = 170  # horizontal charts: room for the category labels on the left
ROW_HEIGHT = 26
COLUMN_AREA_HEIGHT = 160


@dataclass
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    text_x: float
    text_y: float


@dataclass
class BarChart:
    title: str
    orientation: str  # "horizontal" (one row per category) or "vertical" (columns)
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    max_value: int = 0
    fill: str = BAR_FILL
    label_x: float = 0  # horizontal: where the category labels end
    axis_y: float = 0  # vertical: the baseline
    first_label: str = ""
    last_label: str = ""

    @property
    def svg_body(self) -> SafeString:
        """The shapes inside the ``<svg>`` element, labels escaped."""
        if self.orientation == "horizontal":
            label_x, fill = _number(self.label_x), escape(self.fill)
            bars = "".join(
                "\n  <g>\n"
                f"    <title>{escape(str(bar.label))} : {bar.value}</title>\n"
                f'    <text x="{label_x}" y="{_number(bar.text_y)}" text-anchor="end"'
                f' dominant-baseline="middle" {TEXT}>'
                f"{escape(Truncator(str(bar.label)).chars(24))}</text>\n"
                f'    <rect x="{_number(bar.x)}" y="{_number(bar.y)}"'
                f' width="{_number(bar.width)}" height="{_number(bar.height)}"'
                f' fill="{fill}"></rect>\n'
                f'    <text x="{_number(bar.text_x)}" y="{_number(bar.text_y)}"'
                f' dominant-baseline="middle" {TEXT}>{bar.value}</text>\n'
                "  </g>\n  "
                for bar in self.bars
            )
            return mark_safe("\n  " + bars + "\n  ")
        width, fill = _number(self.width), escape(self.fill)
        bars = "".join(
            "\n  <g>\n"
            f"    <title>{escape(str(bar.label))} : {bar.value}</title>\n"
            f'    <rect x="{_number(bar.x)}" y="{_number(bar.y)}" width="{_number(bar.width)}"'
            f' height="{_number(bar.height)}" fill="{fill}"></rect>\n'
            "  </g>\n  "
            for bar in self.bars
        )
        axis, bottom = _number(self.axis_y), _number(self.height - 4)
        return mark_safe(
            f'\n  <line x1="0" y1="{axis}" x2="{width}" y2="{axis}" stroke="#666666"'
            ' stroke-width="1"></line>\n  '
            + bars
            + f'\n  <text x="0" y="{bottom}" font-size="12" fill="#161616">'
            f"{escape(str(self.first_label))}</text>\n"
            f'  <text x="{width}" y="{bottom}" text-anchor="end" font-size="12"'
            f' fill="#161616">{escape(str(self.last_label))}</text>\n'
            f'  <text x="{width}" y="12" text-anchor="end" font-size="12" fill="#161616">'
            f"max. {self.max_value}</text>\n  "
        )


def horizontal_bars(title: str, items: list[tuple[str, int]]) -> BarChart:
    """One bar per category, the value written after the bar."""
    top = max((value for _label, value in items), default=0)
    area = WIDTH - LABEL_WIDTH - 60
    chart = BarChart(
        title=title,
        orientation="horizontal",
        width=WIDTH,
        height=max(ROW_HEIGHT * len(items), ROW_HEIGHT),
        max_value=top,
        label_x=LABEL_WIDTH - 8,
    )
    for index, (label, value) in enumerate(items):
        length = (value / top * area) if top else 0
        y = index * ROW_HEIGHT + 4
        chart.bars.append(
            Bar(
                label=label,
                value=value,
                x=LABEL_WIDTH,
                y=y,
                width=round(length, 1),
                height=ROW_HEIGHT - 8,
                text_x=round(LABEL_WIDTH + length + 6, 1),
                text_y=y + ROW_HEIGHT / 2,
            )
        )
    return chart


def vertical_bars(title: str, items: list[tuple[str, int]]) -> BarChart:
    """One column per category (e.g. per day), with the first and last labels under the
    axis; the values are in the table and in each column's tooltip title."""
    top = max((value for _label, value in items), default=0)
    count = max(len(items), 1)
    step = WIDTH / count
    chart = BarChart(
        title=title,
        orientation="vertical",
        width=WIDTH,
        height=COLUMN_AREA_HEIGHT + 24,
        max_value=top,
        axis_y=COLUMN_AREA_HEIGHT,
        first_label=items[0][0] if items else "",
        last_label=items[-1][0] if items else "",
    )
    for index, (label, value) in enumerate(items):
        height = (value / top * (COLUMN_AREA_HEIGHT - 16)) if top else 0
        chart.bars.append(
            Bar(
                label=label,
                value=value,
                x=round(index * step + step * 0.1, 2),
                y=round(COLUMN_AREA_HEIGHT - height, 2),
                width=round(step * 0.8, 2),
                height=round(height, 2),
                text_x=round(index * step + step / 2, 2),
                text_y=round(COLUMN_AREA_HEIGHT - height - 3, 2),
            )
        )
    return chart
