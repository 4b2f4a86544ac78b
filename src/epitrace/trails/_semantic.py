"""Google Takeout Semantic Location History: the monthly ``YYYY_MONTH.json`` files.

``{"timelineObjects": [...]}`` where each object is a ``placeVisit`` (a stay, used as it is) or an
``activitySegment`` (movement, ignored). A visit's place is ``location.latitudeE7/longitudeE7``,
or the visit's ``centerLatE7/centerLngE7`` when the location has none; a visit with neither
names a place without coordinates and is skipped. Times are ``duration.startTimestamp`` and
``endTimestamp`` (ISO-8601) or, in older files, ``startTimestampMs`` and ``endTimestampMs``.
``childVisits`` lie inside their parent visit's time and are not read again.
"""

from __future__ import annotations

from typing import Any

from epitrace.trails._values import Collected, Place, e7_position, iso_seconds, items, member, ms_text_seconds


def parse_semantic(doc: Any, *, source: str) -> Collected:
    """Every place visit of a Semantic Location History document."""
    root = Place(source, "")
    objects = items(member(doc, "timelineObjects", place=root, what="Semantic Location History file"),
                    place=root.at("timelineObjects"))
    out = Collected()
    for index, entry in enumerate(objects):
        place = root.at(f"timelineObjects[{index}]")
        if not isinstance(entry, dict):
            raise place.error("expected a JSON object with a placeVisit or an activitySegment")
        visit = entry.get("placeVisit")
        if visit is None:
            continue
        place = place.at("placeVisit")
        if not isinstance(visit, dict):
            raise place.error("expected a JSON object with location and duration")
        position = visit_position(visit, place=place)
        if position is None:
            continue
        duration = member(visit, "duration", place=place, what="placeVisit")
        start = duration_time(duration, "start", place=place.at("duration"))
        end = duration_time(duration, "end", place=place.at("duration"))
        out.add_visit(*position, start, end, place=place)
    return out


def visit_position(visit: dict[str, Any], *, place: Place) -> tuple[float, float] | None:
    location = visit.get("location")
    if isinstance(location, dict) and (location.get("latitudeE7") is not None or location.get("longitudeE7") is not None):
        return e7_position(location.get("latitudeE7"), location.get("longitudeE7"), place=place.at("location"),
                           names=("latitudeE7", "longitudeE7"))
    if visit.get("centerLatE7") is not None or visit.get("centerLngE7") is not None:
        return e7_position(visit.get("centerLatE7"), visit.get("centerLngE7"), place=place,
                           names=("centerLatE7", "centerLngE7"))
    return None


def duration_time(duration: Any, which: str, *, place: Place) -> int:
    """``startTimestamp``/``endTimestamp`` (ISO-8601) or the older ``...TimestampMs``, as Unix seconds."""
    if not isinstance(duration, dict):
        raise place.error("expected a JSON object with startTimestamp and endTimestamp")
    key = f"{which}Timestamp"
    if duration.get(key) is not None:
        return iso_seconds(duration[key], place=place, name=key)
    if duration.get(f"{key}Ms") is not None:
        return ms_text_seconds(duration[f"{key}Ms"], place=place, name=f"{key}Ms")
    raise place.error(f"no {key} or {key}Ms: every visit needs a start and an end time")
