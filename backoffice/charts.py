"""Bar charts drawn on the server as inline SVG (no script, no inline style: the CSP
forbids both). Python computes the geometry; the template ``backoffice/dashboard/_bars.html``
only writes the shapes. Every chart is shown next to a table holding the same data."""

from __future__ import annotations

from dataclasses import dataclass, field

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
