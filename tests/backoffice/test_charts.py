# ruff: noqa: E501 (TEMPLATE_BARS is the previous template, verbatim)
"""The dashboard's SVG bar charts, whose shapes are written in Python
(``BarChart.svg_body``): the same markup the template used to write, labels escaped."""

from __future__ import annotations

import re

from django.template import Context, Template

from backoffice.charts import horizontal_bars, vertical_bars

# The bars as backoffice/dashboard/_bars.html wrote them through the template engine.
TEMPLATE_BARS = Template(
    """{% load l10n %}{% localize off %}{% if chart.orientation == "horizontal" %}
  {% for bar in chart.bars %}
  <g>
    <title>{{ bar.label }} : {{ bar.value }}</title>
    <text x="{{ chart.label_x }}" y="{{ bar.text_y }}" text-anchor="end" dominant-baseline="middle" font-size="13" fill="#161616">{{ bar.label|truncatechars:24 }}</text>
    <rect x="{{ bar.x }}" y="{{ bar.y }}" width="{{ bar.width }}" height="{{ bar.height }}" fill="{{ chart.fill }}"></rect>
    <text x="{{ bar.text_x }}" y="{{ bar.text_y }}" dominant-baseline="middle" font-size="13" fill="#161616">{{ bar.value }}</text>
  </g>
  {% endfor %}
  {% else %}
  <line x1="0" y1="{{ chart.axis_y }}" x2="{{ chart.width }}" y2="{{ chart.axis_y }}" stroke="#666666" stroke-width="1"></line>
  {% for bar in chart.bars %}
  <g>
    <title>{{ bar.label }} : {{ bar.value }}</title>
    <rect x="{{ bar.x }}" y="{{ bar.y }}" width="{{ bar.width }}" height="{{ bar.height }}" fill="{{ chart.fill }}"></rect>
  </g>
  {% endfor %}
  <text x="0" y="{{ chart.height|add:"-4" }}" font-size="12" fill="#161616">{{ chart.first_label }}</text>
  <text x="{{ chart.width }}" y="{{ chart.height|add:"-4" }}" text-anchor="end" font-size="12" fill="#161616">{{ chart.last_label }}</text>
  <text x="{{ chart.width }}" y="12" text-anchor="end" font-size="12" fill="#161616">max. {{ chart.max_value }}</text>
  {% endif %}{% endlocalize %}"""
)

LABELS = [
    ("<script>alert('x')</script>", 7),
    ("Habilitation & accès à l'extranet des employeurs", 1234),
    ("Général", 0),
    ("Décisions", 3),
]


def test_horizontal_bars_are_written_as_the_template_wrote_them():
    chart = horizontal_bars("Tickets ouverts par file", LABELS)
    assert chart.svg_body == TEMPLATE_BARS.render(Context({"chart": chart}))
    assert "<script>" not in chart.svg_body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in chart.svg_body
    # Long labels are cut to 24 characters, the ellipsis included.
    assert re.search(r">Habilitation &amp; acc[^<]{5,12}…</text>", chart.svg_body)


def test_vertical_bars_are_written_as_the_template_wrote_them():
    chart = vertical_bars("Arrivées par jour", [(f"0{d}/03 <b>", d * 37 % 11) for d in range(1, 9)])
    assert chart.svg_body == TEMPLATE_BARS.render(Context({"chart": chart}))
    assert "<b>" not in chart.svg_body


def test_empty_charts():
    for chart in (horizontal_bars("Vide", []), vertical_bars("Vide", [])):
        assert chart.svg_body == TEMPLATE_BARS.render(Context({"chart": chart}))
