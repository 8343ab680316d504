"""Bar charts drawn on the server as SVG: they need no script, obey the page's CSP (presentation attributes, no
style attributes) and print in PDFs as they show on screen."""

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

WIDTH = 720
LABEL_WIDTH = 150
BAR_AREA = 340
ROW = 30


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as the chart prints it
    previous: float | None = None  # the same figure for the period before, drawn thin below


def bar_chart(title: str, bars: list[Bar], *, legend: tuple[str, str] | None = None) -> SafeString:
    """Return a horizontal bar chart of `bars` (one row each), scaled to the largest value; `legend` names the
    two periods when bars carry a previous value."""
    largest = max([bar.value for bar in bars] + [bar.previous or 0 for bar in bars] + [0]) or 1
    rows = [
        {
            "bar": bar,
            "y": index * ROW,
            "width": round(BAR_AREA * bar.value / largest, 1),
            "previous_width": round(BAR_AREA * bar.previous / largest, 1) if bar.previous is not None else None,
        }
        for index, bar in enumerate(bars)
    ]
    legend_height = ROW if legend else 0
    context = {
        "title": title,
        "rows": rows,
        "legend": legend,
        "legend_y": max(len(bars), 1) * ROW + 8,
        "width": WIDTH,
        "height": max(len(bars), 1) * ROW + legend_height + 8,
        "label_width": LABEL_WIDTH,
        "text_x": LABEL_WIDTH + BAR_AREA + 8,
    }
    return render_to_string("review/_bar_chart.svg", context)
