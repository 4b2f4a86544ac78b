"""Epidemic curves, KPIs, clusters and the most likely transmission tree."""

from __future__ import annotations

from datetime import date

import networkx as nx
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from epitrace.analytics.curves import epicurve, epicurve_missing, kpis, most_likely_tree, setting_clusters
from tests.conftest import examples

D = date.fromisoformat


def cases(*rows: tuple) -> pl.DataFrame:  # type: ignore[type-arg]
    return pl.DataFrame(rows, schema={"case_id": pl.Int64, "jurisdiction": pl.String, "onset": pl.Date, "reported_on": pl.Date,
                                      "interviewed_on": pl.Date, "known_contact": pl.Boolean}, orient="row")


CASES = cases(
    (1, "D1", D("2026-03-01"), D("2026-03-03"), D("2026-03-04"), False),
    (2, "D1", None, D("2026-03-03"), D("2026-03-03"), True),
    (3, "D2", D("2026-03-05"), D("2026-03-09"), None, True),
    (4, "D2", D("2026-03-10"), D("2026-03-16"), D("2026-03-19"), False),
)


def test_daily_curve_fills_gaps() -> None:
    curve = epicurve(CASES, by="report")
    assert curve["cases"].to_list() == [2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert curve["label"][0] == "2026-03-03" and curve.height == 14


def test_weekly_curve_by_onset_and_jurisdiction() -> None:
    curve = epicurve(CASES, by="onset", interval="week", by_jurisdiction=True)
    assert curve.rows() == [
        (D("2026-02-23"), "D1", "2026-W09", 1), (D("2026-02-23"), "D2", "2026-W09", 0),
        (D("2026-03-02"), "D1", "2026-W10", 0), (D("2026-03-02"), "D2", "2026-W10", 1),
        (D("2026-03-09"), "D1", "2026-W11", 0), (D("2026-03-09"), "D2", "2026-W11", 1),
    ]
    assert epicurve_missing(CASES, by="onset") == 1


def test_kpis_by_hand() -> None:
    tasks = pl.DataFrame(
        [
            (10, "notify", D("2026-03-04"), D("2026-03-05"), "done", D("2026-03-05"), "told"),  # within a day
            (11, "notify", D("2026-03-04"), D("2026-03-05"), "done", D("2026-03-07"), "told"),  # late
            (12, "notify", D("2026-03-20"), D("2026-03-21"), "open", None, None),  # identified today: not counted
            (10, "test", D("2026-03-04"), D("2026-03-07"), "done", D("2026-03-06"), "negative"),  # on time
            (11, "test", D("2026-03-04"), D("2026-03-07"), "open", None, None),  # overdue
            (12, "test", D("2026-03-20"), D("2026-03-23"), "open", None, None),  # not yet due: not counted
        ],
        schema={"contact_id": pl.Int64, "kind": pl.String, "identified_on": pl.Date, "due_on": pl.Date, "status": pl.String,
                "completed_on": pl.Date, "result": pl.String}, orient="row",
    )
    got = {r["kpi"]: (r["value"], r["numerator"], r["denominator"]) for r in kpis(CASES, tasks, today=D("2026-03-20")).iter_rows(named=True)}
    assert got["median days from result to interview"] == (1.0, None, 3)  # delays 1, 0, 3
    assert got["90th percentile days from result to interview"] == (3.0, None, 3)
    assert got["share of contacts notified within 24 h"] == (0.5, 1, 2)
    assert got["share of contacts tested by the due date"] == (0.5, 1, 2)
    assert got["share of new cases already known contacts"] == (0.5, 2, 4)


def test_setting_clusters_leave_out_rejected_links() -> None:
    links = pl.DataFrame({"infector_case": [1, 1, 1, 3], "infectee_case": [2, 3, 4, 4], "certainty": ["probable", "possible", "rejected", "possible"],
                          "source": ["contact tracing"] * 4, "setting": ["household", "household", "household", "work"]})
    table = setting_clusters(links, CASES)
    assert table.select("source_case", "setting", "cases").rows() == [(1, "household", 3), (3, "work", 2)]
    assert table["first"][0] == D("2026-03-03") and table["last"][0] == D("2026-03-09")


def test_tree_prefers_certain_links_and_named_contacts() -> None:
    links = pl.DataFrame({
        "infector_case": [1, 2, 5, 4, 3], "infectee_case": [3, 3, 6, 5, 4],
        "certainty": ["possible", "confirmed", "possible", "possible", "possible"],
        "source": ["contact tracing", "co-location", "co-location", "contact tracing", "contact tracing"],
    })
    tree = most_likely_tree(links)
    assert tree.select("infector_case", "infectee_case").rows() == [(2, 3), (4, 5), (3, 4), (5, 6)]


@settings(max_examples=examples(100), deadline=None)
@given(edges=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12), st.sampled_from(["confirmed", "probable", "possible", "rejected"]),
                                 st.sampled_from(["contact tracing", "co-location"])), max_size=40))
def test_tree_is_a_forest_of_given_links(edges) -> None:  # type: ignore[no-untyped-def]
    edges = [e for e in edges if e[0] != e[1]]
    links = pl.DataFrame(edges, schema={"infector_case": pl.Int64, "infectee_case": pl.Int64, "certainty": pl.String, "source": pl.String}, orient="row")
    tree = most_likely_tree(links)
    pairs = tree.select("infector_case", "infectee_case").rows()
    assert set(pairs) <= {(a, b) for a, b, c, _ in edges if c != "rejected"}
    assert len({b for _, b in pairs}) == len(pairs)  # one infector per case
    graph = nx.DiGraph(pairs)
    assert nx.is_forest(graph.to_undirected()) if pairs else True
    # Maximal: every usable link was either taken or would break the forest.
    usable = {(a, b) for a, b, c, _ in edges if c != "rejected"}
    undirected = nx.Graph(pairs)
    for a, b in usable - set(pairs):
        has_infector = b in {y for _, y in pairs}
        joined = undirected.has_node(a) and undirected.has_node(b) and nx.has_path(undirected, a, b)
        assert has_infector or joined
