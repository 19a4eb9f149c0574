/**
 * Text decoding for corpus files: detects UTF-8 (with or without BOM), UTF-16 (BOM only) and
 * GB18030 (the superset of GBK/GB2312 that Chinese CMD-style dumps are usually saved in), then
 * decodes a file as a stream of strings. Not a general charset sniffer: only these encodings occur
 * in the sources we read, and anything else is reported, never guessed.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { CorpusError } from "../errors.js";

export type TextEncodingName = "utf-8" | "gb18030" | "utf-16le" | "utf-16be";
export type EncodingOption = TextEncodingName | "auto" | "gbk";

/** How many leading bytes the detector looks at. GB18030 text is rarely valid UTF-8 beyond a few bytes. */
const SNIFF_BYTES = 256 * 1024;

/**
 * Decide the encoding from a file's first bytes: BOMs win; otherwise strict UTF-8 if the sample is
 * valid UTF-8 (a multi-byte sequence cut at the sample end is allowed), else strict GB18030.
 */
export function detectEncoding(sample: Uint8Array): TextEncodingName {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return "utf-8";
  if (sample[0] === 0xff && sample[1] === 0xfe) return "utf-16le";
  if (sample[0] === 0xfe && sample[1] === 0xff) return "utf-16be";
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample, { stream: true });
    return "utf-8";
  } catch {
    /* not UTF-8: try GB18030 below */
  }
  try {
    new TextDecoder("gb18030", { fatal: true }).decode(sample, { stream: true });
    return "gb18030";
  } catch {
    throw new CorpusError("neither valid UTF-8 nor valid GB18030/GBK in the first bytes; convert the file to UTF-8 or pass the encoding explicitly");
  }
}

export async function detectFileEncoding(file: string): Promise<TextEncodingName> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    try {
      return detectEncoding(buf.subarray(0, bytesRead));
    } catch (err) {
      throw new CorpusError(`${file}: ${(err as Error).message}`);
    }
  } finally {
    await fh.close();
  }
}

export interface DecodedStream {
  encoding: TextEncodingName;
  chunks: AsyncGenerator<string>;
}

/**
 * Open a file and decode it as a stream of strings (BOM removed). Invalid byte sequences become
 * U+FFFD; line readers report lines that contain one, so mis-encoded rows are never lost silently.
 */
export async function openDecoded(file: string, encoding: EncodingOption = "auto", highWaterMark = 1 << 20): Promise<DecodedStream> {
  const enc: TextEncodingName = encoding === "auto" ? await detectFileEncoding(file) : encoding === "gbk" ? "gb18030" : encoding;
  async function* gen(): AsyncGenerator<string> {
    // ignoreBOM: false strips a leading BOM of the chosen encoding.
    const decoder = new TextDecoder(enc, { fatal: false, ignoreBOM: false });
    const stream = createReadStream(file, { highWaterMark });
    for await (const buf of stream as AsyncIterable<Buffer>) {
      const s = decoder.decode(buf, { stream: true });
      if (s.length > 0) yield s;
    }
    const tail = decoder.decode();
    if (tail.length > 0) yield tail;
  }
  return { encoding: enc, chunks: gen() };
}
