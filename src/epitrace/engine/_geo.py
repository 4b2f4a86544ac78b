"""Distances on the sphere and the space grid that narrows the search.

The grid has rows of equal latitude height; each row has as many longitude cells as fit at the
row's widest point, so cells stay roughly square from the equator to the poles and the last cell
of a row wraps to the first across the antimeridian. The grid only chooses candidates: whether a
presence is near a window is always decided by ``haversine_m``.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = EARTH_RADIUS_M * np.pi / 180
# Extra reach added to every window's extent before choosing cells, so that floating-point
# rounding at the edge can only add candidates, never lose one (0.1 mm at the equator).
EDGE_MARGIN_DEG = 1e-9


def haversine_m(lat1, lon1, lat2, lon2):  # type: ignore[no-untyped-def]
    """Great-circle distance in metres on a sphere of radius 6,371,008.8 m.

    Works elementwise on numpy arrays or scalars; the engine and its reference both call this
    one function, so their distances agree to the last bit.

    Examples
    --------
    >>> round(float(haversine_m(0.0, 0.0, 0.0, 1.0)), 1)
    111195.1
    >>> round(float(haversine_m(0.0, 179.9995, 0.0, -179.9995)), 2)  # across the antimeridian
    111.2
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(np.asarray(lon2, dtype=np.float64) - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


class Grid:
    """Latitude rows of ``cell_deg`` height, each split into longitude cells that wrap."""

    def __init__(self, cell_deg: float) -> None:
        if not 0 < cell_deg <= 90:
            raise ValueError(f"cell_deg must be in (0, 90], got {cell_deg}")
        self.cell_deg = cell_deg
        self.rows = int(np.ceil(180 / cell_deg))
        lo = -90 + np.arange(self.rows) * cell_deg
        hi = np.minimum(lo + cell_deg, 90)
        # Cosine at the row's edge nearest the equator: the row's widest circle.
        widest = np.where((lo <= 0) & (hi >= 0), 1.0, np.cos(np.radians(np.minimum(np.abs(lo), np.abs(hi)))))
        self.row_cells = np.maximum(1, np.floor(360 * widest / cell_deg)).astype(np.int64)
        self.row_offset = np.concatenate([[0], np.cumsum(self.row_cells)[:-1]])
        self.cells = int(self.row_cells.sum())

    def row_of(self, lat: np.ndarray) -> np.ndarray:
        return np.minimum(((np.asarray(lat) + 90) / self.cell_deg).astype(np.int64), self.rows - 1)

    def cell_of(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Cell id of each point (lon 180 is the same cell as lon -180)."""
        row = self.row_of(lat)
        n = self.row_cells[row]
        col = ((np.asarray(lon) + 180) / 360 * n).astype(np.int64)
        col -= n * (col >= n)
        col += self.row_offset[row]
        return col

    def cells_near(self, lat: np.ndarray, lon: np.ndarray, radius_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every cell that a point within ``radius_m`` of each centre can fall in.

        Returns ``(owner, cell)``: the index of the centre and a cell id, one pair per cell.
        """
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        reach = np.asarray(radius_m, dtype=np.float64) / EARTH_RADIUS_M  # angular radius, radians
        reach_deg = np.degrees(reach) + EDGE_MARGIN_DEG
        lat_lo, lat_hi = lat - reach_deg, lat + reach_deg
        # A cap containing a pole, or reaching half way round, spans every longitude.
        ratio = np.sin(np.minimum(reach, np.pi / 2)) / np.cos(np.radians(np.clip(lat, -90, 90)))
        full = (lat_hi >= 90) | (lat_lo <= -90) | (ratio >= 1) | (reach >= np.pi / 2)
        half_width = np.where(full, 180.0, np.degrees(np.arcsin(np.minimum(ratio, 1.0))) + EDGE_MARGIN_DEG)
        row_lo = self.row_of(np.maximum(lat_lo, -90))
        row_hi = self.row_of(np.minimum(lat_hi, 90))
        owner = np.repeat(np.arange(lat.size), row_hi - row_lo + 1)
        row = _ranges(row_lo, row_hi)
        n = self.row_cells[row]
        # floor, not truncation: across the antimeridian the west edge is below -180.
        west = np.floor((lon[owner] - half_width[owner] + 180) / 360 * n).astype(np.int64)
        east = np.floor((lon[owner] + half_width[owner] + 180) / 360 * n).astype(np.int64)
        span = np.where(full[owner] | (2 * half_width[owner] >= 360), n, np.minimum(n, east - west + 1))
        first = np.where(span == n, 0, west)
        cell_owner = np.repeat(owner, span)
        cell_row = np.repeat(row, span)
        step = _ranges(np.zeros_like(span), span - 1)
        col = (np.repeat(first, span) + step) % self.row_cells[cell_row]
        return cell_owner, self.row_offset[cell_row] + col


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(lo[i], hi[i] + 1)`` for every i, without a Python loop."""
    counts = hi - lo + 1
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return starts + np.arange(total, dtype=np.int64)
