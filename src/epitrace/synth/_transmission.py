"""Who infects whom on one day, from the day's presences.

Each infectious presence (clipped to its person's infectious period) is joined to
the susceptible presences at the same place, found by sorting those by place. A
pair together for m minutes at a place with per-minute hazard h contributes
w = h * m; a susceptible person escapes with probability exp(-sum w) and, if
infected, the infector is the pair with the smallest Exp(1) / w, which picks each
pair with probability proportional to its contribution. Keeping only that minimum
lets the pairs be processed in bounded chunks however crowded a place gets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epitrace.synth._mobility import DayPresences

# Pairs materialised at once; bounds memory when a crowded place has many cases.
MAX_PAIRS_PER_CHUNK = 4_000_000


@dataclass(frozen=True, eq=False)
class NewInfections:
    """Infections made on one day; times are epoch offsets in seconds."""

    person: np.ndarray  # int64
    infected_at: np.ndarray  # int64
    infector: np.ndarray  # int32
    place: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.person)


def _no_infections() -> NewInfections:
    empty = np.zeros(0, dtype=np.int64)
    return NewInfections(empty, empty, empty.astype(np.int32), empty.astype(np.int32))


def transmit(
    day: DayPresences,
    *,
    infectious_from: np.ndarray,
    infectious_until: np.ndarray,
    susceptible: np.ndarray,
    hazard_per_second: np.ndarray,
    rng: np.random.Generator,
    max_pairs: int = MAX_PAIRS_PER_CHUNK,
) -> NewInfections:
    """Draw the infections of one day.

    Parameters
    ----------
    day
        The day's presences.
    infectious_from, infectious_until
        Per-person infectious period as epoch offsets (NOT_INFECTED when never).
    susceptible
        Per-person mask of people who can still be infected.
    hazard_per_second
        Per-place hazard of one infectious-susceptible pair per second together.
    rng
        Source of the day's random draws.
    max_pairs
        Largest number of (infectious, susceptible) pairs expanded at once.
    """
    start = day.start.astype(np.int64)
    end = day.end.astype(np.int64)
    shed_start = np.maximum(start, infectious_from[day.person])
    shed_end = np.minimum(end, infectious_until[day.person])
    shedding = np.flatnonzero(shed_start < shed_end)
    if len(shedding) == 0:
        return _no_infections()

    at_risk_place = np.zeros(len(hazard_per_second), dtype=bool)
    at_risk_place[day.place[shedding]] = True
    exposed = np.flatnonzero(at_risk_place[day.place] & susceptible[day.person])
    if len(exposed) == 0:
        return _no_infections()
    exposed = exposed[np.argsort(day.place[exposed], kind="stable")]
    exposed_place = day.place[exposed]
    candidates, candidate_of_row = np.unique(day.person[exposed], return_inverse=True)

    first = np.searchsorted(exposed_place, day.place[shedding], side="left")
    counts = np.searchsorted(exposed_place, day.place[shedding], side="right") - first

    total_hazard = np.zeros(len(candidates))
    best_key = np.full(len(candidates), np.inf)
    best_row = np.zeros(len(candidates), dtype=np.int64)  # shedding row of the chosen pair
    best_low = np.zeros(len(candidates), dtype=np.int64)
    best_high = np.zeros(len(candidates), dtype=np.int64)

    for chunk in _chunks(counts, max_pairs):
        chunk_counts = counts[chunk]
        pair_shedder = np.repeat(shedding[chunk], chunk_counts)
        offset_in_group = np.arange(int(chunk_counts.sum())) - np.repeat(
            np.cumsum(chunk_counts) - chunk_counts, chunk_counts
        )
        pair_exposed = np.repeat(first[chunk], chunk_counts) + offset_in_group
        row = exposed[pair_exposed]
        low = np.maximum(shed_start[pair_shedder], start[row])
        high = np.minimum(shed_end[pair_shedder], end[row])
        together = high > low
        if not together.any():
            continue
        pair_shedder, pair_exposed = pair_shedder[together], pair_exposed[together]
        low, high = low[together], high[together]
        weight = hazard_per_second[day.place[pair_shedder]] * (high - low)
        candidate = candidate_of_row[pair_exposed]
        total_hazard += np.bincount(candidate, weights=weight, minlength=len(candidates))

        # A zero hazard gives an infinite (or NaN) key that never wins and never infects.
        with np.errstate(divide="ignore", invalid="ignore"):
            key = rng.exponential(size=len(weight)) / weight
        order = np.lexsort((key, candidate))
        head = order[np.r_[True, candidate[order][1:] != candidate[order][:-1]]]
        improves = key[head] < best_key[candidate[head]]
        head = head[improves]
        winner = candidate[head]
        best_key[winner] = key[head]
        best_row[winner] = pair_shedder[head]
        best_low[winner] = low[head]
        best_high[winner] = high[head]

    infected = rng.random(len(candidates)) < -np.expm1(-total_hazard)
    infected &= np.isfinite(best_key)
    chosen = np.flatnonzero(infected)
    # The moment of infection is uniform over the chosen pair's time together.
    span = best_high[chosen] - best_low[chosen]
    moment = best_low[chosen] + np.floor(rng.random(len(chosen)) * span).astype(np.int64)
    shedder_row = best_row[chosen]
    return NewInfections(
        person=candidates[chosen].astype(np.int64),
        infected_at=moment,
        infector=day.person[shedder_row],
        place=day.place[shedder_row],
    )


def _chunks(counts: np.ndarray, max_pairs: int) -> list[slice]:
    """Consecutive slices of counts whose sums stay near max_pairs (one big group may exceed it)."""
    cumulative = np.cumsum(counts)
    slices = []
    begin = 0
    while begin < len(counts):
        already = cumulative[begin - 1] if begin else 0
        stop = int(np.searchsorted(cumulative, already + max_pairs, side="right"))
        stop = max(stop, begin + 1)
        slices.append(slice(begin, stop))
        begin = stop
    return slices
