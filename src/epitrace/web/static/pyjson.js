// JSON read as Python's json.loads reads it (its C scanner, Python 3.11), for the self-check page.
//
// The values keep what Python keeps and JSON.parse loses: objects are Maps (key order and "__proto__"
// as in a dict), integers beyond 2^53 are BigInts, a float with an integral value (1.0) is a PyFloat
// so that it stays a float, and NaN, Infinity and -Infinity are read. A damaged document fails with
// the message and position Python gives (JSONDecodeError), so that the page names the same place.

import {INT_MAX_STR_DIGITS, pyLength} from "./pytext.js";

/** A float whose value is integral (1.0, 1e5): a float to the readers, as in Python. */
export class PyFloat {
  constructor(value) { this.value = value; }
}

/** json.JSONDecodeError: ``msg`` at ``pos`` (a UTF-16 index into the text). */
export class JSONDecodeError extends Error {
  constructor(msg, doc, pos) {
    super(msg);
    this.msg = msg;
    this.doc = doc;
    this.pos = pos;
  }

  /** lineno and colno as Python counts them (in code points). */
  where() {
    const before = this.doc.slice(0, this.pos);
    const lineno = before.split("\n").length;
    const lastBreak = before.lastIndexOf("\n");
    return {lineno, colno: pyLength(before) - (lastBreak < 0 ? -1 : pyLength(before.slice(0, lastBreak)))};
  }
}

/** An integer of more digits than Python converts (its ValueError, not a JSONDecodeError). */
export class TooManyDigits extends Error {}

/** Nesting deeper than Python's recursion limit allows (its RecursionError). */
export class TooDeep extends Error {}

// Python stops at its recursion limit (1000 frames, some already in use); the page stops a little earlier.
const MAX_DEPTH = 900;
const WHITESPACE = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c) => c >= 0x30 && c <= 0x39;
const ESCAPES = {0x22: '"', 0x5c: "\\", 0x2f: "/", 0x62: "\b", 0x66: "\f", 0x6e: "\n", 0x72: "\r", 0x74: "\t"};

class StopIteration {
  constructor(pos) { this.pos = pos; }
}

/** json.loads(text) */
export function loads(text) {
  if (text.charCodeAt(0) === 0xfeff) throw new JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0);
  const scanner = new Scanner(text);
  let idx = scanner.skip(0);
  let value;
  try {
    [value, idx] = scanner.scanOnce(idx, 0);
  } catch (stop) {
    if (stop instanceof StopIteration) throw new JSONDecodeError("Expecting value", text, stop.pos);
    throw stop;
  }
  idx = scanner.skip(idx);
  if (idx !== text.length) throw new JSONDecodeError("Extra data", text, idx);
  return value;
}

class Scanner {
  constructor(text) {
    this.s = text;
    this.len = text.length;
  }

  skip(idx) {
    while (idx < this.len && WHITESPACE(this.s.charCodeAt(idx))) idx++;
    return idx;
  }

  error(msg, pos) {
    return new JSONDecodeError(msg, this.s, pos);
  }

  scanOnce(idx, depth) {
    const s = this.s;
    if (idx >= this.len) throw new StopIteration(idx);
    const c = s.charCodeAt(idx);
    switch (c) {
      case 0x22: return this.scanString(idx + 1);
      case 0x7b:
        if (depth >= MAX_DEPTH) throw new TooDeep();
        return this.parseObject(idx + 1, depth + 1);
      case 0x5b:
        if (depth >= MAX_DEPTH) throw new TooDeep();
        return this.parseArray(idx + 1, depth + 1);
      case 0x6e: if (s.startsWith("null", idx)) return [null, idx + 4]; break;
      case 0x74: if (s.startsWith("true", idx)) return [true, idx + 4]; break;
      case 0x66: if (s.startsWith("false", idx)) return [false, idx + 5]; break;
      case 0x4e: if (s.startsWith("NaN", idx)) return [NaN, idx + 3]; break;
      case 0x49: if (s.startsWith("Infinity", idx)) return [Infinity, idx + 8]; break;
      case 0x2d: if (s.startsWith("-Infinity", idx)) return [-Infinity, idx + 9]; break;
      default: break;
    }
    return this.matchNumber(idx);
  }

  matchNumber(start) {
    const s = this.s, end = this.len - 1;
    let idx = start, isFloat = false;
    if (s.charCodeAt(idx) === 0x2d) {
      idx++;
      if (idx > end) throw new StopIteration(start);
    }
    const first = s.charCodeAt(idx);
    if (first >= 0x31 && first <= 0x39) {
      idx++;
      while (idx <= end && isDigit(s.charCodeAt(idx))) idx++;
    } else if (first === 0x30) {
      idx++;
    } else {
      throw new StopIteration(start);
    }
    if (idx < end && s.charCodeAt(idx) === 0x2e && isDigit(s.charCodeAt(idx + 1))) {
      isFloat = true;
      idx += 2;
      while (idx <= end && isDigit(s.charCodeAt(idx))) idx++;
    }
    if (idx < end && (s.charCodeAt(idx) === 0x65 || s.charCodeAt(idx) === 0x45)) {
      const eStart = idx;
      idx++;
      if (idx < end && (s.charCodeAt(idx) === 0x2d || s.charCodeAt(idx) === 0x2b)) idx++;
      while (idx <= end && isDigit(s.charCodeAt(idx))) idx++;
      if (isDigit(s.charCodeAt(idx - 1))) isFloat = true;
      else idx = eStart;
    }
    const text = s.slice(start, idx);
    if (isFloat) {
      const value = Number(text);
      return [Number.isInteger(value) ? new PyFloat(value) : value, idx];
    }
    if (text.length - (text[0] === "-" ? 1 : 0) > INT_MAX_STR_DIGITS) throw new TooManyDigits();
    const value = Number(text);
    return [Number.isSafeInteger(value) ? (value === 0 ? 0 : value) : BigInt(text), idx];
  }

  scanString(end) {
    const s = this.s, len = this.len;
    const begin = end - 1;
    let out = "";
    for (;;) {
      let next = end, c = 0;
      for (; next < len; next++) {
        c = s.charCodeAt(next);
        if (c === 0x22 || c === 0x5c) break;
        if (c <= 0x1f) throw this.error("Invalid control character at", next);
      }
      if (next >= len) c = 0;
      if (c !== 0x22 && c !== 0x5c) throw this.error("Unterminated string starting at", begin);
      out += s.slice(end, next);
      next++;
      if (c === 0x22) return [out, next];
      if (next === len) throw this.error("Unterminated string starting at", begin);
      c = s.charCodeAt(next);
      if (c !== 0x75) {
        end = next + 1;
        const char = ESCAPES[c];
        if (char === undefined) throw this.error("Invalid \\escape", end - 2);
        out += char;
        continue;
      }
      next++;
      end = next + 4;
      if (end >= len) throw this.error("Invalid \\uXXXX escape", next - 1);
      let code = this.hex4(next, end);
      next = end;
      // A high surrogate followed by an escaped low one is one character (otherwise each stands alone).
      if (code >= 0xd800 && code <= 0xdbff && end + 6 < len && s.charCodeAt(next) === 0x5c && s.charCodeAt(next + 1) === 0x75) {
        const low = this.hex4(next + 2, end + 6);
        if (low >= 0xdc00 && low <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          end += 6;
        }
      }
      out += String.fromCodePoint(code);
    }
  }

  hex4(from, to) {
    let code = 0;
    for (let i = from; i < to; i++) {
      const d = this.s.charCodeAt(i);
      const v = isDigit(d) ? d - 0x30 : d >= 0x61 && d <= 0x66 ? d - 0x57 : d >= 0x41 && d <= 0x46 ? d - 0x37 : -1;
      if (v < 0) throw this.error("Invalid \\uXXXX escape", to - 5);
      code = (code << 4) | v;
    }
    return code;
  }

  parseObject(idx, depth) {
    const s = this.s, end = this.len - 1;
    const out = new Map();
    idx = this.skip(idx);
    if (idx > end || s.charCodeAt(idx) !== 0x7d) {
      for (;;) {
        if (idx > end || s.charCodeAt(idx) !== 0x22) throw this.error("Expecting property name enclosed in double quotes", idx);
        let key;
        [key, idx] = this.scanString(idx + 1);
        idx = this.skip(idx);
        if (idx > end || s.charCodeAt(idx) !== 0x3a) throw this.error("Expecting ':' delimiter", idx);
        idx = this.skip(idx + 1);
        let value;
        [value, idx] = this.scanOnce(idx, depth);
        out.set(key, value);
        idx = this.skip(idx);
        if (idx <= end && s.charCodeAt(idx) === 0x7d) break;
        if (idx > end || s.charCodeAt(idx) !== 0x2c) throw this.error("Expecting ',' delimiter", idx);
        idx = this.skip(idx + 1);
      }
    }
    return [out, idx + 1];
  }

  parseArray(idx, depth) {
    const s = this.s, end = this.len - 1;
    const out = [];
    idx = this.skip(idx);
    if (idx > end || s.charCodeAt(idx) !== 0x5d) {
      for (;;) {
        let value;
        [value, idx] = this.scanOnce(idx, depth);
        out.push(value);
        idx = this.skip(idx);
        if (idx <= end && s.charCodeAt(idx) === 0x5d) break;
        if (idx > end || s.charCodeAt(idx) !== 0x2c) throw this.error("Expecting ',' delimiter", idx);
        idx = this.skip(idx + 1);
      }
    }
    if (idx > end || s.charCodeAt(idx) !== 0x5d) throw this.error("Expecting value", end);
    return [out, idx + 1];
  }
}
