"""Checked values shared by every trail format: places in a file, times, positions, and what was read.

Every parser reports a bad value the same way: the file, the place in it, the value, what was
expected, and what to do about it.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from epitrace.errors import InputError

TrailFormat = Literal["records", "semantic", "timeline", "gpx", "geojson", "csv"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)
# Numbers at or above this many are milliseconds: 1e11 seconds is the year 5138, and 1e11 ms is 1973.
MILLISECONDS_FROM = 100_000_000_000
# Unix seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: no history lies outside, and every
# time inside fits the int64 columns (and is exact as a JavaScript number in the self-check page).
FIRST_SECOND, LAST_SECOND = -62_135_596_800, 253_402_300_799
TIME_RANGE = "expected a time between 0001-01-01 and 9999-12-31 UTC"
TIME_EXAMPLE = "e.g. 2024-03-10T18:00:00Z or 2024-03-10T19:00:00+01:00"
# "52.3702°, 4.8952°" (Android Timeline export) or "geo:52.370200,4.895200" (iOS export).
LATLNG_TEXT = re.compile(r"^\s*(?:geo:)?\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*°?\s*,\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*°?\s*$")


# The encodings a file may declare (GPX): each is decoded byte for byte alike here and in the self-check page.
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "ascii", "ascii": "ascii", "iso-8859-1": "latin-1",
             "iso8859-1": "latin-1", "latin-1": "latin-1", "latin1": "latin-1", "windows-1252": "cp1252",
             "cp1252": "cp1252"}


def decode(data: bytes, *, encoding: str, source: str, label: str, fix: str) -> str:
    """``data`` as text; the first byte that is not ``label`` text is named, counted from 1 in the file."""
    # utf-8-sig reports positions after the byte-order mark it skipped: count them back in.
    skipped = 3 if encoding == "utf-8-sig" and data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        at = exc.start + skipped
        raise InputError(f"{source} is not {label} text: byte {at + 1} is {data[at:at + 1]!r}; {fix}") from None


@dataclass(frozen=True)
class Place:
    """Where in a file a value sits, and how the reader can fix a bad one there."""

    source: str
    where: str
    fix: str = "correct or remove that entry"

    def __str__(self) -> str:
        return f"{self.source} {self.where}" if self.where else self.source

    def at(self, where: str) -> Place:
        """A place further inside this one (``where`` is appended JSON-path style)."""
        joined = f"{self.where}{where}" if where.startswith("[") or not self.where else f"{self.where}.{where}"
        return Place(self.source, joined, self.fix)

    def error(self, problem: str) -> InputError:
        return InputError(f"{self}: {problem}; {self.fix}")


@dataclass
class Collected:
    """Raw points (to be turned into stays) and visits (already stays) read from one file."""

    point_time: list[int] = field(default_factory=list)
    point_lat: list[float] = field(default_factory=list)
    point_lon: list[float] = field(default_factory=list)
    visit_lat: list[float] = field(default_factory=list)
    visit_lon: list[float] = field(default_factory=list)
    visit_start: list[int] = field(default_factory=list)
    visit_end: list[int] = field(default_factory=list)

    def add_point(self, time: int, lat: float, lon: float) -> None:
        self.point_time.append(time)
        self.point_lat.append(lat)
        self.point_lon.append(lon)

    def add_visit(self, lat: float, lon: float, start: int, end: int, *, place: Place) -> None:
        """A stay given by the file; a zero-length one is dropped, one that ends before it starts is an error."""
        if end < start:
            raise place.error(f"ends at {_iso(end)}, before it starts at {_iso(start)}: a visit needs end >= start")
        if end == start:
            return
        self.visit_lat.append(lat)
        self.visit_lon.append(lon)
        self.visit_start.append(start)
        self.visit_end.append(end)


def _iso(seconds: int) -> str:
    return (EPOCH + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def check_position(lat: float, lon: float, *, place: Place, shown: str) -> tuple[float, float]:
    """``(lat, lon)`` when both are on Earth; ``shown`` is how the value appears in the file."""
    if not -90 <= lat <= 90:
        raise place.error(f"{shown} is out of range: latitude must be between -90 and 90 degrees")
    if not -180 <= lon <= 180:
        raise place.error(f"{shown} is out of range: longitude must be between -180 and 180 degrees")
    return lat, lon


def number(value: Any, *, place: Place, name: str) -> float:
    """A JSON number (or numeric text), as float."""
    if isinstance(value, bool) or value is None:
        raise place.error(f"{name} {json_text(value)} is not a number")
    try:
        result = float(value) if isinstance(value, int | float | str) else math.nan
    except (ValueError, OverflowError):  # OverflowError: an integer too large for a float
        result = math.nan
    if not math.isfinite(result):
        raise place.error(f"{name} {json_text(value)} is not a number")
    return result


def e7_position(lat_e7: Any, lon_e7: Any, *, place: Place, names: tuple[str, str]) -> tuple[float, float]:
    """Degrees from Google's integer E7 coordinates (degrees x 10^7).

    Some old exports wrote negative E7 values as unsigned 32-bit integers; those (above 2^31 - 1)
    are turned back into the negative numbers they stand for.
    """
    raw = []
    for value, name in zip((lat_e7, lon_e7), names):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise place.error(f"{name} {json_text(value)} is not a number: expected an integer, degrees x 10^7")
        raw.append(value - 2**32 if value > 2**31 - 1 else value)
    lat, lon = (e7_degrees(value) for value in raw)
    if not -90 <= lat <= 90:
        return check_position(lat, lon, place=place, shown=f"{names[0]} {json_text(lat_e7)} ({lat:g}°)")
    return check_position(lat, lon, place=place, shown=f"{names[1]} {json_text(lon_e7)} ({lon:g}°)")


def e7_degrees(value: int | float) -> float:
    """``value / 10^7``; an integer too large for a float is infinitely far (and so out of range)."""
    try:
        return value / 1e7
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def text_position(value: Any, *, place: Place, name: str) -> tuple[float, float]:
    """Degrees from text such as ``"52.3702°, 4.8952°"`` or ``"geo:52.3702,4.8952"``."""
    found = LATLNG_TEXT.match(value) if isinstance(value, str) else None
    if found is None:
        raise place.error(
            f"{name} {json_text(value)} is not a position: expected text like \"52.3702°, 4.8952°\" or \"geo:52.3702,4.8952\""
        )
    try:
        lat, lon = float(found.group(1)), float(found.group(2))
    except ValueError:
        raise place.error(f"{name} {json_text(value)} is not a position: expected two decimal numbers") from None
    return check_position(lat, lon, place=place, shown=f"{name} {json_text(value)}")


def iso_seconds(value: Any, *, place: Place, name: str, naive_is_utc: bool = False) -> int:
    """Unix seconds (rounded down) of an ISO-8601 time with a UTC offset."""
    if not isinstance(value, str):
        raise place.error(f"{name} {json_text(value)} is not a time: expected ISO-8601 text with a UTC offset, {TIME_EXAMPLE}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise place.error(f"{name} {value!r} is not a time: expected ISO-8601 with a UTC offset, {TIME_EXAMPLE}") from None
    return datetime_seconds(moment, place=place, name=name, shown=value, naive_is_utc=naive_is_utc)


def datetime_seconds(moment: datetime, *, place: Place, name: str, shown: str, naive_is_utc: bool = False) -> int:
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise place.error(f"{name} {shown!r} has no UTC offset, so the moment is ambiguous: add one, {TIME_EXAMPLE}")
        moment = moment.replace(tzinfo=UTC)
    return in_range((moment - EPOCH) // ONE_SECOND, place=place, name=name, value=shown)


def in_range(seconds: int, *, place: Place, name: str, value: Any) -> int:
    """``seconds`` when it lies in the years 1 to 9999; ``value`` is the time as the file gives it."""
    if not FIRST_SECOND <= seconds <= LAST_SECOND:
        raise place.error(f"{name} {json_text(value)} is out of range: {TIME_RANGE}")
    return seconds


def whole(text: str, *, place: Place, name: str) -> int:
    """``int(text)`` of digits; more digits than Python converts (4300) are no time either."""
    try:
        return int(text)
    except ValueError:
        raise place.error(f"{name} {json_text(text)} is out of range: {TIME_RANGE}") from None


def ms_text_seconds(value: Any, *, place: Place, name: str) -> int:
    """Unix seconds from Google's ``timestampMs`` (milliseconds since 1970, usually as text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return in_range(value // 1000, place=place, name=name, value=value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return in_range(whole(value, place=place, name=name) // 1000, place=place, name=name, value=value)
    raise place.error(
        f"{name} {json_text(value)} is not a time: expected milliseconds since 1970 as digits, e.g. \"1710093600000\""
    )


def any_seconds(value: Any, *, place: Place, name: str) -> int:
    """Unix seconds from ISO-8601 text, or from a number of seconds (milliseconds when >= 10^11)."""
    number = value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d*)?\s*", value):
        number = float(value) if "." in value else whole(value, place=place, name=name)
    if isinstance(number, int) and not isinstance(number, bool):
        seconds = number // 1000 if abs(number) >= MILLISECONDS_FROM else number
    elif isinstance(number, float) and math.isfinite(number):
        seconds = math.floor(number / 1000 if abs(number) >= MILLISECONDS_FROM else number)
    elif isinstance(number, float) and isinstance(value, str):  # digits too many for a float
        raise place.error(f"{name} {json_text(value)} is out of range: {TIME_RANGE}")
    elif isinstance(value, str):
        return iso_seconds(value, place=place, name=name)
    else:
        raise place.error(f"{name} {json_text(value)} is not a time: expected Unix seconds or ISO-8601, {TIME_EXAMPLE}")
    return in_range(seconds, place=place, name=name, value=value)


def json_text(value: Any) -> str:
    """A value as it looks in JSON, short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if isinstance(value, int | float):
        return repr(value)
    return "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)


def member(container: Any, key: str, *, place: Place, what: str = "entry") -> Any:
    """``container[key]``, or a clear error when the key is missing (or ``container`` is not an object)."""
    if not isinstance(container, dict):
        raise place.error(f"expected a JSON object here, found {json_text(container)}")
    if key not in container or container[key] is None:
        raise place.error(f"no {key}: every {what} needs one")
    return container[key]


def items(value: Any, *, place: Place) -> list[Any]:
    """A JSON list, or a clear error."""
    if not isinstance(value, list):
        raise place.error(f"expected a JSON list, found {json_text(value)}")
    return value
