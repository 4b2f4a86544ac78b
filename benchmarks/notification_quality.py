"""Precision and recall of exposure notification against the synthetic city's ground truth.

Usage:
    python benchmarks/notification_quality.py [--people 20000 --days 30 --seed 1]
    python benchmarks/notification_quality.py --radius 50 --rounding 15 --overlap 15   # one setting

The health authority publishes every reported case's non-home presences during their infectious
period as exposure windows (redacted: times rounded outward to R minutes, a circle of radius r m
around the place). Every resident runs the self-check (`epitrace.engine.match` with minimum overlap
M) on their own trail: their presences at the places' coordinates plus seeded GPS noise. The
notified residents are scored against who was really exposed, for a grid of r, R and M.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl

from epitrace.domain.publication import MIN_RADIUS_M, ROUND_S
from epitrace.engine import EARTH_RADIUS_M, match
from epitrace.synth import Outbreak, SynthConfig, generate

DAY_S = 86_400
# Ground truth: a close contact is 15 minutes together (in total, per place and day) with one
# infectious person, the same threshold the product's self-check uses by default.
TRUTH_MIN_OVERLAP_S = 15 * 60
PUBLISHED_SETTINGS = ("work", "school", "venue")
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
# Per-axis standard deviation of the GPS error of one stay point; the distance from the true
# position is then Rayleigh-distributed: median 14 m, mean 15 m, 90% within 26 m.
GPS_SIGMA_M = 12.0
RADII_M = (25, 50, 100, 200)
ROUNDINGS_MIN = (0, 15, 30)
OVERLAPS_MIN = (5, 15, 30)
# The product's defaults, read from the product so the marker follows it.
DEFAULT_RADIUS_M = int(MIN_RADIUS_M)
DEFAULT_ROUNDING_MIN = ROUND_S // 60
DEFAULT_OVERLAP_MIN = inspect.signature(match).parameters["min_overlap_s"].default // 60


def score(notified: set, truth: set) -> tuple[int, float, float]:
    """True positives, precision and recall of a notified set against a truth set.

    Precision is NaN when nobody is notified and recall NaN when the truth is empty.

    Examples
    --------
    >>> score({1, 2, 3, 4}, {2, 4, 6})
    (2, 0.5, 0.6666666666666666)
    """
    tp = len(notified & truth)
    precision = tp / len(notified) if notified else math.nan
    recall = tp / len(truth) if truth else math.nan
    return tp, precision, recall


def round_outward(start: np.ndarray, end: np.ndarray, *, step_s: int) -> tuple[np.ndarray, np.ndarray]:
    """Start rounded down and end rounded up to whole multiples of ``step_s`` (0: unchanged)."""
    if step_s == 0:
        return start, end
    return start - start % step_s, -(-end // step_s) * step_s


def infectious_stays(presences: pl.DataFrame, places: pl.DataFrame, infections: pl.DataFrame) -> pl.DataFrame:
    """Non-home presences of the infected people, clipped to each one's infectious period.

    Returns ``person_id, place_id, start, end, day`` (``day`` = UTC day index, ``start // 86400``).
    """
    periods = infections.select("person_id", "infectious_from", "infectious_until")
    return (
        presences.join(periods, on="person_id")
        .join(places.select("place_id", "kind"), on="place_id")
        .filter(pl.col("kind") != "home")
        .with_columns(
            start=pl.max_horizontal("start", "infectious_from"),
            end=pl.min_horizontal("end", "infectious_until"),
        )
        .filter(pl.col("start") < pl.col("end"))
        .select("person_id", "place_id", "start", "end", day=pl.col("start") // DAY_S)
        .sort("person_id", "start")
    )


def exposure_events(
    presences: pl.DataFrame, stays: pl.DataFrame, *, min_overlap_s: int = TRUTH_MIN_OVERLAP_S
) -> set[tuple[int, int, int]]:
    """``(resident, source, day)``: together ``min_overlap_s`` in total at one place on that day.

    ``stays`` are the infectious people's non-home presences (``infectious_stays``); a person is
    never their own contact. One person's presences never overlap each other, so the sum of pairwise
    overlaps is the time the two were at the place together.
    """
    visits = presences.join(stays.select("place_id").unique(), on="place_id").with_columns(
        day=pl.col("start") // DAY_S
    )
    pairs = (
        visits.join(stays.rename({"person_id": "source", "start": "s_start", "end": "s_end"}), on=["place_id", "day"])
        .filter(pl.col("person_id") != pl.col("source"))
        .with_columns(overlap=pl.min_horizontal("end", "s_end") - pl.max_horizontal("start", "s_start"))
        .filter(pl.col("overlap") > 0)
        .group_by("person_id", "source", "place_id", "day")
        .agg(pl.col("overlap").sum())
        .filter(pl.col("overlap") >= min_overlap_s)
    )
    return set(pairs.select("person_id", "source", "day").unique().iter_rows())


def people_of(events: set[tuple[int, int, int]]) -> set[int]:
    """The residents in a set of ``(resident, source, day)`` events."""
    return {event[0] for event in events}


def publish_windows(
    stays: pl.DataFrame, places: pl.DataFrame, *, radius_m: float, round_min: int
) -> pl.DataFrame:
    """The published windows: one per case stay, at the place's point, times rounded outward.

    Returns ``window_id, case_id, place_id, day, lat, lon, radius_m, start, end`` (``place_id`` and
    ``day`` of the stay are for scoring only; the engine reads the public columns). Homes are never published
    (``stays`` hold none, and any home row given is dropped here too).
    """
    rows = stays.join(places.select("place_id", "kind", "lat", "lon"), on="place_id").filter(
        pl.col("kind") != "home"
    )
    start, end = round_outward(rows["start"].to_numpy(), rows["end"].to_numpy(), step_s=round_min * 60)
    return pl.DataFrame({
        "window_id": np.arange(rows.height, dtype=np.int64),
        "case_id": rows["person_id"],
        "place_id": rows["place_id"],
        "day": rows["start"] // DAY_S,
        "lat": rows["lat"],
        "lon": rows["lon"],
        "radius_m": np.full(rows.height, float(radius_m)),
        "start": start,
        "end": end,
    })


def geo_trails(presences: pl.DataFrame, places: pl.DataFrame, *, sigma_m: float, seed: int) -> pl.DataFrame:
    """Every presence as a GPS stay point: the place's coordinates plus Gaussian noise of ``sigma_m``.

    Returns ``person_id, lat, lon, start, end`` in the order of ``presences``.
    """
    located = presences.join(places.select("place_id", "lat", "lon"), on="place_id", how="left", maintain_order="left")
    rng = np.random.default_rng([seed, 0x6E51])
    north, east = rng.normal(0.0, sigma_m, (2, located.height))
    lat = located["lat"].to_numpy()
    lon = located["lon"].to_numpy()
    return pl.DataFrame({
        "person_id": located["person_id"],
        "lat": lat + north / METRES_PER_DEGREE,
        "lon": lon + east / (METRES_PER_DEGREE * np.cos(np.radians(lat))),
        "start": located["start"],
        "end": located["end"],
    })


def notified_events(matches: pl.DataFrame, windows: pl.DataFrame) -> set[tuple[int, int, int]]:
    """``(resident, case, day)`` of every match, not counting a case matching their own window."""
    found = matches.join(windows.select("window_id", "case_id", "day"), on="window_id")
    found = found.filter(pl.col("person_id") != pl.col("case_id"))
    return set(found.select("person_id", "case_id", "day").unique().iter_rows())


def infection_events(infections: pl.DataFrame) -> set[tuple[int, int, int]]:
    """``(person, infector, day)`` of each infection, to compare with notified events."""
    rows = infections.select("person_id", "infector_id", day=pl.col("infected_at") // DAY_S)
    return set(rows.iter_rows())


def shared_points(places: pl.DataFrame) -> int:
    """Non-home places whose coordinates equal another non-home place's."""
    public = places.filter(pl.col("kind") != "home")
    return public.group_by("lat", "lon").agg(n=pl.len()).filter(pl.col("n") > 1)["n"].sum()


@dataclass(frozen=True)
class Truth:
    """What notification is scored against."""

    exposed: set[int]  # residents really exposed to any infectious person at a non-home place
    exposed_by_case: set[int]  # ... to a reported case: the most that windows can reach
    case_events: set[tuple[int, int, int]]  # (resident, case, day) exposures to reported cases
    infected_published: set[int]  # residents infected at work, school or a venue
    infection_events: set[tuple[int, int, int]]  # (resident, infector, day) of those infections


@dataclass(frozen=True)
class Row:
    """One setting of the grid and how notification did under it."""

    radius_m: int
    round_min: int
    overlap_min: int
    notified: int
    tp: int
    precision: float
    recall: float
    recall_infected: float
    recall_infection_events: float
    event_precision: float
    event_recall: float
    seconds: float

    @property
    def is_default(self) -> bool:
        return (self.radius_m, self.round_min, self.overlap_min) == (
            DEFAULT_RADIUS_M, DEFAULT_ROUNDING_MIN, DEFAULT_OVERLAP_MIN
        )


def score_row(
    events: set[tuple[int, int, int]], truth: Truth, *, radius_m: int, round_min: int, overlap_min: int, seconds: float
) -> Row:
    """Score one setting's notified events against every truth."""
    notified = people_of(events)
    tp, precision, recall = score(notified, truth.exposed)
    _, event_precision, event_recall = score(events, truth.case_events)
    return Row(
        radius_m, round_min, overlap_min, len(notified), tp, precision, recall,
        score(notified, truth.infected_published)[2], score(events, truth.infection_events)[2],
        event_precision, event_recall, seconds,
    )


def evaluate(
    trails: pl.DataFrame,
    stays: pl.DataFrame,
    places: pl.DataFrame,
    truth: Truth,
    *,
    radii: Iterable[int],
    roundings: Iterable[int],
    overlaps: Iterable[int],
) -> Iterable[Row]:
    """Publish, self-check and score every combination of radius, rounding and minimum overlap."""
    overlaps = list(overlaps)
    for radius, rounding in itertools.product(radii, roundings):
        windows = publish_windows(stays, places, radius_m=radius, round_min=rounding)
        for overlap in overlaps:
            started = time.perf_counter()
            matches = match(trails, windows, min_overlap_s=overlap * 60)
            seconds = time.perf_counter() - started
            yield score_row(
                notified_events(matches, windows), truth,
                radius_m=radius, round_min=rounding, overlap_min=overlap, seconds=seconds,
            )


def fmt(value: float) -> str:
    """A share with three decimals, or a dash when undefined."""
    return "   -" if math.isnan(value) else f"{value:.3f}"


HEADER = (
    f"{'':1} {'r m':>4} {'R min':>5} {'M min':>5} {'notified':>8} {'TP':>6} {'prec':>6} {'recall':>6} "
    f"{'rec_inf':>7} {'inf_ev':>6} {'ev_prec':>7} {'ev_rec':>6} {'match s':>7}"
)


def format_row(row: Row) -> str:
    """One table line; the product's defaults are starred."""
    return (
        f"{'*' if row.is_default else ' ':1} {row.radius_m:>4} {row.round_min:>5} {row.overlap_min:>5} "
        f"{row.notified:>8,} {row.tp:>6,} {fmt(row.precision):>6} {fmt(row.recall):>6} "
        f"{fmt(row.recall_infected):>7} {fmt(row.recall_infection_events):>6} {fmt(row.event_precision):>7} "
        f"{fmt(row.event_recall):>6} {row.seconds:>7.2f}"
    )


@dataclass(frozen=True)
class Setup:
    """Everything the grid needs from one outbreak, built once."""

    cases: int  # reported cases: infected people with a positive lab report
    case_stays: pl.DataFrame  # their infectious non-home presences, one window each
    trails: pl.DataFrame  # every resident's presences as noisy GPS stay points
    truth: Truth
    infected_by_case: int  # infections at work/school/venue whose infector is a reported case


def build_setup(outbreak: Outbreak, *, sigma_m: float, seed: int) -> Setup:
    """Cases, their stays, the residents' trails and the truths, from one outbreak."""
    presences, places, infections = outbreak.presences, outbreak.places, outbreak.infections
    positive = outbreak.lab_reports.filter(pl.col("result") == "positive")["person_id"].unique()
    cases = infections.filter(pl.col("person_id").is_in(positive.implode()))["person_id"]
    all_stays = infectious_stays(presences, places, infections)
    case_stays = all_stays.filter(pl.col("person_id").is_in(cases.implode()))
    published = infections.filter(pl.col("setting").is_in(PUBLISHED_SETTINGS))
    case_events = exposure_events(presences, case_stays)
    truth = Truth(
        exposed=people_of(exposure_events(presences, all_stays)),
        exposed_by_case=people_of(case_events),
        case_events=case_events,
        infected_published=set(published["person_id"].to_list()),
        infection_events=infection_events(published),
    )
    return Setup(
        cases=cases.len(),
        case_stays=case_stays,
        trails=geo_trails(presences, places, sigma_m=sigma_m, seed=seed),
        truth=truth,
        infected_by_case=published.filter(pl.col("infector_id").is_in(cases.implode())).height,
    )


def print_header(outbreak: Outbreak, setup: Setup, *, sigma_m: float) -> None:
    """What was simulated, what counts as truth, and the formulas of the columns."""
    truth, people = setup.truth, outbreak.people.height
    infections, places = outbreak.infections.height, outbreak.places
    base_rate = len(truth.exposed) / people
    ceiling = setup.infected_by_case / len(truth.infected_published) if truth.infected_published else math.nan
    print(f"Notification quality: {outbreak!r}")
    print(f"  infections {infections:,}; reported cases (a positive lab report) {setup.cases:,}; "
          f"published windows {setup.case_stays.height:,} (one per case stay at a work, school or venue place, "
          "clipped to the infectious period)")
    print(f"  really exposed: {len(truth.exposed):,} of {people:,} residents ({base_rate:.1%}) were together with one "
          f"infectious person for >= {TRUTH_MIN_OVERLAP_S // 60} min in total at one work/school/venue place on one "
          f"day; {len(truth.exposed_by_case):,} with a reported case ({len(truth.case_events):,} resident-case-day "
          "exposures)")
    print(f"  infected at work/school/venue: {len(truth.infected_published):,} of {infections:,} infections "
          f"({setup.infected_by_case:,} of them by a reported case)")
    print("  Out of scope: household exposure. Homes are never published, and the truth leaves homes out too.")
    print(f"  Trails: every presence (homes included) at its place's point plus GPS noise, sigma {sigma_m:g} m "
          "per axis. A case is not notified by their own windows.")
    print(f"  {shared_points(places):,} of {places.filter(pl.col('kind') != 'home').height:,} work/school/venue "
          "places share their exact point with another (the classes of one school): a geo window cannot tell "
          "them apart.")
    print(f"  R = 0 publishes exact times; r below {MIN_RADIUS_M:g} m is below the product's minimum radius "
          "(shown for comparison).")
    print()
    print("  notified = residents with at least one match (person level)")
    print("  TP       = |notified AND really exposed|")
    print(f"  prec     = TP / notified  (notifying everyone would give {base_rate:.3f})")
    print("  recall   = TP / |really exposed|")
    print("  rec_inf  = |notified AND infected at work/school/venue| / |infected at work/school/venue|")
    print("  inf_ev   = share of those infections whose (person, infector, day) is a notified event: the")
    print(f"             infector's own window that day reached them (at most {fmt(ceiling)}: only infections by a")
    print("             reported case can)")
    print("  ev_prec  = |notified events AND true events| / |notified events|, an event being (resident, case, day):")
    print("             a match to one of that case's windows of that day, or >= 15 min with that case at one place")
    print("  ev_rec   = |notified events AND true events| / |true events|")
    print(f"  * = product defaults (r = {DEFAULT_RADIUS_M} m, R = {DEFAULT_ROUNDING_MIN} min, "
          f"M = {DEFAULT_OVERLAP_MIN} min); match s = seconds in epitrace.engine.match "
          f"({setup.trails.height:,} presences)")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000, help="residents of the synthetic city")
    parser.add_argument("--days", type=int, default=30, help="simulated days")
    parser.add_argument("--seed", type=int, default=1, help="seed of the city and of the GPS noise")
    parser.add_argument("--gps-sigma-m", type=float, default=GPS_SIGMA_M, help="per-axis GPS noise (m)")
    parser.add_argument("--radius", type=int, nargs="+", default=RADII_M, help="published radii r (m)")
    parser.add_argument("--rounding", type=int, nargs="+", default=ROUNDINGS_MIN, help="time rounding R (min)")
    parser.add_argument("--overlap", type=int, nargs="+", default=OVERLAPS_MIN, help="minimum overlap M (min)")
    args = parser.parse_args()

    began = time.perf_counter()
    outbreak = generate(SynthConfig(people=args.people, days=args.days, seed=args.seed))
    _ = outbreak.presences  # build the cached frame inside the generation time
    generated = time.perf_counter() - began
    setup = build_setup(outbreak, sigma_m=args.gps_sigma_m, seed=args.seed)
    prepared = time.perf_counter() - began - generated

    print_header(outbreak, setup, sigma_m=args.gps_sigma_m)
    print(HEADER, flush=True)
    matching = 0.0
    for row in evaluate(
        setup.trails, setup.case_stays, outbreak.places, setup.truth,
        radii=args.radius, roundings=args.rounding, overlaps=args.overlap,
    ):
        matching += row.seconds
        print(format_row(row), flush=True)
    print(f"\ngenerate {generated:.1f} s, truth and trails {prepared:.1f} s, matching {matching:.1f} s; "
          f"whole run {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
