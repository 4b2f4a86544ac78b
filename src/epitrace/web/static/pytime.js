// datetime.fromisoformat as Python 3.11 reads ISO-8601 (its C implementation, Modules/_datetimemodule.c),
// for the self-check page: the same texts are times, and each means the same second, as in
// epitrace.trails (issue 9). The C code walks the UTF-8 bytes of the text with a NUL at the end;
// this port walks the same bytes the same way, so that its odd corners (any separator character,
// week dates, "10:00:00:5") are Python's too.

const encoder = new TextEncoder();
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isDigit = (c) => c >= 0x30 && c <= 0x39;

/** The parsed parts of an ISO-8601 text, or null where Python raises ValueError. */
export function fromIsoFormat(text) {
  const cps = Array.from(text);
  if (cps.length < 7) return null;
  // A surrogate may stand at the separator (7, 8 or 10): Python replaces the first such with "T".
  for (const pos of [7, 8, 10]) {
    if (pos > cps.length) break;
    const code = pos < cps.length ? cps[pos].codePointAt(0) : 0;
    if (code >= 0xd800 && code <= 0xdfff) { cps[pos] = "T"; break; }
  }
  const clean = cps.join("");
  if (LONE_SURROGATE.test(clean)) return null;  // not encodable as UTF-8
  const bytes = encoder.encode(clean);
  const b = new Uint8Array(bytes.length + 8);  // NUL-terminated, with room the C code may read into
  b.set(bytes);
  const len = bytes.length;
  const sep = separatorAt(b, len);
  if (sep < 0) return null;
  const date = parseDate(b, sep);
  if (date === null) return null;
  let time = {hour: 0, minute: 0, second: 0, microsecond: 0, offset: null, offsetMicro: 0};
  if (len > sep) {
    let p = sep;
    const lead = b[p];
    p += (lead & 0x80) === 0 ? 1 : (lead & 0xf0) === 0xe0 ? 3 : (lead & 0xf0) === 0xf0 ? 4 : 2;
    time = parseTime(b, p, len - p);
    if (time === null) return null;
  }
  const {year, month, day} = date;
  const {hour, minute, second, microsecond, offset, offsetMicro} = time;
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59 || microsecond > 999999) return null;
  if (offset !== null && offset !== 0) {
    const total = offset * 1_000_000 + offsetMicro;
    if (Math.abs(total) >= 86_400_000_000) return null;  // timezone(): strictly within a day
  }
  return {year, month, day, hour, minute, second, microsecond,
          offset: offset === null ? null : offset, offsetMicro: offset === 0 ? 0 : offsetMicro};
}

/** Unix seconds, rounded down, of the parts (a naive time is taken as UTC: callers decide first). */
export function unixSeconds(parts) {
  const {year, month, day, hour, minute, second, microsecond} = parts;
  const local = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  const offset = parts.offset ?? 0;
  const micro = microsecond - (parts.offset === null ? 0 : parts.offsetMicro);
  return local - offset + Math.floor(micro / 1_000_000);
}

function separatorAt(b, len) {
  if (len === 7) return 7;
  if (b[4] === 0x2d) {
    if (b[5] === 0x57) {
      if (len < 8) return -1;
      if (len > 8 && b[8] === 0x2d) {
        if (len === 9) return -1;
        if (len > 10 && isDigit(b[10])) return 8;
        return 10;
      }
      return 8;
    }
    return 10;
  }
  if (b[4] === 0x57) {
    let idx = 7;
    for (; idx < len; idx++) if (!isDigit(b[idx])) break;
    if (idx < 9) return idx;
    return idx % 2 === 0 ? 7 : 8;
  }
  return 8;
}

/** parse_digits: [value, next position] or null. */
function digits(b, p, count) {
  let value = 0;
  for (let i = 0; i < count; i++) {
    const d = b[p++] - 0x30;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  return [value, p];
}

function parseDate(b, len) {
  let p = 0, r = digits(b, p, 4);
  if (r === null) return null;
  let year;
  [year, p] = r;
  const dash = b[p] === 0x2d;
  if (dash) p++;
  if (b[p] === 0x57) {
    p++;
    r = digits(b, p, 2);
    if (r === null) return null;
    let week, weekday = 1;
    [week, p] = r;
    if (p < len) {
      if (dash && b[p++] !== 0x2d) return null;
      r = digits(b, p, 1);
      if (r === null) return null;
      [weekday, p] = r;
    }
    return isoToDate(year, week, weekday);
  }
  r = digits(b, p, 2);
  if (r === null) return null;
  let month, day;
  [month, p] = r;
  if (dash && b[p++] !== 0x2d) return null;
  r = digits(b, p, 2);
  if (r === null) return null;
  [day, p] = r;
  return {year, month, day};
}

/** parse_hh_mm_ss_ff: [code, hour, minute, second, microsecond]; code < 0 fails, 1 means more follows. */
function hhmmssff(b, p, end) {
  const values = [0, 0, 0];
  let micro = 0, separated = true;
  for (let i = 0; i < 3; i++) {
    const r = digits(b, p, 2);
    if (r === null) return [-3];
    [values[i], p] = r;
    const c = b[p++];
    if (i === 0) separated = c === 0x3a;
    if (p >= end) return [c !== 0 ? 1 : 0, ...values, micro];
    if (separated && c === 0x3a) continue;
    if (c === 0x2e || c === 0x2c) break;
    if (!separated) p--;
    else return [-4];
  }
  const remains = end - p, toParse = Math.min(remains, 6);
  const r = digits(b, p, toParse);
  if (r === null) return [-3];
  [micro, p] = r;
  if (toParse < 6) micro *= 10 ** (6 - toParse);
  while (isDigit(b[p])) p++;
  return [b[p] !== 0 ? 1 : 0, ...values, micro];
}

function parseTime(b, start, len) {
  const end = start + len;
  let tz = start;
  do {
    if (b[tz] === 0x5a || b[tz] === 0x2b || b[tz] === 0x2d) break;
  } while (++tz < end);
  const [rv, hour, minute, second, microsecond] = hhmmssff(b, start, tz);
  if (rv < 0) return null;
  const time = {hour, minute, second, microsecond, offset: null, offsetMicro: 0};
  if (tz === end) return rv === 1 ? null : time;
  if (b[tz] === 0x5a) return b[tz + 1] !== 0 ? null : {...time, offset: 0};
  const sign = b[tz] === 0x2d ? -1 : 1;
  const [rz, h, m, s, us] = hhmmssff(b, tz + 1, end);
  if (rz !== 0) return null;
  return {...time, offset: sign * (h * 3600 + m * 60 + s), offsetMicro: sign * us};
}

const isLeap = (y) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

function daysInMonth(year, month) {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** Days from 1970-01-01 to a proleptic Gregorian date. */
export function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z) {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp + (mp < 10 ? 3 : -9);
  return {year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// Monday = 0, as datetime's weekday().
const weekdayOf = (y, m, d) => ((daysFromCivil(y, m, d) % 7) + 7 + 3) % 7;

function isoToDate(year, week, weekday) {
  if (week <= 0 || week >= 53) {
    const first = weekdayOf(year, 1, 1);
    if (!(week === 53 && (first === 3 || (first === 2 && isLeap(year))))) return null;
  }
  if (weekday <= 0 || weekday >= 8) return null;
  const jan1 = daysFromCivil(year, 1, 1);
  const firstWeekday = weekdayOf(year, 1, 1);
  let monday = jan1 - firstWeekday;
  if (firstWeekday > 3) monday += 7;
  return civilFromDays(monday + (week - 1) * 7 + weekday - 1);
}
