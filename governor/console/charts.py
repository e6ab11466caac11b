"""Bar charts as plain SVG geometry, drawn on the server: no chart library, no script."""
from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 700, 240
TOP, BOTTOM, SIDE = 26, 30, 10  # room above the tallest bar for its label, below for the day labels


def number(value: float) -> str:
    """24.0 -> "24", 10.5 -> "10.5": whole numbers without a decimal point."""
    rounded = round(value, 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


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
    limit_y: float | None = None  # this bar's limit, where it has one

    @property
    def text(self) -> str:
        return number(self.value)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float
    top: float
    bars: list[Bar]
    scale_label: str
    limit_label: str | None = None


def bar_chart(points: list[tuple[str, float, str]], unit: str, highlight: str | None = None,
              limits: list[float | None] | None = None, limit_label: str = "limit") -> Chart:
    """`points` are (label, value, tooltip); `limits`, one per point (None: none that day), are drawn
    as a dashed line across each bar's slot. The taller of the tallest bar and the highest limit
    fills the plot, with room above it for the value's label."""
    limits = limits or [None] * len(points)
    plot = HEIGHT - TOP - BOTTOM
    peak = max([v for _, v, _ in points] + [x for x in limits if x is not None], default=0)
    most = peak or 1
    step = (WIDTH - 2 * SIDE) / max(len(points), 1)

    def y(v: float) -> float:
        return TOP + plot - plot * v / most

    bars = [Bar(x=SIDE + i * step + step * 0.15, y=y(v), width=step * 0.7, height=plot * v / most, label=label,
                value=v, title=title, highlight=label == highlight, limit_y=None if lim is None else y(lim))
            for i, ((label, v, title), lim) in enumerate(zip(points, limits, strict=True))]
    shown = [x for x in limits if x is not None]
    legend = None
    if shown:
        lo, hi = min(shown), max(shown)
        legend = f"- - {limit_label}: {number(lo)}" + (f" to {number(hi)}" if hi != lo else "") + f" {unit}"
    return Chart(WIDTH, HEIGHT, TOP + plot, TOP, bars, f"{number(peak)} {unit}", legend)
