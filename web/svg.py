"""Server-rendered SVG charts: no script, no CDN, every label escaped.

Each function returns ``Markup`` built only from numbers and escaped strings, with a
``<title>`` and ``role="img"`` so screen readers get a text alternative.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

INK = "#1f2937"
ACCENT = "#0f766e"
MUTED = "#9ca3af"
BAD = "#b91c1c"


def weekly_bars(weeks: Sequence[tuple[str, int]], title: str) -> Markup:
    """A bar per week (label, count), counts written above the bars."""
    width, height, pad_top, pad_bottom = 640, 150, 20, 28
    n = max(len(weeks), 1)
    slot = width / n
    bar = slot * 0.62
    top = max((count for _l, count in weeks), default=0) or 1
    usable = height - pad_top - pad_bottom
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="0" y1="{height - pad_bottom}" x2="{width}" y2="{height - pad_bottom}" '
        f'stroke="{MUTED}" stroke-width="1"/>',
    ]
    for i, (label, count) in enumerate(weeks):
        h = usable * count / top
        x = i * slot + (slot - bar) / 2
        y = height - pad_bottom - h
        cx = i * slot + slot / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" rx="3" '
            f'fill="{ACCENT}"><title>{escape(label)}: {count}</title></rect>'
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{y - 5:.1f}" text-anchor="middle" font-size="13" '
            f'fill="{INK}">{count}</text>'
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{height - 10}" text-anchor="middle" font-size="12" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def health_strip(results: Sequence[bool | None], title: str) -> Markup:
    """One cell per crawl, oldest first: ok (green), failed (red), not run (grey)."""
    cells = list(results)[-20:]
    size, gap = 8, 2
    width = 20 * (size + gap)
    parts = [
        f'<svg class="strip" viewBox="0 0 {width} {size}" width="{width}" height="{size}" '
        f'role="img" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    offset = 20 - len(cells)
    for i in range(20):
        state = cells[i - offset] if i >= offset else None
        colour = MUTED if state is None else (ACCENT if state else BAD)
        opacity = "0.35" if i < offset else "1"
        parts.append(
            f'<rect x="{i * (size + gap)}" y="0" width="{size}" height="{size}" rx="2" '
            f'fill="{colour}" fill-opacity="{opacity}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: Sequence[tuple[str, int]], title: str) -> Markup:
    """A line of counts over time (e.g. confirmed subscribers per week)."""
    width, height, pad = 640, 170, 28
    n = len(points)
    top = max((v for _l, v in points), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        f'stroke="{MUTED}"/>',
    ]
    if n:
        step = (width - 2 * pad) / max(n - 1, 1)
        coords = [
            (pad + i * step, height - pad - (height - 2 * pad) * v / top)
            for i, (_l, v) in enumerate(points)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2.5"/>'
        )
        for (x, y), (label, value) in zip(coords, points, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{ACCENT}">'
                f"<title>{escape(label)}: {value}</title></circle>"
            )
        for i in {0, n - 1}:
            anchor = "start" if i == 0 else "end"
            parts.append(
                f'<text x="{coords[i][0]:.1f}" y="{height - 8}" text-anchor="{anchor}" '
                f'font-size="12" fill="{INK}">{escape(points[i][0])}</text>'
            )
        parts.append(f'<text x="{pad}" y="14" font-size="12" fill="{INK}">max {top}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
