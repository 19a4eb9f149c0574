/**
 * A streaming RFC 4180 CSV/TSV parser: quoted fields, doubled quotes, delimiters and newlines inside
 * quotes, CRLF or LF records. It is fed decoded text chunks and emits rows with the physical line
 * where each row starts. Malformed rows (a stray quote in an unquoted field, text after a closing
 * quote, a quote left open at end of file) are emitted with an `error` so the caller reports them;
 * parsing resynchronises at the next record boundary. Header handling lives in `readCsvRecords`.
 */
import { openDecoded, type EncodingOption, type TextEncodingName } from "./encoding.js";

export interface CsvRow {
  fields: string[];
  /** 1-based physical line where the row starts. */
  line: number;
  /** Set when the row violates RFC 4180; the fields are the parser's best reading of it. */
  error?: string;
}

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

export class CsvParser {
  private state = S.FieldStart;
  private field = "";
  private fields: string[] = [];
  private line = 1;
  private rowLine = 1;
  private rowError: string | undefined;
  private skipLf = false;
  private rowHasContent = false;

  constructor(private readonly delimiter = ",") {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
      throw new Error(`CSV delimiter must be one character other than quote or newline, got ${JSON.stringify(delimiter)}`);
    }
  }

  push(chunk: string, out: CsvRow[] = []): CsvRow[] {
    const d = this.delimiter;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.skipLf) {
        this.skipLf = false;
        if (c === "\n") continue; // the "\n" of a "\r\n" already counted at the "\r"
      }
      switch (this.state) {
        case S.FieldStart:
          if (c === '"') {
            this.state = S.Quoted;
            this.rowHasContent = true;
          } else if (c === d) {
            this.fields.push("");
            this.rowHasContent = true;
          } else if (c === "\n" || c === "\r") {
            this.endRow(out, c);
          } else {
            this.field += c;
            this.state = S.Unquoted;
            this.rowHasContent = true;
          }
          break;
        case S.Unquoted: {
          // Fast path: copy the run of ordinary characters in one slice.
          let j = i;
          while (j < chunk.length) {
            const cj = chunk[j]!;
            if (cj === d || cj === "\n" || cj === "\r" || cj === '"') break;
            j++;
          }
          if (j > i) {
            this.field += chunk.slice(i, j);
            i = j - 1;
            break;
          }
          if (c === d) {
            this.fields.push(this.field);
            this.field = "";
            this.state = S.FieldStart;
          } else if (c === "\n" || c === "\r") {
            this.endRow(out, c);
          } else {
            // c === '"': RFC 4180 forbids quotes in unquoted fields; keep it literally and flag the row.
            this.rowError ??= `unexpected quote inside an unquoted field (field ${this.fields.length + 1}); quote the whole field and double inner quotes`;
            this.field += c;
          }
          break;
        }
        case S.Quoted: {
          const q = chunk.indexOf('"', i);
          const end = q < 0 ? chunk.length : q;
          const piece = chunk.slice(i, end);
          for (let k = piece.indexOf("\n"); k >= 0; k = piece.indexOf("\n", k + 1)) this.line++;
          this.field += piece;
          if (q < 0) {
            i = chunk.length;
          } else {
            i = q;
            this.state = S.QuoteInQuoted;
          }
          break;
        }
        case S.QuoteInQuoted:
          if (c === '"') {
            this.field += '"';
            this.state = S.Quoted;
          } else if (c === d) {
            this.fields.push(this.field);
            this.field = "";
            this.state = S.FieldStart;
          } else if (c === "\n" || c === "\r") {
            this.endRow(out, c);
          } else {
            this.rowError ??= `unexpected character ${JSON.stringify(c)} after a closing quote (field ${this.fields.length + 1})`;
            this.field += c;
            this.state = S.Unquoted;
          }
          break;
      }
    }
    return out;
  }

  end(out: CsvRow[] = []): CsvRow[] {
    if (this.state === S.Quoted) {
      this.rowError ??= `quoted field opened on line ${this.rowLine} is never closed before end of file`;
    }
    if (this.rowHasContent || this.field.length > 0 || this.fields.length > 0) {
      this.fields.push(this.field);
      out.push(this.takeRow());
    }
    return out;
  }

  private endRow(out: CsvRow[], c: string): void {
    if (this.rowHasContent || this.fields.length > 0 || this.field.length > 0) {
      this.fields.push(this.field);
      out.push(this.takeRow());
    }
    // Blank lines are not records (RFC 4180 has none; real files end with one).
    this.state = S.FieldStart;
    this.line++;
    this.rowLine = this.line;
    if (c === "\r") this.skipLf = true;
  }

  private takeRow(): CsvRow {
    const row: CsvRow = { fields: this.fields, line: this.rowLine };
    if (this.rowError !== undefined) row.error = this.rowError;
    this.fields = [];
    this.field = "";
    this.rowError = undefined;
    this.rowHasContent = false;
    this.state = S.FieldStart;
    return row;
  }
}

/** Parse decoded chunks into rows, streaming. */
export async function* parseCsv(chunks: AsyncIterable<string>, delimiter = ","): AsyncGenerator<CsvRow> {
  const parser = new CsvParser(delimiter);
  for await (const chunk of chunks) {
    const rows = parser.push(chunk);
    for (const r of rows) yield r;
  }
  for (const r of parser.end()) yield r;
}

export interface CsvFile {
  encoding: TextEncodingName;
  rows: AsyncGenerator<CsvRow>;
}

export async function readCsv(file: string, opts: { delimiter?: string; encoding?: EncodingOption } = {}): Promise<CsvFile> {
  const decoded = await openDecoded(file, opts.encoding ?? "auto");
  return { encoding: decoded.encoding, rows: parseCsv(decoded.chunks, opts.delimiter ?? ",") };
}
