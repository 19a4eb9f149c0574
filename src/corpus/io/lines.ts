/**
 * Streaming line reader over a decoded file: yields each line (without its "\n" or "\r\n") with its
 * 1-based line number. Lines carrying U+FFFD are flagged, because that is how an invalid byte
 * sequence shows up after decoding. Memory is one chunk plus one partial line.
 */
import { openDecoded, type EncodingOption, type TextEncodingName } from "./encoding.js";

export interface Line {
  text: string;
  line: number;
  /** True when the decoded line contains U+FFFD (an undecodable byte sequence, or a literal one). */
  replacement: boolean;
}

export async function* splitLines(chunks: AsyncIterable<string>): AsyncGenerator<Line> {
  let carry = "";
  let lineNo = 0;
  for await (const chunk of chunks) {
    const buf = carry.length > 0 ? carry + chunk : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf("\n", start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && buf.charCodeAt(end - 1) === 13) end--;
      const text = buf.slice(start, end);
      lineNo++;
      yield { text, line: lineNo, replacement: text.includes("\uFFFD") };
      start = nl + 1;
    }
    carry = buf.slice(start);
  }
  if (carry.length > 0) {
    if (carry.endsWith("\r")) carry = carry.slice(0, -1);
    lineNo++;
    yield { text: carry, line: lineNo, replacement: carry.includes("\uFFFD") };
  }
}

export interface LineFile {
  encoding: TextEncodingName;
  lines: AsyncGenerator<Line>;
}

export async function readLines(file: string, encoding: EncodingOption = "auto"): Promise<LineFile> {
  const decoded = await openDecoded(file, encoding);
  return { encoding: decoded.encoding, lines: splitLines(decoded.chunks) };
}
