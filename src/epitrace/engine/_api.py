"""The engine's public functions."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from epitrace.engine._match import build_index, candidates_frame, find_candidates, summarise
from epitrace.engine._schema import prepare
from epitrace.engine._validate import check_min_overlap, check_same_mode

DEFAULT_MIN_OVERLAP_S = 15 * 60


def match(
    presences: pl.DataFrame,
    windows: pl.DataFrame,
    *,
    min_overlap_s: int = DEFAULT_MIN_OVERLAP_S,
    cell_m: float | None = None,
    bucket_s: int | None = None,
) -> pl.DataFrame:
    """Who shared a place and time with an exposure window, and for how long.

    Parameters
    ----------
    presences
        ``person_id, lat, lon, start, end`` (geo) or ``person_id, venue_id, start, end`` (venue).
        Times are integer Unix seconds or ISO-8601 text with an offset; intervals are ``[start, end)``.
    windows
        ``window_id, lat, lon, radius_m, start, end`` (geo) or ``window_id, venue_id, start, end``.
    min_overlap_s
        Report an exposure when the union of a person's overlaps with a window is at least this
        many seconds (and more than zero). Default 15 minutes.
    cell_m, bucket_s
        Tuning of the space-time index (grid cell size in metres, time bucket in seconds); the
        defaults are fitted to the windows. They change speed, never results.

    Returns
    -------
    polars.DataFrame
        One row per exposure: ``person_id, window_id, overlap_s, min_distance_m, first_start,
        last_end``, sorted by person_id then window_id. ``min_distance_m`` is the least haversine
        distance among near presences overlapping the window in time (0 for venues);
        ``first_start``/``last_end`` bound the overlapping part.

    Examples
    --------
    >>> import polars as pl
    >>> presences = pl.DataFrame({"person_id": ["a", "a", "b"], "lat": [52.37, 52.37, 52.40],
    ...     "lon": [4.9, 4.9, 4.9], "start": [0, 600, 0], "end": [1200, 1800, 3600]})
    >>> windows = pl.DataFrame({"window_id": [1], "lat": [52.3701], "lon": [4.9], "radius_m": [50.0],
    ...     "start": [300], "end": [3000]})
    >>> match(presences, windows).select("person_id", "overlap_s", "first_start", "last_end").rows()
    [('a', 1500, 300, 1800)]
    """
    check_min_overlap(min_overlap_s)
    p = prepare(presences, kind="presences", source="presences")
    w = prepare(windows, kind="windows", source="windows")
    check_same_mode(p.mode, w.mode)
    index = build_index(w, cell_m=cell_m, bucket_s=bucket_s)
    found = candidates_frame(p, find_candidates(p, index))
    return summarise(found, index.window_ids, min_overlap_s=min_overlap_s)


def match_chunks(
    chunks: Iterable[pl.DataFrame],
    windows: pl.DataFrame,
    *,
    min_overlap_s: int = DEFAULT_MIN_OVERLAP_S,
    source: str = "presences",
    cell_m: float | None = None,
    bucket_s: int | None = None,
) -> pl.DataFrame:
    """``match`` over presences arriving in chunks (e.g. from a large Parquet file).

    Memory is bounded by one chunk plus the candidate pairs found so far; a person whose
    presences fall in different chunks is still counted once per window.
    """
    check_min_overlap(min_overlap_s)
    w = prepare(windows, kind="windows", source="windows")
    index = build_index(w, cell_m=cell_m, bucket_s=bucket_s)
    found: list[pl.DataFrame] = []
    offset = 0
    for chunk in chunks:
        p = prepare(chunk, kind="presences", source=source, row_offset=offset)
        check_same_mode(p.mode, w.mode)
        offset += chunk.height
        found.append(candidates_frame(p, find_candidates(p, index)))
    if not found:
        raise ValueError("match_chunks needs at least one chunk of presences")
    return summarise(pl.concat(found), index.window_ids, min_overlap_s=min_overlap_s)
