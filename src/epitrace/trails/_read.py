"""Which format a trail file is in, and the presences it gives."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from epitrace.errors import InputError
from epitrace.trails._csv import header_columns, parse_csv
from epitrace.trails._geojson import parse_geojson
from epitrace.trails._gpx import decode_xml, parse_gpx
from epitrace.trails._records import parse_records
from epitrace.trails._semantic import parse_semantic
from epitrace.trails._stays import STAY_SCHEMA, check_stay_options, detect_stays
from epitrace.trails._timeline import SEGMENT_KEYS, parse_timeline
from epitrace.trails._values import Collected, TrailFormat, decode

PERSON_ID = "me"
FORMATS: tuple[TrailFormat, ...] = ("records", "semantic", "timeline", "gpx", "geojson", "csv")
JSON_FORMATS = ("records", "semantic", "timeline", "geojson")
JSON_SUFFIXES = (".json", ".geojson")
EXPECTED = (
    "expected a Google Takeout Records.json, a Semantic Location History month file, a Google Maps Timeline "
    "export, GPX, GeoJSON, or CSV with lat,lon,time or lat,lon,start,end columns"
)
BEFORE, AFTER = 10, 20  # characters of the line shown around a JSON error
GPX_ROOT = re.compile(r"<(?:[\w.-]+:)?gpx[\s/>]")


def read_trail(
    path_or_bytes: str | Path | bytes,
    *,
    name: str | None = None,
    format: TrailFormat | None = None,
    distance_m: float = 100.0,
    min_stay_s: int = 600,
    max_gap_s: int = 7200,
) -> pl.DataFrame:
    """Presences of one's own location history, from a file in any supported format.

    Stays the file already records (Takeout place visits, Timeline visits, CSV or GeoJSON stays)
    are used as they are. Raw points (Records.json, GPX, GeoJSON points and lines, CSV points,
    Timeline paths) become stays by ``detect_stays``; points that fall inside a recorded visit
    are left out first, since the visit already covers that time.

    Parameters
    ----------
    path_or_bytes
        The file, or its content.
    name
        The file's name in messages, and its extension as a hint to the format (default: the
        path's name, or ``"trail"`` for bytes).
    format
        One of ``"records"``, ``"semantic"``, ``"timeline"``, ``"gpx"``, ``"geojson"``, ``"csv"``
        to skip detection; default: detected from the content.
    distance_m, min_stay_s, max_gap_s
        Thresholds of stay detection, as in ``detect_stays``: 100 m, 10 minutes, 2 hours.

    Returns
    -------
    polars.DataFrame
        ``person_id, lat, lon, start, end``: person_id ``"me"``, integer Unix seconds,
        half-open ``[start, end)``, sorted by start; the geo presences ``engine.match`` takes.

    Raises
    ------
    InputError
        The file is none of the formats, or is damaged: the message names the file, the place in
        it, the value and what was expected.

    Examples
    --------
    >>> csv = b"lat,lon,time\\n52.37,4.9,2024-03-10T10:00:00Z\\n52.37,4.9,2024-03-10T10:30:00Z\\n"
    >>> read_trail(csv, name="walk.csv").rows()
    [('me', 52.37, 4.9, 1710064800, 1710066600)]
    """
    check_stay_options(distance_m=distance_m, min_stay_s=min_stay_s, max_gap_s=max_gap_s)
    data, source = load(path_or_bytes, name=name)
    found, content = sniff(data, source=source, forced=format)
    collected = parse(found, content, source=source)
    return presences(collected, distance_m=distance_m, min_stay_s=min_stay_s, max_gap_s=max_gap_s)


def detect_format(path_or_bytes: str | Path | bytes, *, name: str | None = None) -> TrailFormat:
    """The format of a trail file, from its content (its extension only breaks ties).

    JSON files are parsed to be told apart, so a damaged one is reported here already.

    Examples
    --------
    >>> detect_format(b'{"locations": []}')
    'records'
    >>> detect_format(b"<gpx version='1.1'></gpx>")
    'gpx'
    """
    data, source = load(path_or_bytes, name=name)
    return sniff(data, source=source, forced=None)[0]


def load(path_or_bytes: str | Path | bytes, *, name: str | None) -> tuple[bytes, str]:
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        return bytes(path_or_bytes), name or "trail"
    path = Path(path_or_bytes)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file; check the path")
    return path.read_bytes(), name or path.name


def sniff(data: bytes, *, source: str, forced: TrailFormat | None) -> tuple[TrailFormat, Any]:
    """The format and the decoded content (a JSON document, or text)."""
    if forced is not None and forced not in FORMATS:
        raise InputError(f"format {forced!r} is not known: expected one of {', '.join(FORMATS)}")
    suffix = Path(source).suffix.lower()
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not head:
        raise InputError(f"{source} is empty: {EXPECTED}")
    if forced == "gpx" or (forced is None and (head == b"<" or suffix == ".gpx")):
        text = decode_xml(data, source=source)
        if head == b"<" and not GPX_ROOT.search(text[:65536]):
            raise InputError(f"{source} is XML but not GPX (no <gpx> element): {EXPECTED}")
        return "gpx", text
    text = decode_text(data, source=source)
    if forced in JSON_FORMATS or (forced is None and (head in (b"{", b"[") or suffix in JSON_SUFFIXES)):
        doc = parse_json(text, source=source)
        return forced or classify(doc, source=source), doc
    if forced == "csv" or (forced is None and header_columns(text) is not None):
        return "csv", text
    raise InputError(f"{source} is not a location history epitrace can read: {EXPECTED}; export your history in one of these")


def decode_text(data: bytes, *, source: str) -> str:
    return decode(data, encoding="utf-8-sig", source=source, label="UTF-8", fix="save the file as UTF-8, or export it again")


def parse_json(text: str, *, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = exc.doc.splitlines()  # may split where JSON counts no line (\r, \x0c, ...): then fewer are shown
        line = lines[exc.lineno - 1] if exc.doc.strip() and exc.lineno <= len(lines) else ""
        near = line[max(0, exc.colno - 1 - BEFORE):exc.colno - 1 + AFTER]
        shown = f" near {near!r}" if near.strip() else ""
        raise InputError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}{shown}; "
            "the file is damaged or cut short: export it again"
        ) from None
    except RecursionError:
        raise InputError(f"{source} nests JSON too deeply to read: {EXPECTED}") from None
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise InputError(
            f"{source} has a number of more than 4300 digits, which no location history holds: "
            "the file is damaged: export it again"
        ) from None


def classify(doc: Any, *, source: str) -> TrailFormat:
    """Which JSON format a parsed document is in."""
    if isinstance(doc, dict):
        if "locations" in doc:
            return "records"
        if "timelineObjects" in doc:
            return "semantic"
        if "semanticSegments" in doc or "rawSignals" in doc:
            return "timeline"
        if doc.get("type") in ("FeatureCollection", "Feature"):
            return "geojson"
        keys = ", ".join(repr(k) for k in list(doc)[:5]) + (", ..." if len(doc) > 5 else "")
        raise InputError(f"{source} is JSON (an object with keys {keys or 'none'}) but not a location history: {EXPECTED}")
    if isinstance(doc, list) and all(
        isinstance(entry, dict) and any(key in entry for key in ("startTime", *SEGMENT_KEYS)) for entry in doc[:10]
    ):
        return "timeline"  # the iOS Timeline export (an empty list is a Timeline with no entries)
    shape = "a list" if isinstance(doc, list) else "a single value"
    raise InputError(f"{source} is JSON ({shape}) but not a location history: {EXPECTED}")


def parse(found: TrailFormat, content: Any, *, source: str) -> Collected:
    parser = {
        "records": parse_records,
        "semantic": parse_semantic,
        "timeline": parse_timeline,
        "gpx": parse_gpx,
        "geojson": parse_geojson,
        "csv": parse_csv,
    }[found]
    return parser(content, source=source)


def presences(collected: Collected, *, distance_m: float, min_stay_s: int, max_gap_s: int) -> pl.DataFrame:
    """Visits as they are, plus stays of the points outside every visit, as ``person_id`` "me"."""
    visits = pl.DataFrame(
        {"lat": collected.visit_lat, "lon": collected.visit_lon, "start": collected.visit_start, "end": collected.visit_end},
        schema=STAY_SCHEMA,
    )
    points = pl.DataFrame(
        {"lat": collected.point_lat, "lon": collected.point_lon, "time": collected.point_time},
        schema={"lat": pl.Float64, "lon": pl.Float64, "time": pl.Int64},
    )
    if visits.height and points.height:
        points = points.filter(~pl.Series(covered(points["time"].to_numpy(), visits)))
    stays = detect_stays(points, distance_m=distance_m, min_stay_s=min_stay_s, max_gap_s=max_gap_s)
    return (
        pl.concat([visits, stays])
        .sort("start", "end", "lat", "lon")
        .select(pl.lit(PERSON_ID).alias("person_id"), "lat", "lon", "start", "end")
    )


def covered(times: np.ndarray, visits: pl.DataFrame) -> np.ndarray:
    """Whether each time falls inside some visit's ``[start, end)``."""
    spans = visits.select("start", "end").sort("start").rows()
    starts: list[int] = []
    ends: list[int] = []
    for start, end in spans:  # merge overlapping visits into disjoint spans
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    index = np.searchsorted(np.asarray(starts), times, side="right") - 1
    return (index >= 0) & (times < np.asarray(ends)[np.maximum(index, 0)])
