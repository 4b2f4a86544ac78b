"""The self-check page matches in the browser: the trail never leaves the page (proved by watching every request),
and the page reads and matches a trail exactly as ``epitrace check`` does (issue 9, point 6).

The parity test writes trails in every format ``epitrace.trails.read_trail`` accepts and every spelling of it
(header aliases, delimiters, line ends, time forms, E7 coordinates, GPX namespaces and encodings), around the
published windows (inside, at the edge of the radius, one minute short of the minimum overlap, touching,
elsewhere), chooses each in the page, and asserts the page's findings are the ones ``epitrace check`` prints.
Files that cannot be read, or that hold nothing to check, must show the error, never the all-clear.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, sync_playwright

from epitrace.api import create_app
from epitrace.engine import match
from epitrace.errors import InputError
from epitrace.selfcheck import describe, self_check
from epitrace.storage.db import make_engine
from epitrace.trails import read_trail
from tests.browser_support import launch_chromium, live_server
from tests.test_feed import published_feed
from tests.test_trail_fuzz import CSV_CELLS, CSV_HEADERS, ENCODINGS, GPX_VALUES, KEYS, NUMBERS, SAMPLES, TEXTS, places

STATIC = Path(__file__).resolve().parents[1] / "src" / "epitrace" / "web" / "static"
TODAY = date(2026, 3, 15)
TRAIL = ("lat,lon,start,end\n52.37013,4.89012,2026-03-09T18:30:00Z,2026-03-09T19:40:00Z\n"
         "52.30417,4.70123,2026-03-09T20:30:00Z,2026-03-09T23:00:00Z\n")


@pytest.mark.slow
def test_trail_is_matched_in_the_page_and_never_sent(cli, db_url, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("EPITRACE_TODAY", "2026-03-15")
    _, _, key = published_feed(cli)
    monkeypatch.setenv("EPITRACE_FEED_KEY", str(key))
    trail = tmp_path / "my-trail.csv"
    trail.write_text(TRAIL)
    requests: list[tuple[str, str, str]] = []
    errors: list[str] = []
    with live_server(create_app(make_engine(db_url))) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.on("request", lambda r: requests.append((r.method, r.url, r.post_data or "")))
        page.on("pageerror", lambda e: errors.append(str(e)))
        # The browser's own request for /favicon.ico (a 404 here) is the one error that is not the page's.
        page.on("console", lambda m: errors.append(f"{m.text} {m.location['url']}")
                if m.type == "error" and not m.location["url"].endswith("/favicon.ico") else None)
        policy = page.goto(f"{base}/selfcheck").headers["content-security-policy"]
        page.get_by_text("The feed verifies: 2 signed batch(es), 2 current window(s).").wait_for()
        loaded = len(requests)
        page.set_input_files("#trail", str(trail))
        finding = page.get_by_test_id("finding")
        finding.wait_for()
        text = finding.inner_text()
        page.wait_for_timeout(500)  # anything the page might still send would show up here
        screenshots = Path(__file__).resolve().parents[1] / "screenshots"
        screenshots.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshots / "selfcheck.png"), full_page=True)
        browser.close()
    assert text.startswith("Exposure at Blue Door Café on 2026-03-09, 18:00-20:00 UTC (70 minutes of overlap).")
    assert "What to do: Get tested within 3 days" in text
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy, policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0], policy
    assert errors == [], f"the page reported errors (a script refused by its CSP shows up here): {errors}"
    assert len(requests) == loaded, f"the page made requests after the file was chosen: {requests[loaded:]}"
    fetched = [(m, u.removeprefix(base)) for m, u, _ in requests]
    # The page itself, the pages' stylesheet, its static modules (every one of them but the check-in page's
    # script, nothing else) and the feed: nothing more.
    assert [r for r in fetched if not r[1].startswith("/static/")] == [("GET", "/selfcheck"), ("GET", "/feed/")]
    modules = [script.name for script in STATIC.glob("*.js") if script.name != "checkin.js"]
    assert sorted(fetched) == sorted([("GET", "/selfcheck"), ("GET", "/feed/"), ("GET", "/static/epitrace.css")] +
                                     [("GET", f"/static/{name}") for name in modules])
    for _, url, body in requests:
        for secret in ("52.37013", "4.89012", "52.30417", "my-trail"):
            assert secret not in url and secret not in body


def test_only_the_page_modules_are_served_as_scripts(db_url) -> None:
    client = TestClient(create_app(make_engine(db_url)))
    script = client.get("/static/selfcheck.js")
    assert (script.status_code, script.headers["content-type"].split(";")[0]) == (200, "text/javascript")
    for name in ("nothing.js", "..%2Fpages.py", "selfcheck.html", "Trail.js"):
        assert client.get(f"/static/{name}").status_code == 404, name


# --- Trails around the published windows ------------------------------------------------------------

Stay = tuple[float, float, int, int]  # lat, lon, start, end
EARTH_M_PER_DEG = 6_371_008.8 * math.pi / 180
FAR = (52.2, 4.6)  # another town, well away from every window


def offset(place: tuple[float, float], metres: float, bearing: float) -> tuple[float, float]:
    """A place ``metres`` from ``place`` towards ``bearing`` (radians), close enough on this scale."""
    lat = place[0] + metres * math.cos(bearing) / EARTH_M_PER_DEG
    return lat, place[1] + metres * math.sin(bearing) / (EARTH_M_PER_DEG * math.cos(math.radians(place[0])))


def stories(windows: list[dict[str, Any]], rnd: random.Random) -> list[tuple[str, list[Stay]]]:
    """Stays near, inside and outside the windows: the cases where a reader or matcher could go wrong."""
    out = []
    for w in windows:
        at = (w["lat"], w["lon"])
        r, s, e = w["radius_m"], w["start"], w["end"]
        out += [
            ("inside", [(*offset(at, rnd.uniform(0, 20), rnd.uniform(0, 6.3)), s + 600, e - 1200)]),
            ("radius-in", [(*offset(at, r - 8, rnd.uniform(0, 6.3)), s - 1800, s + 1800)]),
            ("radius-out", [(*offset(at, r + 8, rnd.uniform(0, 6.3)), s - 1800, s + 1800)]),
            ("15-min", [(*at, e - 900, e + 1200)]),
            ("14-min", [(*at, e - 840, e + 1200)]),
            ("touching", [(*at, s - 3600, s), (*FAR, s + 600, s + 3000)]),
            ("union", [(*at, s + 300, s + 900), (*offset(at, 400, 1.0), s + 1000, s + 1700), (*at, s + 1800, s + 2400)]),
            ("elsewhere", [(*FAR, s - 600, e + 600)]),
            ("a day later", [(*at, s + 86400, e + 86400)]),
        ]
    both = [(w["lat"], w["lon"], w["start"] - 300, w["end"] + 300) for w in windows]
    out.append(("both windows", both))
    return out


def points_of(stays: list[Stay], rnd: random.Random) -> list[tuple[int, float, float]]:
    """Raw points of the stays (a few metres of jitter, first and last point at the stay's ends) and of travel
    between them (points far apart, so no stay forms)."""
    points = []
    for i, (lat, lon, start, end) in enumerate(stays):
        n = rnd.randint(3, 7)
        times = sorted({start, end, *(rnd.randint(start, end) for _ in range(n - 2))})
        points += [(t, *offset((lat, lon), rnd.uniform(0, 3), rnd.uniform(0, 6.3))) for t in times]
        if i + 1 < len(stays) and stays[i + 1][2] - end > 120:
            points += [(end + 60 * k, *offset(FAR, 300 * k, 2.0)) for k in (1, 2)]
    return points


# --- The formats, in their spellings ------------------------------------------------------------------


def iso(seconds: int, form: str) -> str:
    """A time in one of the spellings read_trail accepts (and "naive", which it refuses outside GPX)."""
    hours = {"z": 0, "ms-z": 0, "+01:00": 1, "-05:00": -5, "+0530": 5.5, "naive": 0, "space": 0, "frac": 2}[form]
    moment = datetime.fromtimestamp(seconds, timezone(timedelta(hours=hours)))
    if form == "z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "ms-z":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if form == "naive":
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if form == "space":
        return moment.strftime("%Y-%m-%d %H:%M:%S+00:00")
    if form == "frac":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.25+02:00")
    if form == "+0530":
        return moment.strftime("%Y-%m-%dT%H:%M:%S+0530")
    return moment.isoformat()


def e7(degrees: float) -> int:
    return round(degrees * 1e7)


def records(stays: list[Stay], rnd: random.Random, v: dict[str, str]) -> bytes:
    locations: list[dict[str, Any]] = []
    for t, lat, lon in points_of(stays, rnd):
        entry: dict[str, Any] = {"latitudeE7": e7(lat), "longitudeE7": e7(lon), "accuracy": rnd.randint(3, 30)}
        if v["time"] == "timestampMs":
            entry["timestampMs"] = str(t * 1000 + rnd.randint(0, 999))
        elif v["time"] == "timestampMs-int":
            entry["timestampMs"] = t * 1000
        else:
            entry["timestamp"] = iso(t, v["time"])
        locations.append(entry)
    locations.insert(1, {"timestamp": iso(stays[0][2], "z"), "activity": [{"type": "STILL", "confidence": 90}]})
    if v["far"] == "unsigned E7":  # a day earlier in Sydney, negative latitude written as an unsigned 32-bit integer
        locations[:0] = [{"latitudeE7": e7(-33.8688) + 2**32, "longitudeE7": e7(151.2093), "timestamp": iso(t, "z")}
                         for t in range(stays[0][2] - 86400, stays[0][2] - 86400 + 1801, 600)]
    return json.dumps({"locations": locations}, indent=2 if v["indent"] == "indented" else None).encode()


def semantic(stays: list[Stay], rnd: random.Random, v: dict[str, str]) -> bytes:
    objects: list[dict[str, Any]] = []
    for lat, lon, start, end in stays:
        duration = ({"startTimestampMs": str(start * 1000), "endTimestampMs": str(end * 1000 + 999)} if v["time"] == "ms"
                    else {"startTimestamp": iso(start, v["time"]), "endTimestamp": iso(end, v["time"])})
        position = ({"centerLatE7": e7(lat), "centerLngE7": e7(lon), "location": {"placeId": "ChIJx", "name": "Place"}}
                    if v["position"] == "centre" else {"location": {"latitudeE7": e7(lat), "longitudeE7": e7(lon)}})
        objects.append({"placeVisit": {**position, "duration": duration, "placeConfidence": "HIGH_CONFIDENCE"}})
        objects.append({"activitySegment": {"duration": {"startTimestamp": iso(end, "z"), "endTimestamp": iso(end + 60, "z")},
                                            "activityType": "WALKING"}})
    return json.dumps({"timelineObjects": objects}).encode()


def degrees_text(lat: float, lon: float, form: str) -> str:
    return f"geo:{lat:.6f},{lon:.6f}" if form == "geo" else f"{lat:.7f}°, {lon:.7f}°" if form == "spaced" else f"{lat}°,{lon}°"


def timeline(stays: list[Stay], rnd: random.Random, v: dict[str, str]) -> bytes:
    segments: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    ios = v["shape"] == "ios"
    form = "geo" if ios else v["latlng"]
    for i, (lat, lon, start, end) in enumerate(stays):
        span = {"startTime": iso(start, v["time"]), "endTime": iso(end, v["time"])}
        if v["stays as"] == "visits":
            location: Any = degrees_text(lat, lon, form) if ios else {"latLng": degrees_text(lat, lon, form)}
            segments.append({**span, "visit": {"probability": 0.9, "topCandidate": {"placeLocation": location}}})
        elif ios:
            minutes: list[Any] = [0, (end - start) / 120, str((end - start) / 60)]
            segments.append({**span, "timelinePath": [
                {"point": degrees_text(*offset((lat, lon), 2 * k, 1.0), form), "durationMinutesOffsetFromStartTime": m}
                for k, m in enumerate(minutes)]})
        elif i % 2:
            signals += [{"position": {"LatLng" if k else "latLng": degrees_text(lat, lon, form), "accuracyMeters": 10,
                                      "timestamp": iso(t, v["time"])}} for k, t in enumerate((start, (start + end) // 2, end))]
        else:
            segments.append({**span, "timelinePath": [{"point": degrees_text(lat, lon, form), "time": iso(t, v["time"])}
                                                      for t in (start, (start + end) // 2, end)]})
        segments.append({"startTime": iso(end, "z"), "endTime": iso(end + 60, "z"), "activity": {"distanceMeters": 10.0}})
    if ios:
        return json.dumps(segments).encode()
    return json.dumps({"semanticSegments": segments, "rawSignals": signals, "userLocationProfile": {}},
                      ensure_ascii=False).encode()


def gpx(stays: list[Stay], rnd: random.Random, v: dict[str, str]) -> bytes:
    prefix = "g:" if v["namespace"] == "prefixed" else ""

    def point(tag: str, t: int | None, lat: float, lon: float) -> str:
        timed = f"<{prefix}time>{iso(t, v['time'])}</{prefix}time>" if t is not None else ""
        return (f'<{prefix}{tag} lat="{lat:.7f}" lon="{lon:.7f}"><{prefix}ele>{rnd.uniform(0, 9):.1f}</{prefix}ele>'
                f"{timed}</{prefix}{tag}>")

    points = points_of(stays, rnd)
    if v["points as"] == "waypoints":
        body = "".join(point("wpt", t, lat, lon) for t, lat, lon in points) + point("wpt", None, *FAR)
    else:
        half = len(points) // 2
        body = (f"<{prefix}trk><{prefix}name>Café walk</{prefix}name>"
                + "".join(f"<{prefix}trkseg>{''.join(point('trkpt', t, lat, lon) for t, lat, lon in part)}</{prefix}trkseg>"
                          for part in (points[:half], points[half:]))
                + f"</{prefix}trk>")
    namespace = {"1.1": ' xmlns="http://www.topografix.com/GPX/1/1"', "1.0": "",
                 "prefixed": ' xmlns:g="http://www.topografix.com/GPX/1/1"'}[v["namespace"]]
    encoding = "ISO-8859-1" if v["encoding"] == "latin-1" else "UTF-8"
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n<{prefix}gpx version="1.1" creator="test"{namespace}>'
            f"{body}</{prefix}gpx>\n")
    return text.encode("latin-1" if v["encoding"] == "latin-1" else "utf-8")


def geojson(stays: list[Stay], rnd: random.Random, v: dict[str, str]) -> bytes:
    def when(t: int) -> Any:
        return {"iso": iso(t, "+01:00"), "seconds": t, "milliseconds": t * 1000, "seconds-text": str(t)}[v["time"]]

    features: list[dict[str, Any]] = []
    for lat, lon, start, end in stays:
        if v["stays as"] == "start/end points":
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                             "properties": {"start": when(start), "end": when(end)}})
            continue
        pts = points_of([(lat, lon, start, end)], rnd)
        coords = [[p[2], p[1], 1.5] for p in pts]
        times = [when(p[0]) for p in pts]
        kind = v["stays as"]
        if kind == "points":
            key = rnd.choice(["time", "timestamp", "datetime"])
            features += [{"type": "Feature", "geometry": {"type": "Point", "coordinates": c}, "properties": {key: t}}
                         for c, t in zip(coords, times)]
        elif kind == "MultiLineString":
            half = len(coords) // 2
            features.append({"type": "Feature", "geometry": {"type": kind, "coordinates": [coords[:half], coords[half:]]},
                             "properties": {"coordinateProperties": {"times": [times[:half], times[half:]]}}})
        else:
            key = rnd.choice(["coordinateTimes", "coordTimes", "times"])
            features.append({"type": "Feature", "geometry": {"type": kind, "coordinates": coords}, "properties": {key: times}})
    features.append({"type": "Feature", "geometry": None, "properties": {"note": "no geometry"}})
    if len(features) == 2 and v["root"] == "Feature":
        return json.dumps(features[0]).encode()
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


CSV_NAMES = {
    "lat": ["lat", "latitude", "Latitude", "LAT", '"lat"', " lat "], "lon": ["lon", "lng", "long", "longitude", "Longitude"],
    "time": ["time", "timestamp", "datetime", "Time"], "start": ["start", "start_time", "starttime", "Start"],
    "end": ["end", "end_time", "endtime", "EndTime"],
}


NAMES_WRITTEN: dict[str, list[str]] = {}


def next_name(role: str) -> str:
    """The next spelling of the column's name, in turn, so that every spelling is written."""
    written = NAMES_WRITTEN.setdefault(role, [])
    written.append(CSV_NAMES[role][len(written) % len(CSV_NAMES[role])])
    return written[-1]


def csv(stays: list[Stay], rnd: random.Random, v: dict[str, str]) -> bytes:
    def when(t: int) -> str:
        return {"unix": str(t), "unix-ms": str(t * 1000 + 250), "unix-frac": f"{t}.75", "+01:00": iso(t, "+01:00"),
                "z": iso(t, "z"), "naive": iso(t, "naive")}[v["time"]]

    d, nl = {"comma": ",", "semicolon": ";", "tab": "\t"}[v["delimiter"]], {"LF": "\n", "CRLF": "\r\n", "CR": "\r"}[v["newline"]]
    roles = ["lat", "lon", "start", "end"] if v["rows"] == "stays" else ["lat", "lon", "time"]
    rnd.shuffle(roles)
    columns = [*roles, "accuracy"]
    rows = [[next_name(c) if c in CSV_NAMES else c for c in columns]]
    if v["rows"] == "stays":
        values = [{"lat": lat, "lon": lon, "start": when(s), "end": when(e)} for lat, lon, s, e in stays]
    else:
        values = [{"lat": lat, "lon": lon, "time": when(t)} for t, lat, lon in points_of(stays, rnd)]
    rows += [[str(row.get(c, rnd.randint(3, 30))) for c in columns] for row in values]
    lines = [d.join(r) for r in rows]
    lines.insert(2, "")  # a blank line is skipped
    return ("\ufeff" if v["bom"] == "BOM" else "").encode() + (nl.join(lines) + nl).encode()


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    write: Callable[[list[Stay], random.Random, dict[str, str]], bytes]
    spellings: dict[str, list[str]]


FORMATS = [
    Format("Records.json", ".json", records, {"time": ["z", "ms-z", "+01:00", "-05:00", "timestampMs", "timestampMs-int"],
                                              "indent": ["indented", "compact"], "far": ["none", "unsigned E7"]}),
    Format("Semantic Location History", ".json", semantic, {"time": ["ms-z", "+01:00", "ms", "frac"],
                                                           "position": ["location", "centre"]}),
    Format("Timeline (Android)", ".json", timeline, {"shape": ["android"], "time": ["ms-z", "+01:00", "+0530"],
                                                     "stays as": ["visits", "paths and raw signals"],
                                                     "latlng": ["spaced", "tight"]}),
    Format("Timeline (iOS)", ".json", timeline, {"shape": ["ios"], "time": ["+01:00", "z"],
                                                 "stays as": ["visits", "paths with minute offsets"]}),
    Format("GPX", ".gpx", gpx, {"points as": ["tracks", "waypoints"], "time": ["z", "+01:00", "naive", "frac", "space"],
                                "namespace": ["1.1", "1.0", "prefixed"], "encoding": ["utf-8", "latin-1"]}),
    Format("GeoJSON", ".geojson", geojson, {"stays as": ["points", "LineString", "MultiPoint", "MultiLineString",
                                                         "start/end points"],
                                            "time": ["iso", "seconds", "milliseconds", "seconds-text"],
                                            "root": ["FeatureCollection", "Feature"]}),
    Format("CSV", ".csv", csv, {"rows": ["points", "stays"], "delimiter": ["comma", "semicolon", "tab"],
                                "newline": ["LF", "CRLF", "CR"], "time": ["unix", "unix-ms", "unix-frac", "+01:00", "z"],
                                "bom": ["BOM", "no BOM"]}),
]


def generated_trails(windows: list[dict[str, Any]]) -> tuple[list[tuple[str, bytes]], set[tuple[str, str, str]]]:
    """Seeded trails: every story in every format, each with spellings drawn so that every spelling is used."""
    rnd = random.Random(9)
    files, used = [], set()
    NAMES_WRITTEN.clear()
    for fmt in FORMATS:
        for i, (story, stays) in enumerate(stories(windows, rnd)):
            # Cycle through each option's spellings so that all appear, in varying combinations.
            spelling = {option: values[(i + rnd.randrange(len(values))) % len(values)] if i >= len(values) else values[i]
                        for option, values in fmt.spellings.items()}
            used |= {(fmt.name, option, value) for option, value in spelling.items()}
            slug = "".join(c if c.isalnum() else "-" for c in f"{fmt.name}-{i:02d}-{story}").lower()
            files.append((f"{slug}{fmt.extension}", fmt.write(stays, rnd, spelling)))
    used |= {("CSV", f"{role} column", name) for role, names in NAMES_WRITTEN.items() for name in names}
    return files, used


XML_DAMAGE = {"cut-short.gpx", "not-xml.gpx"}


def unreadable_trails(windows: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    """Files the page must refuse in words: damaged, not a history, offset-less times, nothing to check."""
    w = windows[0]
    s = w["start"]
    return [
        ("empty.csv", b""),
        ("blank.json", b"  \n\t"),
        ("photo.json", bytes(range(256))),
        ("notes.txt", b"Dear diary,\nI went to the cafe.\n"),
        ("settings.json", b'{"theme": "dark", "volume": 3}'),
        ("cut-short.json", b'{"locations": [{"latitudeE7": 523700000, "longitudeE7": 48'),
        ("naive-records.json", json.dumps({"locations": [
            {"latitudeE7": e7(w["lat"]), "longitudeE7": e7(w["lon"]), "timestamp": iso(s + t, "naive")} for t in (0, 1800)
        ]}).encode()),
        ("naive-points.csv", f"lat,lon,time\n{w['lat']},{w['lon']},{iso(s, 'naive')}\n".encode()),
        ("naive-stay.csv", f"lat;lon;start;end\n{w['lat']};{w['lon']};{iso(s, 'z')};{iso(s + 3600, 'naive')}\n".encode()),
        ("no-time-column.csv", f"latitude,longitude\n{w['lat']},{w['lon']}\n".encode()),
        ("track-without-times.gpx", f'<gpx><trk><trkseg><trkpt lat="{w["lat"]}" lon="{w["lon"]}"/></trkseg></trk></gpx>'.encode()),
        ("not-gpx.kml", b"<kml><Document/></kml>"),
        ("cut-short.gpx", b'<?xml version="1.0"?><gpx version="1.1"><trk><trkseg><trkpt lat="52.37" lon="4.89">'),
        ("not-xml.gpx", b"hello"),
        ("out-of-range.geojson", json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [w["lat"], 95.5]},
                                             "properties": {"time": s}}).encode()),
        ("unknown-encoding.gpx", b'<?xml version="1.0" encoding="UTF-16"?><gpx/>'),
        ("not-utf8.csv", b"lat,lon,time\n52.37,4.89,\xff\n"),
        ("huge-time.csv", f"lat,lon,time\n{w['lat']},{w['lon']},{'9' * 25}\n".encode()),
        ("nothing-in-it.json", b'{"locations": []}'),
        ("header-only.csv", b"lat,lon,time\r\n"),
        ("no-tracks.gpx", b'<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"></gpx>'),
        ("empty-timeline.json", b"[]"),
        ("only-moving.csv", ("lat,lon,time\n" + "".join(f"{w['lat'] + 0.01 * k},{w['lon']},{s + 60 * k}\n"
                                                        for k in range(6))).encode()),
    ]


def any_json(rnd: random.Random, depth: int = 0) -> Any:
    """A JSON value of the kinds that reach the edges of the readers' rules."""
    kind = rnd.random()
    if depth > 2 or kind < 0.6:
        return rnd.choice([None, True, False, *NUMBERS, *TEXTS, rnd.randint(-(2**70), 2**70), rnd.uniform(-1e3, 1e3)])
    if kind < 0.8:
        return [any_json(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    return {rnd.choice(KEYS): any_json(rnd, depth + 1) for _ in range(rnd.randint(0, 3))}


def damaged_trails(rnd: random.Random, count: int) -> list[tuple[str, bytes]]:
    """Damaged files of every format, as the fuzz test writes them (tests/test_trail_fuzz.py), but seeded."""
    out = []
    for i in range(count):
        kind = ("json", "csv", "gpx")[i % 3]
        if kind == "json":
            name = rnd.choice(sorted(SAMPLES))
            doc = copy.deepcopy(SAMPLES[name])
            for _ in range(rnd.randint(1, 2)):
                path = rnd.choice(list(places(doc)))
                if not path:
                    doc = any_json(rnd)
                    continue
                parent = doc
                for step in path[:-1]:
                    parent = parent[step]
                if rnd.random() < 0.7:
                    parent[path[-1]] = any_json(rnd)
                else:
                    del parent[path[-1]]
            data = json.dumps(doc, ensure_ascii=rnd.random() < 0.5).encode()
        elif kind == "csv":
            name = "points.csv"
            d, nl = rnd.choice([",", ";", "\t"]), rnd.choice(["\n", "\r\n", "\r"])
            header = [rnd.choice(CSV_HEADERS) for _ in range(rnd.randint(1, 5))]
            rows = [[rnd.choice(CSV_CELLS) for _ in range(rnd.randint(0, 5))] for _ in range(rnd.randint(0, 3))]
            data = nl.join(d.join(r) for r in [header, *rows]).encode()
        else:
            name = "walk.gpx"
            encoding = rnd.choice(ENCODINGS)
            body = "".join(
                f'<{tag} lat="{rnd.choice(GPX_VALUES)}" lon="{rnd.choice(GPX_VALUES)}"><time>{rnd.choice(GPX_VALUES)}</time>'
                f"<{field}>{rnd.choice(GPX_VALUES)}</{field}></{tag}>"
                for tag, field in [(rnd.choice(["wpt", "trkpt"]), rnd.choice(["ele", "sat", "name"])) for _ in range(3)])
            body = body.replace("<trkpt", "<trk><trkseg><trkpt").replace("</trkpt>", "</trkpt></trkseg></trk>")
            text = (f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else "") + f"<gpx version='1.1'>{body}</gpx>"
            try:
                data = text.encode(encoding or "utf-8")
            except (LookupError, UnicodeError):
                data = text.encode("utf-8")
        how = rnd.random()
        if how < 0.15:
            data = data[:rnd.randrange(len(data) + 1)]
        elif how < 0.3 and data:
            at = rnd.randrange(len(data))
            data = data[:at] + bytes([rnd.randrange(256)]) + data[at + 1:]
        out.append((f"damaged-{i:03d}-{name}", data))
    return out


# --- What `epitrace check` says, and what the page shows ----------------------------------------------


def expected(name: str, data: bytes, document: dict[str, Any], public: str) -> dict[str, Any]:
    """read_trail and self_check, as `epitrace check --trail` runs them, in the terms the page shows."""
    try:
        trail = read_trail(data, name=name)
    except InputError as exc:
        return {"error": f"Could not check {name}: {exc.message}"}
    if trail.is_empty():  # epitrace check refuses it (nothing to check), as the page does
        with pytest.raises(InputError, match="so there is nothing to check"):
            self_check(document, trail=trail, public_key=public, today=TODAY)
        return {"stays": 0, "presences": [], "findings": []}
    result = self_check(document, trail=trail, public_key=public, today=TODAY)
    blocks = describe(result).split("\n\n")[1:]  # one block per finding, after the summary line
    ids = {(w["label"], w["start"]): w["id"] for b in document["batches"] for w in b["payload"].get("windows", [])}
    return {
        "stays": trail.height, "presences": [list(r[1:]) for r in trail.rows()],
        "findings": [{"window": ids[(f.place, int(f.window_start.timestamp()))], "overlap_s": f.overlap_s,
                      "text": " ".join(line.strip() for line in block.strip().splitlines())}
                     for f, block in zip(result.findings, blocks)],
    }


# What the page shows for the file named, as soon as it has shown it.
SHOWN = """(name) => new Promise((resolve) => {
  const out = document.getElementById("results");
  const all = (id) => [...out.querySelectorAll(`[data-testid="${id}"]`)];
  const look = () => {
    if (out.dataset.file !== name) return setTimeout(look, 2);
    resolve({
      stays: out.dataset.stays === undefined ? null : Number(out.dataset.stays),
      error: all("trail-error").map((p) => p.textContent)[0] ?? null,
      formats: all("formats").length, allClear: all("all-clear").length,
      findings: all("finding").map((p) => ({window: p.dataset.window, overlap_s: Number(p.dataset.overlapS),
                                            text: p.textContent})),
    });
  };
  look();
})"""


def choose(page: Page, name: str, data: bytes) -> dict[str, Any]:
    """Choose the file in the page as a resident would, and wait for what the page shows."""
    page.set_input_files("#trail", files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    return page.evaluate(SHOWN, name)


READ_IN_PAGE = """async (files) => {
  const {readTrail} = await import("/static/trail_read.js");
  return files.map(([name, b64]) => {
    try {
      const trail = readTrail(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), name);
      return trail.presences.map((p) => [p.lat, p.lon, p.start, p.end]);
    } catch (error) { return String(error.message); }
  });
}"""

MATCH_IN_PAGE = """async (cases) => {
  const {match} = await import("/static/match.js");
  return cases.map(([presences, windows, minimum]) => match(presences, windows, minimum)
    .map((f) => [f.window.id, f.overlapS, f.minDistanceM, f.firstStart, f.lastEnd]));
}"""


def random_matching_cases(rnd: random.Random, count: int) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]], int]]:
    """Presences and windows close together in space and time, so that radii, unions and minimums are all tested."""
    cases = []
    for _ in range(count):
        centre = (rnd.uniform(-60, 60), rnd.uniform(-179.9, 179.9))
        windows = [{"id": f"w{k}", "lat": (p := offset(centre, rnd.uniform(0, 300), rnd.uniform(0, 6.3)))[0], "lon": p[1],
                    "radius_m": rnd.choice([25.0, 50.0, 100.0, rnd.uniform(10, 400)]),
                    "start": (s := rnd.randrange(0, 20_000)), "end": s + rnd.randrange(60, 10_000)}
                   for k in range(rnd.randint(1, 4))]
        presences = [{"lat": (p := offset(centre, rnd.uniform(0, 400), rnd.uniform(0, 6.3)))[0], "lon": p[1],
                      "start": (s := rnd.randrange(0, 25_000)), "end": s + rnd.randrange(1, 8_000)}
                     for _ in range(rnd.randint(1, 8))]
        cases.append((presences, windows, rnd.choice([0, 60, 900, 1800])))
    return cases


def python_matches(cases: list[tuple[list[dict[str, Any]], list[dict[str, Any]], int]]) -> list[list[list[Any]]]:
    """engine.match on every case: one call per minimum overlap, each case its own person (building the engine's
    index costs more than matching these few presences)."""
    found: list[list[list[Any]]] = [[] for _ in cases]
    for minimum in sorted({c[2] for c in cases}):
        chosen = [i for i, c in enumerate(cases) if c[2] == minimum]
        presences = pl.DataFrame([{"person_id": f"{i}", **p} for i in chosen for p in cases[i][0]])
        windows = pl.DataFrame([{**w, "id": f"{i}:{w['id']}"} for i in chosen for w in cases[i][1]]).rename({"id": "window_id"})
        for r in match(presences, windows, min_overlap_s=minimum).iter_rows(named=True):
            case, window = r["window_id"].split(":")
            if case == r["person_id"]:  # a window of another case, nearby by chance, is no part of this one
                found[int(case)].append([window, r["overlap_s"], r["min_distance_m"], r["first_start"], r["last_end"]])
    return [sorted(rows) for rows in found]


@pytest.mark.slow
def test_the_page_reads_and_matches_as_epitrace_check_does_9(cli, db_url, monkeypatch) -> None:
    document, public, key = published_feed(cli)
    monkeypatch.setenv("EPITRACE_FEED_KEY", str(key))
    windows = [w for b in document["batches"] for w in b["payload"].get("windows", [])
               if date.fromisoformat(w["expires_on"]) >= TODAY]
    files, spellings = generated_trails(windows)
    w = windows[0]
    reported = [  # the files of the report (issue 9): the old page found 0 stays and said "No exposure found"
        ("reported-latitude-longitude-timestamp.csv", "latitude,longitude,timestamp\n" + "".join(
            f"{w['lat']},{w['lon']},{w['start'] + 60 * k}\n" for k in range(0, 31, 5))),
        ("reported-semicolons.csv", "lat;lon;time\n" + "".join(f"{w['lat']};{w['lon']};{w['start'] + 60 * k}\n"
                                                             for k in range(0, 31, 5))),
    ]
    files += [(name, text.encode()) for name, text in reported]
    refused = unreadable_trails(windows)
    expectations = {name: expected(name, data, document, public) for name, data in files + refused}
    rnd = random.Random(6)
    matching = random_matching_cases(rnd, 300)
    damaged = damaged_trails(rnd, 300)
    with live_server(create_app(make_engine(db_url))) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(f"{base}/selfcheck")
        page.get_by_text("The feed verifies: 2 signed batch(es), 2 current window(s).").wait_for()
        shown = {name: choose(page, name, data) for name, data in files + refused}
        read = page.evaluate(READ_IN_PAGE, [[name, base64.b64encode(data).decode()] for name, data in files + refused + damaged])
        matched = page.evaluate(MATCH_IN_PAGE, matching)
        browser.close()

    # Every generated trail: the same stays, the same windows, the same overlap, the same words.
    findings = 0
    for name, _ in files:
        want, got = expectations[name], shown[name]
        assert "error" not in want, f"{name}: the generator wrote a file read_trail refuses: {want}"
        assert got["error"] is None and got["stays"] == want["stays"] > 0, f"{name}: page {got}, epitrace check {want}"
        assert got["findings"] == want["findings"], f"{name}: the page and epitrace check disagree"
        assert got["allClear"] == (not want["findings"]), name
        findings += len(want["findings"])
    # The trails test what they should: exposures and all-clears in every format, both windows found.
    assert {f["window"] for e in expectations.values() for f in e.get("findings", [])} == {w["id"] for w in windows}
    assert findings >= len(FORMATS) * len(windows) * 3
    assert sum(1 for n, _ in files if not expectations[n]["findings"]) >= len(FORMATS) * len(windows) * 4
    assert spellings == {(f.name, option, value) for f in FORMATS for option, values in f.spellings.items() for value in values} | {
        ("CSV", f"{role} column", name) for role, names in CSV_NAMES.items() for name in names}

    # Unreadable files, or files with nothing to check, are errors in words, with the formats listed: never an all-clear.
    for name, _ in refused:
        got = shown[name]
        assert got["allClear"] == 0 and got["findings"] == [] and got["formats"] == 1, f"{name}: {got}"
        assert got["error"] is not None and got["error"].startswith(f"Could not check {name}: "), f"{name}: {got}"
        want = expectations[name]
        if "error" not in want:
            assert want["stays"] == 0 and "so there is nothing to check" in got["error"], f"{name}: {got}"
        elif name in XML_DAMAGE:  # the browser's XML parser, not expat, says what is wrong with the XML
            prefix, suffix = want["error"].split(": ", 1)[0], "; the file is damaged or cut short: export it again"
            assert got["error"].startswith(f"{prefix}: {name} is not valid XML: ") and got["error"].endswith(suffix), got
        else:
            assert got["error"] == want["error"], f"{name}: the page and epitrace check word the problem differently"
    for name, _ in reported:
        assert [f["window"] for f in shown[name]["findings"]] == [w["id"]], shown[name]
    naive = shown["naive-points.csv"]["error"]  # offset-less times: refused as Python refuses them, in its words
    assert naive == ("Could not check naive-points.csv: naive-points.csv line 2: time '2026-03-09T18:00:00' has no UTC "
                     "offset, so the moment is ambiguous: add one, e.g. 2024-03-10T18:00:00Z or 2024-03-10T19:00:00+01:00; "
                     "correct or remove that row")

    # Beneath the page: the presences themselves, to the last bit, and the matcher on 300 random cases.
    for (name, data), presences in zip(files + refused + damaged, read):
        if name not in expectations:
            try:
                expectations[name] = {"presences": [list(r[1:]) for r in read_trail(data, name=name).rows()]}
            except InputError as exc:
                expectations[name] = {"error": f"Could not check {name}: {exc.message}"}
        want = expectations[name]
        if name in XML_DAMAGE or " is not valid XML: " in want.get("error", ""):
            assert presences.startswith(f"{name} is not valid XML: "), (name, presences, want)
        elif "error" in want:
            assert presences == want["error"].removeprefix(f"Could not check {name}: "), (name, data[:300])
        else:
            assert presences == want["presences"], (name, data[:300])
    for case, (got_match, want_match) in enumerate(zip(matched, python_matches(matching))):
        assert [r[:2] + r[3:] for r in got_match] == [r[:2] + r[3:] for r in want_match], f"case {case}: {matching[case]}"
        assert all(math.isclose(g[2], w[2], rel_tol=1e-12, abs_tol=1e-6) for g, w in zip(got_match, want_match))


@pytest.fixture(autouse=True)
def _clock(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EPITRACE_TODAY", "2026-03-15")
