"""Scoring of benchmarks/notification_quality.py on hand-made sets and a tiny hand-made city."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from epitrace.domain.publication import PlaceFacts, redact
from epitrace.engine import haversine_m, match
from tests.scripts import load_benchmark

nq = load_benchmark("notification_quality.py")

DAY0 = 1_772_409_600  # 2026-03-02T00:00Z
H, MIN = 3600, 60
HOME, VENUE_A, VENUE_B, CLASS_X, CLASS_Y = range(5)
# Venue A is ~680 m east of the home, venue B ~1.1 km north of A; both classes share one point.
PLACES = pl.DataFrame({
    "place_id": pl.Series([HOME, VENUE_A, VENUE_B, CLASS_X, CLASS_Y], dtype=pl.Int32),
    "kind": ["home", "venue", "venue", "school", "school"],
    "lat": [52.37, 52.37, 52.38, 52.36, 52.36],
    "lon": [4.90, 4.91, 4.91, 4.90, 4.90],
})
CASE = 0
INFECTIONS = pl.DataFrame({
    "person_id": pl.Series([CASE], dtype=pl.Int32),
    "infected_at": [DAY0 - 3 * 86_400],
    "infector_id": pl.Series([-1], dtype=pl.Int32),
    "setting": ["seed"],
    "infectious_from": [DAY0 + 10 * H],
    "infectious_until": [DAY0 + 2 * 86_400],
})


def _presences(rows: list[tuple[int, int, int, int]]) -> pl.DataFrame:
    person, place, start, end = zip(*rows, strict=True)
    return pl.DataFrame({
        "person_id": pl.Series(person, dtype=pl.Int32),
        "place_id": pl.Series(place, dtype=pl.Int32),
        "start": pl.Series(start, dtype=pl.Int64),
        "end": pl.Series(end, dtype=pl.Int64),
    })


# Day 0. The case is infectious from 10:00 and visits venue A 12:07-13:00, then goes home.
CITY = _presences([
    (CASE, HOME, DAY0, DAY0 + 12 * H),  # partly before infectious, and a home: never published
    (CASE, VENUE_A, DAY0 + 12 * H + 7 * MIN, DAY0 + 13 * H),
    (CASE, HOME, DAY0 + 13 * H, DAY0 + 24 * H),
    (1, VENUE_A, DAY0 + 12 * H, DAY0 + 12 * H + 40 * MIN),  # 33 min with the case: exposed
    (2, VENUE_A, DAY0 + 12 * H + 50 * MIN, DAY0 + 13 * H + 30 * MIN),  # 10 min: not exposed
    (3, VENUE_B, DAY0 + 12 * H, DAY0 + 13 * H),  # same time, another venue 1.1 km away
    (4, HOME, DAY0 + 13 * H, DAY0 + 24 * H),  # household member: out of scope
])


def test_score_counts_true_positives_precision_and_recall() -> None:
    assert nq.score({1, 2, 3, 4}, {2, 4, 6}) == (2, 0.5, 2 / 3)
    assert nq.score({1, 2}, {1, 2}) == (2, 1.0, 1.0)
    assert nq.score({7}, {1, 2}) == (0, 0.0, 0.0)


def test_score_is_nan_where_undefined() -> None:
    tp, precision, recall = nq.score(set(), {1, 2})
    assert (tp, recall) == (0, 0.0) and math.isnan(precision)
    tp, precision, recall = nq.score({1}, set())
    assert (tp, precision) == (0, 0.0) and math.isnan(recall)


def test_score_works_on_event_tuples() -> None:
    notified = {(1, 0, 5), (2, 0, 5), (1, 0, 6)}
    truth = {(1, 0, 5), (3, 0, 5)}
    assert nq.score(notified, truth) == (1, 1 / 3, 0.5)
    assert nq.people_of(notified) == {1, 2}


@pytest.mark.parametrize("step_min", [0, 15, 30])
def test_round_outward_widens_to_whole_steps(step_min: int) -> None:
    start = np.array([DAY0 + 12 * H + 7 * MIN, DAY0 + 9 * H])
    end = np.array([DAY0 + 13 * H + 1, DAY0 + 10 * H])
    new_start, new_end = nq.round_outward(start, end, step_s=step_min * MIN)
    if step_min == 0:
        assert new_start.tolist() == start.tolist() and new_end.tolist() == end.tolist()
        return
    assert (new_start <= start).all() and (new_end >= end).all()
    assert (new_start % (step_min * MIN) == 0).all() and (new_end % (step_min * MIN) == 0).all()
    assert new_end[1] == DAY0 + 10 * H  # already on the grid: unchanged


def test_round_outward_at_15_minutes_agrees_with_the_redaction_rules() -> None:
    cafe = PlaceFacts("Cafe", "venue", False, 52.37, 4.91, 10.0)
    start, end = DAY0 + 12 * H + 7 * MIN + 13, DAY0 + 13 * H + 50 * MIN
    redacted = redact(
        cafe,
        start=datetime.fromtimestamp(start, timezone.utc),
        end=datetime.fromtimestamp(end, timezone.utc),
        other_cases_present=1,
    )
    ours = nq.round_outward(np.array([start]), np.array([end]), step_s=15 * MIN)
    assert redacted.start is not None and redacted.end is not None
    assert (int(ours[0][0]), int(ours[1][0])) == (int(redacted.start.timestamp()), int(redacted.end.timestamp()))


def test_product_defaults_are_marked() -> None:
    assert (nq.DEFAULT_RADIUS_M, nq.DEFAULT_ROUNDING_MIN, nq.DEFAULT_OVERLAP_MIN) == (50, 15, 15)


def test_infectious_stays_drop_homes_and_clip_to_the_infectious_period() -> None:
    presences = _presences([
        (CASE, HOME, DAY0 + 9 * H, DAY0 + 11 * H),
        (CASE, VENUE_A, DAY0 + 9 * H, DAY0 + 11 * H),  # infectious from 10:00
        (CASE, VENUE_B, DAY0 + 2 * 86_400, DAY0 + 2 * 86_400 + H),  # after the infectious period
        (1, VENUE_A, DAY0 + 9 * H, DAY0 + 11 * H),  # not infected
    ])
    stays = nq.infectious_stays(presences, PLACES, INFECTIONS)
    assert stays.rows() == [(CASE, VENUE_A, DAY0 + 10 * H, DAY0 + 11 * H, DAY0 // 86_400)]


def test_exposure_sums_overlap_per_place_and_day() -> None:
    day1 = DAY0 + 86_400
    presences = _presences([
        # Two 10-minute spells at venue A on day 0: 20 minutes in total, exposed.
        (CASE, VENUE_A, DAY0 + 12 * H, DAY0 + 12 * H + 10 * MIN),
        (CASE, VENUE_A, DAY0 + 14 * H, DAY0 + 14 * H + 10 * MIN),
        (1, VENUE_A, DAY0 + 12 * H, DAY0 + 12 * H + 10 * MIN),
        (1, VENUE_A, DAY0 + 14 * H, DAY0 + 14 * H + 10 * MIN),
        # 10 minutes on day 0 at venue A and 10 on day 1 at venue B: never 15 at one place and day.
        (CASE, VENUE_B, day1 + 12 * H, day1 + 12 * H + 10 * MIN),
        (2, VENUE_A, DAY0 + 12 * H, DAY0 + 12 * H + 10 * MIN),
        (2, VENUE_B, day1 + 12 * H, day1 + 12 * H + 10 * MIN),
    ])
    stays = nq.infectious_stays(presences, PLACES, INFECTIONS)
    assert nq.exposure_events(presences, stays) == {(1, CASE, DAY0 // 86_400)}
    assert nq.exposure_events(presences, stays, min_overlap_s=10 * MIN) == {
        (1, CASE, DAY0 // 86_400), (2, CASE, DAY0 // 86_400), (2, CASE, day1 // 86_400)
    }


def test_tiny_city_truth_windows_and_notification() -> None:
    stays = nq.infectious_stays(CITY, PLACES, INFECTIONS)
    truth = nq.exposure_events(CITY, stays)
    assert truth == {(1, CASE, DAY0 // 86_400)}  # not 2 (10 min), 3 (elsewhere) or 4 (home)

    windows = nq.publish_windows(stays, PLACES, radius_m=50, round_min=15)
    assert windows.select("case_id", "place_id", "lat", "lon", "radius_m", "start", "end").rows() == [
        (CASE, VENUE_A, 52.37, 4.91, 50.0, DAY0 + 12 * H, DAY0 + 13 * H)
    ]

    trails = nq.geo_trails(CITY, PLACES, sigma_m=0.0, seed=1)
    at_15 = nq.notified_events(match(trails, windows, min_overlap_s=15 * MIN), windows)
    at_5 = nq.notified_events(match(trails, windows, min_overlap_s=5 * MIN), windows)
    assert at_15 == truth  # the case matches their own window, but is not notified by it
    assert nq.people_of(at_5) == {1, 2}
    assert nq.score(nq.people_of(at_5), nq.people_of(truth)) == (1, 0.5, 1.0)


def test_a_window_at_a_shared_point_notifies_the_other_class_too() -> None:
    presences = _presences([
        (CASE, CLASS_X, DAY0 + 10 * H, DAY0 + 15 * H),
        (1, CLASS_X, DAY0 + 10 * H, DAY0 + 15 * H),
        (2, CLASS_Y, DAY0 + 10 * H, DAY0 + 15 * H),  # next door, same coordinates
    ])
    stays = nq.infectious_stays(presences, PLACES, INFECTIONS)
    windows = nq.publish_windows(stays, PLACES, radius_m=50, round_min=15)
    trails = nq.geo_trails(presences, PLACES, sigma_m=0.0, seed=1)
    notified = nq.notified_events(match(trails, windows), windows)
    truth = nq.exposure_events(presences, stays)
    assert nq.score(notified, truth) == (1, 0.5, 1.0)


def test_geo_trails_keep_order_and_add_noise_of_the_stated_size() -> None:
    n = 4_000
    presences = _presences([(i, VENUE_A, DAY0, DAY0 + H) for i in range(n)])
    trails = nq.geo_trails(presences, PLACES, sigma_m=12.0, seed=3)
    assert trails.columns == ["person_id", "lat", "lon", "start", "end"]
    assert trails["person_id"].to_list() == list(range(n))
    distance = haversine_m(trails["lat"].to_numpy(), trails["lon"].to_numpy(), 52.37, 4.91)
    assert 13.0 < float(np.median(distance)) < 15.3  # Rayleigh median 12 * sqrt(2 ln 2) = 14.1 m
    again = nq.geo_trails(presences, PLACES, sigma_m=12.0, seed=3)
    assert again.equals(trails)


def test_infection_events_key_on_person_infector_and_day() -> None:
    infections = pl.DataFrame({
        "person_id": [5, 6],
        "infector_id": [0, -1],
        "infected_at": [DAY0 + 12 * H, DAY0 - 1],
    })
    assert nq.infection_events(infections) == {(5, 0, DAY0 // 86_400), (6, -1, DAY0 // 86_400 - 1)}
