"""Google Maps Timeline exported from the phone (2024 on), in both of its shapes.

Android (``Timeline.json``): ``{"semanticSegments": [...], "rawSignals": [...], ...}``.
iOS (``location-history.json``): a top-level list of the same kind of segments.

A segment has ``startTime``/``endTime`` (ISO-8601 with offset) and one of:

* ``visit`` (a stay, used as it is): ``topCandidate.placeLocation`` is ``{"latLng": "52.3702°, 4.8952°"}``
  (Android) or the text ``"geo:52.370200,4.895200"`` (iOS);
* ``timelinePath`` (raw points): ``[{"point": "52.3702°, 4.8952°", "time": ...}]``, or on iOS
  ``[{"point": "geo:...", "durationMinutesOffsetFromStartTime": "12"}]``, minutes after the
  segment's start;
* ``activity`` or ``timelineMemory`` (movement and summaries, ignored).

``rawSignals[].position`` (``LatLng`` and ``timestamp``) are raw points too; other raw signals
(Wi-Fi scans, activity records) carry no position and are skipped.
"""

from __future__ import annotations

import math
from typing import Any

from epitrace.trails._values import (
    TIME_RANGE,
    Collected,
    Place,
    in_range,
    iso_seconds,
    items,
    json_text,
    member,
    number,
    text_position,
)

SEGMENT_KEYS = ("visit", "activity", "timelinePath", "timelineMemory")


def parse_timeline(doc: Any, *, source: str) -> Collected:
    """Visits and path points of a Timeline export (object or list form)."""
    root = Place(source, "")
    out = Collected()
    if isinstance(doc, list):
        segments, prefix, signals = doc, "", []
    else:
        if not isinstance(doc, dict) or not ("semanticSegments" in doc or "rawSignals" in doc):
            raise root.error(
                'no semanticSegments: expected a Timeline export, {"semanticSegments": [...]} or a list of segments'
            )
        segments = items(doc.get("semanticSegments") or [], place=root.at("semanticSegments"))
        signals = items(doc.get("rawSignals") or [], place=root.at("rawSignals"))
        prefix = "semanticSegments"
    for index, segment in enumerate(segments):
        place = root.at(f"{prefix}[{index}]")
        if not isinstance(segment, dict):
            raise place.error("expected a JSON object with startTime, endTime and a visit, activity or timelinePath")
        if segment.get("visit") is not None:
            read_visit(segment, out, place=place)
        if segment.get("timelinePath") is not None:
            read_path(segment, out, place=place)
    for index, signal in enumerate(signals):
        if isinstance(signal, dict) and isinstance(signal.get("position"), dict):
            read_signal(signal["position"], out, place=root.at(f"rawSignals[{index}].position"))
    return out


def segment_time(segment: dict[str, Any], key: str, *, place: Place) -> int:
    return iso_seconds(member(segment, key, place=place, what="segment"), place=place, name=key)


def read_visit(segment: dict[str, Any], out: Collected, *, place: Place) -> None:
    start = segment_time(segment, "startTime", place=place)
    end = segment_time(segment, "endTime", place=place)
    at = place.at("visit")
    candidate = member(segment["visit"], "topCandidate", place=at, what="visit")
    at = at.at("topCandidate")
    location = member(candidate, "placeLocation", place=at, what="visit candidate")
    at = at.at("placeLocation")
    if isinstance(location, dict):
        lat, lon = text_position(member(location, "latLng", place=at, what="place location"), place=at, name="latLng")
    else:
        lat, lon = text_position(location, place=at, name="placeLocation")
    out.add_visit(lat, lon, start, end, place=place)


def read_path(segment: dict[str, Any], out: Collected, *, place: Place) -> None:
    path_place = place.at("timelinePath")
    start: int | None = None
    for index, step in enumerate(items(segment["timelinePath"], place=path_place)):
        at = path_place.at(f"[{index}]")
        lat, lon = text_position(member(step, "point", place=at, what="path point"), place=at, name="point")
        if step.get("time") is not None:
            time = iso_seconds(step["time"], place=at, name="time")
        elif step.get("durationMinutesOffsetFromStartTime") is not None:
            if start is None:
                start = segment_time(segment, "startTime", place=place)
            given = step["durationMinutesOffsetFromStartTime"]
            offset_s = number(given, place=at, name="durationMinutesOffsetFromStartTime") * 60
            if not math.isfinite(offset_s):
                raise at.error(f"durationMinutesOffsetFromStartTime {json_text(given)} is out of range: {TIME_RANGE}")
            time = in_range(start + round(offset_s), place=at, name="durationMinutesOffsetFromStartTime", value=given)
        else:
            raise at.error("no time or durationMinutesOffsetFromStartTime: every point needs a time")
        out.add_point(time, lat, lon)


def read_signal(position: dict[str, Any], out: Collected, *, place: Place) -> None:
    key = "LatLng" if "LatLng" in position else "latLng"
    lat, lon = text_position(member(position, key, place=place, what="position"), place=place, name=key)
    time = iso_seconds(member(position, "timestamp", place=place, what="position"), place=place, name="timestamp")
    out.add_point(time, lat, lon)
