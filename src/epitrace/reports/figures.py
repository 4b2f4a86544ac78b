"""Figures for reports: readable in print and for colour-blind readers (Okabe-Ito palette)."""

from __future__ import annotations

from datetime import date, timedelta

import matplotlib

matplotlib.use("Agg")  # files only; servers have no display
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

BLUE, ORANGE, GREEN, VERMILION, GREY, SKY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#8C8C8C", "#56B4E9"
plt.rcParams.update({"font.size": 10, "axes.titlesize": 12, "axes.spines.top": False, "axes.spines.right": False})


def epicurve_figure(curve: pl.DataFrame, *, threshold: int, title: str) -> Figure:
    """Bars per period; suppressed periods are hatched bars that do not show their value.

    ``curve`` is a released curve (``period``, ``cases`` null where suppressed, ``status``), or
    plain counts (``period``, ``cases``), where 1 to threshold-1 counts as suppressed. A "<threshold"
    period is drawn at threshold-1; a period withheld to protect another ("x") as a pale band of
    the full height, so neither shows its value.
    """
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=150)
    periods = curve["period"].to_list()
    if "status" in curve.columns:
        status = curve["status"].to_list()
    else:
        status = ["primary" if 0 < c < threshold else "released" for c in curve["cases"].to_list()]
    counts = curve["cases"].to_list()
    shown = [(p, c) for p, c, s in zip(periods, counts, status, strict=True) if s == "released" and c > 0]
    hidden = [p for p, s in zip(periods, status, strict=True) if s == "primary"]
    withheld = [p for p, s in zip(periods, status, strict=True) if s == "secondary"]
    width = 0.85 if len(periods) < 2 else 0.85 * (periods[1] - periods[0]).days
    top = max([c for _, c in shown] + [threshold]) * 1.25
    if shown:
        ax.bar([p for p, _ in shown], [c for _, c in shown], width=width, color=BLUE, label="new cases")
    if hidden:
        ax.bar(hidden, [threshold - 1] * len(hidden), width=width, color="white", edgecolor=GREY, hatch="///",
               label=f"1-{threshold - 1} cases (suppressed)")
    if withheld:
        ax.bar(withheld, [top] * len(withheld), width=width, color="#EEEEEE", edgecolor=GREY, hatch="..",
               label="withheld to protect a small count")
    ax.set_ylabel("new cases")
    ax.set_title(title)
    ax.legend(frameon=False, loc="best")
    # Whole days on the axis, with room around a single bar, so one day never looks like hours.
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=10, interval_multiples=True))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    if len(periods) == 1:
        ax.set_xlim(periods[0] - timedelta(days=3), periods[0] + timedelta(days=3))
    ax.set_ylim(0, top)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def rt_figure(rt: pl.DataFrame, *, first_day: date, si: str) -> Figure:
    """Posterior mean of Rt with its 50% and 95% credible intervals, by the end of each window.

    Windows left out (e.g. because a day's count is suppressed) leave a gap, not a line across.
    """
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=150)
    if rt.height:
        every = pl.DataFrame({"t_end": list(range(int(rt["t_end"].min()), int(rt["t_end"].max()) + 1))})
        rt = every.join(rt, on="t_end", how="left").fill_nan(None)
    ends = [first_day + timedelta(days=int(t) - 1) for t in rt["t_end"].to_list()]
    def values(column: str) -> list[float]:
        return [float("nan") if v is None else v for v in rt[column].to_list()]

    ax.fill_between(ends, values("q2_5"), values("q97_5"), color=SKY, alpha=0.35, linewidth=0, label="95% credible interval")
    ax.fill_between(ends, values("q25"), values("q75"), color=SKY, alpha=0.7, linewidth=0, label="50% credible interval")
    ax.plot(ends, values("mean"), color=BLUE, linewidth=2, label="posterior mean")
    ax.axhline(1.0, color=VERMILION, linestyle="--", linewidth=1.2, label="R = 1")
    ax.set_ylabel("reproduction number Rt")
    ax.set_title(f"Rt over 7-day windows (Cori method; serial interval {si})")
    ax.legend(frameon=False, loc="upper right", ncols=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def chains_figure(links: pl.DataFrame, *, min_chain: int) -> tuple[Figure, int]:
    """Transmission trees with at least ``min_chain`` cases, left to right by generation.

    ``links`` should be a forest (one infector per case, e.g. ``analytics.curves.most_likely_tree``).

    Nodes carry no identifiers. Edge colour is the link's source, the line style its certainty.
    Returns the figure and the number of smaller chains left out.
    """
    graph = nx.DiGraph()
    for row in links.filter(pl.col("certainty") != "rejected").iter_rows(named=True):
        graph.add_edge(row["infector_case"], row["infectee_case"], source=row["source"], certainty=row["certainty"])
    components = sorted((sorted(c) for c in nx.weakly_connected_components(graph)), key=len, reverse=True)
    kept = [c for c in components if len(c) >= min_chain]
    positions: dict[int, tuple[float, float]] = {}
    y = 0.0
    for component in kept:
        sub = graph.subgraph(component)
        roots = [n for n in sub if sub.in_degree(n) == 0] or [component[0]]
        depth: dict[int, int] = {}
        by_depth: dict[int, list[int]] = {}
        for root in sorted(roots):
            depth.setdefault(root, 0)
            # Breadth-first order keeps siblings together and under their parent's rank: fewer crossings.
            for parent_node, child in nx.bfs_edges(sub, root, sort_neighbors=sorted):
                depth.setdefault(child, depth[parent_node] + 1)
        order = sorted(roots) + [c for r in sorted(roots) for _, c in nx.bfs_edges(sub, r, sort_neighbors=sorted)]
        for node in order:
            if node in depth and node not in by_depth.get(depth[node], []):
                by_depth.setdefault(depth[node], []).append(node)
        height = max(len(v) for v in by_depth.values())
        for d, nodes in by_depth.items():
            for i, node in enumerate(nodes):
                positions[node] = (d, y - i - (height - len(nodes)) / 2)
        y -= height + 1
    fig, ax = plt.subplots(figsize=(9, max(2.5, min(11, 0.12 * -y + 1.5))), dpi=150)
    if kept:
        drawn = graph.subgraph([n for c in kept for n in c])
        for (a, b, data) in drawn.edges(data=True):
            colour = ORANGE if data["source"] == "co-location" else BLUE
            style = "-" if data["certainty"] in ("confirmed", "probable") else (0, (3, 2))
            ax.annotate("", xy=positions[b], xytext=positions[a],
                        arrowprops={"arrowstyle": "-|>", "color": colour, "linestyle": style, "shrinkA": 5, "shrinkB": 5, "lw": 1.2})
        xs, ys = zip(*(positions[n] for n in drawn.nodes), strict=True)
        ax.scatter(xs, ys, s=36, color="white", edgecolor="black", zorder=3)
    ax.set_xlabel("generation (0 = first known case of the chain)")
    ax.set_yticks([])
    ax.set_title(f"Most likely transmission chains of {min_chain} or more cases ({len(kept)} shown)")
    ax.legend(handles=[
        Line2D([0], [0], color=BLUE, label="named contact"), Line2D([0], [0], color=ORANGE, label="co-location"),
        Line2D([0], [0], color=GREY, label="confirmed or probable"), Line2D([0], [0], color=GREY, linestyle=(0, (3, 2)), label="possible"),
        Patch(facecolor="white", edgecolor="black", label="case (no identifiers)"),
    ], frameon=False, loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig, len(components) - len(kept)
