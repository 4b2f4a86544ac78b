"""GPX 1.0 and 1.1: track points and waypoints with times, read with gpxpy.

Every track point needs a ``<time>`` (a track drawn on a map has none and cannot say where
someone was when). Waypoints with a time are points like track points; waypoints without one
mark places, not visits, and are skipped. Routes are plans, not history, and are not read.
Times without an offset are UTC, as the GPX schema defines them. The file is UTF-8 unless its XML
declaration names ISO-8859-1, windows-1252 or US-ASCII (the encodings the self-check page decodes
byte for byte alike); any other encoding is refused by name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from functools import partial
from datetime import UTC, datetime
from typing import Any

from epitrace.errors import ConfigurationError, InputError
from epitrace.trails._values import (
    ENCODINGS,
    EPOCH,
    FIRST_SECOND,
    LAST_SECOND,
    ONE_SECOND,
    TIME_EXAMPLE,
    Collected,
    Place,
    check_position,
    decode,
    in_range,
)

XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
GPXPY_PIN = "gpxpy==1.6.2"
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
    """Timed track points and waypoints of a GPX document."""
    try:
        import gpxpy
        import gpxpy.gpx
    except ImportError:  # pragma: no cover - gpxpy is a dependency; this guards a broken install
        raise ConfigurationError(f"reading GPX files needs gpxpy, which is not installed: pip install {GPXPY_PIN}") from None
    # The standard library's parser first, so that syntax errors read the same whichever XML
    # library gpxpy picked (it prefers lxml when installed); its tree also gives raw <time> texts.
    try:
        raw = RawTimes(ElementTree.fromstring(text.lstrip("\ufeff")))
    except ElementTree.ParseError as exc:
        raise InputError(f"{source} is not valid XML: {exc}; the file is damaged or cut short: export it again") from None
    raw.check_positions(source=source)
    try:
        gpx = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        raise InputError(f"{source} is not valid GPX: {exc}; correct the file or export it again") from None
    out = Collected()
    for t, track in enumerate(gpx.tracks, 1):
        for s, segment in enumerate(track.segments, 1):
            for p, point in enumerate(segment.points, 1):
                place = Place(source, f"track {t}, segment {s}, point {p}", "correct or remove that point")
                lat, lon = position(point, place=place)
                if point.time is None:
                    shown = raw.track_point(t, s, p)
                    if shown is None:
                        raise place.error("has no <time>: every track point needs a time (a track drawn on a map has none)")
                    raise place.error(f"time {shown!r} is not a time: expected ISO-8601, {TIME_EXAMPLE}")
                out.add_point(seconds(point.time, place=place, written=partial(raw.track_point, t, s, p)), lat, lon)
    for w, waypoint in enumerate(gpx.waypoints, 1):
        place = Place(source, f"waypoint {w}", "correct or remove that waypoint")
        lat, lon = position(waypoint, place=place)
        if waypoint.time is None:
            shown = raw.waypoint(w)
            if shown is None:
                continue
            raise place.error(f"time {shown!r} is not a time: expected ISO-8601, {TIME_EXAMPLE}")
        out.add_point(seconds(waypoint.time, place=place, written=partial(raw.waypoint, w)), lat, lon)
    return out


def position(point: Any, *, place: Place) -> tuple[float, float]:
    return check_position(point.latitude, point.longitude, place=place,
                          shown=f"lat=\"{point.latitude:g}\" lon=\"{point.longitude:g}\"")


def seconds(moment: datetime, *, place: Place, written: Callable[[], str | None]) -> int:
    """Unix seconds of a point's time (UTC when it has no offset); ``written`` gives its text for messages."""
    try:
        value = (moment.replace(tzinfo=moment.tzinfo or UTC) - EPOCH) // ONE_SECOND
    except ValueError:  # gpxpy accepts offsets of any size; a datetime refuses 24 hours or more
        raise place.error(f"time {written()!r} has a UTC offset of 24 hours or more: expected ISO-8601, {TIME_EXAMPLE}") from None
    if FIRST_SECOND <= value <= LAST_SECOND:
        return value
    return in_range(value, place=place, name="time", value=written())


class RawTimes:
    """The ``<time>`` text of a point as written, for messages when gpxpy could not read it."""

    def __init__(self, root: ElementTree.Element) -> None:
        self.root = root

    @staticmethod
    def _children(parent: ElementTree.Element, name: str) -> list[ElementTree.Element]:
        return [child for child in parent if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == name]

    def _time(self, element: ElementTree.Element) -> str | None:
        times = self._children(element, "time")
        return (times[0].text or "").strip() or None if times else None

    def check_positions(self, *, source: str) -> None:
        """Every track point and waypoint has numeric lat and lon attributes (gpxpy's own message names no place)."""
        located = [(f"waypoint {w}", "waypoint", e) for w, e in enumerate(self._children(self.root, "wpt"), 1)]
        for t, track in enumerate(self._children(self.root, "trk"), 1):
            for s, segment in enumerate(self._children(track, "trkseg"), 1):
                located += [(f"track {t}, segment {s}, point {p}", "point", e)
                            for p, e in enumerate(self._children(segment, "trkpt"), 1)]
        for where, what, element in located:
            for attribute in ("lat", "lon"):
                value = element.get(attribute)
                place = Place(source, where, f"correct or remove that {what}")
                if value is None:
                    raise place.error(f"has no {attribute} attribute: every {what} needs lat and lon")
                try:
                    float(value)
                except ValueError:
                    raise place.error(f"{attribute}={value!r} is not a number: expected decimal degrees") from None

    def track_point(self, t: int, s: int, p: int) -> str | None:
        try:
            track = self._children(self.root, "trk")[t - 1]
            segment = self._children(track, "trkseg")[s - 1]
            return self._time(self._children(segment, "trkpt")[p - 1])
        except IndexError:
            return None

    def waypoint(self, w: int) -> str | None:
        try:
            return self._time(self._children(self.root, "wpt")[w - 1])
        except IndexError:
            return None
