"""Bar charts as plain SVG geometry, drawn on the server: no chart library, no script."""
from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, AXIS = 700, 220, 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    title: str
    highlight: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float
    top: float
    bars: list[Bar]
    scale_label: str


def bar_chart(points: list[tuple[str, float, str]], unit: str, highlight: str | None = None) -> Chart:
    """`points` are (label, value, tooltip); the tallest bar fills the plot."""
    plot = HEIGHT - AXIS - 10
    peak = max((v for _, v, _ in points), default=0)
    most = peak or 1
    step = (WIDTH - 20) / max(len(points), 1)
    bars = [Bar(x=10 + i * step + step * 0.15, y=10 + plot - plot * v / most, width=step * 0.7,
                height=plot * v / most, label=label, value=v, title=title, highlight=label == highlight)
            for i, (label, v, title) in enumerate(points)]
    return Chart(WIDTH, HEIGHT, 10 + plot, 10, bars, f"{peak:g} {unit}")
