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

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from epitrace.engine._geo import METRES_PER_DEGREE, Grid, _ranges, haversine_m
from epitrace.engine._schema import Mode, Prepared, as_numpy

OUTPUT_COLUMNS = ("person_id", "window_id", "overlap_s", "min_distance_m", "first_start", "last_end")
# A 2 MiB bit map of hashed window keys stays in cache and rejects ~98% of presences in one probe.
BITMAP_BITS = 24
HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing
HASH_SHIFT = np.uint64(64 - BITMAP_BITS)
SEVEN = np.uint64(7)
THREE = np.uint64(3)
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
    keys: np.ndarray  # distinct entry keys, sorted
    first: np.ndarray  # where each distinct key's windows start in ``owner``
    count: np.ndarray  # how many windows each distinct key has
    owner: np.ndarray  # window index of each entry, grouped by key
    bitmap: np.ndarray  # bit-packed: bit h set when some key hashes to h
    big: np.ndarray  # indices of windows checked directly


def _hash(keys: np.ndarray) -> np.ndarray:
    hashed = keys.view(np.uint64) * HASH_MULTIPLIER
    hashed >>= HASH_SHIFT
    return hashed


def _may_match(bitmap: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Indices of keys whose hash bit is set (a superset of the keys that have windows)."""
    hashed = _hash(keys)
    bits = bitmap[hashed >> THREE]
    bits >>= (hashed & SEVEN).astype(np.uint8)
    return np.flatnonzero(bits & 1)


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
    distinct, first, count = np.unique(keys, return_index=True, return_counts=True)
    bitmap = np.zeros(1 << (BITMAP_BITS - 3), dtype=np.uint8)
    hashed = _hash(distinct.astype(np.int64))
    np.bitwise_or.at(bitmap, hashed >> THREE, (np.uint64(1) << (hashed & SEVEN)).astype(np.uint8))
    return WindowIndex(
        mode=windows.mode, window_ids=windows.frame[windows.frame.columns[0]], start=start, end=end,
        lat=lat, lon=lon, radius=radius, venue_codes=venue_codes, window_venue=window_venue, grid=grid,
        t0=t0, t_end=t_end, bucket_s=bucket_s, buckets=buckets, keys=distinct.astype(np.int64), first=first,
        count=count, owner=owner, bitmap=bitmap, big=big,
    )


@dataclass
class Candidates:
    """Presence-window pairs that are near and overlap in time, clipped to the window."""

    presence: np.ndarray  # row in the chunk
    window: np.ndarray
    start: np.ndarray
    end: np.ndarray
    distance: np.ndarray


# Presences are processed in blocks small enough that numpy's temporaries come from malloc's
# reusable heap (under glibc's 32 MiB mmap threshold) and stay in cache: about 10x faster than
# whole-array passes, which pay page faults on every fresh temporary.
BLOCK_ROWS = 1 << 17
WORKERS = max(1, min(8, os.cpu_count() or 1))


def find_candidates(presences: Prepared, index: WindowIndex) -> Candidates:
    """Every near, time-overlapping (presence, window) pair of one chunk of presences."""
    cols = as_numpy(presences)
    if presences.mode == "venue":
        codes = presences.frame.select("venue_id").join(
            index.venue_codes, on="venue_id", how="left", maintain_order="left"  # type: ignore[arg-type]
        )["code"]
        cols["space"] = codes.fill_null(-1).to_numpy().astype(np.int64)
    total = cols["start"].size

    def block(offset: int) -> Candidates:
        part = {k: v[offset : offset + BLOCK_ROWS] for k, v in cols.items()}
        return _block_candidates(part, index, presences.mode, offset=offset)

    offsets = list(range(0, total, BLOCK_ROWS)) or [0]
    if len(offsets) == 1:
        parts = [block(0)]
    else:
        # numpy releases the GIL inside its loops, so blocks on threads use every core.
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            parts = list(pool.map(block, offsets))
    return Candidates(*(np.concatenate(column) for column in zip(*(
        (c.presence, c.window, c.start, c.end, c.distance) for c in parts), strict=True)))


def _block_candidates(cols: dict[str, np.ndarray], index: WindowIndex, mode: str, *, offset: int) -> Candidates:
    start, end = cols["start"], cols["end"]
    live = np.flatnonzero((end > index.t0) & (start < index.t_end))
    if mode == "geo":
        space = index.grid.cell_of(cols["lat"][live], cols["lon"][live])  # type: ignore[union-attr]
    else:
        space = cols["space"][live]
        known = space >= 0
        live, space = live[known], space[known]
    s, e = start[live], end[live]
    b0 = (np.maximum(s, index.t0) - index.t0) // index.bucket_s
    b1 = (np.minimum(e, index.t_end) - 1 - index.t0) // index.bucket_s
    # Most presences sit in one bucket; only the rest are repeated once per extra bucket.
    base = space * index.buckets
    keys = base + b0
    row = _may_match(index.bitmap, keys)
    bucket, keys = b0[row], keys[row]
    longer = np.flatnonzero(b1 > b0)
    if longer.size:
        extra_row = np.repeat(longer, b1[longer] - b0[longer])
        extra_bucket = _ranges(b0[longer] + 1, b1[longer])
        extra_keys = base[extra_row] + extra_bucket
        hit = _may_match(index.bitmap, extra_keys)
        row = np.concatenate([row, extra_row[hit]])
        bucket = np.concatenate([bucket, extra_bucket[hit]])
        keys = np.concatenate([keys, extra_keys[hit]])
    if index.keys.size == 0:  # only windows too big for the grid (or none at all)
        row, bucket, keys = row[:0], bucket[:0], keys[:0]
    order = np.argsort(keys)  # sorted queries make searchsorted walk memory forwards
    row, bucket, keys = row[order], bucket[order], keys[order]
    position = np.minimum(np.searchsorted(index.keys, keys), max(index.keys.size - 1, 0))
    found = index.keys[position] == keys if index.keys.size else np.zeros(0, dtype=bool)
    row, bucket, position = row[found], bucket[found], position[found]
    count = index.count[position]
    pair_row = np.repeat(row, count)
    pair_bucket = np.repeat(bucket, count)
    window = index.owner[_ranges(index.first[position], index.first[position] + count - 1)]
    # A pair sharing several buckets is found once per bucket: keep the first shared one.
    window_b0 = (index.start[window] - index.t0) // index.bucket_s
    keep = pair_bucket == np.maximum(b0[pair_row], window_b0)
    presence, window = live[pair_row[keep]], window[keep]
    if index.big.size and mode == "geo":
        extra_p, extra_w = _big_window_pairs(index, live, s, e)
        presence, window = np.concatenate([presence, extra_p]), np.concatenate([window, extra_w])
    clip_start = np.maximum(start[presence], index.start[window])
    clip_end = np.minimum(end[presence], index.end[window])
    overlapping = clip_start < clip_end
    presence, window = presence[overlapping], window[overlapping]
    clip_start, clip_end = clip_start[overlapping], clip_end[overlapping]
    if mode == "geo":
        distance = haversine_m(cols["lat"][presence], cols["lon"][presence], index.lat[window], index.lon[window])  # type: ignore[index]
        near = distance <= index.radius[window]  # type: ignore[index]
        presence, window, clip_start, clip_end, distance = (
            presence[near], window[near], clip_start[near], clip_end[near], distance[near])
    else:
        distance = np.zeros(presence.size)
    return Candidates(presence + offset, window, clip_start, clip_end, distance)


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

    ``candidates`` has columns person_id, window (index), start, end, distance. Within each
    (person, window) group, sorted by start, an interval adds only what reaches past the running
    maximum end of the intervals before it: the length of the union.
    """
    ordered = candidates.sort(["person_id", "window", "start", "end"])
    new_group = ordered.select(
        ((pl.col("person_id") != pl.col("person_id").shift(1)) | (pl.col("window") != pl.col("window").shift(1)))
        .fill_null(True).alias("new")
    )["new"].to_numpy()
    heads = np.flatnonzero(new_group)
    start = ordered["start"].to_numpy()
    end = ordered["end"].to_numpy()
    added = _union_increments(start, end, heads, np.cumsum(new_group) - 1)
    if heads.size:
        overlap = np.add.reduceat(added, heads)
        min_distance = np.minimum.reduceat(ordered["distance"].to_numpy(), heads)
        last_end = np.maximum.reduceat(end, heads)
    else:
        overlap = min_distance = last_end = np.zeros(0)
    exposures = pl.DataFrame({
        "person_id": ordered["person_id"].gather(heads),
        "window_id": window_ids.gather(ordered["window"].gather(heads)),
        "overlap_s": overlap.astype(np.int64),
        "min_distance_m": min_distance.astype(np.float64),
        "first_start": start[heads],  # rows are sorted by start within a group
        "last_end": last_end.astype(np.int64),
    })
    keep = (exposures["overlap_s"] >= min_overlap_s) & (exposures["overlap_s"] > 0)
    return exposures.filter(keep).sort(["person_id", "window_id"])


def _union_increments(start: np.ndarray, end: np.ndarray, heads: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row, the seconds it adds to its group's union (rows sorted by group, then start)."""
    n = start.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    low = int(start.min())
    span = int(end.max()) - low + 1
    if (int(group[-1]) + 1) * span >= MAX_KEY:  # offsets would overflow: do it group by group
        one = np.zeros(1, dtype=np.int64)
        return np.concatenate([_union_increments(start[a:b], end[a:b], one, np.zeros(b - a, dtype=np.int64))
                               for a, b in zip(heads.tolist(), [*heads[1:].tolist(), n], strict=True)])
    # Offset each group above every earlier one, so one running maximum never leaks across groups.
    offset = group * span - low
    shifted_end = end + offset
    running = np.maximum.accumulate(shifted_end)
    previous = np.empty(n, dtype=np.int64)
    previous[0] = start[0] + offset[0]
    previous[1:] = running[:-1]
    previous[heads] = start[heads] + offset[heads]
    return np.maximum(shifted_end - np.maximum(start + offset, previous), 0)


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
