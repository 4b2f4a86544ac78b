"""Stays from raw points: where someone stopped, and from when to when.

The rule (the tests hold a slow, literal version of it as an oracle):

1. Points are taken in time order (points with equal times keep their order in the input).
2. A stay begins at a point. The next point joins it when it comes at most ``max_gap_s`` after
   the stay's last point and lies within ``distance_m`` (haversine) of the stay's centre: the
   mean latitude, and the mean longitude taken relative to the stay's first point so that a
   stay on the antimeridian does not average to the other side of the Earth.
3. Otherwise the stay ends at its last point, and that next point begins a new stay. So a gap
   longer than ``max_gap_s`` never lies inside a stay.
4. A stay counts when its last point is at least ``min_stay_s`` after its first; it becomes the
   presence ``[first time, last time)`` at its centre.

The scan is sequential, since each point depends on the centre so far, but it tests a block of
upcoming points at once with numpy: the centres they would meet are cumulative sums, added in
the same order as one point at a time, so the results are the same to the last bit.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from epitrace.engine import haversine_m
from epitrace.errors import InputError

STAY_SCHEMA = {"lat": pl.Float64, "lon": pl.Float64, "start": pl.Int64, "end": pl.Int64}
FIRST_BLOCK = 16
LARGEST_BLOCK = 65_536


def check_stay_options(*, distance_m: float, min_stay_s: int, max_gap_s: int) -> None:
    """Refuse thresholds that cannot describe a stay."""
    if not (isinstance(distance_m, int | float) and math.isfinite(distance_m) and distance_m >= 0):
        raise InputError(f"distance_m must be a finite number of metres >= 0, got {distance_m!r}")
    if isinstance(min_stay_s, bool) or not isinstance(min_stay_s, int) or min_stay_s < 1:
        raise InputError(f"min_stay_s must be a whole number of seconds >= 1 (a presence needs end > start), got {min_stay_s!r}")
    if isinstance(max_gap_s, bool) or not isinstance(max_gap_s, int) or max_gap_s < 0:
        raise InputError(f"max_gap_s must be a whole number of seconds >= 0, got {max_gap_s!r}")


def detect_stays(
    points: pl.DataFrame,
    *,
    distance_m: float = 100.0,
    min_stay_s: int = 600,
    max_gap_s: int = 7200,
) -> pl.DataFrame:
    """Stays of one person from their raw location points.

    Consecutive points (in time order) that stay within ``distance_m`` of the running centre of
    a stay, with no gap longer than ``max_gap_s`` between them, form a stay; it counts when it
    lasts at least ``min_stay_s``. A point farther away, or after a longer gap, ends the stay at
    the stay's last point and begins the next one.

    Parameters
    ----------
    points
        ``lat, lon, time``: degrees and integer Unix seconds, in any order.
    distance_m
        Greatest haversine distance in metres from the stay's centre (mean position so far) for
        a point to join the stay. Default 100.
    min_stay_s
        Least time in seconds from a stay's first point to its last for the stay to count
        (at least 1). Default 600 (10 minutes).
    max_gap_s
        Greatest time in seconds between consecutive points of one stay. Default 7200 (2 hours).

    Returns
    -------
    polars.DataFrame
        ``lat, lon, start, end``: one row per stay at its mean position, the half-open interval
        ``[first point's time, last point's time)``, sorted by start.

    Examples
    --------
    >>> import polars as pl
    >>> points = pl.DataFrame({"lat": [52.37, 52.3701, 52.3702, 52.40], "lon": [4.9, 4.9, 4.9, 4.9],
    ...     "time": [0, 300, 900, 960]})
    >>> detect_stays(points).rows()
    [(52.3701, 4.9, 0, 900)]
    >>> detect_stays(points, min_stay_s=1200).height  # 15 minutes is not enough
    0
    """
    check_stay_options(distance_m=distance_m, min_stay_s=min_stay_s, max_gap_s=max_gap_s)
    missing = [c for c in ("lat", "lon", "time") if c not in points.columns]
    if missing:
        raise InputError(f"points are missing column(s) {', '.join(repr(c) for c in missing)}: expected lat, lon, time")
    if not points["time"].dtype.is_integer():
        raise InputError(f"points column 'time' has type {points['time'].dtype}: expected integer Unix seconds")
    for column in ("lat", "lon", "time"):
        if points[column].null_count():
            raise InputError(f"points column {column!r} has empty values: every point needs lat, lon and time")
    time = points["time"].cast(pl.Int64).to_numpy()
    order = np.argsort(time, kind="stable")
    time = time[order]
    lat = points["lat"].cast(pl.Float64).to_numpy()[order]
    lon = points["lon"].cast(pl.Float64).to_numpy()[order]
    if not (np.all((lat >= -90) & (lat <= 90)) and np.all((lon >= -180) & (lon <= 180))):
        raise InputError("points have a latitude outside [-90, 90] or a longitude outside [-180, 180] degrees")
    rows = [
        (c_lat, c_lon, int(time[first]), int(time[last]))
        for first, last, c_lat, c_lon in scan(time, lat, lon, distance_m=distance_m, max_gap_s=max_gap_s)
        if time[last] - time[first] >= min_stay_s
    ]
    return pl.DataFrame(rows, schema=STAY_SCHEMA, orient="row")


def scan(
    time: np.ndarray, lat: np.ndarray, lon: np.ndarray, *, distance_m: float, max_gap_s: int
) -> list[tuple[int, int, float, float]]:
    """``(first, last, lat, lon)`` of every run of two or more time-sorted points that form one stay."""
    n = time.size
    if n < 2:
        return []
    linked = np.diff(time) <= max_gap_s
    # A one-point stay's centre is that point, so whether the next point joins it is one
    # vectorised distance: runs of moving points then cost no numpy call each.
    joins_single = (linked & (haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]) <= distance_m)).tolist()
    found = []
    i = 0
    while i < n - 1:
        if not joins_single[i]:
            i += 1
            continue
        first_lon = lon[i]
        sum_lat, sum_dlon, count = lat[i], 0.0, 1
        k, block = i + 1, FIRST_BLOCK
        while k < n:
            m = min(block, n - k)
            d_lon = relative_lon(lon[k:k + m] - first_lon)
            # cum[j] is the sum before point k + j joins: sequential, as in a one-by-one loop.
            cum_lat = np.cumsum(np.concatenate(([sum_lat], lat[k:k + m])))
            cum_dlon = np.cumsum(np.concatenate(([sum_dlon], d_lon)))
            counts = count + np.arange(m)
            centre_lat = cum_lat[:m] / counts
            centre_lon = first_lon + cum_dlon[:m] / counts
            joins = (haversine_m(centre_lat, centre_lon, lat[k:k + m], lon[k:k + m]) <= distance_m) & linked[k - 1:k - 1 + m]
            taken = m if joins.all() else int(np.argmin(joins))
            sum_lat, sum_dlon, count, k = cum_lat[taken], cum_dlon[taken], count + taken, k + taken
            if taken < m:
                break
            block = min(2 * block, LARGEST_BLOCK)
        found.append((i, k - 1, float(sum_lat / count), wrap_lon(float(first_lon + sum_dlon / count))))
        i = k
    return found


def relative_lon(d: np.ndarray) -> np.ndarray:
    """Longitude differences brought into [-180, 180] (the short way round)."""
    return np.where(d > 180, d - 360, np.where(d < -180, d + 360, d))


def wrap_lon(lon: float) -> float:
    """A centre longitude back into [-180, 180]."""
    return lon - 360 if lon > 180 else lon + 360 if lon < -180 else lon
