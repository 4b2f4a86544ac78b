// CSV read as Python 3.11's csv.reader reads it (Modules/_csv.c, the excel dialect with a chosen
// delimiter) over io.StringIO(text, newline=""), for the self-check page: the same rows, and the
// same line numbers (reader.line_num) in messages, as epitrace.trails._csv.

const FIELD_LIMIT = 131072;  // csv.field_size_limit()
const EOL = -2;
const [START_RECORD, START_FIELD, IN_FIELD, IN_QUOTED_FIELD, QUOTE_IN_QUOTED_FIELD, EAT_CRNL] = [0, 1, 2, 3, 4, 5];

/** _csv.Error, with the line it was met on. */
export class CsvError extends Error {
  constructor(message, lineNum) {
    super(message);
    this.lineNum = lineNum;
  }
}

/** The lines io.StringIO(text, newline="") gives: each ends at \n, \r\n or a lone \r, and keeps its end. */
export function universalLines(text) {
  const lines = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d) {
      if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
      lines.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/** csv.reader(lines, delimiter=...): yields {row, lineNum} (lineNum as reader.line_num after the row). */
export function* reader(lines, delimiter) {
  const delim = delimiter.charCodeAt(0);
  let fields = [], field = [], fieldLen = 0, state = START_RECORD, lineNum = 0;
  const save = () => { fields.push(field.join("")); field = []; fieldLen = 0; };
  const add = (char) => {
    if (fieldLen >= FIELD_LIMIT) throw new CsvError(`field larger than field limit (${FIELD_LIMIT})`, lineNum);
    field.push(char);
    fieldLen++;
  };
  const process = (c, char) => {
    switch (state) {
      case START_RECORD:
        if (c === EOL) return;
        if (c === 0x0a || c === 0x0d) { state = EAT_CRNL; return; }
        state = START_FIELD;
      // falls through
      case START_FIELD:
        if (c === 0x0a || c === 0x0d || c === EOL) { save(); state = c === EOL ? START_RECORD : EAT_CRNL; }
        else if (c === 0x22) state = IN_QUOTED_FIELD;
        else if (c === delim) save();
        else { add(char); state = IN_FIELD; }
        return;
      case IN_FIELD:
        if (c === 0x0a || c === 0x0d || c === EOL) { save(); state = c === EOL ? START_RECORD : EAT_CRNL; }
        else if (c === delim) { save(); state = START_FIELD; }
        else add(char);
        return;
      case IN_QUOTED_FIELD:
        if (c === EOL) return;
        if (c === 0x22) state = QUOTE_IN_QUOTED_FIELD;
        else add(char);
        return;
      case QUOTE_IN_QUOTED_FIELD:
        if (c === 0x22) { add(char); state = IN_QUOTED_FIELD; }
        else if (c === delim) { save(); state = START_FIELD; }
        else if (c === 0x0a || c === 0x0d || c === EOL) { save(); state = c === EOL ? START_RECORD : EAT_CRNL; }
        else { add(char); state = IN_FIELD; }
        return;
      case EAT_CRNL:
        if (c === 0x0a || c === 0x0d) return;
        if (c === EOL) { state = START_RECORD; return; }
        throw new CsvError("new-line character seen in unquoted field - do you need to open the file in " +
          "universal-newline mode?", lineNum);
      default:
        return;
    }
  };
  let index = 0;
  for (;;) {
    fields = [];
    do {
      if (index >= lines.length) {
        if (fieldLen !== 0 || state === IN_QUOTED_FIELD) {
          save();
          state = START_RECORD;
          break;
        }
        return;
      }
      const line = lines[index++];
      lineNum++;
      for (const char of line) process(char.codePointAt(0), char);
      process(EOL, "");
    } while (state !== START_RECORD);
    yield {row: fields, lineNum};
  }
}
