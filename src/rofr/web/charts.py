"""Small line charts as inline SVG, drawn on the server: no script, no library, no network.

A chart is a few series of ``(time, value)`` points on a shared time axis, with optional
markers (a milestone: a date and a target). The SVG scales with its container (``viewBox``),
so the same markup reads on a laptop and a phone; colours come from the stylesheet classes
``s0``..``s5``, so the page's theme owns them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from markupsafe import Markup

__all__ = ["Marker", "Series", "by_label", "line_chart", "short_number"]

_W, _H = 640, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 12, 36


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its label, its points in time order, and whether it steps or slopes."""

    label: str
    points: Sequence[tuple[datetime, float]]
    step: bool = False
    dashed_after: datetime | None = None  # drawn dashed from here on (a projection)


@dataclass(frozen=True, slots=True)
class Marker:
    """A point to hit, e.g. a commitment milestone."""

    at: datetime
    value: float
    label: str


def short_number(x: float) -> str:
    """``1234567`` -> ``1.2M``: axis labels that fit a phone screen."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    markers: Sequence[Marker] = (),
    y_format: Callable[[float], str] = short_number,
) -> Markup:
    """An accessible SVG line chart (``role=img`` with a title) of ``series``."""
    points = [p for s in series for p in s.points] + [(m.at, m.value) for m in markers]
    if not points:
        return Markup('<p class="empty">{}</p>').format(f"{title}: nothing to show yet")
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(t for t, _ in points).timestamp()
    y1 = max(max(v for _, v in points), 0.0) or 1.0
    y0 = min(min(v for _, v in points), 0.0)
    span_t = (t1 - t0) or 1.0

    def x(t: datetime) -> float:
        return _LEFT + (t.timestamp() - t0) / span_t * (_W - _LEFT - _RIGHT)

    def y(v: float) -> float:
        return _H - _BOTTOM - (v - y0) / (y1 - y0) * (_H - _TOP - _BOTTOM)

    parts: list[str] = []
    for v in _ticks(y0, y1):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(v))}</text>"
        )
    for i in range(4):
        ts = t0 + span_t * i / 3
        when = datetime.fromtimestamp(ts, tz=UTC)
        anchor = ("start", "middle", "middle", "end")[i]
        parts.append(
            f'<text class="tick" x="{x(when):.1f}" y="{_H - _BOTTOM + 16}" '
            f'text-anchor="{anchor}">{when:%Y-%m-%d}</text>'
        )
    for i, s in enumerate(series):
        parts.extend(_polylines(s, i % 6, x, y))
    for m in markers:
        parts.append(
            f'<g class="marker"><circle cx="{x(m.at):.1f}" cy="{y(m.value):.1f}" r="5"/>'
            f"<title>{escape(m.label)}</title></g>"
        )
    legend = "".join(
        f'<li><span class="key s{i % 6}"></span>{escape(s.label)}</li>'
        for i, s in enumerate(series)
    )
    if markers:
        legend += '<li><span class="key marker"></span>milestone</li>'
    svg = (
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>'
        f'<text class="axis" x="4" y="{_TOP + 2}" dominant-baseline="hanging">'
        f"{escape(y_label)}</text>{''.join(parts)}</svg>"
    )
    return Markup(f'<figure class="figure">{svg}<ul class="legend">{legend}</ul></figure>')


def _polylines(
    s: Series,
    colour: int,
    x: Callable[[datetime], float],
    y: Callable[[float], float],
) -> list[str]:
    pts: list[tuple[datetime, float]] = []
    for t, v in s.points:
        if s.step and pts:
            pts.append((t, pts[-1][1]))  # hold the level until the change
        pts.append((t, v))
    solid = [p for p in pts if s.dashed_after is None or p[0] <= s.dashed_after]
    dashed = [p for p in pts if s.dashed_after is not None and p[0] >= s.dashed_after]
    if solid and dashed:
        dashed.insert(0, solid[-1])
    out = []
    for group, cls in ((solid, ""), (dashed, " projected")):
        if group:
            coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in group)
            out.append(f'<polyline class="line s{colour}{cls}" points="{coords}"/>')
    return out


def by_label(points: Mapping[str, Sequence[tuple[datetime, float]]], step: bool) -> list[Series]:
    """Series named by the keys of ``points``, in key order."""
    return [Series(label, pts, step=step) for label, pts in sorted(points.items())]
