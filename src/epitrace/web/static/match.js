// Exposure matching as epitrace.engine.match does it (the slow, obvious form of
// epitrace/engine/reference.py, which the vectorised engine is tested equal to), for the windows
// `epitrace check` uses: a stay counts for a window when it lies within the window's radius
// (haversine on a sphere of 6,371,008.8 m) and overlaps it in time; the overlaps of all stays with a
// window are clipped to it and joined (half-open [start, end), so touching is no overlap), and the
// window is an exposure when their union lasts at least the minimum overlap (and more than zero).

export const EARTH_RADIUS_M = 6_371_008.8;
export const MIN_OVERLAP_S = 15 * 60;
const RADIANS = Math.PI / 180;

/** haversine_m, computed in numpy's order of operations. */
export function haversineM(lat1, lon1, lat2, lon2) {
  const phi1 = lat1 * RADIANS, phi2 = lat2 * RADIANS;
  const dphi = phi2 - phi1;
  const dlmb = (lon2 - lon1) * RADIANS;
  const s1 = Math.sin(dphi / 2), s2 = Math.sin(dlmb / 2);
  const a = s1 * s1 + Math.cos(phi1) * Math.cos(phi2) * (s2 * s2);
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(Math.min(a, 1.0)));
}

/**
 * The exposures of one person's presences [{lat, lon, start, end}] to windows [{id, lat, lon, radius_m,
 * start, end}]: [{window, overlapS, minDistanceM, firstStart, lastEnd}] sorted by window id.
 */
export function match(presences, windows, minOverlapS = MIN_OVERLAP_S) {
  const found = [];
  for (const window of windows) {
    const parts = [];
    for (const p of presences) {
      const distance = haversineM(p.lat, p.lon, window.lat, window.lon);
      if (distance > window.radius_m) continue;
      const start = Math.max(p.start, window.start), end = Math.min(p.end, window.end);
      if (start < end) parts.push({start, end, distance});
    }
    if (!parts.length) continue;
    parts.sort((a, b) => a.start - b.start || a.end - b.end);
    let total = 0, reach = null;
    for (const {start, end} of parts) {
      if (reach === null || start >= reach) { total += end - start; reach = end; }
      else if (end > reach) { total += end - reach; reach = end; }
    }
    if (total >= minOverlapS && total > 0) {
      found.push({
        window, overlapS: total,
        minDistanceM: parts.reduce((m, x) => Math.min(m, x.distance), Infinity),
        firstStart: parts[0].start,  // sorted by start
        lastEnd: reach,  // the union's running end is the latest end
      });
    }
  }
  // Python sorts window ids as strings by code point; ids are ASCII here, where that is JavaScript's order too.
  return found.sort((a, b) => (a.window.id < b.window.id ? -1 : a.window.id > b.window.id ? 1 : 0));
}
