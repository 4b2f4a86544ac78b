// Python's rules for text and numbers, as far as the trail readers depend on them: what str.strip()
// and str.splitlines() treat as space and line ends, what float() and int() accept, and how repr()
// and format() write values into messages. The self-check page reads a trail exactly as
// epitrace.trails.read_trail does (issue 9); these are the pieces of Python it needs for that.

// Code points Python's str.isspace() is true for (Py_UNICODE_ISSPACE).
const SPACES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);
// Line ends of str.splitlines() besides \n and \r.
const LINE_ENDS = new Set([0x0b, 0x0c, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029]);
const DECIMAL = /^\p{Nd}$/u;

export const isSpace = (code) => SPACES.has(code);

/** str.strip(): leading and trailing Python whitespace removed. */
export function strip(text) {
  let start = 0, end = text.length;
  while (start < end && SPACES.has(text.charCodeAt(start))) start++;
  while (end > start && SPACES.has(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** str.strip(chars) for a set of single-unit characters. */
export function stripChars(text, chars) {
  let start = 0, end = text.length;
  while (start < end && chars.includes(text[start])) start++;
  while (end > start && chars.includes(text[end - 1])) end--;
  return text.slice(start, end);
}

/** str.splitlines(): lines without their ends, split at \n, \r\n, \r and the other Unicode line ends. */
export function splitlines(text) {
  const lines = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || LINE_ENDS.has(c)) {
      lines.push(text.slice(start, i));
      if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
      start = i + 1;
    }
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/** The code points of a string (a lone surrogate is one), as Python indexes a str. */
export const codePoints = (text) => Array.from(text);

/** Python's len() of a str. */
export function pyLength(text) {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { n--; i++; }
    }
  }
  return n;
}

const digitValues = new Map();

/** The value of a Unicode decimal digit (category Nd), or -1: Nd digits come in runs of ten from zero. */
export function digitValue(char) {
  const code = char.codePointAt(0);
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (digitValues.has(code)) return digitValues.get(code);
  let value = -1;
  if (DECIMAL.test(char)) {
    let run = 0;
    while (DECIMAL.test(String.fromCodePoint(code - run - 1))) run++;
    value = run % 10;
  }
  digitValues.set(code, value);
  return value;
}

/** The text as float() and int() see it: non-ASCII digits and spaces made ASCII; null if anything else is not ASCII. */
function asciiNumber(text) {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0);
    if (code < 0x80) out += char;
    else if (SPACES.has(code)) out += " ";
    else {
      const value = digitValue(char);
      if (value < 0) return null;
      out += String(value);
    }
  }
  return out;
}

const ASCII_SPACE = " \t\n\x0b\x0c\r";
const FLOAT_TEXT = /^[+-]?(?:(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?|inf|infinity|nan)$/i;
const INT_TEXT = /^[+-]?\d(?:_?\d)*$/;
export const INT_MAX_STR_DIGITS = 4300;

/** float(text) of a str, or null where Python raises ValueError. */
export function pyFloat(text) {
  const ascii = asciiNumber(text);
  if (ascii === null) return null;
  const t = stripChars(ascii, ASCII_SPACE);
  if (!FLOAT_TEXT.test(t)) return null;
  const clean = t.replace(/_/g, "").toLowerCase();
  const sign = clean.startsWith("-") ? -1 : 1;
  const body = clean.replace(/^[+-]/, "");
  if (body === "nan") return NaN;
  if (body === "inf" || body === "infinity") return sign * Infinity;
  return Number(clean);
}

/** int(text) of a str as a BigInt; null where Python raises ValueError, "digits" where it has too many digits. */
export function pyInt(text) {
  const ascii = asciiNumber(text);
  if (ascii === null) return null;
  const t = stripChars(ascii, ASCII_SPACE);
  if (!INT_TEXT.test(t)) return null;
  const digits = t.replace(/[+_-]/g, "");
  if (digits.length > INT_MAX_STR_DIGITS) return "digits";
  return BigInt(t.replace(/_/g, ""));
}

/** Python's floor division of BigInts. */
export function floorDiv(a, b) {
  const q = a / b;
  return (a % b !== 0n) && ((a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** round(x) of a float: the nearest integer, halves to even. */
export function pyRound(x) {
  const f = Math.floor(x), d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** The exact decimal value of a finite double: digits (no leading zeros, "0" for zero) and the power of ten of the last. */
function exactDecimal(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let power2;
  if (exponent === 0) power2 = -1074;
  else { mantissa |= 1n << 52n; power2 = exponent - 1075; }
  if (mantissa === 0n) return {digits: "0", power: 0};
  if (power2 >= 0) return {digits: (mantissa << BigInt(power2)).toString(), power: 0};
  return {digits: (mantissa * 5n ** BigInt(-power2)).toString(), power: power2};
}

/** Digits rounded to ``keep`` of them, halves to even: [digits, carried] where carried means one digit more. */
function roundDigits(digits, keep) {
  if (keep >= digits.length) return [digits.padEnd(keep, "0"), false];
  if (keep < 0) return ["", false];
  const head = keep === 0 ? 0n : BigInt(digits.slice(0, keep));
  const rest = digits.slice(keep);
  const half = "5".padEnd(rest.length, "0");
  let up = rest > half;
  if (rest === half) up = keep > 0 && (head % 2n === 1n);
  const rounded = (up ? head + 1n : head).toString();
  const width = Math.max(keep, 1);
  if (keep === 0) return [up ? "1" : "", up];
  return [rounded.padStart(width, "0"), rounded.length > keep];
}

function special(x) {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  return null;
}

// "1.50" -> "1.5", "100." -> "100": trailing zeros of the fraction and a bare point go.
const bare = (text) => text.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
const minus = (x) => (x < 0 || Object.is(x, -0) ? "-" : "");

/** format(x, ".0f"): the nearest whole number, halves to even, as text. */
export function pyFixed0(x) {
  const named = special(x);
  if (named) return named;
  const {digits, power} = exactDecimal(x);
  const keep = digits.length + power;
  let [whole] = roundDigits(digits, keep);
  whole = whole.replace(/^0+(?=\d)/, "") || "0";
  return minus(x) + whole;
}

/** format(x, "g"): six significant digits, trailing zeros dropped, exponent when it is < -4 or >= 6. */
export function pyFormatG(x) {
  const named = special(x);
  if (named) return named;
  if (x === 0) return minus(x) + "0";
  const {digits, power} = exactDecimal(x);
  let [kept, carried] = roundDigits(digits, 6);
  let exp = digits.length + power - 1 + (carried ? 1 : 0);
  if (carried) kept = kept.slice(0, 6);
  let text;
  if (exp < -4 || exp >= 6) {
    text = `${bare(kept[0] + "." + kept.slice(1))}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp >= 0) {
    text = bare(kept.slice(0, exp + 1) + "." + kept.slice(exp + 1));
  } else {
    text = bare("0." + "0".repeat(-exp - 1) + kept);
  }
  return minus(x) + text;
}

/** repr(x) of a float: the shortest digits that read back, as Python writes them. */
export function pyFloatRepr(x) {
  const named = special(x);
  if (named) return named;
  const [mantissa, e] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const point = Number(e) + 1;  // the value is 0.digits x 10^point
  let text;
  if (point > -4 && point <= 16) {
    if (point <= 0) text = "0." + "0".repeat(-point) + digits;
    else if (point >= digits.length) text = digits + "0".repeat(point - digits.length) + ".0";
    else text = digits.slice(0, point) + "." + digits.slice(point);
  } else {
    const exp = point - 1;
    text = digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "") +
      `e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return minus(x) + text;
}

const UNPRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;
const hex = (code, width) => code.toString(16).padStart(width, "0");

/** repr(text) of a str. */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0);
    if (char === quote || char === "\\") out += "\\" + char;
    else if (char === "\t") out += "\\t";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + hex(code, 2);
    else if (code < 0x7f) out += char;
    else if (char !== " " && UNPRINTABLE.test(char)) {
      out += code <= 0xff ? "\\x" + hex(code, 2) : code <= 0xffff ? "\\u" + hex(code, 4) : "\\U" + hex(code, 8);
    } else out += char;
  }
  return out + quote;
}

/** repr() of one byte of a bytes object. */
export function pyByteRepr(byte) {
  if (byte === 0x27) return "b\"'\"";
  if (byte === 0x5c) return "b'\\\\'";
  if (byte === 0x09) return "b'\\t'";
  if (byte === 0x0a) return "b'\\n'";
  if (byte === 0x0d) return "b'\\r'";
  if (byte >= 0x20 && byte < 0x7f) return `b'${String.fromCharCode(byte)}'`;
  return `b'\\x${hex(byte, 2)}'`;
}
