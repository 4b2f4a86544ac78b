// Stays from raw points, by the rule of epitrace/trails/_stays.py (read its docstring for the rule):
// points in time order; a point joins the stay when it comes at most maxGapS after the stay's last
// point and lies within distanceM (haversine) of the stay's centre, the running mean (longitudes
// taken relative to the stay's first point); a stay counts when it lasts at least minStayS.
// Python tests blocks of points at once with numpy cumulative sums that add in the same order as
// this loop, so both give the same centres to the last bit.

import {haversineM} from "./match.js";

export const STAY_DEFAULTS = {distanceM: 100, minStayS: 600, maxGapS: 7200};

const relativeLon = (d) => (d > 180 ? d - 360 : d < -180 ? d + 360 : d);
const wrapLon = (lon) => (lon > 180 ? lon - 360 : lon < -180 ? lon + 360 : lon);

/** detect_stays: [{lat, lon, start, end}] from [{time, lat, lon}] in any order. */
export function detectStays(points, {distanceM, minStayS, maxGapS} = STAY_DEFAULTS) {
  const sorted = points.map((p, i) => [p, i]).sort((a, b) => a[0].time - b[0].time || a[1] - b[1]).map(([p]) => p);
  const stays = [];
  const n = sorted.length;
  let i = 0;
  while (i < n - 1) {
    const first = sorted[i];
    const firstLon = first.lon;
    let sumLat = first.lat, sumDlon = 0.0, count = 1, k = i + 1;
    for (; k < n; k++) {
      const p = sorted[k];
      const centreLat = sumLat / count, centreLon = firstLon + sumDlon / count;
      if (!(p.time - sorted[k - 1].time <= maxGapS && haversineM(centreLat, centreLon, p.lat, p.lon) <= distanceM)) break;
      sumLat += p.lat;
      sumDlon += relativeLon(p.lon - firstLon);
      count++;
    }
    if (count === 1) { i++; continue; }
    const last = sorted[k - 1];
    if (last.time - first.time >= minStayS) {
      stays.push({lat: sumLat / count, lon: wrapLon(firstLon + sumDlon / count), start: first.time, end: last.time});
    }
    i = k;
  }
  return stays;
}
