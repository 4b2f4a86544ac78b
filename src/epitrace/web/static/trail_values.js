// Checked values shared by every trail format, as epitrace/trails/_values.py checks them: places in
// a file, times, positions, and what was read. Every message is Python's, word for word, so that the
// page and `epitrace check` name the same problem the same way (issue 9).

import {PyFloat} from "./pyjson.js";
import {fromIsoFormat, unixSeconds} from "./pytime.js";
import {codePoints, floorDiv, pyByteRepr, pyFloat, pyFloatRepr, pyFormatG, pyInt, pyRepr, strip} from "./pytext.js";

export const TIME_EXAMPLE = "e.g. 2024-03-10T18:00:00Z or 2024-03-10T19:00:00+01:00";
export const MILLISECONDS_FROM = 100_000_000_000;
export const FIRST_SECOND = -62_135_596_800;
export const LAST_SECOND = 253_402_300_799;
export const TIME_RANGE = "expected a time between 0001-01-01 and 9999-12-31 UTC";
// Python's \s and \d (Unicode), for the regular expressions the readers share with Python.
export const S = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
export const D = "\\p{Nd}";
const NUMBER = `[-+]?[${D}.]+(?:[eE][-+]?${D}+)?`;
const LATLNG_TEXT = new RegExp(`^${S}*(?:geo:)?${S}*(${NUMBER})${S}*°?${S}*,${S}*(${NUMBER})${S}*°?${S}*$`, "u");
const MS_DIGITS = new RegExp(`^${S}*-?${D}+${S}*$`, "u");
const SECONDS_TEXT = new RegExp(`^${S}*-?${D}+(\\.${D}*)?${S}*$`, "u");

/** epitrace.errors.InputError: the message names the file, the place, the value and the fix. */
export class TrailError extends Error {}

// --- JSON values as pyjson reads them: int (number or BigInt), float (number or PyFloat), Map, Array.

export const isDict = (v) => v instanceof Map;
export const isList = (v) => Array.isArray(v);
export const isStr = (v) => typeof v === "string";
export const isInt = (v) => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
export const isFloat = (v) => (typeof v === "number" && !Number.isInteger(v)) || v instanceof PyFloat;
export const isNumber = (v) => isInt(v) || isFloat(v);
export const floatValue = (v) => (v instanceof PyFloat ? v.value : Number(v));
/** A float as pyjson keeps it (integral values wrapped, so that they stay floats). */
export const asFloat = (x) => (Number.isInteger(x) ? new PyFloat(x) : x);

/** dict.get(key) */
export const get = (doc, key) => (doc instanceof Map && doc.has(key) ? doc.get(key) : null);

/** Python's truth of a value (``x or default``). */
export function truthy(v) {
  if (v === null || v === false) return false;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "bigint") return v !== 0n;
  if (v instanceof PyFloat) return v.value !== 0;
  if (typeof v === "string" || Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

/** A value as it looks in JSON, short (json_text). */
export function jsonText(value) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") {
    const chars = codePoints(value);
    return pyRepr(chars.length <= 60 ? value : chars.slice(0, 57).join("") + "...");
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pyFloatRepr(value);
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  return value instanceof Map ? "an object" : Array.isArray(value) ? "a list" : String(value);
}

/** Where in a file a value sits, and how the reader can fix a bad one there. */
export class Place {
  constructor(source, where, fix = "correct or remove that entry") {
    this.source = source;
    this.where = where;
    this.fix = fix;
  }

  toString() {
    return this.where ? `${this.source} ${this.where}` : this.source;
  }

  at(where) {
    const joined = where.startsWith("[") || !this.where ? `${this.where}${where}` : `${this.where}.${where}`;
    return new Place(this.source, joined, this.fix);
  }

  error(problem) {
    return new TrailError(`${this}: ${problem}; ${this.fix}`);
  }
}

const iso = (seconds) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

/** Raw points (to be turned into stays) and visits (already stays) read from one file. */
export class Collected {
  constructor() {
    this.points = [];  // {time, lat, lon}
    this.visits = [];  // {lat, lon, start, end}
  }

  addPoint(time, lat, lon) {
    this.points.push({time, lat, lon});
  }

  addVisit(lat, lon, start, end, place) {
    if (end < start) throw place.error(`ends at ${iso(end)}, before it starts at ${iso(start)}: a visit needs end >= start`);
    if (end === start) return;
    this.visits.push({lat, lon, start, end});
  }
}

export function checkPosition(lat, lon, place, shown) {
  if (!(lat >= -90 && lat <= 90)) throw place.error(`${shown} is out of range: latitude must be between -90 and 90 degrees`);
  if (!(lon >= -180 && lon <= 180)) throw place.error(`${shown} is out of range: longitude must be between -180 and 180 degrees`);
  return [lat, lon];
}

/** A JSON number (or numeric text), as float. */
export function number(value, place, name) {
  if (value === null || typeof value === "boolean") throw place.error(`${name} ${jsonText(value)} is not a number`);
  const result = isNumber(value) ? floatValue(value) : isStr(value) ? (pyFloat(value) ?? NaN) : NaN;
  if (!Number.isFinite(result)) throw place.error(`${name} ${jsonText(value)} is not a number`);
  return result;
}

/** Degrees from Google's integer E7 coordinates; unsigned 32-bit values above 2^31 - 1 are negative. */
export function e7Position(latE7, lonE7, place, names) {
  const raw = [latE7, lonE7].map((value, i) => {
    if (!isNumber(value)) throw place.error(`${names[i]} ${jsonText(value)} is not a number: expected an integer, degrees x 10^7`);
    if (typeof value === "bigint") return Number(value > 2147483647n ? value - 4294967296n : value) / 1e7;
    const v = floatValue(value);
    return (v > 2147483647 ? v - 4294967296 : v) / 1e7;
  });
  const [lat, lon] = raw;
  if (!(lat >= -90 && lat <= 90)) return checkPosition(lat, lon, place, `${names[0]} ${jsonText(latE7)} (${pyFormatG(lat)}°)`);
  return checkPosition(lat, lon, place, `${names[1]} ${jsonText(lonE7)} (${pyFormatG(lon)}°)`);
}

/** Degrees from text such as "52.3702°, 4.8952°" or "geo:52.3702,4.8952". */
export function textPosition(value, place, name) {
  const found = isStr(value) ? LATLNG_TEXT.exec(value) : null;
  if (found === null) {
    throw place.error(`${name} ${jsonText(value)} is not a position: expected text like "52.3702°, 4.8952°" or "geo:52.3702,4.8952"`);
  }
  const lat = pyFloat(found[1]), lon = pyFloat(found[2]);
  if (lat === null || lon === null) throw place.error(`${name} ${jsonText(value)} is not a position: expected two decimal numbers`);
  return checkPosition(lat, lon, place, `${name} ${jsonText(value)}`);
}

/** Unix seconds (rounded down) of an ISO-8601 time with a UTC offset (or UTC when naive and ``naiveIsUtc``). */
export function isoSeconds(value, place, name, naiveIsUtc = false) {
  if (!isStr(value)) {
    throw place.error(`${name} ${jsonText(value)} is not a time: expected ISO-8601 text with a UTC offset, ${TIME_EXAMPLE}`);
  }
  const parts = fromIsoFormat(strip(value));
  if (parts === null) throw place.error(`${name} ${pyRepr(value)} is not a time: expected ISO-8601 with a UTC offset, ${TIME_EXAMPLE}`);
  return datetimeSeconds(parts, place, name, value, naiveIsUtc);
}

export function datetimeSeconds(parts, place, name, shown, naiveIsUtc = false) {
  if (parts.offset === null && !naiveIsUtc) {
    throw place.error(`${name} ${pyRepr(shown)} has no UTC offset, so the moment is ambiguous: add one, ${TIME_EXAMPLE}`);
  }
  return inRange(unixSeconds(parts), place, name, shown);
}

/** ``seconds`` (a number or BigInt) when it lies in the years 1 to 9999, as a number. */
export function inRange(seconds, place, name, value) {
  if (!(seconds >= FIRST_SECOND && seconds <= LAST_SECOND)) throw place.error(`${name} ${jsonText(value)} is out of range: ${TIME_RANGE}`);
  return Number(seconds);
}

function whole(text, place, name) {
  const value = pyInt(text);
  if (value === "digits") throw place.error(`${name} ${jsonText(text)} is out of range: ${TIME_RANGE}`);
  return value;
}

/** Unix seconds from Google's timestampMs (milliseconds since 1970, usually as text). */
export function msTextSeconds(value, place, name) {
  if (isInt(value)) return inRange(floorDiv(BigInt(value), 1000n), place, name, value);
  if (isStr(value) && MS_DIGITS.test(value)) return inRange(floorDiv(whole(value, place, name), 1000n), place, name, value);
  throw place.error(`${name} ${jsonText(value)} is not a time: expected milliseconds since 1970 as digits, e.g. "1710093600000"`);
}

/** Unix seconds from ISO-8601 text, or from a number of seconds (milliseconds when >= 10^11). */
export function anySeconds(value, place, name) {
  let num = value;
  if (isStr(value) && SECONDS_TEXT.test(value)) num = value.includes(".") ? asFloat(pyFloat(value)) : whole(value, place, name);
  let seconds;
  if (isInt(num)) {
    const big = BigInt(num);
    seconds = (big < 0n ? -big : big) >= BigInt(MILLISECONDS_FROM) ? floorDiv(big, 1000n) : big;
  } else if (isFloat(num) && Number.isFinite(floatValue(num))) {
    const v = floatValue(num);
    seconds = Math.floor(Math.abs(v) >= MILLISECONDS_FROM ? v / 1000 : v);
  } else if (isFloat(num) && isStr(value)) {
    throw place.error(`${name} ${jsonText(value)} is out of range: ${TIME_RANGE}`);
  } else if (isStr(value)) {
    return isoSeconds(value, place, name);
  } else {
    throw place.error(`${name} ${jsonText(value)} is not a time: expected Unix seconds or ISO-8601, ${TIME_EXAMPLE}`);
  }
  return inRange(seconds, place, name, value);
}

/** container[key], or a clear error when the key is missing (or the container is not an object). */
export function member(container, key, place, what = "entry") {
  if (!isDict(container)) throw place.error(`expected a JSON object here, found ${jsonText(container)}`);
  if (!container.has(key) || container.get(key) === null) throw place.error(`no ${key}: every ${what} needs one`);
  return container.get(key);
}

/** A JSON list, or a clear error. */
export function items(value, place) {
  if (!isList(value)) throw place.error(`expected a JSON list, found ${jsonText(value)}`);
  return value;
}

// --- Bytes to text: the first byte that is not of the encoding is named, counted from 1 in the file.

const CP1252_UNDEFINED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/** Where Python's UTF-8 decoder stops (the first byte of the first bad sequence), or -1. */
function utf8ErrorAt(bytes, from) {
  const n = bytes.length;
  let i = from;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let need, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) { need = 2; if (b === 0xe0) lo = 0xa0; if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; if (b === 0xf0) lo = 0x90; if (b === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (i + k >= n || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Bytes as ISO-8859-1 text: each byte the code point of its value. */
export function latin1(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

/** bytes.decode(encoding) for "utf-8-sig", "utf-8", "ascii", "latin-1" and "cp1252", or a TrailError. */
export function decode(bytes, encoding, source, label, fix) {
  const skipped = encoding === "utf-8-sig" && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let bad = -1;
  if (encoding === "utf-8-sig" || encoding === "utf-8") bad = utf8ErrorAt(bytes, skipped);
  else if (encoding === "ascii") bad = bytes.findIndex((b) => b >= 0x80);
  else if (encoding === "cp1252") bad = bytes.findIndex((b) => CP1252_UNDEFINED.has(b));
  if (bad >= 0) throw new TrailError(`${source} is not ${label} text: byte ${bad + 1} is ${pyByteRepr(bytes[bad])}; ${fix}`);
  if (encoding === "latin-1" || encoding === "ascii") return latin1(bytes);
  if (encoding === "cp1252") return new TextDecoder("windows-1252").decode(bytes);
  return new TextDecoder("utf-8", {ignoreBOM: true}).decode(bytes.subarray(skipped));
}
