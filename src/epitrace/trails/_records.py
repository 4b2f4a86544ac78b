"""Google Takeout location history: raw points from ``Records.json`` (also ``Location History.json``).

One object ``{"locations": [...]}``; each location has ``latitudeE7``, ``longitudeE7`` (degrees x
10^7) and a time, either ``timestamp`` (ISO-8601, newer exports) or ``timestampMs`` (milliseconds
as text, older exports). ``accuracy``, ``activity``, ``source`` and the rest are not needed. A
location with no coordinates at all (some carry only a Wi-Fi scan or an activity guess) is skipped.
"""

from __future__ import annotations

from typing import Any

from epitrace.trails._values import Collected, Place, e7_position, iso_seconds, items, member, ms_text_seconds

E7_NAMES = ("latitudeE7", "longitudeE7")


def parse_records(doc: Any, *, source: str) -> Collected:
    """Every located point of a Records.json document."""
    root = Place(source, "")
    locations = items(member(doc, "locations", place=root, what="Records.json"), place=root.at("locations"))
    out = Collected()
    for index, entry in enumerate(locations):
        place = root.at(f"locations[{index}]")
        if not isinstance(entry, dict):
            raise place.error("expected a JSON object with latitudeE7, longitudeE7 and timestamp")
        present = [name for name in E7_NAMES if entry.get(name) is not None]
        if not present:
            continue
        if len(present) == 1:
            missing = E7_NAMES[1 - E7_NAMES.index(present[0])]
            raise place.error(f"has {present[0]} but no {missing}: a position needs both")
        lat, lon = e7_position(entry["latitudeE7"], entry["longitudeE7"], place=place, names=E7_NAMES)
        out.add_point(record_time(entry, place=place), lat, lon)
    return out


def record_time(entry: dict[str, Any], *, place: Place) -> int:
    """Unix seconds of a location, from ``timestamp`` or the older ``timestampMs``."""
    if entry.get("timestamp") is not None:
        return iso_seconds(entry["timestamp"], place=place, name="timestamp")
    if entry.get("timestampMs") is not None:
        return ms_text_seconds(entry["timestampMs"], place=place, name="timestampMs")
    raise place.error("no timestamp or timestampMs: every point needs a time")
