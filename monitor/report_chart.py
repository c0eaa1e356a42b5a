"""The daily report's chart: per day, the on-time rate, the median time to answer, and the open
items by how long they have waited. One PNG, as bytes.

matplotlib is imported inside `render_chart` (with the Agg backend: no display, no GUI
toolkit), so the CLI starts without paying for it. The figure is built on matplotlib's
object API rather than pyplot, which keeps global state: the daemon draws in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from monitor.report import AGE_BUCKETS, TrendDay

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_AGE_COLOURS = ("#9ecae1", "#4292c6", "#fd8d3c", "#d94701")


def render_chart(trend: Sequence[TrendDay], *, title: str = "") -> bytes:
    """A PNG of `trend` (oldest day first): three panels sharing the days as x axis.

    Days with nothing due have no on-time bar, and days without answers no median point
    (a gap, not a zero).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = [t.day.strftime("%a\n%d %b") for t in trend]
    positions = list(range(len(trend)))
    figure = Figure(figsize=(max(6.0, 0.75 * len(trend) + 2), 7.5), dpi=100)
    FigureCanvasAgg(figure)
    rate_axes, latency_axes, open_axes = figure.subplots(3, 1, sharex=True)
    if title:
        # A `$` would start matplotlib's maths notation: a source name is shown as written.
        figure.suptitle(title.replace("$", r"\$"), fontsize=12)

    rates = [t.figures.on_time_rate for t in trend]
    rate_axes.bar(
        [p for p, r in zip(positions, rates, strict=True) if r is not None],
        [100 * r for r in rates if r is not None],
        color="#41ab5d",
    )
    for position, rate in zip(positions, rates, strict=True):
        # Written out: a 0 % bar has no height to see.
        label = "nothing\ndue" if rate is None else f"{100 * rate:.0f}%"
        height = 4 if rate is None else 100 * rate + 2
        rate_axes.text(position, min(height, 92), label, ha="center", fontsize=7, color="#444")
    rate_axes.set_ylim(0, 105)
    rate_axes.set_ylabel("on time (%)")

    medians = [
        None if t.figures.median_latency_s is None else t.figures.median_latency_s / 3600
        for t in trend
    ]
    latency_axes.plot(
        positions,
        [float("nan") if m is None else m for m in medians],  # NaN: a gap in the line
        marker="o",
        color="#2171b5",
    )
    latency_axes.set_ylim(bottom=0)
    latency_axes.set_ylabel("median answer (h)")

    bottom = [0] * len(trend)
    for index, (label, _) in enumerate(AGE_BUCKETS):
        counts = [t.figures.open_by_age[index] for t in trend]
        open_axes.bar(positions, counts, bottom=bottom, label=label, color=_AGE_COLOURS[index])
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    open_axes.set_ylabel("open at day's end")
    open_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    open_axes.legend(title="waiting", fontsize=7, title_fontsize=7, loc="upper left")
    open_axes.set_xticks(positions, labels, fontsize=8)

    for axes in (rate_axes, latency_axes, open_axes):
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    # No timestamp in the file: the same figures give the same bytes.
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
