"""The vectorised exposure matcher.

1. Windows are indexed by space-time key: (grid cell or venue) x time bucket, one entry per cell
   and bucket a window can reach. Windows far larger than a cell are kept aside and checked
   against every presence directly.
2. Each presence gets the key of its cell for every bucket it spans; a bitmap of the window keys
   throws away most presences with one gather, and ``searchsorted`` pairs the rest with windows.
3. Each pair is kept once (in the first bucket both share), and only if the times overlap and the
   haversine distance is at most the radius; its overlap is clipped to the window.
4. Per person and window, the union of the clipped intervals is summed, so overlapping presences
   of one person are not counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from epitrace.engine._geo import METRES_PER_DEGREE, Grid, _ranges, haversine_m
from epitrace.engine._schema import Mode, Prepared, as_numpy

OUTPUT_COLUMNS = ("person_id", "window_id", "overlap_s", "min_distance_m", "first_start", "last_end")
BITMAP_BITS = 24
HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing
MIN_CELL_M = 25.0
BIG_WINDOW_CELLS = 64  # a window wider than this many cells is checked directly
MAX_KEY = 2**62


@dataclass
class WindowIndex:
    """Windows prepared for matching many chunks of presences."""

    mode: Mode
    window_ids: pl.Series
    start: np.ndarray
    end: np.ndarray
    lat: np.ndarray | None
    lon: np.ndarray | None
    radius: np.ndarray | None
    venue_codes: pl.DataFrame | None  # venue_id -> code, venue mode only
    window_venue: np.ndarray | None
    grid: Grid | None
    t0: int
    t_end: int
    bucket_s: int
    buckets: int
    keys: np.ndarray  # sorted entry keys
    owner: np.ndarray  # window index of each key
    bitmap: np.ndarray
    big: np.ndarray  # indices of windows checked directly


def _hash(keys: np.ndarray) -> np.ndarray:
    return ((keys.astype(np.uint64) * HASH_MULTIPLIER) >> np.uint64(64 - BITMAP_BITS)).astype(np.int64)


def build_index(windows: Prepared, *, cell_m: float | None = None, bucket_s: int | None = None) -> WindowIndex:
    """Index windows for matching; ``cell_m`` and ``bucket_s`` default to values fitted to the windows."""
    cols = as_numpy(windows)
    start, end = cols["start"], cols["end"]
    n = start.size
    t0 = int(start.min()) if n else 0
    t_end = int(end.max()) if n else 0
    if bucket_s is None:
        duration = float(np.median(end - start)) if n else 3600.0
        bucket_s = int(np.clip(round(2 * duration / 3600) * 3600, 3600, 86_400))
    buckets = max(1, (t_end - t0 + bucket_s - 1) // bucket_s)
    first_bucket = (start - t0) // bucket_s
    last_bucket = (end - 1 - t0) // bucket_s
    grid = None
    lat = lon = radius = window_venue = None
    venue_codes = None
    big = np.zeros(0, dtype=np.int64)
    if windows.mode == "geo":
        lat, lon, radius = cols["lat"], cols["lon"], cols["radius_m"]
        if cell_m is None:
            cell_m = max(MIN_CELL_M, float(np.median(radius)) if n else 100.0)
        grid = Grid(min(90.0, cell_m / METRES_PER_DEGREE))
        while grid.cells * buckets >= MAX_KEY:  # keep keys in int64 for very long time ranges
            bucket_s *= 2
            buckets = max(1, (t_end - t0 + bucket_s - 1) // bucket_s)
            first_bucket, last_bucket = (start - t0) // bucket_s, (end - 1 - t0) // bucket_s
        is_big = radius > BIG_WINDOW_CELLS * cell_m
        big = np.flatnonzero(is_big)
        small = np.flatnonzero(~is_big)
        owner_small, cells = grid.cells_near(lat[small], lon[small], radius[small])
        entry_owner = small[owner_small]
        entry_space = cells
    else:
        venue_frame = windows.frame.select("venue_id").unique(maintain_order=True)
        venue_codes = venue_frame.with_row_index("code")
        window_venue = (
            windows.frame.select("venue_id").join(venue_codes, on="venue_id", how="left", maintain_order="left")["code"]
            .to_numpy().astype(np.int64)
        )
        entry_owner = np.arange(n, dtype=np.int64)
        entry_space = window_venue
    span = last_bucket[entry_owner] - first_bucket[entry_owner] + 1
    owner = np.repeat(entry_owner, span)
    bucket = _ranges(first_bucket[entry_owner], last_bucket[entry_owner])
    keys = np.repeat(entry_space, span) * buckets + bucket
    order = np.argsort(keys, kind="stable")
    keys, owner = keys[order], owner[order]
    bitmap = np.zeros(1 << BITMAP_BITS, dtype=bool)
    bitmap[_hash(keys)] = True
    return WindowIndex(
        mode=windows.mode, window_ids=windows.frame[windows.frame.columns[0]], start=start, end=end,
        lat=lat, lon=lon, radius=radius, venue_codes=venue_codes, window_venue=window_venue, grid=grid,
        t0=t0, t_end=t_end, bucket_s=bucket_s, buckets=buckets, keys=keys, owner=owner, bitmap=bitmap, big=big,
    )


@dataclass
class Candidates:
    """Presence-window pairs that are near and overlap in time, clipped to the window."""

    presence: np.ndarray  # row in the chunk
    window: np.ndarray
    start: np.ndarray
    end: np.ndarray
    distance: np.ndarray


def find_candidates(presences: Prepared, index: WindowIndex) -> Candidates:
    """Every near, time-overlapping (presence, window) pair of one chunk of presences."""
    cols = as_numpy(presences)
    start, end = cols["start"], cols["end"]
    live = np.flatnonzero((end > index.t0) & (start < index.t_end))
    if presences.mode == "geo":
        lat, lon = cols["lat"], cols["lon"]
        space = index.grid.cell_of(lat[live], lon[live])  # type: ignore[union-attr]
    else:
        codes = (
            presences.frame.select("venue_id")[live]
            .join(index.venue_codes, on="venue_id", how="left", maintain_order="left")["code"]  # type: ignore[arg-type]
        )
        known = codes.is_not_null().to_numpy()
        live, space = live[known], codes.to_numpy()[known].astype(np.int64)
    s, e = start[live], end[live]
    b0 = (np.maximum(s, index.t0) - index.t0) // index.bucket_s
    b1 = (np.minimum(e, index.t_end) - 1 - index.t0) // index.bucket_s
    span = b1 - b0 + 1
    row = np.repeat(np.arange(live.size), span)
    bucket = _ranges(b0, b1)
    keys = space[row] * index.buckets + bucket
    hit = index.bitmap[_hash(keys)]
    row, bucket, keys = row[hit], bucket[hit], keys[hit]
    left = np.searchsorted(index.keys, keys, side="left")
    right = np.searchsorted(index.keys, keys, side="right")
    count = right - left
    pair_row = np.repeat(row, count)
    pair_bucket = np.repeat(bucket, count)
    window = index.owner[_ranges(left[count > 0], right[count > 0] - 1)]
    # A pair sharing several buckets is found once per bucket: keep the first shared one.
    window_b0 = (index.start[window] - index.t0) // index.bucket_s
    keep = pair_bucket == np.maximum(b0[pair_row], window_b0)
    presence, window = live[pair_row[keep]], window[keep]
    if index.big.size and presences.mode == "geo":
        extra_p, extra_w = _big_window_pairs(index, live, s, e)
        presence, window = np.concatenate([presence, extra_p]), np.concatenate([window, extra_w])
    clip_start = np.maximum(start[presence], index.start[window])
    clip_end = np.minimum(end[presence], index.end[window])
    overlapping = clip_start < clip_end
    presence, window = presence[overlapping], window[overlapping]
    clip_start, clip_end = clip_start[overlapping], clip_end[overlapping]
    if presences.mode == "geo":
        distance = haversine_m(cols["lat"][presence], cols["lon"][presence], index.lat[window], index.lon[window])  # type: ignore[index]
        near = distance <= index.radius[window]  # type: ignore[index]
        presence, window, clip_start, clip_end, distance = (
            presence[near], window[near], clip_start[near], clip_end[near], distance[near])
    else:
        distance = np.zeros(presence.size)
    return Candidates(presence, window, clip_start, clip_end, distance)


def _big_window_pairs(index: WindowIndex, live: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs with windows too wide for the grid: every presence overlapping in time is a candidate."""
    ps, pw = [], []
    for w in index.big.tolist():
        overlapping = np.flatnonzero((s < index.end[w]) & (e > index.start[w]))
        ps.append(live[overlapping])
        pw.append(np.full(overlapping.size, w, dtype=np.int64))
    return np.concatenate(ps), np.concatenate(pw)


def summarise(candidates: pl.DataFrame, window_ids: pl.Series, *, min_overlap_s: int) -> pl.DataFrame:
    """One row per (person, window) whose summed overlap reaches ``min_overlap_s``.

    ``candidates`` has columns person_id, window (index), start, end, distance.
    """
    group = ["person_id", "window"]
    prev_end = pl.col("end").cum_max().shift(1).over(group)
    contribution = (pl.col("end") - pl.max_horizontal(pl.col("start"), prev_end.fill_null(pl.col("start")))).clip(0)
    exposures = (
        candidates.sort(["person_id", "window", "start", "end"])
        .with_columns(contribution.alias("_added"))
        .group_by(group)
        .agg(
            pl.col("_added").sum().alias("overlap_s"),
            pl.col("distance").min().alias("min_distance_m"),
            pl.col("start").min().alias("first_start"),
            pl.col("end").max().alias("last_end"),
        )
        .filter((pl.col("overlap_s") >= min_overlap_s) & (pl.col("overlap_s") > 0))
    )
    ids = pl.DataFrame({"window": np.arange(window_ids.len(), dtype=np.int64), "window_id": window_ids})
    return (
        exposures.join(ids, on="window", how="left")
        .select(
            "person_id",
            "window_id",
            pl.col("overlap_s").cast(pl.Int64),
            pl.col("min_distance_m").cast(pl.Float64),
            pl.col("first_start").cast(pl.Int64),
            pl.col("last_end").cast(pl.Int64),
        )
        .sort(["person_id", "window_id"])
    )


def candidates_frame(presences: Prepared, found: Candidates) -> pl.DataFrame:
    """Candidates with the presences' own person ids, ready for ``summarise``."""
    return pl.DataFrame(
        {
            "person_id": presences.frame["person_id"].gather(found.presence),
            "window": found.window.astype(np.int64),
            "start": found.start,
            "end": found.end,
            "distance": found.distance,
        }
    )
