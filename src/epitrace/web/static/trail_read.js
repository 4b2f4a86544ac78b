// readTrail: a trail file's presences, as epitrace.trails.read_trail gives them (_read.py): the format
// told from the content (the name's extension only breaks ties), the file read by that format's
// rules, the visits it records kept as they are, and its raw points outside every visit turned into
// stays. The self-check page uses this and nothing else to read a trail (issue 9).

import {JSONDecodeError, TooDeep, TooManyDigits, loads} from "./pyjson.js";
import {codePoints, pyRepr, splitlines, strip} from "./pytext.js";
import {headerColumns, parseCsv, parseGeojson, parseRecords, parseSemantic, parseTimeline, SEGMENT_KEYS} from "./trail_formats.js";
import {decodeXml, parseGpx} from "./trail_gpx.js";
import {STAY_DEFAULTS, detectStays} from "./trail_stays.js";
import {TrailError, decode, get, isDict, isList} from "./trail_values.js";

export const EXPECTED = "expected a Google Takeout Records.json, a Semantic Location History month file, a Google Maps " +
  "Timeline export, GPX, GeoJSON, or CSV with lat,lon,time or lat,lon,start,end columns";
export const FORMAT_NAMES = {
  records: "Google Takeout Records.json", semantic: "Semantic Location History", timeline: "Google Maps Timeline export",
  gpx: "GPX", geojson: "GeoJSON", csv: "CSV",
};
const JSON_SUFFIXES = [".json", ".geojson"];
const GPX_ROOT = /<(?:[\p{L}\p{N}_.-]+:)?gpx[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000/>]/u;
const [BEFORE, AFTER] = [10, 20];
const PARSERS = {records: parseRecords, semantic: parseSemantic, timeline: parseTimeline, geojson: parseGeojson};

/**
 * The presences of a trail file: {format, presences: [{lat, lon, start, end}] sorted by start, points,
 * visits} where points and visits count what the file held. Throws TrailError with Python's message.
 */
export function readTrail(bytes, name = "trail", options = STAY_DEFAULTS) {
  const source = name || "trail";
  const [format, content] = sniff(bytes, source);
  const collected = format === "gpx" ? parseGpx(content, source) : format === "csv" ? parseCsv(content, source)
    : PARSERS[format](content, source);
  return {format, ...presences(collected, options), points: collected.points.length, visits: collected.visits.length};
}

/** pathlib's suffix of a file name, lower-cased as read_trail compares it. */
function suffixOf(name) {
  const base = name.split("/").pop();
  const dot = base.lastIndexOf(".");
  return dot > 0 && dot < base.length - 1 ? base.slice(dot).toLowerCase() : "";
}

function sniff(bytes, source) {
  const suffix = suffixOf(source);
  let at = 0;
  while (at < bytes.length && [0xef, 0xbb, 0xbf, 0x20, 0x09, 0x0d, 0x0a].includes(bytes[at])) at++;
  if (at === bytes.length) throw new TrailError(`${source} is empty: ${EXPECTED}`);
  const head = bytes[at];
  if (head === 0x3c || suffix === ".gpx") {
    const text = decodeXml(bytes, source);
    if (head === 0x3c && !GPX_ROOT.test(firstCodePoints(text, 65536))) {
      throw new TrailError(`${source} is XML but not GPX (no <gpx> element): ${EXPECTED}`);
    }
    return ["gpx", text];
  }
  const text = decode(bytes, "utf-8-sig", source, "UTF-8", "save the file as UTF-8, or export it again");
  if (head === 0x7b || head === 0x5b || JSON_SUFFIXES.includes(suffix)) {
    const doc = parseJson(text, source);
    return [classify(doc, source), doc];
  }
  if (headerColumns(text) !== null) return ["csv", text];
  throw new TrailError(`${source} is not a location history epitrace can read: ${EXPECTED}; export your history in one of these`);
}

function firstCodePoints(text, count) {
  if (text.length <= count) return text;
  let units = 0;
  for (let n = 0; n < count && units < text.length; n++) units += text.codePointAt(units) > 0xffff ? 2 : 1;
  return text.slice(0, units);
}

function parseJson(text, source) {
  try {
    return loads(text);
  } catch (error) {
    if (error instanceof JSONDecodeError) {
      const {lineno, colno} = error.where();
      const lines = splitlines(text);
      const line = strip(text) !== "" && lineno <= lines.length ? codePoints(lines[lineno - 1]) : [];
      const near = line.slice(Math.max(0, colno - 1 - BEFORE), colno - 1 + AFTER).join("");
      const shown = strip(near) !== "" ? ` near ${pyRepr(near)}` : "";
      throw new TrailError(`${source} is not valid JSON: ${error.msg} at line ${lineno}, column ${colno}${shown}; ` +
        "the file is damaged or cut short: export it again");
    }
    if (error instanceof TooDeep) throw new TrailError(`${source} nests JSON too deeply to read: ${EXPECTED}`);
    if (error instanceof TooManyDigits) {
      throw new TrailError(`${source} has a number of more than 4300 digits, which no location history holds: ` +
        "the file is damaged: export it again");
    }
    throw error;
  }
}

function classify(doc, source) {
  if (isDict(doc)) {
    if (doc.has("locations")) return "records";
    if (doc.has("timelineObjects")) return "semantic";
    if (doc.has("semanticSegments") || doc.has("rawSignals")) return "timeline";
    const type = get(doc, "type");
    if (type === "FeatureCollection" || type === "Feature") return "geojson";
    const keys = [...doc.keys()];
    const shown = keys.slice(0, 5).map(pyRepr).join(", ") + (keys.length > 5 ? ", ..." : "");
    throw new TrailError(`${source} is JSON (an object with keys ${shown || "none"}) but not a location history: ${EXPECTED}`);
  }
  if (isList(doc) && doc.slice(0, 10).every((entry) => isDict(entry) && ["startTime", ...SEGMENT_KEYS].some((k) => entry.has(k)))) {
    return "timeline";  // the iOS Timeline export (an empty list is a Timeline with no entries)
  }
  throw new TrailError(`${source} is JSON (${isList(doc) ? "a list" : "a single value"}) but not a location history: ${EXPECTED}`);
}

/** presences(): the visits as they are, plus the stays of the points outside every visit, sorted. */
function presences(collected, options) {
  let points = collected.points;
  const visits = collected.visits;
  if (visits.length && points.length) {
    const spans = visits.map((v) => [v.start, v.end]).sort((a, b) => a[0] - b[0]);
    const starts = [], ends = [];
    for (const [start, end] of spans) {  // merge overlapping visits into disjoint spans
      if (ends.length && start <= ends[ends.length - 1]) ends[ends.length - 1] = Math.max(ends[ends.length - 1], end);
      else { starts.push(start); ends.push(end); }
    }
    points = points.filter(({time}) => {
      let lo = 0, hi = starts.length;  // the last span starting at or before time
      while (lo < hi) { const mid = (lo + hi) >> 1; if (starts[mid] <= time) lo = mid + 1; else hi = mid; }
      return !(lo > 0 && time < ends[lo - 1]);
    });
  }
  const all = [...visits.map(({lat, lon, start, end}) => ({lat, lon, start, end})), ...detectStays(points, options)];
  all.sort((a, b) => a.start - b.start || a.end - b.end || a.lat - b.lat || a.lon - b.lon);
  return {presences: all};
}
