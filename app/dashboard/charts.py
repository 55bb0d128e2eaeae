"""Charts as inline SVG, drawn on the server: no script, no network resource, readable by a
screen reader through each chart's title (every chart sits beside a table of its numbers)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 28, 12, 28
COLOURS = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: list[float | None]
    dashed: bool = False


def _x(index: int, count: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner * index / (count - 1) if count > 1 else inner / 2)


def _y(value: float, top: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (1 - (value / top if top else 0))


def _label(value: float, percent: bool) -> str:
    return f"{value:.0%}" if percent else f"{value:g}"


def _axes(labels: list[str], top: float, percent: bool) -> list[str]:
    parts = []
    for step in range(5):
        value = top * step / 4
        y = _y(value, top)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{escape(_label(round(value, 2), percent))}</text>"
        )
    every = max(1, len(labels) // 8)  # at most about eight labels under the axis
    for index, label in enumerate(labels):
        if index % every == 0 or index == len(labels) - 1:
            x = _x(index, len(labels))
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" class="tick" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return parts


def _polyline(series: Series, count: int, top: float, colour: str) -> str:
    points = [
        f"{_x(i, count):.1f},{_y(v, top):.1f}" for i, v in enumerate(series.values) if v is not None
    ]
    dash = ' stroke-dasharray="5 4"' if series.dashed else ""
    dots = "".join(
        f'<circle cx="{_x(i, count):.1f}" cy="{_y(v, top):.1f}" r="2.5" fill="{colour}"/>'
        for i, v in enumerate(series.values)
        if v is not None and not series.dashed
    )
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
        f'stroke-width="2"{dash}/>{dots}'
    )


def line_chart(
    title: str,
    labels: list[str],
    series: list[Series],
    *,
    percent: bool = False,
    bound: float | None = None,
    bound_name: str = "bound",
) -> Markup:
    """Lines over shared x labels; `bound` draws the rule's limit as a red dashed line."""
    values = [v for s in series for v in s.values if v is not None]
    # A share's axis always reaches 100 %; a count's reaches its largest value or bound.
    top = max([*values, bound or 0.0, 1.0])
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        *_axes(labels, top, percent),
    ]
    if bound is not None:
        y = _y(bound, top)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="bound">'
            f"<title>{escape(bound_name)}: {escape(_label(bound, percent))}</title></line>"
        )
    for index, one in enumerate(series):
        parts.append(_polyline(one, len(labels), top, COLOURS[index % len(COLOURS)]))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped


def bar_chart(
    title: str,
    labels: list[str],
    values: list[float],
    *,
    bound: float | None = None,
    bound_name: str = "goal",
    digits: int = 0,
) -> Markup:
    """Horizontal bars, one per label (a funnel reads top to bottom); `bound` draws the
    rule's limit across them as a red dashed line."""
    row = 26
    height = TOP + row * len(labels) + 8
    top = max([*values, bound or 0.0, 1.0])
    inner = WIDTH - 160 - 60
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + index * row
        width = inner * value / top
        parts.append(
            f'<text x="150" y="{y + 15}" class="tick" text-anchor="end">{escape(label)}</text>'
            f'<rect x="160" y="{y}" width="{width:.1f}" height="18" fill="{COLOURS[0]}"/>'
            f'<text x="{160 + width + 6:.1f}" y="{y + 15}" class="tick">{value:.{digits}f}</text>'
        )
    if bound is not None:
        x = 160 + inner * bound / top
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" y2="{height - 4}" class="bound">'
            f"<title>{escape(bound_name)}: {bound:g}</title></line>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped
