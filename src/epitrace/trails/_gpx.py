"""GPX 1.0 and 1.1: track points and waypoints with times.

* Track points are ``trk/trkseg/trkpt`` under the root, waypoints ``wpt`` under the root; elements
  are known by their local name, whatever their namespace. Routes are plans, not history, and
  everything else (elevation, satellites, extensions, metadata) says nothing about where someone
  was when: none of it is read, so none of it can make a history unreadable.
* A point has decimal ``lat`` and ``lon`` attributes and a ``<time>`` child, ISO-8601 as
  ``datetime.fromisoformat`` reads it; a time without an offset is UTC, as the GPX schema defines it.
* Every track point needs a time (a track drawn on a map has none and cannot say where someone
  was when). Waypoints with a time are points like track points; waypoints without one mark
  places, not visits, and are skipped.

The file is UTF-8 unless its XML declaration names ISO-8859-1, windows-1252 or US-ASCII; any other
encoding is refused by name. The self-check page reads GPX by these same rules (issue 9): it is
why they are few and written out here rather than left to a GPX library's own checks.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import datetime

from epitrace.errors import InputError
from epitrace.trails._values import ENCODINGS, TIME_EXAMPLE, Collected, Place, check_position, datetime_seconds, decode

XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
SAVE_AS_UTF8 = "save the GPX file as UTF-8"


def decode_xml(data: bytes, *, source: str) -> str:
    """XML text in the encoding its declaration names (UTF-8 when it names none)."""
    declared = XML_ENCODING.match(data)
    if declared is None:
        return decode(data, encoding="utf-8-sig", source=source, label="UTF-8", fix=SAVE_AS_UTF8)
    name = declared.group(1).decode("ascii")
    codec = ENCODINGS.get(name.lower().replace("_", "-"))
    if codec is None:
        raise InputError(
            f"{source} declares the encoding {name!r}, which epitrace does not read: {SAVE_AS_UTF8} "
            "(or declare UTF-8, ISO-8859-1, windows-1252 or US-ASCII)"
        )
    return decode(data, encoding=codec, source=source, label=name, fix=SAVE_AS_UTF8)


def parse_gpx(text: str, *, source: str) -> Collected:
    """Timed track points, then timed waypoints, of a GPX document."""
    try:
        root = ElementTree.fromstring(text.lstrip("\ufeff"))
    except ElementTree.ParseError as exc:
        raise InputError(f"{source} is not valid XML: {exc}; the file is damaged or cut short: export it again") from None
    out = Collected()
    for t, track in enumerate(children(root, "trk"), 1):
        for s, segment in enumerate(children(track, "trkseg"), 1):
            for p, point in enumerate(children(segment, "trkpt"), 1):
                place = Place(source, f"track {t}, segment {s}, point {p}", "correct or remove that point")
                lat, lon = position(point, place=place, what="point")
                written = time_text(point)
                if written is None:
                    raise place.error("has no <time>: every track point needs a time (a track drawn on a map has none)")
                out.add_point(seconds(written, place=place), lat, lon)
    for w, waypoint in enumerate(children(root, "wpt"), 1):
        place = Place(source, f"waypoint {w}", "correct or remove that waypoint")
        lat, lon = position(waypoint, place=place, what="waypoint")
        written = time_text(waypoint)
        if written is not None:
            out.add_point(seconds(written, place=place), lat, lon)
    return out


def children(parent: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    """Child elements with this local name, in any namespace (comments and processing instructions are not elements)."""
    return [child for child in parent if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == name]


def time_text(point: ElementTree.Element) -> str | None:
    """The text of the point's first ``<time>``, stripped; None when it has none or it is blank."""
    times = children(point, "time")
    return "".join(times[0].itertext()).strip() or None if times else None


def position(point: ElementTree.Element, *, place: Place, what: str) -> tuple[float, float]:
    """``(lat, lon)`` from the point's attributes, both decimal degrees on Earth."""
    values = []
    for attribute in ("lat", "lon"):
        value = point.get(attribute)
        if value is None:
            raise place.error(f"has no {attribute} attribute: every {what} needs lat and lon")
        try:
            values.append(float(value))
        except ValueError:
            raise place.error(f"{attribute}={value!r} is not a number: expected decimal degrees") from None
    lat, lon = values
    return check_position(lat, lon, place=place, shown=f'lat="{lat:g}" lon="{lon:g}"')


def seconds(written: str, *, place: Place) -> int:
    """Unix seconds of a point's time (UTC when it has no offset)."""
    try:
        moment = datetime.fromisoformat(written)
    except ValueError:
        raise place.error(f"time {written!r} is not a time: expected ISO-8601, {TIME_EXAMPLE}") from None
    return datetime_seconds(moment, place=place, name="time", shown=written, naive_is_utc=True)
