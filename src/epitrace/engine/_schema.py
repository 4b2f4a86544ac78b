"""The engine's input contract: columns, modes, times, and clear errors for anything else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from epitrace.errors import InputError

Mode = Literal["geo", "venue"]
Kind = Literal["presences", "windows"]

ID_COLUMN: dict[Kind, str] = {"presences": "person_id", "windows": "window_id"}
GEO_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "presences": ("person_id", "lat", "lon", "start", "end"),
    "windows": ("window_id", "lat", "lon", "radius_m", "start", "end"),
}
VENUE_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "presences": ("person_id", "venue_id", "start", "end"),
    "windows": ("window_id", "venue_id", "start", "end"),
}
ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M:%S%z")
MAX_ROWS_SHOWN = 3


@dataclass(frozen=True)
class Prepared:
    """Validated input: the frame with int64 ``start``/``end`` seconds and its mode."""

    frame: pl.DataFrame
    mode: Mode


def expected_columns(kind: Kind) -> str:
    return f"{', '.join(GEO_COLUMNS[kind])} (geo) or {', '.join(VENUE_COLUMNS[kind])} (venue)"


def detect_mode(columns: list[str], *, kind: Kind, source: str) -> Mode:
    """Geo or venue, from the columns; a file with both or neither is an error."""
    has_geo = "lat" in columns or "lon" in columns
    has_venue = "venue_id" in columns
    if has_geo and has_venue:
        raise InputError(
            f"{source} mixes geo columns (lat, lon) and a venue column (venue_id): a {kind} file is either "
            f"{expected_columns(kind)}; split it into a geo file and a venue file"
        )
    mode: Mode = "venue" if has_venue else "geo"
    wanted = (VENUE_COLUMNS if mode == "venue" else GEO_COLUMNS)[kind]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise InputError(
            f"{source} is missing column(s) {', '.join(repr(c) for c in missing)}: expected {expected_columns(kind)}"
        )
    return mode


def prepare(frame: pl.DataFrame, *, kind: Kind, source: str, row_offset: int = 0) -> Prepared:
    """Validate one frame of presences or windows and normalise times to Unix seconds.

    ``row_offset`` is added to row numbers in messages when the frame is one chunk of a file.
    """
    mode = detect_mode(frame.columns, kind=kind, source=source)
    wanted = (VENUE_COLUMNS if mode == "venue" else GEO_COLUMNS)[kind]
    frame = frame.select(wanted)
    frame = frame.with_columns(
        _seconds(frame, "start", source=source, row_offset=row_offset),
        _seconds(frame, "end", source=source, row_offset=row_offset),
    )
    _check_nulls(frame, source=source, row_offset=row_offset)
    _check(frame, pl.col("end") <= pl.col("start"), source, row_offset,
           lambda r: f"end {r['end']} is not after start {r['start']}",
           "intervals are half-open [start, end) and need end > start")
    if mode == "geo":
        frame = frame.with_columns(pl.col("lat").cast(pl.Float64), pl.col("lon").cast(pl.Float64))
        _check(frame, ~pl.col("lat").is_between(-90, 90) | pl.col("lat").is_nan(), source, row_offset,
               lambda r: f"lat {r['lat']} is out of range", "latitude must be between -90 and 90 degrees")
        _check(frame, ~pl.col("lon").is_between(-180, 180) | pl.col("lon").is_nan(), source, row_offset,
               lambda r: f"lon {r['lon']} is out of range", "longitude must be between -180 and 180 degrees")
        if kind == "windows":
            frame = frame.with_columns(pl.col("radius_m").cast(pl.Float64))
            _check(frame, ~(pl.col("radius_m") > 0) | pl.col("radius_m").is_infinite(), source, row_offset,
                   lambda r: f"radius_m {r['radius_m']} is not a positive distance",
                   "radius_m must be a finite number of metres > 0")
    return Prepared(frame, mode)


def _seconds(frame: pl.DataFrame, column: str, *, source: str, row_offset: int) -> pl.Series:
    series = frame[column]
    if series.dtype.is_integer():
        return series.cast(pl.Int64)
    if series.dtype == pl.Datetime or isinstance(series.dtype, pl.Datetime):
        if series.dtype.time_zone is None:  # type: ignore[union-attr]
            raise InputError(f"{source} column {column!r} has date-times without a time zone; give UTC offsets")
        return series.dt.epoch("s").alias(column)
    if series.dtype == pl.String:
        text = series.str.strip_chars().str.replace(r"Z$", "+00:00")
        if text.str.contains(r"^-?\d+$").all():
            return text.cast(pl.Int64).alias(column)
        parsed = pl.Series(column, [None] * len(text), dtype=pl.Datetime("us", "UTC"))
        for fmt in ISO_FORMATS:
            attempt = text.str.to_datetime(fmt, strict=False, time_zone="UTC")
            parsed = parsed.fill_null(attempt)
        bad = parsed.is_null() & text.is_not_null()
        if bad.any():
            index = int(bad.arg_max())  # type: ignore[arg-type]
            raise InputError(
                f"{source} row {index + 1 + row_offset}: {column} {series[index]!r} is not a time: expected integer "
                "Unix seconds or ISO-8601 with an offset, e.g. 2026-03-10T18:00:00+01:00 (add the offset, or Z for UTC)"
            )
        return parsed.dt.epoch("s").alias(column)
    raise InputError(f"{source} column {column!r} has type {series.dtype}: expected integer Unix seconds or ISO-8601 text")


def _check_nulls(frame: pl.DataFrame, *, source: str, row_offset: int) -> None:
    for column in frame.columns:
        nulls = frame[column].is_null()
        if nulls.any():
            index = int(nulls.arg_max())  # type: ignore[arg-type]
            raise InputError(f"{source} row {index + 1 + row_offset}: {column} is empty; every column needs a value")


def _check(frame: pl.DataFrame, bad: pl.Expr, source: str, row_offset: int, describe, rule: str) -> None:  # type: ignore[no-untyped-def]
    flagged = frame.with_row_index("_row").filter(bad)
    if flagged.is_empty():
        return
    shown = [f"row {r['_row'] + 1 + row_offset}: {describe(r)}" for r in flagged.head(MAX_ROWS_SHOWN).iter_rows(named=True)]
    more = f" (and {flagged.height - MAX_ROWS_SHOWN} more rows)" if flagged.height > MAX_ROWS_SHOWN else ""
    raise InputError(f"{source} {'; '.join(shown)}{more}: {rule}")


def as_numpy(prepared: Prepared) -> dict[str, np.ndarray]:
    """The numeric columns as numpy arrays (ids stay in the frame)."""
    f = prepared.frame
    out = {"start": f["start"].to_numpy(), "end": f["end"].to_numpy()}
    if prepared.mode == "geo":
        out |= {"lat": f["lat"].to_numpy(), "lon": f["lon"].to_numpy()}
        if "radius_m" in f.columns:
            out["radius_m"] = f["radius_m"].to_numpy()
    return out
