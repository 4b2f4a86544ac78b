"""`epitrace match`: exposures of presences against exposure windows, from files."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from epitrace.cli._common import console
from epitrace.errors import InputError

ENGINES = ("local", "spark")


def match_command(
    windows: Path = typer.Option(..., "--windows", help="Exposure windows, .csv or .parquet."),
    presences: Path = typer.Option(..., "--presences", help="Presences, .csv or .parquet (Parquet is streamed)."),
    out: Path = typer.Option(..., "--out", help="Where to write exposures, .csv or .parquet."),
    min_overlap_minutes: float = typer.Option(15, "--min-overlap-minutes", help="Least summed overlap that counts."),
    engine: str = typer.Option("local", "--engine", help="local (this machine) or spark (EPITRACE_SPARK_MASTER)."),
    chunk_rows: int = typer.Option(2_000_000, "--chunk-rows", help="Presences read per chunk (bounds memory)."),
) -> None:
    """Find who shared a place and time with an exposure window.

    Geo files: presences person_id, lat, lon, start, end; windows window_id, lat, lon, radius_m,
    start, end. Venue files: venue_id instead of lat, lon (and radius_m). Times are Unix seconds
    or ISO-8601 with an offset; intervals are [start, end).

    Example:

    \b
        epitrace match --windows windows.csv --presences presences.parquet --out exposures.csv
        epitrace match --windows w.csv --presences p.csv --out e.parquet --min-overlap-minutes 10 --engine spark
    """
    from epitrace.engine import iter_table, match_chunks, read_table, write_table

    if min_overlap_minutes < 0:
        raise InputError(f"--min-overlap-minutes must be >= 0, got {min_overlap_minutes:g}")
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r} is not known: expected one of {', '.join(ENGINES)}")
    if chunk_rows < 1:
        raise InputError(f"--chunk-rows must be >= 1, got {chunk_rows}")
    min_overlap_s = int(round(min_overlap_minutes * 60))
    started = time.perf_counter()
    window_frame = read_table(windows)
    if engine == "spark":
        from epitrace.engine.spark import spark_match_files

        exposures = spark_match_files(presences, window_frame, min_overlap_s=min_overlap_s)
    else:
        exposures = match_chunks(
            iter_table(presences, chunk_rows=chunk_rows), window_frame,
            min_overlap_s=min_overlap_s, source=presences.name,
        )
    write_table(exposures, out)
    console.print(
        f"{exposures.height:,} exposure(s) of {exposures['person_id'].n_unique():,} person(s) to "
        f"{window_frame.height:,} window(s) written to {out} ({time.perf_counter() - started:.1f} s)."
    )
