"""CSV trails: ``lat,lon,time`` points, or ``lat,lon,start,end`` stays.

The header names the columns in any order and case; ``latitude``, ``longitude``/``lng``/``long``,
``timestamp``/``datetime`` and ``start_time``/``end_time`` are understood too. The delimiter is a
comma, a semicolon or a tab; lines end with LF, CRLF or a lone CR. Times are ISO-8601 with an
offset, or Unix seconds (milliseconds when 10^11 or more).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from epitrace.trails._values import Collected, Place, any_seconds, check_position

ALIASES = {
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
    "time": ("time", "timestamp", "datetime"),
    "start": ("start", "start_time", "starttime"),
    "end": ("end", "end_time", "endtime"),
}
DELIMITERS = (",", ";", "\t")
EXPECTED = "lat,lon,time (points) or lat,lon,start,end (stays)"
FIX = "correct or remove that row"


def header_columns(text: str) -> tuple[str, dict[str, int]] | None:
    """The delimiter and the known columns of the first non-blank line, or None when it has no lat and lon."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(DELIMITERS, key=first.count)
    try:
        cells = next(csv.reader([first], delimiter=delimiter), [])
    except csv.Error:  # a name longer than csv's field limit: no header of a trail
        return None
    names = [name.strip().strip('"').strip().lower() for name in cells]
    columns = {}
    for role, aliases in ALIASES.items():
        found = [i for i, name in enumerate(names) if name in aliases]
        if found:
            columns[role] = found[0]
    if "lat" not in columns or "lon" not in columns:
        return None
    return delimiter, columns


def parse_csv(text: str, *, source: str) -> Collected:
    """Points or stays of a CSV trail, every row checked."""
    found = header_columns(text)
    if found is None:
        raise Place(source, "line 1").error(f"the header has no lat and lon columns: expected {EXPECTED}")
    delimiter, columns = found
    stays = "start" in columns and "end" in columns
    if not stays and "time" not in columns:
        raise Place(source, "line 1", "add the column").error(
            f"the header has no time column (nor start and end): expected {EXPECTED}"
        )
    # newline="": lines end at \n, \r\n or a lone \r (old Mac files), and quoted fields keep theirs.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = Collected()
    header_seen = False
    for row in rows(reader, source=source):
        if not any(cell.strip() for cell in row):
            continue
        if not header_seen:
            header_seen = True
            continue
        place = Place(source, f"line {reader.line_num}", FIX)
        cell = {role: (row[i].strip() if i < len(row) else "") for role, i in columns.items()}
        for role in ("lat", "lon", "start", "end") if stays else ("lat", "lon", "time"):
            if not cell[role]:
                needs = "every stay needs a start and an end" if stays and role in ("start", "end") else (
                    "every point needs a time" if role == "time" else "every row needs a position")
                raise place.error(f"{role} is empty: {needs}")
        lat, lon = coordinate(cell["lat"], "lat", place=place), coordinate(cell["lon"], "lon", place=place)
        check_position(lat, lon, place=place, shown=f"lat {cell['lat']}, lon {cell['lon']}")
        if stays:
            out.add_visit(lat, lon, any_seconds(cell["start"], place=place, name="start"),
                          any_seconds(cell["end"], place=place, name="end"), place=place)
        else:
            out.add_point(any_seconds(cell["time"], place=place, name="time"), lat, lon)
    return out


def rows(reader: Any, *, source: str) -> Iterator[list[str]]:
    """The reader's rows; what csv cannot read (a field over its size limit) is named with its line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Place(source, f"line {reader.line_num}", FIX).error(f"cannot be read as CSV ({exc})") from None
        yield row


def coordinate(text: str, name: str, *, place: Place) -> float:
    try:
        return float(text)
    except ValueError:
        raise place.error(f"{name} {text!r} is not a number: expected decimal degrees, e.g. 52.3702") from None
