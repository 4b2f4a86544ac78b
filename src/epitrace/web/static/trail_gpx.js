// GPX trails, read as epitrace/trails/_gpx.py reads them: trk/trkseg/trkpt and wpt by local name,
// decimal lat and lon attributes, a <time> child read by datetime.fromisoformat (naive = UTC).
// The browser's XML parser stands in for Python's ElementTree: a damaged file is refused by both,
// in the browser's words for what is wrong with the XML.

import {fromIsoFormat} from "./pytime.js";
import {pyFloat, pyFormatG, pyRepr, strip} from "./pytext.js";
import {Collected, Place, TIME_EXAMPLE, TrailError, checkPosition, datetimeSeconds, decode, latin1} from "./trail_values.js";

const XML_ENCODING = /^[ \t\n\r\f\v]*<\?xml[^>]*encoding[ \t\n\r\f\v]*=[ \t\n\r\f\v]*["']([A-Za-z0-9._-]+)["']/;
const ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "ascii", "ascii": "ascii", "iso-8859-1": "latin-1",
  "iso8859-1": "latin-1", "latin-1": "latin-1", "latin1": "latin-1", "windows-1252": "cp1252", "cp1252": "cp1252"};
const SAVE_AS_UTF8 = "save the GPX file as UTF-8";

/** decode_xml: the text in the encoding the XML declaration names (UTF-8 when it names none). */
export function decodeXml(bytes, source) {
  const close = bytes.indexOf(0x3e);  // a declaration that names the encoding ends before the first ">"
  const head = latin1(bytes.subarray(0, close < 0 ? bytes.length : close + 1));
  const declared = XML_ENCODING.exec(head);
  if (declared === null) return decode(bytes, "utf-8-sig", source, "UTF-8", SAVE_AS_UTF8);
  const name = declared[1];
  const codec = ENCODINGS[name.toLowerCase().replace(/_/g, "-")];
  if (codec === undefined) {
    throw new TrailError(`${source} declares the encoding ${pyRepr(name)}, which epitrace does not read: ${SAVE_AS_UTF8} ` +
      "(or declare UTF-8, ISO-8859-1, windows-1252 or US-ASCII)");
  }
  return decode(bytes, codec, source, name, SAVE_AS_UTF8);
}

/** parse_gpx: timed track points, then timed waypoints. */
export function parseGpx(text, source) {
  const doc = new DOMParser().parseFromString(text.replace(/^\ufeff+/, ""), "application/xml");
  const broken = doc.getElementsByTagNameNS("http://www.w3.org/1999/xhtml", "parsererror")[0];
  if (broken !== undefined) {
    const detail = (broken.textContent.match(/error on line \d+ at column \d+: [^\n]*/) || [broken.textContent])[0].trim();
    throw new TrailError(`${source} is not valid XML: ${detail}; the file is damaged or cut short: export it again`);
  }
  const misplaced = ltInAttribute(text);
  if (misplaced >= 0) {
    const before = text.slice(0, misplaced).split("\n");
    throw new TrailError(`${source} is not valid XML: error on line ${before.length} at column ${before.at(-1).length + 1}: ` +
      "'<' is not allowed in attributes; the file is damaged or cut short: export it again");
  }
  const root = doc.documentElement;
  const out = new Collected();
  children(root, "trk").forEach((track, t) => {
    children(track, "trkseg").forEach((segment, s) => {
      children(segment, "trkpt").forEach((point, p) => {
        const place = new Place(source, `track ${t + 1}, segment ${s + 1}, point ${p + 1}`, "correct or remove that point");
        const [lat, lon] = position(point, place, "point");
        const written = timeText(point);
        if (written === null) throw place.error("has no <time>: every track point needs a time (a track drawn on a map has none)");
        out.addPoint(seconds(written, place), lat, lon);
      });
    });
  });
  children(root, "wpt").forEach((waypoint, w) => {
    const place = new Place(source, `waypoint ${w + 1}`, "correct or remove that waypoint");
    const [lat, lon] = position(waypoint, place, "waypoint");
    const written = timeText(waypoint);
    if (written !== null) out.addPoint(seconds(written, place), lat, lon);
  });
  return out;
}

/**
 * Where a "<" stands inside an attribute value, or -1. XML forbids it there (Python's expat refuses it), but the
 * browser's parser lets "<!--" and "<![CDATA[" through in attribute values: find them in the text it accepted.
 */
function ltInAttribute(text) {
  if (!text.includes("<!--") && !text.includes("<![CDATA[")) return -1;
  const skipTo = (from, end) => { const at = text.indexOf(end, from); return at < 0 ? text.length : at + end.length; };
  let i = 0;
  while ((i = text.indexOf("<", i)) >= 0) {
    if (text.startsWith("<!--", i)) i = skipTo(i + 4, "-->");
    else if (text.startsWith("<![CDATA[", i)) i = skipTo(i + 9, "]]>");
    else if (text.startsWith("<?", i)) i = skipTo(i + 2, "?>");
    else if (text.startsWith("<!", i)) {  // a DOCTYPE, with any internal subset in brackets and quoted literals
      let depth = 0, quote = null;
      for (i += 2; i < text.length; i++) {
        const c = text[i];
        if (quote) { if (c === quote) quote = null; } else if (c === '"' || c === "'") quote = c;
        else if (c === "[") depth++; else if (c === "]") depth--; else if (c === ">" && depth <= 0) break;
      }
      i++;
    } else {  // a start or end tag: the only quotes in it enclose attribute values
      for (i++; i < text.length && text[i] !== ">"; i++) {
        const quote = text[i];
        if (quote !== '"' && quote !== "'") continue;
        const end = text.indexOf(quote, i + 1);
        const lt = text.indexOf("<", i + 1);
        if (lt >= 0 && (end < 0 || lt < end)) return lt;
        i = end < 0 ? text.length : end;
      }
    }
  }
  return -1;
}

const children = (parent, name) => Array.from(parent.children).filter((child) => child.localName === name);

function timeText(point) {
  const times = children(point, "time");
  return times.length ? strip(times[0].textContent) || null : null;
}

function position(point, place, what) {
  const values = ["lat", "lon"].map((attribute) => {
    const value = point.getAttributeNS(null, attribute);
    if (value === null) throw place.error(`has no ${attribute} attribute: every ${what} needs lat and lon`);
    const degrees = pyFloat(value);
    if (degrees === null) throw place.error(`${attribute}=${pyRepr(value)} is not a number: expected decimal degrees`);
    return degrees;
  });
  const [lat, lon] = values;
  return checkPosition(lat, lon, place, `lat="${pyFormatG(lat)}" lon="${pyFormatG(lon)}"`);
}

function seconds(written, place) {
  const parts = fromIsoFormat(written);
  if (parts === null) throw place.error(`time ${pyRepr(written)} is not a time: expected ISO-8601, ${TIME_EXAMPLE}`);
  return datetimeSeconds(parts, place, "time", written, true);
}
