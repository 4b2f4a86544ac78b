"""``read_trail`` fails only with ``InputError``: arbitrary bytes and damaged files of every format (issue 9).

A resident's file can be anything: cut short, edited by hand, exported by some other app. Whatever
it holds, reading it either gives presences or an ``InputError`` that names the problem; never a
crash, never some other exception. Each format's valid sample is damaged structurally (a value
replaced by any JSON value, a key removed, the text cut short or a byte changed), and the values
that reach the edges of the rules (times without offsets, huge numbers, offsets of a day or more,
E7 values past 2^31, unknown encodings) are drawn on purpose.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epitrace.errors import InputError
from epitrace.trails import read_trail

pytestmark = pytest.mark.slow  # long property runs; run by make test-all / test-pg and CI

T0 = 1_710_064_800  # 2024-03-10T10:00:00Z
NAMES = ("trail", "Records.json", "2024_MARCH.json", "location-history.json", "walk.geojson", "walk.gpx",
         "points.csv", "notes.txt")
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Texts at the edges of the rules: times with and without offsets, impossible dates and offsets,
# numbers too long or too large, positions in every spelling, and characters parsers trip on.
TEXTS = [
    "", " ", "2024-03-10T10:00:00Z", "2024-03-10T10:00:00.123+01:00", "2024-03-10T10:00:00", "2024-03-10 10:00",
    "2024-03-10T10:00:00+24:00", "2024-03-10T10:00:00+23:59:59.999999", "2024-03-10T10:00:00-00:00:00.5",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2024-W10-1T10:00Z", "20240310T100000Z",
    "2024-02-30T10:00:00Z", "2024-03-10T24:00:00Z", "1710064800", "1710064800123", "-1", " 1710064800.5 ",
    "9" * 30, "1" * 5000, "0" * 4400 + "1", "1e400", "-1e400", "nan", "inf", "1_000", "١٧١٠٠٦٤٨٠٠",
    "52.37°, 4.89°", "geo:52.37,4.89", "geo:1e999,1", "91°, 0°", "1.2.3°, 4°", "52.3702,4.8952\n",
    "\x00", "\ufeff", "\u2028", "\r", "\x1c", '"', "é", "\U0001f600",
]
GPX_TIMES = [
    "2024-03-10T10:00:00Z", "2024-03-10T10:00:00", "2024-03-10 10:00:00", "2024-3-1T1:2:3", "2024-03-10T10:00:00.5+01:00",
    "2024-03-10T10:00:00+99:00", "2024-03-10T10:00:00-2400", "2024-03-10T10:00:00A12", "2024-03-10T10:00:0012:00",
    "2024-13-10T10:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-12:00", "\n2024-03-10T10:00:00Z\n",
    "2024-03-10T10:00:00\u221201:00", "yesterday", "",
]
NUMBERS = [0, -0.0, 1, 0.5, 52.37, 4.89, 523_700_000, 48_900_000, 2**31 - 1, 2**31, 2**32 - 1, 2**32 + 5, -(2**31),
           10**11, 10**15, 10**20, 10**400, -(10**400), 1e308, -1e308, 1.5e300, float("inf"), float("nan"),
           T0, T0 * 1000, T0 + 0.999]
KEYS = ["locations", "latitudeE7", "longitudeE7", "timestamp", "timestampMs", "timelineObjects", "placeVisit",
        "location", "duration", "startTimestamp", "endTimestamp", "startTimestampMs", "centerLatE7", "semanticSegments",
        "rawSignals", "startTime", "endTime", "visit", "topCandidate", "placeLocation", "latLng", "timelinePath",
        "point", "time", "durationMinutesOffsetFromStartTime", "position", "LatLng", "type", "features", "geometry",
        "coordinates", "properties", "start", "end", "coordinateTimes", "coordinateProperties", "times", "x"]

leaves = (st.none() | st.booleans() | st.sampled_from(NUMBERS) | st.integers(-(2**70), 2**70)
          | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(TEXTS) | st.text(max_size=8))
json_values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=8,
)


def iso(seconds: int) -> str:
    return f"2024-03-10T{(seconds - T0) // 3600 + 10:02d}:{(seconds - T0) % 3600 // 60:02d}:00Z"


# One small valid sample of every JSON format; mutations start from these.
SAMPLES: dict[str, Any] = {
    "Records.json": {"locations": [
        {"latitudeE7": 523_702_000, "longitudeE7": 48_952_000, "timestamp": iso(T0)},
        {"latitudeE7": 523_702_100, "longitudeE7": 48_952_000, "timestampMs": str((T0 + 900) * 1000)},
        {"activity": [{"type": "STILL"}], "timestamp": iso(T0 + 950)},
    ]},
    "2024_MARCH.json": {"timelineObjects": [
        {"placeVisit": {"location": {"latitudeE7": 523_600_000, "longitudeE7": 48_800_000},
                        "duration": {"startTimestamp": iso(T0), "endTimestamp": iso(T0 + 3600)}}},
        {"placeVisit": {"centerLatE7": 523_600_000, "centerLngE7": 48_800_000, "location": {"name": "Park"},
                        "duration": {"startTimestampMs": str(T0 * 1000), "endTimestampMs": str((T0 + 600) * 1000)}}},
        {"activitySegment": {"duration": {"startTimestamp": iso(T0)}}},
    ]},
    "Timeline.json": {
        "semanticSegments": [
            {"startTime": iso(T0), "endTime": iso(T0 + 3600),
             "visit": {"topCandidate": {"placeLocation": {"latLng": "52.3702°, 4.8952°"}}}},
            {"startTime": iso(T0), "endTime": iso(T0 + 7200),
             "timelinePath": [{"point": "52.36°, 4.88°", "time": iso(T0 + 4200)},
                              {"point": "52.36°,4.88°", "time": iso(T0 + 4900)}]},
        ],
        "rawSignals": [{"position": {"LatLng": "52.36°, 4.88°", "timestamp": iso(T0 + 5100)}}, {"wifiScan": {}}],
    },
    "location-history.json": [
        {"startTime": iso(T0), "endTime": iso(T0 + 3600),
         "visit": {"topCandidate": {"placeLocation": "geo:52.370200,4.895200"}}},
        {"startTime": iso(T0 + 7200), "endTime": iso(T0 + 10800),
         "timelinePath": [{"point": "geo:52.360000,4.880000", "durationMinutesOffsetFromStartTime": m} for m in ("0", "20")]},
    ],
    "walk.geojson": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [4.8952, 52.3702]}, "properties": {"time": iso(T0)}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [4.8952, 52.3702]}, "properties": {"timestamp": (T0 + 900) * 1000}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[4.88, 52.36], [4.88, 52.3601]]},
         "properties": {"coordTimes": [iso(T0 + 2000), iso(T0 + 2900)]}},
        {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": [[[4.88, 52.36]], [[4.88, 52.36]]]},
         "properties": {"coordinateProperties": {"times": [[T0 + 3000], [T0 + 3700]]}}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [4.885, 52.365]},
         "properties": {"start": iso(T0 + 7200), "end": T0 + 7500}},
        {"type": "Feature", "geometry": None, "properties": None},
    ]},
}


def read(data: bytes, name: str) -> None:
    """Read the file; an InputError is a fine answer, any other exception fails the test."""
    try:
        read_trail(data, name=name)
    except InputError:
        pass


def places(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value in a JSON document, the document itself first."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from places(value, (*path, index))


def mutated(doc: Any, data: st.DataObject) -> Any:
    """The document with one to three values replaced by any JSON value, or removed."""
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(places(doc))))
        if not path:
            doc = data.draw(json_values)
            continue
        doc = copy.deepcopy(doc)
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()):
            parent[path[-1]] = data.draw(json_values)
        else:
            del parent[path[-1]]
    return doc


def damaged(text: bytes, data: st.DataObject) -> bytes:
    """The bytes cut short, or with one byte changed, or as they are."""
    how = data.draw(st.sampled_from(["as is", "cut", "byte"]))
    if how == "cut":
        return text[:data.draw(st.integers(0, len(text)))]
    if how == "byte" and text:
        at = data.draw(st.integers(0, len(text) - 1))
        return text[:at] + bytes([data.draw(st.integers(0, 255))]) + text[at + 1:]
    return text


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(NAMES))
def test_arbitrary_bytes_raise_only_input_errors(data: bytes, name: str) -> None:
    read(data, name)


@FUZZ
@given(st.text(alphabet=st.sampled_from('{}[]":,0123456789.-eE+ \n\tnulltruefalseNaInfiy\\u'), max_size=60))
def test_json_shaped_noise_raises_only_input_errors(text: str) -> None:
    read(text.encode(), "Records.json")


@FUZZ
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_damaged_json_formats_raise_only_input_errors(name: str, data: st.DataObject) -> None:
    doc = mutated(SAMPLES[name], data)
    text = json.dumps(doc, ensure_ascii=data.draw(st.booleans())).encode("utf-8", "surrogatepass")
    read(damaged(text, data), data.draw(st.sampled_from([name, "trail"])))


CSV_HEADERS = ["lat", "Latitude", "LAT", "lon", "lng", "long", "longitude", "time", "timestamp", "datetime", "start",
               "start_time", "starttime", "end", "end_time", "EndTime", "accuracy", '"lat"', " lon ", ""]
CSV_CELLS = [*TEXTS, "52.3702", "4.8952", "-91", "181", "1e999", "52,37", '"52.37"', '"a""b"', '"open', "x" * 140_000]


@FUZZ
@given(
    st.lists(st.sampled_from(CSV_HEADERS), min_size=1, max_size=5),
    st.lists(st.lists(st.sampled_from(CSV_CELLS) | st.text(max_size=6), max_size=5), max_size=4),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.data(),
)
def test_damaged_csv_raises_only_input_errors(header: list[str], rows: list[list[str]], delimiter: str, newline: str,
                                              data: st.DataObject) -> None:
    text = newline.join(delimiter.join(cells) for cells in [header, *rows]) + data.draw(st.sampled_from(["", newline]))
    read(damaged(text.encode("utf-8", "surrogatepass"), data), data.draw(st.sampled_from(["points.csv", "trail"])))


GPX_VALUES = [*GPX_TIMES, "52.37", "4.89", "abc", "nan", "1e999", "-91", " 52.37 ", "1_0", "3d", "dgps", "12", "١٢",
              "1" * 5000, "&amp;", "<!--c-->"]
ENCODINGS = [None, "UTF-8", "utf-8", "ISO-8859-1", "latin-1", "US-ASCII", "windows-1252", "UTF-16", "idna", "rot13",
             "punycode", "bogus"]


@FUZZ
@given(
    st.sampled_from(ENCODINGS),
    st.sampled_from(["1.0", "1.1", "2", None]),
    st.sampled_from(['xmlns="http://www.topografix.com/GPX/1/1"', 'xmlns:g="urn:g"', ""]),
    st.lists(st.tuples(st.sampled_from(["wpt", "trkpt", "rtept", "g:trkpt"]),
                       st.sampled_from(GPX_VALUES) | st.none(), st.sampled_from(GPX_VALUES) | st.none(),
                       st.sampled_from(GPX_VALUES) | st.none(),
                       st.sampled_from(["ele", "sat", "fix", "hdop", "dgpsid", "speed", "name", "time"]),
                       st.sampled_from(GPX_VALUES)), max_size=4),
    st.data(),
)
def test_damaged_gpx_raises_only_input_errors(encoding: str | None, version: str | None, namespace: str,
                                              points: list[tuple[str, Any, Any, Any, str, str]],
                                              data: st.DataObject) -> None:
    body = []
    for tag, lat, lon, time, field, value in points:
        attributes = "".join(f' {name}="{v}"' for name, v in (("lat", lat), ("lon", lon)) if v is not None)
        timed = f"<time>{time}</time>" if time is not None else ""
        point = f"<{tag}{attributes}>{timed}<{field}>{value}</{field}></{tag}>"
        body.append({"wpt": point, "rtept": f"<rte>{point}</rte>"}.get(tag, f"<trk><trkseg>{point}</trkseg></trk>"))
    bounds = data.draw(st.sampled_from(["", '<metadata><bounds minlat="x"/></metadata>', '<bounds maxlon="1e999"/>']))
    declared = f'<?xml version="1.0" encoding="{encoding}"?>\n' if encoding else ""
    text = (f'{declared}<gpx{f" version={chr(34)}{version}{chr(34)}" if version else ""} {namespace}>{bounds}'
            f'{"".join(body)}</gpx>')
    try:
        encoded = text.encode(encoding or "utf-8")
    except (LookupError, UnicodeError):
        encoded = text.encode("utf-8")
    read(damaged(encoded, data), data.draw(st.sampled_from(["walk.gpx", "trail"])))
