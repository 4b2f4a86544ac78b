"""The transmission-chain view: the most likely tree as an SVG whose nodes link to case pages."""

from __future__ import annotations

from html import escape

import networkx as nx
import polars as pl
from sqlalchemy.orm import Session

from epitrace.analytics.curves import most_likely_tree
from epitrace.storage.analytics import links_frame
from epitrace.storage.links import case_ids_in_scope, cluster_case_ids, clusters_of_cases
from epitrace.storage.scope import Scope

STEP_X, STEP_Y, MARGIN = 90, 26, 30
COLOURS = {"contact tracing": "#0072B2", "co-location": "#E69F00"}


def chain_svg(session: Session, scope: Scope, *, cluster: int | None, linkable: bool) -> tuple[str, list[dict]]:
    """SVG of the chains among cases in scope (optionally one cluster's), and the clusters to filter by."""
    visible = case_ids_in_scope(session, scope)
    clusters = clusters_of_cases(session, visible)
    links = links_frame(session).filter(pl.col("infector_case").is_in(list(visible)) & pl.col("infectee_case").is_in(list(visible)))
    if cluster is not None:
        members = cluster_case_ids(session, cluster)
        links = links.filter(pl.col("infector_case").is_in(list(members)) | pl.col("infectee_case").is_in(list(members)))
    tree = most_likely_tree(links)
    graph = nx.DiGraph()
    for row in tree.iter_rows(named=True):
        graph.add_edge(row["infector_case"], row["infectee_case"], **row)
    positions: dict[int, tuple[float, float]] = {}
    y = 0
    for component in sorted(nx.weakly_connected_components(graph), key=len, reverse=True):
        sub = graph.subgraph(component)
        for root in sorted(n for n in sub if sub.in_degree(n) == 0):
            rows_at: dict[int, int] = {}
            positions[root] = (0, y)
            rows_at[0] = 1
            for parent, child in nx.bfs_edges(sub, root, sort_neighbors=sorted):
                depth = int(positions[parent][0] / STEP_X) + 1
                positions[child] = (depth * STEP_X, y + rows_at.get(depth, 0) * STEP_Y)
                rows_at[depth] = rows_at.get(depth, 0) + 1
            y += max(rows_at.values()) * STEP_Y + STEP_Y
    if not positions:
        return "", clusters
    width = max((x for x, _ in positions.values()), default=0) + 2 * MARGIN + 60
    height = max(y, STEP_Y) + MARGIN
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Transmission chains: {graph.number_of_nodes()} cases">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto">'
             '<path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>']
    for a, b, data in graph.edges(data=True):
        (x1, y1), (x2, y2) = positions[a], positions[b]
        dash = "" if data["certainty"] in ("confirmed", "probable") else ' stroke-dasharray="5 3"'
        parts.append(f'<line x1="{x1 + MARGIN + 8}" y1="{y1 + MARGIN}" x2="{x2 + MARGIN - 8}" y2="{y2 + MARGIN}" '
                     f'stroke="{COLOURS.get(data["source"], "#444")}" stroke-width="1.6"{dash} marker-end="url(#arrow)">'
                     f'<title>{escape(data["certainty"])} link found by {escape(data["source"])}</title></line>')
    for node, (x, y0) in positions.items():
        label = f'<circle cx="{x + MARGIN}" cy="{y0 + MARGIN}" r="7" fill="white" stroke="black"/>' \
                f'<text x="{x + MARGIN + 10}" y="{y0 + MARGIN + 4}" font-size="11">{node}</text>'
        parts.append(f'<a href="/cases/{node}" aria-label="case {node}">{label}</a>' if linkable else label)
    parts.append("</svg>")
    return "".join(parts), clusters
