"""The exposure engine equals its oracle exactly, everywhere on Earth."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from epitrace.engine import EARTH_RADIUS_M, haversine_m, match, match_chunks, reference_match
from epitrace.errors import InputError
from tests.conftest import examples

# Places where spherical geometry bites: a city, both sides of the antimeridian, high latitude,
# and a hair from each pole.
ANCHORS = [(52.37, 4.9), (0.0, 179.9995), (-33.9, -179.9998), (78.2, 15.6), (89.9995, 0.0), (-89.9993, 120.0)]
SETTINGS = settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def destination(lat: float, lon: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` from (lat, lon) on ``bearing_deg``, on the engine's sphere."""
    phi, lmb, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    delta = distance_m / EARTH_RADIUS_M
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lmb2 = lmb + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2))
    lon2 = (math.degrees(lmb2) + 540) % 360 - 180
    return max(-90.0, min(90.0, math.degrees(phi2))), lon2


@st.composite
def geo_case(draw):  # type: ignore[no-untyped-def]
    anchor_lat, anchor_lon = draw(st.sampled_from(ANCHORS))
    windows, presences = [], []
    for w in range(draw(st.integers(1, 4))):
        lat, lon = destination(anchor_lat, anchor_lon, draw(st.floats(0, 360)), draw(st.floats(0, 300)))
        radius = draw(st.sampled_from([10.0, 50.0, 120.0, 400.0]))
        start = draw(st.integers(0, 6000))
        windows.append({"window_id": w, "lat": lat, "lon": lon, "radius_m": radius,
                        "start": start, "end": start + draw(st.integers(1, 5000))})
    people = draw(st.integers(1, 4))
    for _ in range(draw(st.integers(1, 14))):
        target = draw(st.sampled_from(windows))
        # A hair inside or outside a window's edge, or anywhere nearby.
        distance = draw(st.one_of(
            st.sampled_from([target["radius_m"] - 0.001, target["radius_m"] + 0.001, 0.0]),
            st.floats(0, 600),
        ))
        lat, lon = destination(target["lat"], target["lon"], draw(st.floats(0, 360)), distance)
        start = draw(st.integers(0, 9000))
        presences.append({"person_id": f"p{draw(st.integers(0, people - 1))}", "lat": lat, "lon": lon,
                          "start": start, "end": start + draw(st.integers(1, 4000))})
    return pl.DataFrame(presences), pl.DataFrame(windows)


@st.composite
def venue_case(draw):  # type: ignore[no-untyped-def]
    venues = ["v1", "v2", "v3"]
    windows = []
    for w in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, 6000))
        windows.append({"window_id": f"w{w}", "venue_id": draw(st.sampled_from(venues)), "start": start,
                        "end": start + draw(st.integers(1, 5000))})
    presences = []
    for _ in range(draw(st.integers(1, 12))):
        start = draw(st.integers(0, 9000))
        presences.append({"person_id": draw(st.integers(0, 3)), "venue_id": draw(st.sampled_from([*venues, "v9"])),
                          "start": start, "end": start + draw(st.integers(1, 4000))})
    return pl.DataFrame(presences), pl.DataFrame(windows)


MIN_OVERLAPS = st.sampled_from([0, 1, 600, 900])


@SETTINGS
@given(case=geo_case(), min_overlap=MIN_OVERLAPS, bucket_s=st.sampled_from([None, 3600, 7200]),
       cell_m=st.sampled_from([None, 5.0, 60.0, 2000.0]))
def test_geo_engine_equals_reference(case, min_overlap: int, bucket_s, cell_m) -> None:  # type: ignore[no-untyped-def]
    presences, windows = case
    expected = reference_match(presences, windows, min_overlap_s=min_overlap)
    got = match(presences, windows, min_overlap_s=min_overlap, bucket_s=bucket_s, cell_m=cell_m)
    assert_frame_equal(got, expected)


@SETTINGS
@given(case=venue_case(), min_overlap=MIN_OVERLAPS)
def test_venue_engine_equals_reference(case, min_overlap: int) -> None:  # type: ignore[no-untyped-def]
    presences, windows = case
    assert_frame_equal(match(presences, windows, min_overlap_s=min_overlap),
                       reference_match(presences, windows, min_overlap_s=min_overlap))


@SETTINGS
@given(case=geo_case(), chunk=st.integers(1, 5))
def test_chunks_equal_whole(case, chunk: int) -> None:  # type: ignore[no-untyped-def]
    presences, windows = case
    chunks = [presences.slice(i, chunk) for i in range(0, presences.height, chunk)]
    assert_frame_equal(match_chunks(chunks, windows, min_overlap_s=1), match(presences, windows, min_overlap_s=1))


def test_overlapping_presences_of_one_person_count_once() -> None:
    presences = pl.DataFrame({"person_id": ["a", "a", "a"], "venue_id": ["v", "v", "v"],
                              "start": [100, 400, 2000], "end": [700, 1000, 2300]})
    windows = pl.DataFrame({"window_id": ["w"], "venue_id": ["v"], "start": [0], "end": [2200]})
    expected = pl.DataFrame({"person_id": ["a"], "window_id": ["w"], "overlap_s": [900 + 200],
                             "min_distance_m": [0.0], "first_start": [100], "last_end": [2200]})
    assert_frame_equal(match(presences, windows, min_overlap_s=900), expected)
    assert match(presences, windows, min_overlap_s=1101).is_empty()


def test_across_the_antimeridian_and_at_the_pole() -> None:
    presences = pl.DataFrame({"person_id": [1, 2, 3], "lat": [10.0, 89.9999, 10.0], "lon": [179.9999, 0.0, 0.0],
                              "start": [0, 0, 0], "end": [3600, 3600, 3600]})
    windows = pl.DataFrame({"window_id": [1, 2], "lat": [10.0, 89.9999], "lon": [-179.9999, 180.0],
                            "radius_m": [50.0, 30.0], "start": [0, 0], "end": [3600, 3600]})
    got = match(presences, windows)
    assert got.select("person_id", "window_id").rows() == [(1, 1), (2, 2)]
    d_antimeridian = float(haversine_m(10.0, 179.9999, 10.0, -179.9999))
    assert got["min_distance_m"].to_list() == [d_antimeridian, float(haversine_m(89.9999, 0.0, 89.9999, 180.0))]
    assert 21 < d_antimeridian < 22


def test_iso_times_with_offsets() -> None:
    presences = pl.DataFrame({"person_id": ["a"], "venue_id": ["v"], "start": ["2026-03-10T18:00:00+01:00"],
                              "end": ["2026-03-10T18:30:00Z"]})
    windows = pl.DataFrame({"window_id": ["w"], "venue_id": ["v"], "start": ["2026-03-10T16:50:00Z"],
                            "end": ["2026-03-10T18:20+00:00"]})
    got = match(presences, windows)
    assert got.select("overlap_s", "first_start", "last_end").rows() == [(4800, 1773162000, 1773166800)]  # 17:00-18:20Z


@pytest.mark.parametrize(
    ("presences", "message"),
    [
        ({"person_id": [1], "lat": [0.0], "lon": [0.0], "start": [0]},
         "presences is missing column(s) 'end': expected person_id, lat, lon, start, end (geo) or person_id, "
         "venue_id, start, end (venue)"),
        ({"person_id": [1, 2], "lat": [0.0, 0.0], "lon": [0.0, 0.0], "start": [0, 50], "end": [10, 50]},
         "presences row 2: end 50 is not after start 50: intervals are half-open [start, end) and need end > start"),
        ({"person_id": [1], "lat": [91.5], "lon": [0.0], "start": [0], "end": [10]},
         "presences row 1: lat 91.5 is out of range: latitude must be between -90 and 90 degrees"),
        ({"person_id": [1], "lat": [0.0], "lon": [-180.5], "start": [0], "end": [10]},
         "presences row 1: lon -180.5 is out of range: longitude must be between -180 and 180 degrees"),
        ({"person_id": [1], "lat": [0.0], "lon": [0.0], "venue_id": ["v"], "start": [0], "end": [10]},
         "presences mixes geo columns (lat, lon) and a venue column (venue_id): a presences file is either "
         "person_id, lat, lon, start, end (geo) or person_id, venue_id, start, end (venue); split it into a geo "
         "file and a venue file"),
        ({"person_id": [1], "lat": [0.0], "lon": [0.0], "start": ["2026-03-10T18:00:00"], "end": [10]},
         "presences row 1: start '2026-03-10T18:00:00' is not a time: expected integer Unix seconds or ISO-8601 "
         "with an offset, e.g. 2026-03-10T18:00:00+01:00 (add the offset, or Z for UTC)"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(presences, message: str) -> None:
    windows = pl.DataFrame({"window_id": [1], "lat": [0.0], "lon": [0.0], "radius_m": [10.0], "start": [0], "end": [10]})
    with pytest.raises(InputError) as error:
        match(pl.DataFrame(presences), windows)
    assert error.value.message == message


def test_modes_must_agree_and_radius_must_be_positive() -> None:
    geo = pl.DataFrame({"person_id": [1], "lat": [0.0], "lon": [0.0], "start": [0], "end": [10]})
    venue_windows = pl.DataFrame({"window_id": [1], "venue_id": ["v"], "start": [0], "end": [10]})
    with pytest.raises(InputError, match="the windows are venue windows but the presences are geo presences"):
        match(geo, venue_windows)
    bad_radius = pl.DataFrame({"window_id": [1], "lat": [0.0], "lon": [0.0], "radius_m": [-5.0], "start": [0], "end": [10]})
    with pytest.raises(InputError) as error:
        match(geo, bad_radius)
    assert error.value.message == ("windows row 1: radius_m -5.0 is not a positive distance: radius_m must be a finite "
                                   "number of metres > 0")


def test_huge_windows_take_the_direct_path() -> None:
    rng = np.random.default_rng(5)
    presences = pl.DataFrame({"person_id": np.arange(300), "lat": rng.uniform(-90, 90, 300), "lon": rng.uniform(-180, 180, 300),
                              "start": np.zeros(300, dtype=np.int64), "end": np.full(300, 7200)})
    windows = pl.DataFrame({"window_id": [1, 2], "lat": [0.0, 52.0], "lon": [0.0, 5.0], "radius_m": [9_000_000.0, 40.0],
                            "start": [0, 0], "end": [3600, 3600]})
    assert_frame_equal(match(presences, windows), reference_match(presences, windows))
    assert match(presences, windows).height > 50
