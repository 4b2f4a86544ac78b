"""Own location history as presences: every format, stay detection against an oracle, exact errors.

Every sample file is written here from the formats' documentation; none is downloaded.
"""

from __future__ import annotations

import doctest
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

import epitrace.trails
import epitrace.trails._read
import epitrace.trails._stays
from epitrace.cli.trail import trail_command
from epitrace.engine import EARTH_RADIUS_M, haversine_m, match
from epitrace.errors import InputError
from epitrace.trails import detect_format, detect_stays, read_trail
from tests.conftest import examples

T0 = 1_710_064_800  # 2024-03-10T10:00:00Z
HOME = (52.3702, 4.8952)
SHOP = (52.3650, 4.8850)
PARK = (52.3600, 4.8800)
COLUMNS = {"person_id": pl.String, "lat": pl.Float64, "lon": pl.Float64, "start": pl.Int64, "end": pl.Int64}


def iso(seconds: int, *, hours: int = 0) -> str:
    """ISO-8601 as Google writes it: milliseconds, and Z or an offset."""
    moment = datetime.fromtimestamp(seconds, timezone(timedelta(hours=hours)))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.000%z")
    return text[:-5] + "Z" if hours == 0 else f"{text[:-2]}:{text[-2:]}"


def e7(degrees: float) -> int:
    return round(degrees * 1e7)


def stays(*rows: tuple[tuple[float, float], int, int]) -> pl.DataFrame:
    """Expected presences from ``(place, start, end)``."""
    return pl.DataFrame(
        [("me", place[0], place[1], start, end) for place, start, end in rows], schema=COLUMNS, orient="row"
    )


def assert_presences(actual: pl.DataFrame, expected: pl.DataFrame) -> None:
    # Means of jittered points equal the place to ~1e-14 degrees; times are exact.
    assert_frame_equal(actual, expected, rel_tol=0, abs_tol=1e-9)


def test_exported_members() -> None:
    assert epitrace.trails.__all__ == sorted(epitrace.trails.__all__)
    assert epitrace.trails.__all__ == ["TrailFormat", "detect_format", "detect_stays", "read_trail"]


@pytest.mark.parametrize("module", [epitrace.trails._stays, epitrace.trails._read])
def test_docstring_examples_run(module) -> None:  # type: ignore[no-untyped-def]
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0


# --- Google Takeout Records.json -------------------------------------------------------------

# Home with jitter of a few metres (E7 offsets that cancel out), a 3-minute pass by a shop, the
# park, then more than two hours without a point, then the park again for exactly 10 minutes.
RECORD_POINTS = [
    (T0, e7(HOME[0]) + 500, e7(HOME[1]) + 300),
    (T0 + 300, e7(HOME[0]) - 500, e7(HOME[1]) - 300),
    (T0 + 600, e7(HOME[0]) + 200, e7(HOME[1]) - 100),
    (T0 + 900, e7(HOME[0]) - 200, e7(HOME[1]) + 100),
    (T0 + 1200, e7(SHOP[0]), e7(SHOP[1])),
    (T0 + 1380, e7(SHOP[0]), e7(SHOP[1])),
    (T0 + 1500, e7(PARK[0]), e7(PARK[1])),
    (T0 + 2100, e7(PARK[0]), e7(PARK[1])),
    (T0 + 2700, e7(PARK[0]), e7(PARK[1])),
    (T0 + 2700 + 7201, e7(PARK[0]), e7(PARK[1])),
    (T0 + 2700 + 7201 + 600, e7(PARK[0]), e7(PARK[1])),
]
RECORD_STAYS = stays((HOME, T0, T0 + 900), (PARK, T0 + 1500, T0 + 2700), (PARK, T0 + 9901, T0 + 10501))


def records(*, millis: bool) -> bytes:
    locations: list[dict[str, object]] = []
    for t, lat, lon in RECORD_POINTS:
        entry: dict[str, object] = {"latitudeE7": lat, "longitudeE7": lon, "accuracy": 15, "source": "WIFI"}
        entry |= {"timestampMs": str(t * 1000 + 123)} if millis else {"timestamp": iso(t)}
        locations.append(entry)
    # A location with only an activity guess and no position is skipped.
    locations.insert(2, {"timestamp": iso(T0 + 400), "activity": [{"type": "STILL", "confidence": 90}]})
    return json.dumps({"locations": locations}, indent=2).encode()


def test_records_json_with_iso_timestamps() -> None:
    assert detect_format(records(millis=False)) == "records"
    assert_presences(read_trail(records(millis=False), name="Records.json"), RECORD_STAYS)


def test_records_json_with_timestamp_ms_gives_the_same_stays() -> None:
    assert_presences(read_trail(records(millis=True), name="Location History.json"), RECORD_STAYS)


def test_records_json_old_unsigned_e7_values_are_negative_coordinates() -> None:
    sydney = (-33.8688, 151.2093)
    lat = e7(sydney[0]) + 2**32  # written as an unsigned 32-bit integer by old exports
    doc = {"locations": [{"latitudeE7": lat, "longitudeE7": e7(sydney[1]), "timestamp": iso(T0 + t)} for t in (0, 900)]}
    assert_presences(read_trail(json.dumps(doc).encode()), stays((sydney, T0, T0 + 900)))


def test_thresholds_change_the_stays() -> None:
    # With 5-minute stays the shop counts too; with a 3-hour cap the park stay spans the gap.
    assert read_trail(records(millis=False), min_stay_s=180).height == 4
    assert_presences(
        read_trail(records(millis=False), max_gap_s=3 * 3600),
        stays((HOME, T0, T0 + 900), (PARK, T0 + 1500, T0 + 10501)),
    )


# --- Semantic Location History ---------------------------------------------------------------


def test_semantic_location_history_place_visits() -> None:
    doc = {"timelineObjects": [
        {"activitySegment": {
            "startLocation": {"latitudeE7": e7(HOME[0]), "longitudeE7": e7(HOME[1])},
            "endLocation": {"latitudeE7": e7(PARK[0]), "longitudeE7": e7(PARK[1])},
            "duration": {"startTimestamp": iso(T0 - 600), "endTimestamp": iso(T0)},
            "activityType": "WALKING",
        }},
        {"placeVisit": {
            "location": {"latitudeE7": e7(PARK[0]), "longitudeE7": e7(PARK[1]), "placeId": "ChIJpark", "name": "Park"},
            "duration": {"startTimestamp": iso(T0), "endTimestamp": iso(T0 + 3600)},
            "placeConfidence": "HIGH_CONFIDENCE",
            "childVisits": [{"location": {"latitudeE7": e7(SHOP[0]), "longitudeE7": e7(SHOP[1])},
                             "duration": {"startTimestamp": iso(T0 + 60), "endTimestamp": iso(T0 + 120)}}],
        }},
        {"placeVisit": {  # an older file: times in milliseconds
            "location": {"latitudeE7": e7(SHOP[0]), "longitudeE7": e7(SHOP[1]), "address": "1 Main St"},
            "duration": {"startTimestampMs": str((T0 + 4000) * 1000), "endTimestampMs": str((T0 + 4300) * 1000 + 999)},
        }},
        {"placeVisit": {  # the location has no coordinates: the visit's centre stands in
            "location": {"placeId": "ChIJmuseum", "name": "Museum"},
            "centerLatE7": e7(HOME[0]), "centerLngE7": e7(HOME[1]),
            "duration": {"startTimestamp": iso(T0 + 5000, hours=1), "endTimestamp": iso(T0 + 9000, hours=1)},
        }},
        {"placeVisit": {  # no coordinates at all: skipped
            "location": {"placeId": "ChIJnowhere", "semanticType": "TYPE_SEARCHED_ADDRESS"},
            "duration": {"startTimestamp": iso(T0 + 9000), "endTimestamp": iso(T0 + 9900)},
        }},
    ]}
    data = json.dumps(doc).encode()
    assert detect_format(data) == "semantic"
    assert_presences(
        read_trail(data, name="2024_MARCH.json"),
        stays((PARK, T0, T0 + 3600), (SHOP, T0 + 4000, T0 + 4300), (HOME, T0 + 5000, T0 + 9000)),
    )


# --- Google Maps Timeline exported from the phone --------------------------------------------


def degrees(place: tuple[float, float]) -> str:
    return f"{place[0]}°, {place[1]}°"


def test_timeline_android_export() -> None:
    doc = {
        "semanticSegments": [
            {"startTime": iso(T0, hours=1), "endTime": iso(T0 + 3600, hours=1),
             "startTimeTimezoneUtcOffsetMinutes": 60, "endTimeTimezoneUtcOffsetMinutes": 60,
             "visit": {"hierarchyLevel": 0, "probability": 0.9,
                       "topCandidate": {"placeId": "ChIJhome", "semanticType": "HOME", "probability": 0.8,
                                        "placeLocation": {"latLng": degrees(HOME)}}}},
            {"startTime": iso(T0 + 3600, hours=1), "endTime": iso(T0 + 4200, hours=1),
             "activity": {"start": {"latLng": degrees(HOME)}, "end": {"latLng": degrees(PARK)},
                          "distanceMeters": 1500.0, "topCandidate": {"type": "WALKING", "probability": 0.9}}},
            {"startTime": iso(T0, hours=1), "endTime": iso(T0 + 7200, hours=1),
             "timelinePath": [
                 # Inside the home visit: the visit already covers them.
                 {"point": degrees(HOME), "time": iso(T0, hours=1)},
                 {"point": degrees(HOME), "time": iso(T0 + 900, hours=1)},
                 {"point": degrees(HOME), "time": iso(T0 + 1800, hours=1)},
                 {"point": "52.3600°, 4.8800°", "time": iso(T0 + 4200, hours=1)},
                 {"point": "52.36°,4.88°", "time": iso(T0 + 4500, hours=1)},
             ]},
            {"startTime": iso(T0 + 7200), "endTime": iso(T0 + 9000), "timelineMemory": {"destinations": []}},
        ],
        "rawSignals": [
            {"position": {"LatLng": degrees(PARK), "accuracyMeters": 12, "altitudeMeters": 3.1, "source": "WIFI",
                          "timestamp": iso(T0 + 5100)}},
            {"wifiScan": {"deliveryTime": iso(T0 + 5200), "devicesRecords": []}},
            {"activityRecord": {"probableActivities": [{"type": "STILL", "confidence": 0.9}], "timestamp": iso(T0)}},
        ],
        "userLocationProfile": {"frequentPlaces": []},
    }
    data = json.dumps(doc, ensure_ascii=False).encode()
    assert detect_format(data) == "timeline"
    assert_presences(read_trail(data, name="Timeline.json"), stays((HOME, T0, T0 + 3600), (PARK, T0 + 4200, T0 + 5100)))


def test_timeline_ios_export_is_a_list_with_geo_texts_and_minute_offsets() -> None:
    doc = [
        {"startTime": iso(T0, hours=2), "endTime": iso(T0 + 3600, hours=2),
         "visit": {"hierarchyLevel": "0", "probability": "0.9",
                   "topCandidate": {"probability": "0.8", "semanticType": "Unknown", "placeID": "ChIJhome",
                                    "placeLocation": "geo:52.370200,4.895200"}}},
        {"startTime": iso(T0 + 3600, hours=2), "endTime": iso(T0 + 7200, hours=2),
         "activity": {"probability": "0.99", "start": "geo:52.370200,4.895200", "end": "geo:52.360000,4.880000",
                      "distanceMeters": "1500.0", "topCandidate": {"type": "walking", "probability": "0.9"}}},
        {"startTime": iso(T0 + 7200, hours=2), "endTime": iso(T0 + 10800, hours=2),
         "timelinePath": [{"point": "geo:52.360000,4.880000", "durationMinutesOffsetFromStartTime": offset}
                          for offset in ("0", "10", 20)]},
        {"startTime": iso(T0 + 10800, hours=2), "endTime": iso(T0 + 11000, hours=2),
         "timelineMemory": {"destinations": [{"identifier": "ChIJpark"}], "distanceFromOriginKms": "2"}},
    ]
    data = json.dumps(doc).encode()
    assert detect_format(data, name="location-history.json") == "timeline"
    assert_presences(read_trail(data), stays((HOME, T0, T0 + 3600), (PARK, T0 + 7200, T0 + 8400)))


# --- GPX ---------------------------------------------------------------------------------------


def gpx_point(tag: str, place: tuple[float, float], time: str | None, extra: str = "") -> str:
    timed = f"<time>{time}</time>" if time is not None else ""
    return f'<{tag} lat="{place[0]}" lon="{place[1]}"><ele>2.0</ele>{timed}{extra}</{tag}>'


def gpx(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"{body}\n</gpx>\n"
    ).encode()


def test_gpx_tracks_and_timed_waypoints() -> None:
    moving = [(52.3650 - 0.003 * i, 4.8850) for i in range(4)]  # ~330 m apart, a minute each
    body = "\n".join([
        gpx_point("wpt", SHOP, None, "<name>Favourite shop</name>"),  # a marked place, not a visit
        gpx_point("wpt", PARK, iso(T0 + 3000)),
        gpx_point("wpt", PARK, iso(T0 + 3300, hours=1)),
        gpx_point("wpt", PARK, iso(T0 + 3900).replace(".000Z", "Z")),
        "<trk><name>Morning</name><trkseg>",
        gpx_point("trkpt", HOME, iso(T0)),
        gpx_point("trkpt", (HOME[0] + 0.0001, HOME[1]), iso(T0 + 300, hours=1)),  # 11 m of jitter
        gpx_point("trkpt", (HOME[0] - 0.0001, HOME[1]), "2024-03-10T10:10:00"),  # no offset: UTC
        "</trkseg><trkseg>",
        *(gpx_point("trkpt", place, iso(T0 + 1200 + 60 * i)) for i, place in enumerate(moving)),
        "</trkseg></trk>",
    ])
    data = gpx(body)
    assert detect_format(data) == "gpx"
    assert_presences(read_trail(data, name="walk.gpx"), stays((HOME, T0, T0 + 600), (PARK, T0 + 3000, T0 + 3900)))


def test_gpx_1_0_in_latin_1() -> None:
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<gpx version="1.0" creator="logger">'
        f"<trk><name>Caf\u00e9</name><trkseg>{gpx_point('trkpt', SHOP, iso(T0))}{gpx_point('trkpt', SHOP, iso(T0 + 1200))}"
        "</trkseg></trk></gpx>"
    ).encode("latin-1")
    assert_presences(read_trail(data, name="old.gpx"), stays((SHOP, T0, T0 + 1200)))


def test_empty_histories_give_no_presences() -> None:
    for data in (b'{"locations": []}', b"[]", b'{"timelineObjects": []}', b'{"type": "FeatureCollection", "features": []}',
                 b"lat,lon,time\n", gpx("")):
        assert_frame_equal(read_trail(data), stays())


# --- GeoJSON -----------------------------------------------------------------------------------


def feature(geometry: dict[str, object] | None, **properties: object) -> dict[str, object]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def test_geojson_points_lines_and_stays() -> None:
    home = [HOME[1], HOME[0]]
    doc = {"type": "FeatureCollection", "features": [
        feature({"type": "Point", "coordinates": home}, time=iso(T0)),
        feature({"type": "Point", "coordinates": [*home, 2.5]}, timestamp=(T0 + 300) * 1000),  # milliseconds
        feature({"type": "Point", "coordinates": home}, datetime=T0 + 900),  # seconds
        feature({"type": "LineString", "coordinates": [[4.8801, 52.36], [4.8799, 52.36], [4.88, 52.3601], [4.88, 52.3599]]},
                coordinateTimes=[iso(T0 + 2000 + 400 * i) for i in range(4)]),
        feature({"type": "MultiLineString", "coordinates": [[[SHOP[1], SHOP[0]]], [[SHOP[1], SHOP[0]]]]},
                coordTimes=[[iso(T0 + 6000)], [iso(T0 + 6100)]]),  # 100 s: a pass, not a stay
        feature({"type": "Point", "coordinates": [SHOP[1], SHOP[0]]}, start=iso(T0 + 7200), end=iso(T0 + 7500)),
        feature({"type": "Polygon", "coordinates": [[[4.8, 52.3], [4.9, 52.3], [4.9, 52.4], [4.8, 52.3]]]}, name="area"),
        feature(None, note="no geometry"),
    ]}
    data = json.dumps(doc).encode()
    assert detect_format(data, name="trail.geojson") == "geojson"
    assert_presences(
        read_trail(data, name="trail.geojson"),
        stays((HOME, T0, T0 + 900), (PARK, T0 + 2000, T0 + 3200), (SHOP, T0 + 7200, T0 + 7500)),
    )


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_points_with_iso_and_unix_times() -> None:
    data = (
        "time,lat,lon,accuracy\n"
        f"{iso(T0)},{HOME[0]},{HOME[1]},10\n"
        f"{T0 + 400},{HOME[0] + 0.0002},{HOME[1]},10\n"
        "\n"
        f"{iso(T0 + 800, hours=1)},{HOME[0] - 0.0002},{HOME[1]},10\n"
        f"{T0 + 1000},{PARK[0]},{PARK[1]},10\n"
    ).encode()
    assert detect_format(data) == "csv"
    assert_presences(read_trail(data, name="points.csv"), stays((HOME, T0, T0 + 800)))


def test_csv_stays_with_semicolons_and_long_names() -> None:
    data = (
        "Latitude;Longitude;Start;End\n"
        f"{PARK[0]};{PARK[1]};{iso(T0 + 3600)};{iso(T0 + 5400)}\n"
        f"{HOME[0]};{HOME[1]};{T0};{T0 + 60}\n"
    ).encode()
    assert_presences(read_trail(data, name="stays.csv"), stays((HOME, T0, T0 + 60), (PARK, T0 + 3600, T0 + 5400)))


# --- Matching on one's own machine -------------------------------------------------------------


def test_own_stays_match_a_published_window(tmp_path: Path) -> None:
    path = tmp_path / "Records.json"
    path.write_bytes(records(millis=False))
    presences = read_trail(path)
    windows = pl.DataFrame({
        "window_id": ["home-street", "elsewhere"], "lat": [HOME[0] + 0.0003, 52.40], "lon": [HOME[1], 4.9],
        "radius_m": [50.0, 50.0], "start": [T0 + 300, T0], "end": [T0 + 3600, T0 + 3600],
    })
    exposures = match(presences, windows, min_overlap_s=300)
    assert exposures.select("person_id", "window_id", "overlap_s", "first_start", "last_end").rows() == [
        ("me", "home-street", 600, T0 + 300, T0 + 900)
    ]
    assert 33 < exposures["min_distance_m"][0] < 34
    assert match(presences, windows.with_columns(pl.col("radius_m") / 2), min_overlap_s=300).is_empty()


# --- Stay detection ----------------------------------------------------------------------------


def points(*rows: tuple[float, float, int]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"lat": pl.Float64, "lon": pl.Float64, "time": pl.Int64}, orient="row")


def test_a_gap_of_exactly_the_cap_stays_inside_a_stay_and_one_second_more_ends_it() -> None:
    assert detect_stays(points((*HOME, 0), (*HOME, 7200))).rows() == [(*HOME, 0, 7200)]
    assert detect_stays(points((*HOME, 0), (*HOME, 7201))).is_empty()


def test_a_stay_across_the_antimeridian_stays_on_it() -> None:
    found = detect_stays(points((0.0, 179.9999, 0), (0.0, -179.9999, 300), (0.0, 179.9999, 600)))
    assert found.select("start", "end").rows() == [(0, 600)]
    assert abs(abs(found["lon"][0]) - 180) < 1e-4


def test_points_in_any_order_give_the_same_stays() -> None:
    ordered = points((*HOME, 0), (*HOME, 300), (*HOME, 900), (*PARK, 1000))
    assert_frame_equal(detect_stays(ordered.reverse()), detect_stays(ordered))


@pytest.mark.parametrize(("options", "message"), [
    ({"distance_m": -1.0}, "distance_m must be a finite number of metres >= 0, got -1.0"),
    ({"min_stay_s": 0}, "min_stay_s must be a whole number of seconds >= 1 (a presence needs end > start), got 0"),
    ({"max_gap_s": -5}, "max_gap_s must be a whole number of seconds >= 0, got -5"),
])
def test_thresholds_are_checked(options: dict[str, float], message: str) -> None:
    with pytest.raises(InputError) as caught:
        read_trail(records(millis=False), **options)  # type: ignore[arg-type]
    assert caught.value.message == message


def destination(lat: float, lon: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` from (lat, lon) on ``bearing_deg``, on the engine's sphere."""
    phi, lmb, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    delta = distance_m / EARTH_RADIUS_M
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lmb2 = lmb + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2))
    return max(-90.0, min(90.0, math.degrees(phi2))), (math.degrees(lmb2) + 540) % 360 - 180


def reference_stays(rows: list[tuple[float, float, int]], *, distance_m: float, min_stay_s: int, max_gap_s: int) -> pl.DataFrame:
    """The stay rule, one point at a time, exactly as the module docstring states it."""
    found = []
    current: list[tuple[float, float, int]] = []

    def centre() -> tuple[float, float]:
        first_lon = current[0][1]
        sum_lat = sum_dlon = 0.0
        for lat, lon, _ in current:
            d = lon - first_lon
            d = d - 360 if d > 180 else d + 360 if d < -180 else d
            sum_lat += lat
            sum_dlon += d
        return sum_lat / len(current), first_lon + sum_dlon / len(current)

    def close() -> None:
        if current and current[-1][2] - current[0][2] >= min_stay_s:
            lat, lon = centre()
            lon = lon - 360 if lon > 180 else lon + 360 if lon < -180 else lon
            found.append((lat, lon, current[0][2], current[-1][2]))

    for point in sorted(rows, key=lambda row: row[2]):
        if current:
            lat, lon = centre()
            near = float(haversine_m(lat, lon, point[0], point[1])) <= distance_m
            if near and point[2] - current[-1][2] <= max_gap_s:
                current.append(point)
                continue
            close()
        current = [point]
    close()
    return pl.DataFrame(found, schema={"lat": pl.Float64, "lon": pl.Float64, "start": pl.Int64, "end": pl.Int64}, orient="row")


ANCHORS = [HOME, (0.0, 179.9995), (-33.9, -179.9998), (89.9995, 0.0)]


@st.composite
def walks(draw):  # type: ignore[no-untyped-def]
    """A few places near an anchor, visited in turn with jitter, gaps and passes, in shuffled order."""
    anchor = draw(st.sampled_from(ANCHORS))
    places = [destination(*anchor, draw(st.floats(0, 360)), draw(st.sampled_from([0.0, 80.0, 150.0, 400.0])))
              for _ in range(draw(st.integers(1, 3)))]
    rows, time = [], draw(st.integers(0, 10**6))
    for _ in range(draw(st.integers(0, 40))):
        place = draw(st.sampled_from(places))
        jitter = draw(st.one_of(st.just(0.0), st.floats(0, 60), st.floats(90, 110)))
        rows.append((*destination(*place, draw(st.floats(0, 360)), jitter), time))
        time += draw(st.sampled_from([0, 30, 60, 299, 300, 600, 1800, 3600, 7200, 7201, 9000]))
    return draw(st.permutations(rows))


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=walks(), distance_m=st.sampled_from([0.0, 50.0, 100.0, 250.0]),
       min_stay_s=st.sampled_from([1, 300, 600]), max_gap_s=st.sampled_from([0, 600, 7200]))
def test_detect_stays_equals_the_reference(rows, distance_m, min_stay_s, max_gap_s) -> None:  # type: ignore[no-untyped-def]
    options = {"distance_m": distance_m, "min_stay_s": min_stay_s, "max_gap_s": max_gap_s}
    assert_frame_equal(detect_stays(points(*rows), **options), reference_stays(rows, **options), check_exact=True)


def test_long_stays_use_large_blocks_and_still_equal_the_reference() -> None:
    rows = [(*destination(*HOME, (37 * i) % 360, (i * 7) % 90), 10 * i) for i in range(3000)]
    rows += [(*PARK, 30_000 + 10 * i) for i in range(100)]
    options = {"distance_m": 100.0, "min_stay_s": 600, "max_gap_s": 7200}
    expected = reference_stays(rows, **options)
    assert expected.height == 2
    assert_frame_equal(detect_stays(points(*rows), **options), expected, check_exact=True)


# --- Errors: the file, the place, the value, what was expected, the fix ------------------------


def error(data: bytes, name: str) -> str:
    with pytest.raises(InputError) as caught:
        read_trail(data, name=name)
    return caught.value.message


def test_invalid_json_names_line_and_column() -> None:
    data = b'{"locations": [\n  {"latitudeE7": 523702000 "longitudeE7": 48952000}\n]}\n'
    assert error(data, "Records.json") == (
        "Records.json is not valid JSON: Expecting ',' delimiter at line 2, column 28 near '523702000 \"longitudeE7\": 48952'; "
        "the file is damaged or cut short: export it again"
    )


def test_a_json_file_cut_short() -> None:
    assert error(b'{"locations": [{"latitudeE7": 1', "Records.json") == (
        "Records.json is not valid JSON: Expecting ',' delimiter at line 1, column 32 near 'tudeE7\": 1'; "
        "the file is damaged or cut short: export it again"
    )


def test_a_file_that_is_none_of_the_formats() -> None:
    expected = (
        "expected a Google Takeout Records.json, a Semantic Location History month file, a Google Maps Timeline "
        "export, GPX, GeoJSON, or CSV with lat,lon,time or lat,lon,start,end columns"
    )
    assert error(b"Dear diary,\nI went to the park.\n", "notes.txt") == (
        f"notes.txt is not a location history epitrace can read: {expected}; export your history in one of these"
    )
    assert error(b'{"name": "x", "items": []}', "data.json") == (
        f"data.json is JSON (an object with keys 'name', 'items') but not a location history: {expected}"
    )
    assert error(b"<kml><Document/></kml>", "places.kml") == f"places.kml is XML but not GPX (no <gpx> element): {expected}"
    assert error(b"  \n", "empty.csv") == f"empty.csv is empty: {expected}"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("Records.json", {"locations": [{"latitudeE7": 523702000, "longitudeE7": 48952000, "timestamp": iso(T0)},
                                    {"latitudeE7": 950000000, "longitudeE7": 48952000, "timestamp": iso(T0)}]},
     "Records.json locations[1]: latitudeE7 950000000 (95°) is out of range: latitude must be between -90 and 90 "
     "degrees; correct or remove that entry"),
    ("Timeline.json", {"semanticSegments": [{"startTime": iso(T0), "endTime": iso(T0 + 60),
                                             "visit": {"topCandidate": {"placeLocation": {"latLng": "95.1°, 4.9°"}}}}]},
     "Timeline.json semanticSegments[0].visit.topCandidate.placeLocation: latLng '95.1°, 4.9°' is out of range: "
     "latitude must be between -90 and 90 degrees; correct or remove that entry"),
    ("trail.geojson", {"type": "FeatureCollection", "features": [feature({"type": "Point", "coordinates": [52.37, 4.9]},
                                                                          time=iso(T0)),
                                                                  feature({"type": "Point", "coordinates": [4.9, 152.37]},
                                                                          time=iso(T0))]},
     "trail.geojson features[1].geometry.coordinates: position [4.9, 152.37] (longitude, latitude) is out of range: "
     "latitude must be between -90 and 90 degrees; correct or remove that feature"),
])
def test_a_latitude_out_of_range(name: str, data: object, message: str) -> None:
    assert error(json.dumps(data, ensure_ascii=False).encode(), name) == message


def test_a_latitude_out_of_range_in_csv_and_gpx() -> None:
    assert error(b"lat,lon,time\n52.37,4.9,1710064800\n-91.5,4.9,1710064900\n", "trail.csv") == (
        "trail.csv line 3: lat -91.5, lon 4.9 is out of range: latitude must be between -90 and 90 degrees; "
        "correct or remove that row"
    )
    assert error(gpx(f"<trk><trkseg>{gpx_point('trkpt', (95.0, 4.9), iso(T0))}</trkseg></trk>"), "walk.gpx") == (
        'walk.gpx track 1, segment 1, point 1: lat="95" lon="4.9" is out of range: latitude must be between -90 and '
        "90 degrees; correct or remove that point"
    )


def test_a_point_without_a_time() -> None:
    doc = {"locations": [{"latitudeE7": 523702000, "longitudeE7": 48952000, "timestamp": iso(T0)},
                         {"latitudeE7": 523702000, "longitudeE7": 48952000, "accuracy": 20}]}
    assert error(json.dumps(doc).encode(), "Records.json") == (
        "Records.json locations[1]: no timestamp or timestampMs: every point needs a time; correct or remove that entry"
    )
    body = f"<trk><trkseg>{gpx_point('trkpt', HOME, iso(T0))}{gpx_point('trkpt', HOME, None)}</trkseg></trk>"
    assert error(gpx(body), "walk.gpx") == (
        "walk.gpx track 1, segment 1, point 2: has no <time>: every track point needs a time (a track drawn on a map "
        "has none); correct or remove that point"
    )
    assert error(b"lat,lon,time\n52.37,4.9,\n", "trail.csv") == (
        "trail.csv line 2: time is empty: every point needs a time; correct or remove that row"
    )
    path = {"semanticSegments": [{"startTime": iso(T0), "endTime": iso(T0 + 60),
                                  "timelinePath": [{"point": degrees(HOME)}]}]}
    assert error(json.dumps(path, ensure_ascii=False).encode(), "Timeline.json") == (
        "Timeline.json semanticSegments[0].timelinePath[0]: no time or durationMinutesOffsetFromStartTime: every "
        "point needs a time; correct or remove that entry"
    )
    geo = {"type": "FeatureCollection", "features": [feature({"type": "Point", "coordinates": [4.9, 52.37]}, name="x")]}
    assert error(json.dumps(geo).encode(), "trail.geojson") == (
        "trail.geojson features[0]: no time, timestamp or datetime property (or start and end): every point needs a "
        "time; correct or remove that feature"
    )


def test_times_that_cannot_be_read() -> None:
    doc = {"locations": [{"latitudeE7": 523702000, "longitudeE7": 48952000, "timestamp": "yesterday"}]}
    assert error(json.dumps(doc).encode(), "Records.json") == (
        "Records.json locations[0]: timestamp 'yesterday' is not a time: expected ISO-8601 with a UTC offset, "
        "e.g. 2024-03-10T18:00:00Z or 2024-03-10T19:00:00+01:00; correct or remove that entry"
    )
    old = {"locations": [{"latitudeE7": 523702000, "longitudeE7": 48952000, "timestampMs": "17:00"}]}
    assert error(json.dumps(old).encode(), "Records.json") == (
        "Records.json locations[0]: timestampMs '17:00' is not a time: expected milliseconds since 1970 as digits, "
        'e.g. "1710093600000"; correct or remove that entry'
    )
    naive = {"timelineObjects": [{"placeVisit": {"location": {"latitudeE7": 523702000, "longitudeE7": 48952000},
                                                 "duration": {"startTimestamp": "2024-03-10T10:00:00",
                                                              "endTimestamp": iso(T0 + 60)}}}]}
    assert error(json.dumps(naive).encode(), "2024_MARCH.json") == (
        "2024_MARCH.json timelineObjects[0].placeVisit.duration: startTimestamp '2024-03-10T10:00:00' has no UTC "
        "offset, so the moment is ambiguous: add one, e.g. 2024-03-10T18:00:00Z or 2024-03-10T19:00:00+01:00; "
        "correct or remove that entry"
    )
    body = f"<trk><trkseg>{gpx_point('trkpt', HOME, 'yesterday')}</trkseg></trk>"
    assert error(gpx(body), "walk.gpx") == (
        "walk.gpx track 1, segment 1, point 1: time 'yesterday' is not a time: expected ISO-8601, "
        "e.g. 2024-03-10T18:00:00Z or 2024-03-10T19:00:00+01:00; correct or remove that point"
    )


def test_other_damage_is_named() -> None:
    backwards = {"timelineObjects": [{"placeVisit": {
        "location": {"latitudeE7": 523702000, "longitudeE7": 48952000},
        "duration": {"startTimestamp": iso(T0 + 60), "endTimestamp": iso(T0)}}}]}
    assert error(json.dumps(backwards).encode(), "2024_MARCH.json") == (
        "2024_MARCH.json timelineObjects[0].placeVisit: ends at 2024-03-10T10:00:00Z, before it starts at "
        "2024-03-10T10:01:00Z: a visit needs end >= start; correct or remove that entry"
    )
    missing = {"timelineObjects": [{"placeVisit": {"location": {"latitudeE7": 523702000, "longitudeE7": 48952000}}}]}
    assert error(json.dumps(missing).encode(), "2024_MARCH.json") == (
        "2024_MARCH.json timelineObjects[0].placeVisit: no duration: every placeVisit needs one; correct or remove that entry"
    )
    half = {"locations": [{"latitudeE7": 523702000, "timestamp": iso(T0)}]}
    assert error(json.dumps(half).encode(), "Records.json") == (
        "Records.json locations[0]: has latitudeE7 but no longitudeE7: a position needs both; correct or remove that entry"
    )
    assert error(gpx("<trk><trkseg>"), "walk.gpx") == (
        "walk.gpx is not valid XML: mismatched tag: line 4, column 2; the file is damaged or cut short: export it again"
    )
    assert error(gpx('<trk><trkseg><trkpt lat="north" lon="4.9"/></trkseg></trk>'), "walk.gpx") == (
        "walk.gpx track 1, segment 1, point 1: lat='north' is not a number: expected decimal degrees; "
        "correct or remove that point"
    )
    assert error(gpx('<wpt lon="4.9"><time>2024-03-10T10:00:00Z</time></wpt>'), "walk.gpx") == (
        "walk.gpx waypoint 1: has no lat attribute: every waypoint needs lat and lon; correct or remove that waypoint"
    )
    assert error(b"lat,lon\n52.37,4.9\n", "trail.csv") == (
        "trail.csv line 1: the header has no time column (nor start and end): expected lat,lon,time (points) or "
        "lat,lon,start,end (stays); add the column"
    )
    assert error(b"\xff\xfelat,lon,time\n", "trail.csv") == (
        "trail.csv is not UTF-8 text: byte 1 is b'\\xff'; save the file as UTF-8, or export it again"
    )
    with pytest.raises(InputError, match=r"nowhere\.json does not exist or is not a file; check the path"):
        read_trail(Path("nowhere.json"))


def test_the_extension_is_a_hint_when_the_content_is_not_clear() -> None:
    # A .json file that does not start like JSON is still reported as JSON, with the place.
    assert error(b"locations: []", "Records.json") == (
        "Records.json is not valid JSON: Expecting value at line 1, column 1 near 'locations: []'; "
        "the file is damaged or cut short: export it again"
    )
    assert error(b"hello", "walk.gpx") == (
        "walk.gpx is not valid XML: syntax error: line 1, column 0; the file is damaged or cut short: export it again"
    )


# --- The command -------------------------------------------------------------------------------


def test_trail_command_writes_csv_and_parquet(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(trail_command)
    source = tmp_path / "Records.json"
    source.write_bytes(records(millis=False))
    runner = CliRunner()
    result = runner.invoke(app, [str(source), "--out", str(tmp_path / "me.csv")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"3 stays from {source} (Google Takeout Records.json) written to {tmp_path / 'me.csv'}\n"
    written = pl.read_csv(tmp_path / "me.csv", schema_overrides={"person_id": pl.String})
    assert_presences(written, RECORD_STAYS)
    result = runner.invoke(app, [str(source), "--out", str(tmp_path / "me.parquet"), "--min-stay-minutes", "20"],
                           catch_exceptions=False)
    assert result.stdout.startswith("1 stay from ")
    assert_presences(pl.read_parquet(tmp_path / "me.parquet"), stays((PARK, T0 + 1500, T0 + 2700)))


@pytest.mark.parametrize(("args", "message"), [
    (["--out", "me.json"], "--out me.json: unknown file type '.json'; expected a .csv or .parquet file"),
    (["--out", "me.csv", "--distance-m", "-5"], "--distance-m must be > 0, got -5"),
    (["--out", "me.csv", "--min-stay-minutes", "0"], "--min-stay-minutes must be > 0, got 0"),
])
def test_trail_command_refuses_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    app = typer.Typer()
    app.command()(trail_command)
    source = tmp_path / "Records.json"
    source.write_bytes(records(millis=False))
    result = CliRunner().invoke(app, [str(source), *[str(tmp_path / a) if a.startswith("me.") else a for a in args]])
    assert isinstance(result.exception, InputError)
    assert result.exception.message == message.replace("me.json", "me.json")
    assert not (tmp_path / "me.csv").exists()


def test_iso_helper_matches_google() -> None:
    assert iso(T0) == "2024-03-10T10:00:00.000Z"
    assert iso(T0, hours=1) == "2024-03-10T11:00:00.000+01:00"
    assert datetime.fromisoformat(iso(T0, hours=-5)).astimezone(UTC) == datetime.fromtimestamp(T0, UTC)


# --- Damage the fuzz test (tests/test_trail_fuzz.py) found crashing, now named (issue 9) ---------


def test_crashes_found_by_fuzzing_are_input_errors_9() -> None:
    fix = "the file is damaged: export it again"
    assert error(b'{"locations": [' + b"1" * 4301 + b"]}", "Records.json") == (
        f"Records.json has a number of more than 4300 digits, which no location history holds: {fix}"
    )
    assert error(b"[\n", "Records.json") == (  # the error is on a line splitlines() does not return
        "Records.json is not valid JSON: Expecting value at line 2, column 1; the file is damaged or cut short: export it again"
    )
    assert error(b"lat,lon,time\n52.37,4.9," + b"9" * 30 + b"\n", "trail.csv") == (
        f"trail.csv line 2: time '{'9' * 30}' is out of range: expected a time between 0001-01-01 and 9999-12-31 UTC; "
        "correct or remove that row"
    )
    assert error(b"lat,lon,time\n52.37,4.9,1\n52.37,4.9," + b"x" * 140_000 + b"\n", "trail.csv") == (
        "trail.csv line 3: cannot be read as CSV (field larger than field limit (131072)); correct or remove that row"
    )
    path = [{"startTime": iso(T0), "endTime": iso(T0 + 60),
             "timelinePath": [{"point": "geo:52.37,4.9", "durationMinutesOffsetFromStartTime": 1e307}]}]
    assert error(json.dumps(path).encode(), "location-history.json") == (
        "location-history.json [0].timelinePath[0]: durationMinutesOffsetFromStartTime 1e+307 is out of range: expected a "
        "time between 0001-01-01 and 9999-12-31 UTC; correct or remove that entry"
    )
    huge = {"locations": [{"latitudeE7": 10**400, "longitudeE7": 0, "timestamp": iso(T0)}]}
    assert error(json.dumps(huge).encode(), "Records.json").endswith(f"({math.inf:g}°) is out of range: latitude must be "
                                                                     "between -90 and 90 degrees; correct or remove that entry")
    body = f"<trk><trkseg>{gpx_point('trkpt', HOME, '2024-03-10T10:00:00+99:00')}</trkseg></trk>"
    assert error(gpx(body), "walk.gpx") == (
        "walk.gpx track 1, segment 1, point 1: time '2024-03-10T10:00:00+99:00' is not a time: "
        "expected ISO-8601, e.g. 2024-03-10T18:00:00Z or 2024-03-10T19:00:00+01:00; correct or remove that point"
    )
    assert error(b'<?xml version="1.0" encoding="punycode"?><gpx/>', "walk.gpx") == (
        "walk.gpx declares the encoding 'punycode', which epitrace does not read: save the GPX file as UTF-8 "
        "(or declare UTF-8, ISO-8859-1, windows-1252 or US-ASCII)"
    )


def test_rules_made_exact_for_the_page_9() -> None:
    # Lines may end with a lone \r (old Mac files); the byte named after a BOM is the right one.
    assert_presences(read_trail(f"lat,lon,time\r{HOME[0]},{HOME[1]},{T0}\r{HOME[0]},{HOME[1]},{T0 + 900}\r".encode()),
                     stays((HOME, T0, T0 + 900)))
    assert error(b"\xef\xbb\xbflat,\xe9", "trail.csv") == (
        "trail.csv is not UTF-8 text: byte 8 is b'\\xe9'; save the file as UTF-8, or export it again"
    )
    assert error(b'<?xml version="1.0" encoding="US-ASCII"?><gpx>\xe9</gpx>', "walk.gpx") == (
        "walk.gpx is not US-ASCII text: byte 47 is b'\\xe9'; save the GPX file as UTF-8"
    )
    old = {"locations": [{"latitudeE7": 523702000, "longitudeE7": 48952000, "timestampMs": "-" + "9" * 20}]}
    assert error(json.dumps(old).encode(), "Records.json") == (
        f"Records.json locations[0]: timestampMs '-{'9' * 20}' is out of range: expected a time between 0001-01-01 "
        "and 9999-12-31 UTC; correct or remove that entry"
    )
    early = {"timelineObjects": [{"placeVisit": {"location": {"latitudeE7": 1, "longitudeE7": 1}, "duration": {
        "startTimestamp": "0001-01-01T00:00:00+01:00", "endTimestamp": iso(T0)}}}]}
    assert error(json.dumps(early).encode(), "2024_MARCH.json") == (
        "2024_MARCH.json timelineObjects[0].placeVisit.duration: startTimestamp '0001-01-01T00:00:00+01:00' is out of "
        "range: expected a time between 0001-01-01 and 9999-12-31 UTC; correct or remove that entry"
    )


def test_gpx_reads_positions_and_times_only_9() -> None:
    # Under gpxpy a bad <ele> or route point refused the whole history, "A12" was read as an offset of 0
    # and a time on its own line was refused; now only lat, lon and time are read, by the rules in _gpx.
    body = (f"<rte><rtept lat='north'/></rte><trk><trkseg>{gpx_point('trkpt', HOME, iso(T0), '<sat>many</sat>')}"
            f'<trkpt lat=" {HOME[0]} " lon="{HOME[1]}"><ele>high</ele><time>\n  {iso(T0 + 900)}\n</time></trkpt>'
            "</trkseg></trk>")
    assert_presences(read_trail(gpx(body), name="walk.gpx"), stays((HOME, T0, T0 + 900)))
    body = f"<trk><trkseg>{gpx_point('trkpt', HOME, '2024-03-10T10:00:00A12')}</trkseg></trk>"
    assert error(gpx(body), "walk.gpx") == (
        "walk.gpx track 1, segment 1, point 1: time '2024-03-10T10:00:00A12' is not a time: expected ISO-8601, "
        "e.g. 2024-03-10T18:00:00Z or 2024-03-10T19:00:00+01:00; correct or remove that point"
    )
    prefixed = (f'<g:gpx xmlns:g="http://www.topografix.com/GPX/1/1"><g:wpt lat="{PARK[0]}" lon="{PARK[1]}">'
                f"<g:time>{iso(T0)}</g:time></g:wpt><g:wpt lat='{PARK[0]}' lon='{PARK[1]}'><g:time>{iso(T0 + 600)}"
                "</g:time></g:wpt></g:gpx>").encode()
    assert_presences(read_trail(prefixed, name="walk.gpx"), stays((PARK, T0, T0 + 600)))
