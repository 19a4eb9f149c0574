/**
 * Streaming JSON record readers: JSON Lines (one value per line) and a top-level JSON array whose
 * elements are scanned one at a time (string/escape/depth aware) and parsed separately, so a 1 GB
 * Alpaca array never sits in memory as one string and a broken element is reported with the line it
 * starts on while its neighbours still load. The format is chosen from the first non-space character.
 */
import { openDecoded, type EncodingOption } from "./encoding.js";
import { splitLines } from "./lines.js";

export type JsonItem =
  | { ok: true; value: unknown; line: number }
  | { ok: false; line: number; reason: string; excerpt: string };

export type JsonContainer = "array" | "jsonl";

/** JSON Lines: each non-blank line is one value. */
export async function* parseJsonl(chunks: AsyncIterable<string>): AsyncGenerator<JsonItem> {
  for await (const { text, line, replacement } of splitLines(chunks)) {
    if (text.trim().length === 0) continue;
    if (replacement) {
      yield { ok: false, line, reason: "line contains an undecodable byte sequence (U+FFFD after decoding); check the file encoding", excerpt: text };
      continue;
    }
    try {
      yield { ok: true, value: JSON.parse(text), line };
    } catch (err) {
      yield { ok: false, line, reason: `invalid JSON: ${(err as Error).message}`, excerpt: text };
    }
  }
}

/** Elements of a top-level JSON array, each parsed on its own. */
export async function* parseJsonArray(chunks: AsyncIterable<string>): AsyncGenerator<JsonItem> {
  let line = 1;
  let started = false; // saw '['
  let finished = false; // saw the closing ']'
  let depth = 0; // nesting inside the current element
  let inString = false;
  let escape = false;
  let elem = "";
  let elemLine = 0;
  const emit = (): JsonItem | undefined => {
    const text = elem.trim();
    elem = "";
    if (text.length === 0) return undefined;
    try {
      return { ok: true, value: JSON.parse(text), line: elemLine };
    } catch (err) {
      return { ok: false, line: elemLine, reason: `invalid JSON array element: ${(err as Error).message}`, excerpt: text };
    }
  };
  for await (const chunk of chunks) {
    // Start of the slice of this chunk that belongs to the current element (0 when it continues one).
    let segStart = elem.length > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) line++;
      if (!started) {
        if (c === 0x5b /* [ */) started = true;
        else if (!isSpace(c)) {
          yield { ok: false, line, reason: "expected a JSON array starting with '['", excerpt: chunk.slice(i, i + 60) };
          return;
        }
        continue;
      }
      if (finished) {
        if (!isSpace(c)) {
          yield { ok: false, line, reason: "unexpected content after the closing ']' of the array", excerpt: chunk.slice(i, i + 60) };
          return;
        }
        continue;
      }
      if (inString) {
        if (escape) escape = false;
        else if (c === 0x5c) escape = true;
        else if (c === 0x22) inString = false;
        continue;
      }
      if (depth === 0 && (c === 0x2c /* , */ || c === 0x5d /* ] */)) {
        if (segStart >= 0) elem += chunk.slice(segStart, i);
        segStart = -1;
        const item = emit();
        if (item) yield item;
        else if (c === 0x2c) yield { ok: false, line, reason: "empty array element (two commas or a leading comma)", excerpt: "," };
        if (c === 0x5d) finished = true;
        continue;
      }
      if (segStart < 0) {
        if (isSpace(c)) continue;
        segStart = i;
        if (elem.trim().length === 0) elemLine = line;
      }
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--;
    }
    if (segStart >= 0) elem += chunk.slice(segStart);
  }
  if (!started) {
    yield { ok: false, line, reason: "empty file: expected a JSON array", excerpt: "" };
  } else if (!finished) {
    yield { ok: false, line: elemLine || line, reason: `JSON array is not closed: end of file reached${inString ? " inside a string" : ""}${depth > 0 ? ` inside ${depth} open bracket(s)` : ""}`, excerpt: elem.slice(0, 80) };
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;
}

/** Peek at the first non-space character to tell a JSON array from JSON Lines. */
async function* peekable(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  yield* chunks;
}

export interface JsonRecordFile {
  container: JsonContainer;
  items: AsyncGenerator<JsonItem>;
}

export async function readJsonRecords(file: string, encoding: EncodingOption = "auto"): Promise<JsonRecordFile> {
  const decoded = await openDecoded(file, encoding);
  const it = peekable(decoded.chunks);
  const buffered: string[] = [];
  let first = "";
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    buffered.push(r.value);
    const m = /\S/.exec(r.value);
    if (m) {
      first = m[0];
      break;
    }
  }
  async function* replay(): AsyncGenerator<string> {
    yield* buffered;
    yield* it;
  }
  const container: JsonContainer = first === "[" ? "array" : "jsonl";
  return { container, items: container === "array" ? parseJsonArray(replay()) : parseJsonl(replay()) };
}
