"""The obviously correct exposure matcher: every presence against every window, one at a time.

It is slow on purpose and used as the test oracle for ``engine.match`` (and the Spark job).
"""

from __future__ import annotations

from collections import defaultdict

import polars as pl

from epitrace.engine._geo import haversine_m
from epitrace.engine._schema import prepare
from epitrace.engine._validate import check_min_overlap, check_same_mode


def reference_match(presences: pl.DataFrame, windows: pl.DataFrame, *, min_overlap_s: int = 900) -> pl.DataFrame:
    """Exposures by brute force, with the same contract and output as ``engine.match``."""
    check_min_overlap(min_overlap_s)
    p = prepare(presences, kind="presences", source="presences")
    w = prepare(windows, kind="windows", source="windows")
    check_same_mode(p.mode, w.mode)
    found: dict[tuple[object, object], list[tuple[int, int, float]]] = defaultdict(list)
    for window in w.frame.iter_rows(named=True):
        for presence in p.frame.iter_rows(named=True):
            if p.mode == "geo":
                distance = float(haversine_m(presence["lat"], presence["lon"], window["lat"], window["lon"]))
                if distance > window["radius_m"]:
                    continue
            else:
                if presence["venue_id"] != window["venue_id"]:
                    continue
                distance = 0.0
            start = max(presence["start"], window["start"])
            end = min(presence["end"], window["end"])
            if start < end:
                found[(presence["person_id"], window["window_id"])].append((start, end, distance))
    rows = []
    for (person_id, window_id), intervals in found.items():
        total, merged_end = 0, None
        for start, end, _ in sorted(intervals):
            if merged_end is None or start >= merged_end:
                total += end - start
                merged_end = end
            elif end > merged_end:
                total += end - merged_end
                merged_end = end
        if total >= min_overlap_s and total > 0:
            rows.append({
                "person_id": person_id,
                "window_id": window_id,
                "overlap_s": total,
                "min_distance_m": min(d for _, _, d in intervals),
                "first_start": min(s for s, _, _ in intervals),
                "last_end": max(e for _, e, _ in intervals),
            })
    schema = {
        "person_id": p.frame["person_id"].dtype,
        "window_id": w.frame["window_id"].dtype,
        "overlap_s": pl.Int64,
        "min_distance_m": pl.Float64,
        "first_start": pl.Int64,
        "last_end": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema).sort(["person_id", "window_id"])
