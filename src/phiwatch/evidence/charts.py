"""The HIPAA report's charts as SVG text (matplotlib, object API, no pyplot).

* :func:`trend_svg`: findings open at each day's end over the period (area), with the findings
  opened and fixed each day (bars below it). ``None`` for a period of fewer than two days: a
  point in time has no trend, and the report says so in words.
* :func:`parts_svg`: per part of the Security Rule, how many implementation specifications are
  in each status (one stacked bar per part).

The output is deterministic: the same input gives the same bytes (matplotlib's defaults rather
than the user's matplotlibrc, the bundled DejaVu Sans drawn as paths so no font is needed to show
it, a fixed hash salt for the SVG ids, no date in the metadata). matplotlib is imported inside the
functions, so importing this module (and ``phiwatch --help``) stays light.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from phiwatch.evidence.model import STATUS_LABELS, STATUS_ORDER, Day, Part, Specification

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# one colour per status, shared with the HTML badges (render.py), worst first
STATUS_COLOURS = {
    "failing": "#c62828",
    "could_not_check": "#e65100",
    "attestation_needed": "#b7791f",
    "excepted": "#6a1b9a",
    "not_evaluated": "#8a939b",
    "compliant": "#2e7d32",
    "attested": "#0097a7",
    "covered_by_aws": "#1565c0",
}
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#d9dee3"
OPENED = "#d9822b"
FIXED = "#2e7d32"

_RC: dict[str, Any] = {
    "svg.fonttype": "path",  # glyphs as paths: the same picture in WeasyPrint, Chromium and any viewer
    "svg.hashsalt": "phiwatch-report",
    "svg.id": None,
    "svg.image_inline": True,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlecolor": INK,
    "legend.frameon": False,
    "legend.fontsize": 8,
}


_LOCK = threading.Lock()  # rcParams are process-wide: one chart at a time


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib's defaults plus ours, for the duration of one chart (then restored)."""
    import matplotlib

    with _LOCK, matplotlib.rc_context():
        matplotlib.rcdefaults()  # ignore the user's matplotlibrc: the same chart on every machine
        matplotlib.rcParams.update(cast(Any, _RC))
        yield


def _svg(figure: Figure) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def _tidy(axes: Any) -> None:
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    axes.tick_params(length=0)


WEEKLY_AFTER = 62  # days: a longer period shows opened and fixed per week, a bar per day being too thin to read


def _weekly(days: Sequence[Day]) -> list[tuple[float, int, int]]:
    """(middle of the week as a day offset from the first day, opened, fixed) per 7 days from the first."""
    out: list[tuple[float, int, int]] = []
    for start in range(0, len(days), 7):
        week = days[start : start + 7]
        out.append((start + (len(week) - 1) / 2, sum(d.opened for d in week), sum(d.fixed for d in week)))
    return out


def trend_svg(days: Sequence[Day]) -> str | None:
    """Open findings per day (area) with opened and fixed per day or week (bars); None under two days."""
    if len(days) < 2:
        return None
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DayLocator, date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with _style():
        figure = Figure(figsize=(7.2, 3.4), layout="constrained")
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
        x = [float(date2num(day.day)) for day in days]
        failing = [day.failing for day in days]
        top.fill_between(x, failing, color=STATUS_COLOURS["failing"], alpha=0.15, linewidth=0)
        top.plot(x, failing, color=STATUS_COLOURS["failing"], linewidth=1.6, marker="o" if len(days) <= 31 else None, markersize=2.5)
        top.set_title("Failing findings open at each day's end", loc="left")
        top.set_ylim(bottom=0, top=max(max(failing), 1) * 1.15)
        top.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        _tidy(top)

        if len(days) > WEEKLY_AFTER:
            bars = [(x[0] + offset, opened, fixed) for offset, opened, fixed in _weekly(days)]
            width, unit = 2.8, "week"
        else:
            bars = [(v, day.opened, day.fixed) for v, day in zip(x, days)]
            width, unit = 0.38, "day"
        bottom.bar([v - width / 2 for v, _, _ in bars], [o for _, o, _ in bars], width=width, color=OPENED, label="Opened")
        bottom.bar([v + width / 2 for v, _, _ in bars], [f for _, _, f in bars], width=width, color=FIXED, label="Fixed")
        bottom.set_title(f"Findings opened and fixed per {unit}", loc="left")
        bottom.set_ylim(bottom=0, top=max([o for _, o, _ in bars] + [f for _, _, f in bars] + [1]) * 1.2)
        bottom.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
        bottom.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, borderaxespad=0.2)
        # whole days only: a short period gets a tick per day (or every few), never hours
        locator = DayLocator(interval=max(1, len(days) // 8)) if len(days) <= 14 else AutoDateLocator(minticks=3, maxticks=8)
        bottom.xaxis.set_major_locator(locator)
        bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        bottom.set_xlim(min(x[0], bars[0][0] - width) - 0.6, max(x[-1], bars[-1][0] + width) + 0.6)
        _tidy(bottom)
        return _svg(figure)


def _counts(part: Part) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    specifications: list[Specification] = [spec for standard in part.standards for spec in standard.specifications]
    for spec in specifications:
        counts[spec.status] = counts.get(spec.status, 0) + 1
    return counts


def _short(title: str, limit: int = 28) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def parts_svg(parts: Sequence[Part]) -> str:
    """Implementation specifications per status, one horizontal stacked bar per part."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with _style():
        rows = max(len(parts), 1)
        figure = Figure(figsize=(7.2, 1.1 + 0.4 * rows), layout="constrained")
        axes = figure.subplots()
        labels = [f"{part.citation} {_short(part.title)}" for part in parts]
        counts = [_counts(part) for part in parts]
        y = list(range(len(parts)))
        left = [0] * len(parts)
        statuses = [status for status in STATUS_ORDER if any(c.get(status) for c in counts)]
        statuses += sorted({s for c in counts for s, n in c.items() if n and s not in STATUS_ORDER})
        for status in statuses:
            values = [c.get(status, 0) for c in counts]
            colour = STATUS_COLOURS.get(status, MUTED)
            axes.barh(
                y, values, left=left, height=0.62, color=colour, label=STATUS_LABELS.get(status, status), edgecolor="white", linewidth=0.8
            )
            for row, (start, value) in enumerate(zip(left, values)):
                if value:
                    axes.text(start + value / 2, row, str(value), ha="center", va="center", color="white", fontsize=7.5, fontweight="bold")
            left = [a + b for a, b in zip(left, values)]
        axes.set_yticks(y, labels)
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(0, max(left + [1]))
        axes.set_xlabel("Implementation specifications")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.tick_params(length=0)
        axes.grid(axis="x", color=GRID, linewidth=0.6)
        axes.set_axisbelow(True)
        if statuses:
            figure.legend(loc="outside lower center", ncols=min(len(statuses), 4))
        else:
            axes.text(0.5, 0.5, "No implementation specifications in this report", transform=axes.transAxes, ha="center", color=MUTED)
        return _svg(figure)
