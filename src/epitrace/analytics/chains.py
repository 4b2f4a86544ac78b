"""Transmission chains: who infected whom, as a forest, and the statistics epidemiologists read off it."""

from __future__ import annotations

import statistics
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import date

from epitrace.errors import InputError


@dataclass(frozen=True)
class Link:
    """One case, its infector (None when unknown: the root of a chain) and, if known, its onset."""

    case_id: str
    infector_id: str | None
    onset: date | None = None


def chain_statistics(links: list[Link]) -> dict:
    """Summary of a transmission forest.

    Returns a dict with ``n_cases``; ``roots`` (cases without an infector, in input order);
    ``chain_sizes`` (cases per chain, descending); ``generations`` ({"1": roots, "2": their
    infectees, ...}); ``offspring`` (``mean``, ``var`` with an n-1 denominator, ``max``, ``max_case``,
    the first case in input order with the most infectees); ``n_no_offspring``; and, when onsets
    are given, ``serial_interval`` (``n``, ``mean``, ``sd`` with an n-1 denominator, in days, over
    pairs with both onsets).

    Raises ``InputError`` naming the cases for an infector that is not a case, a repeated case, or
    a cycle.

    Examples
    --------
    >>> s = chain_statistics([Link("a", None), Link("b", "a"), Link("c", "a"), Link("d", "b")])
    >>> s["chain_sizes"], s["generations"], s["offspring"]["max_case"]
    ([4], {'1': 1, '2': 2, '3': 1}, 'a')
    """
    if not links:
        raise InputError("no cases given: expected one row per case with case_id and infector_id")
    order = [link.case_id for link in links]
    seen: set[str] = set()
    repeated = [c for c in order if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    if repeated:
        raise InputError(f"case {repeated[0]!r} appears more than once: give one row per case")
    by_id = {link.case_id: link for link in links}
    unknown = [(l.case_id, l.infector_id) for l in links if l.infector_id is not None and l.infector_id not in by_id]
    if unknown:
        shown = ", ".join(f"{infector!r} (infector of {case!r})" for case, infector in unknown[:5])
        raise InputError(f"infector(s) {shown} not in the file: every infector must also be a case, or leave infector_id empty")
    children: dict[str, list[str]] = defaultdict(list)
    for link in links:
        if link.infector_id is not None:
            children[link.infector_id].append(link.case_id)
    roots = [l.case_id for l in links if l.infector_id is None]
    generation: dict[str, int] = {}
    chain_sizes = []
    for root in roots:
        queue, size = deque([(root, 1)]), 0
        while queue:
            case, depth = queue.popleft()
            generation[case] = depth
            size += 1
            queue.extend((child, depth + 1) for child in children[case])
        chain_sizes.append(size)
    if len(generation) < len(links):
        raise InputError(f"the links contain a cycle: {_describe_cycle(by_id, generation)}; a case cannot be its own ancestor")
    offspring = [len(children[c]) for c in order]
    most = max(offspring)
    generations: dict[str, int] = defaultdict(int)
    for depth in generation.values():
        generations[str(depth)] += 1
    result = {
        "n_cases": len(links),
        "roots": roots,
        "chain_sizes": sorted(chain_sizes, reverse=True),
        "generations": dict(sorted(generations.items(), key=lambda kv: int(kv[0]))),
        "offspring": {
            "mean": statistics.fmean(offspring),
            "var": statistics.variance(offspring) if len(offspring) > 1 else None,
            "max": most,
            "max_case": order[offspring.index(most)],
        },
        "n_no_offspring": sum(1 for n in offspring if n == 0),
    }
    if any(link.onset is not None for link in links):
        gaps = [
            (link.onset - by_id[link.infector_id].onset).days  # type: ignore[operator]
            for link in links
            if link.infector_id is not None and link.onset is not None and by_id[link.infector_id].onset is not None
        ]
        result["serial_interval"] = {
            "n": len(gaps),
            "mean": statistics.fmean(gaps) if gaps else None,
            "sd": statistics.stdev(gaps) if len(gaps) > 1 else None,
        }
    return result


def _describe_cycle(by_id: dict[str, Link], reached: dict[str, int]) -> str:
    start = next(c for c in by_id if c not in reached)
    path, current = [], start
    while current not in path:
        path.append(current)
        current = by_id[current].infector_id  # type: ignore[assignment]
    cycle = path[path.index(current):] + [current]
    return " <- ".join(repr(c) for c in cycle)


def links_from_rows(rows: list[dict[str, str]], *, source: str) -> list[Link]:
    """Links from CSV rows ``case_id, infector_id[, onset]``; empty infector = unknown source."""
    if not rows:
        raise InputError(f"{source} has no rows: expected a header case_id,infector_id[,onset] and one row per case")
    missing = [c for c in ("case_id", "infector_id") if c not in rows[0]]
    if missing:
        raise InputError(f"{source} is missing column(s) {', '.join(missing)}: expected case_id, infector_id and optionally onset")
    links = []
    for number, row in enumerate(rows, start=2):
        case = (row.get("case_id") or "").strip()
        if not case:
            raise InputError(f"{source} row {number}: case_id is empty; every row needs a case id")
        infector = (row.get("infector_id") or "").strip() or None
        onset_text = (row.get("onset") or "").strip()
        try:
            onset = date.fromisoformat(onset_text) if onset_text else None
        except ValueError:
            raise InputError(f"{source} row {number}: onset {onset_text!r} is not a date: expected YYYY-MM-DD") from None
        links.append(Link(case, infector, onset))
    return links
