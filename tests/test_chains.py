"""Chain statistics against networkx on generated forests; errors name the cases."""

from __future__ import annotations

import json
import statistics
from datetime import date, timedelta

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from epitrace.analytics.chains import Link, chain_statistics
from epitrace.cli import app
from epitrace.errors import InputError
from tests.conftest import examples


@st.composite
def forests(draw):  # type: ignore[no-untyped-def]
    """A random forest in input order where each infector comes earlier, then shuffled."""
    n = draw(st.integers(1, 40))
    links = []
    for i in range(n):
        infector = draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None
        onset = draw(st.one_of(st.none(), st.integers(0, 60)))
        links.append(Link(f"c{i}", None if infector is None else f"c{infector}",
                          None if onset is None else date(2026, 3, 1) + timedelta(days=onset)))
    return draw(st.permutations(links))


def oracle(links: list[Link]) -> dict:
    graph = nx.DiGraph()
    graph.add_nodes_from(l.case_id for l in links)
    graph.add_edges_from((l.infector_id, l.case_id) for l in links if l.infector_id)
    roots = [l.case_id for l in links if graph.in_degree(l.case_id) == 0]
    depth = {}
    for root in roots:
        for node, d in nx.single_source_shortest_path_length(graph, root).items():
            depth[node] = d + 1
    offspring = [graph.out_degree(l.case_id) for l in links]
    sizes = sorted((len(c) for c in nx.weakly_connected_components(graph)), reverse=True)
    gens: dict[str, int] = {}
    for d in sorted(depth.values()):
        gens[str(d)] = gens.get(str(d), 0) + 1
    return {"roots": roots, "chain_sizes": sizes, "generations": gens, "offspring": offspring,
            "n_no_offspring": sum(1 for o in offspring if o == 0)}


@settings(max_examples=examples(150), deadline=None)
@given(links=forests())
def test_statistics_equal_networkx(links: list[Link]) -> None:
    got, want = chain_statistics(links), oracle(links)
    assert got["n_cases"] == len(links)
    assert got["roots"] == want["roots"]
    assert got["chain_sizes"] == want["chain_sizes"]
    assert got["generations"] == want["generations"]
    assert got["n_no_offspring"] == want["n_no_offspring"]
    assert got["offspring"]["mean"] == pytest.approx(statistics.fmean(want["offspring"]))
    if len(links) > 1:
        assert got["offspring"]["var"] == pytest.approx(statistics.variance(want["offspring"]))
    assert got["offspring"]["max"] == max(want["offspring"])
    assert got["offspring"]["max_case"] == links[want["offspring"].index(max(want["offspring"]))].case_id


def test_serial_interval_from_onsets() -> None:
    d = date(2026, 3, 1)
    links = [Link("a", None, d), Link("b", "a", d + timedelta(3)), Link("c", "a", d + timedelta(5)),
             Link("e", "b", None), Link("f", "c", d + timedelta(9))]
    si = chain_statistics(links)["serial_interval"]
    assert si == {"n": 3, "mean": 4.0, "sd": pytest.approx(statistics.stdev([3, 5, 4]))}


def test_cycles_and_missing_infectors_name_the_cases() -> None:
    with pytest.raises(InputError) as error:
        chain_statistics([Link("a", None), Link("b", "c"), Link("c", "d"), Link("d", "b")])
    assert error.value.message == ("the links contain a cycle: 'b' <- 'c' <- 'd' <- 'b'; a case cannot be its own ancestor")
    with pytest.raises(InputError) as error:
        chain_statistics([Link("a", None), Link("b", "x")])
    assert error.value.message == ("infector(s) 'x' (infector of 'b') not in the file: every infector must also be a case, "
                                   "or leave infector_id empty")
    with pytest.raises(InputError, match="case 'a' appears more than once"):
        chain_statistics([Link("a", None), Link("a", None)])
    with pytest.raises(InputError, match="cycle: 'a' <- 'a'"):
        chain_statistics([Link("a", "a")])


def test_cli_writes_the_json(tmp_path) -> None:
    (tmp_path / "links.csv").write_text("case_id,infector_id,onset\nA,,2026-03-01\nB,A,2026-03-04\nC,A,\nD,,\n")
    result = CliRunner().invoke(app, ["chains", "--links", str(tmp_path / "links.csv"), "--out", str(tmp_path / "c.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "c.json").read_text()) == {
        "n_cases": 4, "roots": ["A", "D"], "chain_sizes": [3, 1], "generations": {"1": 2, "2": 2},
        "offspring": {"mean": 0.5, "var": 1.0, "max": 2, "max_case": "A"}, "n_no_offspring": 3,  # var of 2,0,0,0
        "serial_interval": {"n": 1, "mean": 3.0, "sd": None},
    }
    (tmp_path / "bad.csv").write_text("case_id,infector_id\nA,Z\n")
    bad = CliRunner().invoke(app, ["chains", "--links", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "c.json")])
    assert bad.exit_code == 1 and "'Z' (infector of 'A') not in the file" in bad.stderr
