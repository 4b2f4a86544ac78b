// The JSON and CSV trail formats, read as epitrace/trails reads them (_records.py, _semantic.py,
// _timeline.py, _geojson.py, _csv.py): the same points and visits, or the same error (issue 9).
// Each function names the Python function it mirrors; read those for what each format looks like.

import {reader, universalLines, CsvError} from "./pycsv.js";
import {pyFloat, pyRepr, pyRound, splitlines, strip, stripChars} from "./pytext.js";
import {
  Collected, Place, TIME_RANGE, anySeconds, checkPosition, e7Position, get, inRange, isDict, isList, isoSeconds, items,
  jsonText, member, msTextSeconds, number, textPosition, truthy,
} from "./trail_values.js";

// --- _records.py: Google Takeout Records.json

const E7_NAMES = ["latitudeE7", "longitudeE7"];

export function parseRecords(doc, source) {
  const root = new Place(source, "");
  const locations = items(member(doc, "locations", root, "Records.json"), root.at("locations"));
  const out = new Collected();
  locations.forEach((entry, index) => {
    const place = root.at(`locations[${index}]`);
    if (!isDict(entry)) throw place.error("expected a JSON object with latitudeE7, longitudeE7 and timestamp");
    const present = E7_NAMES.filter((name) => get(entry, name) !== null);
    if (present.length === 0) return;
    if (present.length === 1) {
      const missing = E7_NAMES[1 - E7_NAMES.indexOf(present[0])];
      throw place.error(`has ${present[0]} but no ${missing}: a position needs both`);
    }
    const [lat, lon] = e7Position(entry.get("latitudeE7"), entry.get("longitudeE7"), place, E7_NAMES);
    out.addPoint(recordTime(entry, place), lat, lon);
  });
  return out;
}

function recordTime(entry, place) {
  if (get(entry, "timestamp") !== null) return isoSeconds(entry.get("timestamp"), place, "timestamp");
  if (get(entry, "timestampMs") !== null) return msTextSeconds(entry.get("timestampMs"), place, "timestampMs");
  throw place.error("no timestamp or timestampMs: every point needs a time");
}

// --- _semantic.py: Semantic Location History month files

export function parseSemantic(doc, source) {
  const root = new Place(source, "");
  const objects = items(member(doc, "timelineObjects", root, "Semantic Location History file"), root.at("timelineObjects"));
  const out = new Collected();
  objects.forEach((entry, index) => {
    let place = root.at(`timelineObjects[${index}]`);
    if (!isDict(entry)) throw place.error("expected a JSON object with a placeVisit or an activitySegment");
    const visit = get(entry, "placeVisit");
    if (visit === null) return;
    place = place.at("placeVisit");
    if (!isDict(visit)) throw place.error("expected a JSON object with location and duration");
    const position = visitPosition(visit, place);
    if (position === null) return;
    const duration = member(visit, "duration", place, "placeVisit");
    const start = durationTime(duration, "start", place.at("duration"));
    const end = durationTime(duration, "end", place.at("duration"));
    out.addVisit(position[0], position[1], start, end, place);
  });
  return out;
}

function visitPosition(visit, place) {
  const location = get(visit, "location");
  if (isDict(location) && (get(location, "latitudeE7") !== null || get(location, "longitudeE7") !== null)) {
    return e7Position(get(location, "latitudeE7"), get(location, "longitudeE7"), place.at("location"), E7_NAMES);
  }
  if (get(visit, "centerLatE7") !== null || get(visit, "centerLngE7") !== null) {
    return e7Position(get(visit, "centerLatE7"), get(visit, "centerLngE7"), place, ["centerLatE7", "centerLngE7"]);
  }
  return null;
}

function durationTime(duration, which, place) {
  if (!isDict(duration)) throw place.error("expected a JSON object with startTimestamp and endTimestamp");
  const key = `${which}Timestamp`;
  if (get(duration, key) !== null) return isoSeconds(duration.get(key), place, key);
  if (get(duration, `${key}Ms`) !== null) return msTextSeconds(duration.get(`${key}Ms`), place, `${key}Ms`);
  throw place.error(`no ${key} or ${key}Ms: every visit needs a start and an end time`);
}

// --- _timeline.py: Google Maps Timeline exported from the phone (Android object, iOS list)

export const SEGMENT_KEYS = ["visit", "activity", "timelinePath", "timelineMemory"];

export function parseTimeline(doc, source) {
  const root = new Place(source, "");
  const out = new Collected();
  let segments, prefix, signals;
  if (isList(doc)) {
    [segments, prefix, signals] = [doc, "", []];
  } else {
    if (!isDict(doc) || !(doc.has("semanticSegments") || doc.has("rawSignals"))) {
      throw root.error('no semanticSegments: expected a Timeline export, {"semanticSegments": [...]} or a list of segments');
    }
    segments = items(truthy(get(doc, "semanticSegments")) ? doc.get("semanticSegments") : [], root.at("semanticSegments"));
    signals = items(truthy(get(doc, "rawSignals")) ? doc.get("rawSignals") : [], root.at("rawSignals"));
    prefix = "semanticSegments";
  }
  segments.forEach((segment, index) => {
    const place = root.at(`${prefix}[${index}]`);
    if (!isDict(segment)) throw place.error("expected a JSON object with startTime, endTime and a visit, activity or timelinePath");
    if (get(segment, "visit") !== null) readVisit(segment, out, place);
    if (get(segment, "timelinePath") !== null) readPath(segment, out, place);
  });
  signals.forEach((signal, index) => {
    if (isDict(signal) && isDict(get(signal, "position"))) {
      readSignal(signal.get("position"), out, root.at(`rawSignals[${index}].position`));
    }
  });
  return out;
}

const segmentTime = (segment, key, place) => isoSeconds(member(segment, key, place, "segment"), place, key);

function readVisit(segment, out, place) {
  const start = segmentTime(segment, "startTime", place);
  const end = segmentTime(segment, "endTime", place);
  let at = place.at("visit");
  const candidate = member(segment.get("visit"), "topCandidate", at, "visit");
  at = at.at("topCandidate");
  const location = member(candidate, "placeLocation", at, "visit candidate");
  at = at.at("placeLocation");
  const [lat, lon] = isDict(location)
    ? textPosition(member(location, "latLng", at, "place location"), at, "latLng")
    : textPosition(location, at, "placeLocation");
  out.addVisit(lat, lon, start, end, place);
}

function readPath(segment, out, place) {
  const pathPlace = place.at("timelinePath");
  let start = null;
  items(segment.get("timelinePath"), pathPlace).forEach((step, index) => {
    const at = pathPlace.at(`[${index}]`);
    const [lat, lon] = textPosition(member(step, "point", at, "path point"), at, "point");
    let time;
    if (get(step, "time") !== null) {
      time = isoSeconds(step.get("time"), at, "time");
    } else if (get(step, "durationMinutesOffsetFromStartTime") !== null) {
      if (start === null) start = segmentTime(segment, "startTime", place);
      const given = step.get("durationMinutesOffsetFromStartTime");
      const offset = number(given, at, "durationMinutesOffsetFromStartTime") * 60;
      if (!Number.isFinite(offset)) throw at.error(`durationMinutesOffsetFromStartTime ${jsonText(given)} is out of range: ${TIME_RANGE}`);
      time = inRange(start + pyRound(offset), at, "durationMinutesOffsetFromStartTime", given);
    } else {
      throw at.error("no time or durationMinutesOffsetFromStartTime: every point needs a time");
    }
    out.addPoint(time, lat, lon);
  });
}

function readSignal(position, out, place) {
  const key = position.has("LatLng") ? "LatLng" : "latLng";
  const [lat, lon] = textPosition(member(position, key, place, "position"), place, key);
  const time = isoSeconds(member(position, "timestamp", place, "position"), place, "timestamp");
  out.addPoint(time, lat, lon);
}

// --- _geojson.py: GeoJSON points, lines and stays

const POINT_TIME_KEYS = ["time", "timestamp", "datetime"];
const LINE_TIME_KEYS = ["coordinateTimes", "coordTimes", "times"];

export function parseGeojson(doc, source) {
  const root = new Place(source, "", "correct or remove that feature");
  let features;
  if (isDict(doc) && get(doc, "type") === "Feature") {
    features = [[doc, root]];
  } else {
    const listed = items(member(doc, "features", root, "FeatureCollection"), root.at("features"));
    features = listed.map((feature, i) => [feature, root.at(`features[${i}]`)]);
  }
  const out = new Collected();
  for (const [feature, place] of features) {
    if (!isDict(feature)) throw place.error(`expected a GeoJSON Feature object, found ${jsonText(feature)}`);
    const geometry = get(feature, "geometry");
    if (geometry === null) continue;
    const kind = member(geometry, "type", place.at("geometry"), "geometry");
    const properties = truthy(get(feature, "properties")) ? feature.get("properties") : new Map();
    const coordinates = get(geometry, "coordinates");
    const at = place.at("geometry.coordinates");
    if (kind === "Point") {
      readPoint(coordinates, properties, out, place);
    } else if (kind === "LineString" || kind === "MultiPoint") {
      const positions = items(coordinates, at).map((p, i) => [p, at.at(`[${i}]`)]);
      readLine(positions, lineTimes(properties, place, false), out, place);
    } else if (kind === "MultiLineString") {
      const positions = items(coordinates, at).flatMap((line, i) =>
        items(line, at.at(`[${i}]`)).map((p, j) => [p, at.at(`[${i}][${j}]`)]));
      readLine(positions, lineTimes(properties, place, true), out, place);
    }
  }
  return out;
}

function readPoint(coordinates, properties, out, place) {
  const [lat, lon] = latLon(coordinates, place.at("geometry.coordinates"));
  const props = isDict(properties) ? properties : new Map();
  if (get(props, "start") !== null && get(props, "end") !== null) {
    const at = place.at("properties");
    out.addVisit(lat, lon, anySeconds(props.get("start"), at, "start"), anySeconds(props.get("end"), at, "end"), place);
    return;
  }
  for (const key of POINT_TIME_KEYS) {
    if (get(props, key) !== null) {
      out.addPoint(anySeconds(props.get(key), place.at("properties"), key), lat, lon);
      return;
    }
  }
  throw place.error("no time, timestamp or datetime property (or start and end): every point needs a time");
}

function lineTimes(properties, place, nested) {
  const props = isDict(properties) ? properties : new Map();
  const found = LINE_TIME_KEYS.filter((key) => get(props, key) !== null).map((key) => [props.get(key), `properties.${key}`]);
  const extra = get(props, "coordinateProperties");
  if (isDict(extra) && get(extra, "times") !== null) found.push([extra.get("times"), "properties.coordinateProperties.times"]);
  if (found.length === 0) throw place.error("no coordinateTimes, coordTimes or times property: every point of a line needs a time");
  const [times, where] = found[0];
  const at = place.at(where);
  const listed = items(times, at);
  if (nested && listed.every(isList)) return listed.flatMap((line, i) => line.map((t, j) => [t, at.at(`[${i}][${j}]`)]));
  return listed.map((t, i) => [t, at.at(`[${i}]`)]);
}

function readLine(positions, times, out, place) {
  if (times.length !== positions.length) {
    throw place.error(`has ${positions.length} positions but ${times.length} times: expected one time per position`);
  }
  positions.forEach(([position, positionAt], i) => {
    const [time, timeAt] = times[i];
    const [lat, lon] = latLon(position, positionAt);
    out.addPoint(anySeconds(time, timeAt, "time"), lat, lon);
  });
}

function latLon(position, place) {
  if (!isList(position) || position.length < 2) throw place.error(`position ${jsonText(position)} is not [longitude, latitude]`);
  const lon = number(position[0], place, "longitude");
  const lat = number(position[1], place, "latitude");
  return checkPosition(lat, lon, place, `position [${jsonText(position[0])}, ${jsonText(position[1])}] (longitude, latitude)`);
}

// --- _csv.py: lat,lon,time points or lat,lon,start,end stays

const ALIASES = {
  lat: ["lat", "latitude"],
  lon: ["lon", "lng", "long", "longitude"],
  time: ["time", "timestamp", "datetime"],
  start: ["start", "start_time", "starttime"],
  end: ["end", "end_time", "endtime"],
};
const DELIMITERS = [",", ";", "\t"];
const CSV_EXPECTED = "lat,lon,time (points) or lat,lon,start,end (stays)";
const CSV_FIX = "correct or remove that row";

/** header_columns: {delimiter, columns} of the first non-blank line, or null when it has no lat and lon. */
export function headerColumns(text) {
  const first = splitlines(text).find((line) => strip(line) !== "") ?? "";
  const count = (d) => first.split(d).length - 1;
  const delimiter = DELIMITERS.reduce((best, d) => (count(d) > count(best) ? d : best));
  let cells;
  try {
    const row = reader([first], delimiter).next();
    cells = row.done ? [] : row.value.row;
  } catch (error) {
    if (error instanceof CsvError) return null;
    throw error;
  }
  const names = cells.map((name) => strip(stripChars(strip(name), '"')).toLowerCase());
  const columns = {};
  for (const [role, aliases] of Object.entries(ALIASES)) {
    const found = names.findIndex((name) => aliases.includes(name));
    if (found >= 0) columns[role] = found;
  }
  if (!("lat" in columns) || !("lon" in columns)) return null;
  return {delimiter, columns};
}

export function parseCsv(text, source) {
  const found = headerColumns(text);
  if (found === null) throw new Place(source, "line 1").error(`the header has no lat and lon columns: expected ${CSV_EXPECTED}`);
  const {delimiter, columns} = found;
  const stays = "start" in columns && "end" in columns;
  if (!stays && !("time" in columns)) {
    throw new Place(source, "line 1", "add the column").error(`the header has no time column (nor start and end): expected ${CSV_EXPECTED}`);
  }
  const out = new Collected();
  let headerSeen = false, lineNum = 0;
  const rows = reader(universalLines(text), delimiter);
  for (;;) {
    let next;
    try {
      next = rows.next();
    } catch (error) {
      if (!(error instanceof CsvError)) throw error;
      throw new Place(source, `line ${error.lineNum}`, CSV_FIX).error(`cannot be read as CSV (${error.message})`);
    }
    if (next.done) break;
    const {row} = next.value;
    lineNum = next.value.lineNum;
    if (!row.some((cell) => strip(cell) !== "")) continue;
    if (!headerSeen) { headerSeen = true; continue; }
    const place = new Place(source, `line ${lineNum}`, CSV_FIX);
    const cell = {};
    for (const [role, i] of Object.entries(columns)) cell[role] = i < row.length ? strip(row[i]) : "";
    for (const role of stays ? ["lat", "lon", "start", "end"] : ["lat", "lon", "time"]) {
      if (!cell[role]) {
        const needs = stays && (role === "start" || role === "end") ? "every stay needs a start and an end"
          : role === "time" ? "every point needs a time" : "every row needs a position";
        throw place.error(`${role} is empty: ${needs}`);
      }
    }
    const lat = coordinate(cell.lat, "lat", place), lon = coordinate(cell.lon, "lon", place);
    checkPosition(lat, lon, place, `lat ${cell.lat}, lon ${cell.lon}`);
    if (stays) out.addVisit(lat, lon, anySeconds(cell.start, place, "start"), anySeconds(cell.end, place, "end"), place);
    else out.addPoint(anySeconds(cell.time, place, "time"), lat, lon);
  }
  return out;
}

function coordinate(text, name, place) {
  const value = pyFloat(text);
  if (value === null) throw place.error(`${name} ${pyRepr(text)} is not a number: expected decimal degrees, e.g. 52.3702`);
  return value;
}
