"""GeoJSON (RFC 7946) trails: timed points and lines, as written by GPS apps and converters.

* ``Point`` features with a time in ``properties.time``, ``timestamp`` or ``datetime`` are raw
  points; a ``Point`` with ``properties.start`` and ``end`` is a stay, used as it is.
* ``LineString`` and ``MultiPoint`` features carry one time per position in
  ``properties.coordinateTimes``, ``coordTimes``, ``times`` or ``coordinateProperties.times``;
  a ``MultiLineString`` carries one such list per line.
* Features without a geometry, and polygons, carry no times and are skipped.

Positions are ``[longitude, latitude]``. Times are ISO-8601 with an offset, or numbers of Unix
seconds (milliseconds when 10^11 or more).
"""

from __future__ import annotations

from typing import Any

from epitrace.trails._values import Collected, Place, any_seconds, check_position, items, json_text, member, number

POINT_TIME_KEYS = ("time", "timestamp", "datetime")
LINE_TIME_KEYS = ("coordinateTimes", "coordTimes", "times")
FIX = "correct or remove that feature"


def parse_geojson(doc: Any, *, source: str) -> Collected:
    """Timed points, lines and stays of a FeatureCollection (or a single Feature)."""
    root = Place(source, "", FIX)
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [(doc, root)]
    else:
        listed = items(member(doc, "features", place=root, what="FeatureCollection"), place=root.at("features"))
        features = [(feature, root.at(f"features[{i}]")) for i, feature in enumerate(listed)]
    out = Collected()
    for feature, place in features:
        if not isinstance(feature, dict):
            raise place.error(f"expected a GeoJSON Feature object, found {json_text(feature)}")
        geometry = feature.get("geometry")
        if geometry is None:
            continue
        kind = member(geometry, "type", place=place.at("geometry"), what="geometry")
        properties = feature.get("properties") or {}
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        at = place.at("geometry.coordinates")
        if kind == "Point":
            read_point(coordinates, properties, out, place=place)
        elif kind in ("LineString", "MultiPoint"):
            positions = [(p, at.at(f"[{i}]")) for i, p in enumerate(items(coordinates, place=at))]
            read_line(positions, line_times(properties, place=place, nested=False), out, place=place)
        elif kind == "MultiLineString":
            positions = [(p, at.at(f"[{i}][{j}]")) for i, line in enumerate(items(coordinates, place=at))
                         for j, p in enumerate(items(line, place=at.at(f"[{i}]")))]
            read_line(positions, line_times(properties, place=place, nested=True), out, place=place)
    return out


def read_point(coordinates: Any, properties: Any, out: Collected, *, place: Place) -> None:
    lat, lon = lat_lon(coordinates, place=place.at("geometry.coordinates"))
    props = properties if isinstance(properties, dict) else {}
    if props.get("start") is not None and props.get("end") is not None:
        at = place.at("properties")
        out.add_visit(lat, lon, any_seconds(props["start"], place=at, name="start"),
                      any_seconds(props["end"], place=at, name="end"), place=place)
        return
    for key in POINT_TIME_KEYS:
        if props.get(key) is not None:
            out.add_point(any_seconds(props[key], place=place.at("properties"), name=key), lat, lon)
            return
    raise place.error("no time, timestamp or datetime property (or start and end): every point needs a time")


def line_times(properties: Any, *, place: Place, nested: bool) -> list[tuple[Any, Place]]:
    """The times of a line's positions, each with its place (one list per line when ``nested``)."""
    props = properties if isinstance(properties, dict) else {}
    found = [(props[key], f"properties.{key}") for key in LINE_TIME_KEYS if props.get(key) is not None]
    extra = props.get("coordinateProperties")
    if isinstance(extra, dict) and extra.get("times") is not None:
        found.append((extra["times"], "properties.coordinateProperties.times"))
    if not found:
        raise place.error("no coordinateTimes, coordTimes or times property: every point of a line needs a time")
    times, where = found[0]
    at = place.at(where)
    listed = items(times, place=at)
    if nested and all(isinstance(line, list) for line in listed):
        return [(t, at.at(f"[{i}][{j}]")) for i, line in enumerate(listed) for j, t in enumerate(line)]
    return [(t, at.at(f"[{i}]")) for i, t in enumerate(listed)]


def read_line(positions: list[tuple[Any, Place]], times: list[tuple[Any, Place]], out: Collected, *, place: Place) -> None:
    if len(times) != len(positions):
        raise place.error(f"has {len(positions)} positions but {len(times)} times: expected one time per position")
    for (position, position_at), (time, time_at) in zip(positions, times):
        lat, lon = lat_lon(position, place=position_at)
        out.add_point(any_seconds(time, place=time_at, name="time"), lat, lon)


def lat_lon(position: Any, *, place: Place) -> tuple[float, float]:
    """``(lat, lon)`` from a GeoJSON position ``[longitude, latitude, (altitude)]``."""
    if not isinstance(position, list) or len(position) < 2:
        raise place.error(f"position {json_text(position)} is not [longitude, latitude]")
    lon = number(position[0], place=place, name="longitude")
    lat = number(position[1], place=place, name="latitude")
    return check_position(lat, lon, place=place,
                          shown=f"position [{json_text(position[0])}, {json_text(position[1])}] (longitude, latitude)")
