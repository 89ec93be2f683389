"""Inline SVG charts: horizontal bars and histograms with threshold lines. Labels are escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence

from corpusforge import histogram
from corpusforge.report.escape import esc

KEPT, REMOVED, ERRORED = "#3b7dd8", "#d8503b", "#e0a030"


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1e4 or abs(x) < 1e-2:
        return f"{x:.3g}"
    return f"{x:.4g}"


def stacked_bars(rows: Sequence[tuple[str, Sequence[tuple[float, str, str]]]], *, width: int = 720,
                 label_width: int = 200, unit: str = "") -> str:
    """One horizontal bar per row, made of ``(value, colour, title)`` segments."""
    top = max((sum(v for v, _, _ in segs) for _, segs in rows), default=0) or 1
    bar = 18
    height = len(rows) * (bar + 6) + 6
    room = width - label_width - 90
    out = [f'<svg class="chart" width="{width}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, segs) in enumerate(rows):
        y = 6 + i * (bar + 6)
        out.append(f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{esc(label)}</text>')
        x = float(label_width)
        for value, colour, title in segs:
            w = room * value / top
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}">'
                           f'<title>{esc(title)}: {value:,.0f}{esc(unit)}</title></rect>')
            x += w
        whole = sum(v for v, _, _ in segs)
        out.append(f'<text x="{x + 4:.1f}" y="{y + 13}">{whole:,.0f}{esc(unit)}</text>' if whole >= 100 or whole == int(whole)
                   else f'<text x="{x + 4:.1f}" y="{y + 13}">{whole:.2f}{esc(unit)}</text>')
    out.append("</svg>")
    return "".join(out)


def signal_histogram(h: dict, *, width: int = 560, height: int = 170) -> str:
    """Kept and removed counts per bin (stacked), the bins between the lowest and highest
    that hold a value; each configured threshold a dashed line."""
    keys = sorted({int(k) for part in ("kept", "removed") for k in h[part] if k != histogram.NAN})
    if not keys:
        return '<p class="muted">no numeric values</p>'
    # the bins that hold values, widened to show the thresholds
    keys += [int(histogram.bins_of(float(v))) for v in h.get("thresholds", {}).values()]
    lo, hi = min(keys), max(keys)
    n = hi - lo + 1
    pad_l, pad_b, pad_t = 50, 28, 8
    plot_w, plot_h = width - pad_l - 10, height - pad_b - pad_t
    counts = [(h["kept"].get(str(i), 0), h["removed"].get(str(i), 0)) for i in range(lo, hi + 1)]
    top = max(k + r for k, r in counts) or 1
    bw = plot_w / n
    out = [f'<svg class="chart" width="{width}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">',
           f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h}" stroke="#888"/>',
           f'<text x="{pad_l - 4}" y="{pad_t + 10}" text-anchor="end">{top:,}</text>',
           f'<text x="{pad_l - 4}" y="{pad_t + plot_h}" text-anchor="end">0</text>']
    for j, (k, r) in enumerate(counts):
        x = pad_l + j * bw
        low, high = histogram.EDGES[lo + j], histogram.EDGES[lo + j + 1]
        for value, base, colour, what in ((k, 0, KEPT, "kept"), (r, k, REMOVED, "removed")):
            if value:
                y = pad_t + plot_h * (1 - (base + value) / top)
                out.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{max(bw - 0.5, 0.5):.2f}" '
                           f'height="{plot_h * value / top:.2f}" fill="{colour}"><title>[{_num(low)}, '
                           f'{_num(high)}) {what}: {value:,}</title></rect>')
    for j in _ticks(lo, n):
        x = pad_l + j * bw
        anchor = "start" if j == 0 else "end" if j == n else "middle"
        out.append(f'<line x1="{x:.1f}" y1="{pad_t + plot_h}" x2="{x:.1f}" y2="{pad_t + plot_h + 4}" stroke="#888"/>'
                   f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}">{_num(histogram.EDGES[lo + j])}</text>')
    for key, value in sorted(h.get("thresholds", {}).items()):
        x = _position(float(value), lo, n)
        if x is not None:
            px = pad_l + x * bw
            out.append(f'<line class="threshold" x1="{px:.1f}" y1="{pad_t}" x2="{px:.1f}" y2="{pad_t + plot_h}" '
                       f'stroke="#222" stroke-dasharray="4 3"><title>{esc(key)} = {_num(value)}</title></line>'
                       + (f'<text x="{px + 3:.1f}" y="{pad_t + 22}">' if px < width * 0.7 else
                          f'<text x="{px - 3:.1f}" y="{pad_t + 22}" text-anchor="end">')
                       + f'{esc(key)}={_num(value)}</text>')
    out.append("</svg>")
    return "".join(out)


def _ticks(lo: int, n: int, most: int = 7) -> list[int]:
    """Tick positions (in bins from ``lo``): the ends, and the round edges (0, 0.5, powers
    of ten) between them, thinned to at most ``most``."""
    edges = histogram.EDGES[lo:lo + n + 1]
    round_ = [j for j, e in enumerate(edges)
              if e == 0 or abs(e) == 0.5 or (abs(e) >= 1 and abs(math.log10(abs(e)) - round(math.log10(abs(e)))) < 1e-9)]
    step = max(1, math.ceil(len(round_) / most))
    inner = [j for j in round_[::step] if n / 10 < j < n - n / 6]
    return sorted({0, n, *inner})


def _position(value: float, lo: int, n: int) -> float | None:
    """Where ``value`` falls, in bins from ``lo`` (within a bin: linearly, or by logarithm
    in the logarithmic bins); None outside the bins shown."""
    edges = histogram.EDGES
    i = int(histogram.bins_of(value))
    if not lo <= i <= lo + n - 1:
        return None if not (i == lo + n and value == edges[i]) else float(n)
    a, b = edges[i], edges[i + 1]
    if a > 0 and b / a > 1.05 and b > 1:  # a logarithmic bin
        frac = (math.log(value) - math.log(a)) / (math.log(b) - math.log(a))
    else:
        frac = (value - a) / (b - a)
    return i - lo + frac
