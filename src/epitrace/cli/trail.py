"""`epitrace trail`: one's own location history as presences, on one's own machine."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from epitrace.cli._common import console
from epitrace.errors import InputError

OUT_SUFFIXES = (".csv", ".parquet")
FORMAT_NAMES = {
    "records": "Google Takeout Records.json",
    "semantic": "Google Semantic Location History",
    "timeline": "Google Maps Timeline export",
    "gpx": "GPX",
    "geojson": "GeoJSON",
    "csv": "CSV",
}


def trail_command(
    file: Path = typer.Argument(
        ..., help="Location history: Records.json, a Semantic Location History month, Timeline.json, .gpx, .geojson or .csv."
    ),
    out: Path = typer.Option(..., "--out", help="Where to write the presences, .csv or .parquet."),
    distance_m: float = typer.Option(100, "--distance-m", help="Greatest distance in metres from a stay's centre."),
    min_stay_minutes: float = typer.Option(10, "--min-stay-minutes", help="Least time at one place that counts as a stay."),
    max_gap_minutes: float = typer.Option(120, "--max-gap-minutes", help="Longest gap between points inside one stay."),
) -> None:
    """Turn your own location history into presences to check against exposure windows.

    The format is detected from the content. Visits the file already records are used as they
    are; raw points become stays where they stay within --distance-m for at least
    --min-stay-minutes. The output has person_id (me), lat, lon, start, end in Unix seconds,
    ready for `epitrace match --presences`. Nothing is sent anywhere.

    Example:

    \b
        epitrace trail Records.json --out me.csv
        epitrace trail walk.gpx --out me.parquet --distance-m 50 --min-stay-minutes 15
    """
    from epitrace.engine import write_table
    from epitrace.trails import detect_format, read_trail

    if out.suffix.lower() not in OUT_SUFFIXES:
        raise InputError(f"--out {out.name}: unknown file type {out.suffix or '(none)'!r}; expected a .csv or .parquet file")
    if not (math.isfinite(distance_m) and distance_m > 0):
        raise InputError(f"--distance-m must be > 0, got {distance_m:g}")
    if not (math.isfinite(min_stay_minutes) and min_stay_minutes > 0):
        raise InputError(f"--min-stay-minutes must be > 0, got {min_stay_minutes:g}")
    if not (math.isfinite(max_gap_minutes) and max_gap_minutes >= 0):
        raise InputError(f"--max-gap-minutes must be >= 0, got {max_gap_minutes:g}")
    found = detect_format(file)
    presences = read_trail(
        file, format=found, distance_m=distance_m,
        min_stay_s=max(1, round(min_stay_minutes * 60)), max_gap_s=round(max_gap_minutes * 60),
    )
    write_table(presences, out)
    stays = f"{presences.height:,} stay" + ("" if presences.height == 1 else "s")
    console.print(f"{stays} from {file} ({FORMAT_NAMES[found]}) written to {out}", markup=False, highlight=False)
